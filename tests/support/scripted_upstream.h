// Upstreams for the delegator's tests: stand-ins for the real Runtime API that
// a test scripts.
//
// ScriptedUpstream is an HttpHandler (serve it with an HttpServer) whose
// answer each test sets with set_script(); without a script it reads the body,
// records the request and answers 200. RawUpstream speaks raw bytes on a
// loopback listener, for answers no well-behaved server would give: closing
// before or in the middle of an answer, trickling it, or answering garbage.
//
// Thread-safe: both serve each connection on a thread of their own.
#ifndef ANYSNAP_TESTS_SUPPORT_SCRIPTED_UPSTREAM_H_
#define ANYSNAP_TESTS_SUPPORT_SCRIPTED_UPSTREAM_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/http_server.h"
#include "anysnap/net.h"
#include "anysnap/unique_fd.h"

namespace anysnap::testing {

// What the upstream saw of one request.
struct SeenRequest {
  std::string method, target;
  HttpHeaders headers;
  std::string body;
  HttpHeaders trailers;
};

class ScriptedUpstream : public HttpHandler {
 public:
  using Script = std::function<void(HttpRequest&, RequestBody&, ResponseWriter&)>;

  void Handle(HttpRequest& req, RequestBody& body, ResponseWriter& out) override;

  // Records a request (scripts call it for what they want seen()).
  void Record(const HttpRequest& req, std::string body, const HttpHeaders& trailers);
  void set_script(Script s);
  std::vector<SeenRequest> seen();

  // Guard whatever a script shares with the test; cv_ is notified by Record.
  std::mutex mu_;
  std::condition_variable cv_;

 private:
  Script script_;
  std::vector<SeenRequest> seen_;
};

class RawUpstream {
 public:
  // Runs on its own thread with each accepted connection; the connection is
  // closed when it returns.
  using Script = std::function<void(int fd)>;

  explicit RawUpstream(Script script);
  ~RawUpstream();  // stops accepting, joins every connection's thread
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;

  const HostPort& address() const { return address_; }
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

  // Reads one request head (up to the blank line) from `fd`; empty at EOF.
  static std::string ReadHead(int fd);

 private:
  Script script_;
  UniqueFd listener_;
  HostPort address_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;  // guarded by mu_
};

}  // namespace anysnap::testing

#endif  // ANYSNAP_TESTS_SUPPORT_SCRIPTED_UPSTREAM_H_
