#include "scripted_upstream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace anysnap::testing {

void ScriptedUpstream::Handle(HttpRequest& req, RequestBody& body, ResponseWriter& out) {
  Script script;
  {
    std::lock_guard<std::mutex> lock(mu_);
    script = script_;
  }
  if (script) {
    script(req, body, out);
    return;
  }
  auto all = body.ReadAll(64 << 20);
  Record(req, all.ok() ? *all : "", body.trailers());
  out.Respond(200, {{"Content-Type", "application/octet-stream"}, {"X-Upstream", "yes"}},
              "upstream saw " + req.method + " " + req.target);
}

void ScriptedUpstream::Record(const HttpRequest& req, std::string body,
                              const HttpHeaders& trailers) {
  std::lock_guard<std::mutex> lock(mu_);
  seen_.push_back({req.method, req.target, req.headers, std::move(body), trailers});
  cv_.notify_all();
}

void ScriptedUpstream::set_script(Script s) {
  std::lock_guard<std::mutex> lock(mu_);
  script_ = std::move(s);
}

std::vector<SeenRequest> ScriptedUpstream::seen() {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

RawUpstream::RawUpstream(Script script) : script_(std::move(script)) {
  auto listener = ListenTcp({"127.0.0.1", 0});
  if (!listener.ok()) return;
  listener_ = std::move(*listener);
  address_ = *LocalAddress(listener_.get());
  acceptor_ = std::thread([this] {
    while (!stopping_.load()) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, fd] {
        script_(fd);
        ::close(fd);
      });
    }
  });
}

RawUpstream::~RawUpstream() {
  stopping_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : connections_) t.join();
}

std::string RawUpstream::ReadHead(int fd) {
  std::string head;
  char c;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return "";
    head.push_back(c);
  }
  return head;
}

}  // namespace anysnap::testing
