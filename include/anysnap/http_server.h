// HttpServer is anysnap's HTTP/1.1 server: the delegator's front and the
// Runtime API server of the local emulator. Requests are parsed by the
// http_parser library; a handler sees the request head as soon as it is
// complete and pulls the body as it arrives, so a 200 MB chunked body crosses
// in a fixed 64 KB buffer.
//
// Threading: one thread per connection, blocking I/O. The Runtime API is a few
// long-polling connections per environment, never thousands; a thread parked
// in read(2) costs nothing and keeps every hop a plain syscall on the
// caller's CPU. Concurrent requests on distinct connections never wait for
// each other. The handler is called from connection threads concurrently and
// must be thread-safe.
//
// The messages a handler sees (HttpRequest, RequestBody, ResponseWriter) are
// http.h's.
//
// Bad input: a malformed request gets 400, an oversized header section 431,
// absolute-form targets and CONNECT 400 (anysnap is never an open proxy); the
// answer closes that connection only.
#ifndef ANYSNAP_HTTP_SERVER_H_
#define ANYSNAP_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "anysnap/http.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"

namespace anysnap {

struct HttpServerOptions {
  // Request line plus headers (and trailers). Lambda's X-Ray error cause alone
  // may approach 1 MiB, so the default leaves room for it.
  size_t max_header_bytes = 2 * 1024 * 1024;
  // Per-connection read buffer: the bound on memory held per connection.
  size_t read_buffer_bytes = 64 * 1024;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Handles one request. Must answer through `out`; a handler that returns
  // without starting a response gets a 500 sent for it, one that started but
  // did not end it gets its connection closed.
  virtual void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) = 0;
};

class HttpServer {
 public:
  HttpServer(HttpHandler* handler, HttpServerOptions options = {});
  ~HttpServer();  // Stops the server.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on `address` (port 0 picks a free port).
  Status Listen(const HostPort& address);
  // The bound address; valid after Listen.
  const HostPort& address() const { return address_; }
  // Starts accepting connections on a background thread.
  void Start();
  // Stops accepting, shuts every open connection down and waits for their
  // threads. Idempotent.
  void Stop();
  // Number of connections currently open.
  size_t open_connections() const;
  // Number of connections closed since the server started.
  uint64_t closed_connections() const;
  // Waits until at least `count` connections have been closed since the
  // server started, for at most `limit`; returns whether they have.
  bool WaitForClosedConnections(uint64_t count, std::chrono::milliseconds limit) const;

 private:
  void AcceptLoop();
  void Serve(int fd, std::string peer);

  HttpHandler* const handler_;
  const HttpServerOptions options_;
  UniqueFd listen_fd_;
  HostPort address_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable closed_;  // notified on every close
  std::unordered_map<int, bool> open_fds_;  // guarded by mu_
  uint64_t closed_count_ = 0;               // guarded by mu_
};

}  // namespace anysnap

#endif  // ANYSNAP_HTTP_SERVER_H_
