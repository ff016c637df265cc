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
// Bad input: a malformed request gets 400, an oversized header section 431,
// absolute-form targets and CONNECT 400 (anysnap is never an open proxy); the
// answer closes that connection only.
#ifndef ANYSNAP_HTTP_SERVER_H_
#define ANYSNAP_HTTP_SERVER_H_

#include <atomic>
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

// The head of one request, as it arrived.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: "/2018-06-01/runtime/invocation/next"
  int http_major = 1;
  int http_minor = 1;
  HttpHeaders headers;
  bool chunked = false;                    // Transfer-Encoding: chunked
  std::optional<uint64_t> content_length;  // from Content-Length
  bool keep_alive = true;                  // the client wants the connection kept
  std::string peer;                        // "host:port" of the client

  // Returns true iff the request carries a body (chunked or a non-zero length).
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

// The body of the request being handled, pulled by the handler.
class RequestBody {
 public:
  virtual ~RequestBody() = default;
  // Reads up to `cap` bytes of the decoded body into `buf`. Returns 0 at the end
  // of the body; an error when the client broke the framing or went away.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
  // Trailer fields of a chunked body; complete once Read has returned 0.
  virtual const HttpHeaders& trailers() const = 0;
  // Reads the whole remaining body, failing with kTooLarge past `limit` bytes.
  Result<std::string> ReadAll(size_t limit);
};

// Writes the response to the request being handled. Framing is chosen here:
// a known length gives Content-Length, an unknown one chunked encoding (or a
// close-delimited body for an HTTP/1.0 client).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and `headers` (which must not hold framing headers).
  // `body_length` is the exact body size, or nullopt for a body streamed in
  // chunks. Informational (1xx) statuses are not supported here.
  virtual Status Begin(int status, const HttpHeaders& headers,
                       std::optional<uint64_t> body_length) = 0;
  virtual Status Write(std::string_view data) = 0;
  // Ends the body; `trailers` are sent with a chunked body, dropped otherwise.
  virtual Status End(const HttpHeaders& trailers = {}) = 0;
  // Returns true iff Begin has been called.
  virtual bool started() const = 0;
  // Closes the connection after this response.
  virtual void CloseAfterResponse() = 0;
  // Returns true iff the client is known to have closed its connection (or
  // its sending side): an answer now would most likely be lost. For a handler
  // that waits long before answering (a parked invocation/next).
  virtual bool peer_gone() { return false; }

  // Begin + Write + End.
  Status Respond(int status, const HttpHeaders& headers, std::string_view body);
  // A JSON error document of the Runtime API's shape.
  Status RespondError(int status, std::string_view error_type, std::string_view message);
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
  std::condition_variable all_closed_;
  std::unordered_map<int, bool> open_fds_;  // guarded by mu_
};

}  // namespace anysnap

#endif  // ANYSNAP_HTTP_SERVER_H_
