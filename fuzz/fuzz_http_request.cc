// The delegator's HTTP/1.1 front on any bytes from a runtime: a real
// HttpServer on loopback gets the input on a fresh connection and answers it
// (400/431 for what is malformed) or closes it; it must never crash, and the
// next connection must still be served.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "anysnap/http_server.h"
#include "anysnap/net.h"

namespace {

// Reads the whole body (as the proxy would) and echoes its size.
class Echo final : public anysnap::HttpHandler {
 public:
  void Handle(anysnap::HttpRequest&, anysnap::RequestBody& body,
              anysnap::ResponseWriter& out) override {
    auto all = body.ReadAll(1 << 20);
    if (!all.ok()) {
      out.RespondError(400, "InvalidRequest", all.status().message());
      out.CloseAfterResponse();
      return;
    }
    out.Respond(200, {}, std::to_string(all->size()));
  }
};

anysnap::HttpServer* Server() {
  static Echo echo;
  static anysnap::HttpServer* server = [] {
    anysnap::HttpServerOptions options;
    options.max_header_bytes = 16 * 1024;  // small, so the 431 path is reached
    auto* s = new anysnap::HttpServer(&echo, options);
    if (!s->Listen({"127.0.0.1", 0}).ok()) std::abort();
    s->Start();
    return s;
  }();
  return server;
}

// Sends `bytes`, half-closes, and reads until the server closes.
void Exchange(const std::string& bytes) {
  auto fd = anysnap::ConnectTcp(Server()->address());
  if (!fd.ok()) std::abort();  // the server must still accept
  anysnap::SendAll(fd->get(), bytes);
  ::shutdown(fd->get(), SHUT_WR);
  char buf[4096];
  while (::read(fd->get(), buf, sizeof(buf)) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Exchange(std::string(reinterpret_cast<const char*>(data), size));
  // A well-formed request right after: the server is still there and sane.
  Exchange("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n");
  return 0;
}
