#include "nginx_baseline.h"

#include <unistd.h>

#include <sstream>

namespace anysnap {

std::string NginxReverseProxyConfig(const std::string& dir, uint16_t listen_port,
                                    const HostPort& upstream) {
  std::ostringstream c;
  c << "worker_processes 1;\n"
    << "daemon off;\n"
    << "pid " << dir << "/nginx.pid;\n"
    << "error_log " << dir << "/nginx-error.log warn;\n"
    << "events { worker_connections 1024; }\n"
    << "http {\n"
    << "  access_log off;\n"
    << "  client_body_temp_path " << dir << "/client_body;\n"
    << "  proxy_temp_path " << dir << "/proxy;\n"
    << "  fastcgi_temp_path " << dir << "/fastcgi;\n"
    << "  uwsgi_temp_path " << dir << "/uwsgi;\n"
    << "  scgi_temp_path " << dir << "/scgi;\n"
    << "  keepalive_timeout 1d;\n"
    << "  keepalive_requests 1000000;\n"
    << "  upstream runtime_api {\n"
    << "    server " << upstream.ToString() << ";\n"
    << "    keepalive 32;\n"
    << "    keepalive_timeout 1d;\n"
    << "    keepalive_requests 1000000;\n"
    << "  }\n"
    << "  server {\n"
    << "    listen 127.0.0.1:" << listen_port << ";\n"
    << "    client_max_body_size 0;\n"
    << "    location / {\n"
    << "      proxy_pass http://runtime_api;\n"
    << "      proxy_http_version 1.1;\n"
    << "      proxy_set_header Connection \"\";\n"
    << "      proxy_buffering off;\n"
    << "      proxy_request_buffering off;\n"
    << "      proxy_read_timeout 1d;\n"
    << "      proxy_send_timeout 1d;\n"
    << "    }\n"
    << "  }\n"
    << "}\n";
  return c.str();
}

std::string FindNginx() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

}  // namespace anysnap
