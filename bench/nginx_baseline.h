// nginx as the baseline proxy of the benchmarks: what a user would otherwise
// put between a runtime and the Runtime API. Shared by anysnap-bench-invoke
// and anysnap-bench-system so that both measure the same configuration.
#ifndef ANYSNAP_BENCH_NGINX_BASELINE_H_
#define ANYSNAP_BENCH_NGINX_BASELINE_H_

#include <cstdint>
#include <string>

#include "anysnap/net.h"

namespace anysnap {

// The nginx configuration a user would write to put nginx between a runtime
// and the Runtime API: loopback only, HTTP/1.1 with kept-alive upstream
// connections, nothing buffered (bodies and answers stream both ways, chunked
// passes through), no body size limit, long polls never timed out. Its pid
// file, error log (`dir`/nginx-error.log) and temporary folders are in `dir`.
std::string NginxReverseProxyConfig(const std::string& dir, uint16_t listen_port,
                                    const HostPort& upstream);

// Debian's nginx binary, or "" when none is installed.
std::string FindNginx();

}  // namespace anysnap

#endif  // ANYSNAP_BENCH_NGINX_BASELINE_H_
