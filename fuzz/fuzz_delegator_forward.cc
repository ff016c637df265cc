// The delegator's forwarding path end to end, with hostile bytes from both
// sides. A real Delegator (on-demand: it holds nothing) listens on loopback and
// forwards to a fake upstream, also on loopback. Each input is split in two:
// what the runtime sends the delegator (parsed by HttpServer) and what the
// upstream answers (parsed by UpstreamClient's AnswerRelay while it relays the
// request, chunked bodies and early answers included):
//
//   <runtime bytes>\n--answer--\n<upstream bytes>
//   <runtime bytes>\n--early answer--\n<upstream bytes>
//
// After "--answer--" the upstream answers once the forwarded request is
// complete; after "--early answer--" as soon as it accepts, before reading a
// byte, so that the answer meets a request still being sent (the 413 in the
// middle of a body). Without a separator the upstream closes unanswered.
// Every request the runtime pipelines, and every retry, gets the same answer;
// the upstream half-closes after each, so a pooled connection is always dead
// by the time the next request takes it.
//
// Nothing may crash, and nothing may hang. Every wait here is on an event (a
// byte, an end of stream, a connection served), never on the clock: an
// exchange that does not end hangs the input, which libFuzzer's -timeout
// (scripts/fuzz.sh) reports as a finding with the input kept, however slow
// the machine. Every request the delegator forwards must parse, to its
// end, with the http_parser that accepted it from the runtime: one that does
// not would be framed differently upstream. After each input a well-formed
// next must still get its 200 through.
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "anysnap/log.h"
#include "anysnap/net.h"
#include "anysnap/unique_fd.h"
#include "delegator.h"

namespace {

constexpr std::string_view kAnswerMark = "\n--answer--\n";
constexpr std::string_view kEarlyAnswerMark = "\n--early answer--\n";

// How much of the delegator's answer the runtime keeps (for the check).
constexpr size_t kKeptAnswerBytes = 64 * 1024;

// The well-formed exchange that follows every input: a next and its event.
constexpr std::string_view kNextRequest =
    "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr std::string_view kEventAnswer =
    "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: sane\r\n"
    "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"sane\":1}\n";

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "fuzz_delegator_forward: %s\n", why.c_str());
  std::abort();
}

// Reads what `fd` has once it has something: >0 bytes, 0 at the end of the
// stream (or a reset).
ssize_t ReadSome(int fd, char* buf, size_t cap) {
  for (;;) {
    ssize_t n = ::recv(fd, buf, cap, 0);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? 0 : n;
  }
}

// Renders up to 512 bytes of `bytes` with C escapes, for a message.
std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes.substr(0, 512)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out += escaped;
    }
  }
  return out;
}

// Reads the request the delegator forwards, until http_parser finds it
// complete or the delegator closes (a request cut short: its runtime's body
// broke off). The delegator builds the request from one that HttpServer's
// http_parser accepted, so one the same parser rejects is a finding (and one
// it sees no end of hangs the input, also a finding): an upstream would
// frame it differently than the delegator did.
void ReadRequest(int fd) {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_message_complete = [](http_parser* p) {
      *static_cast<bool*>(p->data) = true;
      http_parser_pause(p, 1);  // a pipelined rest is not this request's
      return 0;
    };
    return s;
  }();
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  bool complete = false;
  parser.data = &complete;
  std::string seen;  // the start of the request, for a message
  char buf[16 * 1024];
  while (!complete) {
    ssize_t n = ReadSome(fd, buf, sizeof(buf));
    if (n == 0) return;
    if (seen.size() < 512) seen.append(buf, std::min<size_t>(static_cast<size_t>(n), 512));
    http_parser_execute(&parser, &settings, buf, static_cast<size_t>(n));
    http_errno err = HTTP_PARSER_ERRNO(&parser);
    // http_parser 2.9.4 takes any field whose name begins with
    // "Transfer-Encoding" for one, and so rejects requests (with a field
    // "Transfer-Encodingx: y") that an upstream accepts and the delegator
    // rightly forwards. Answered like any other.
    if (err == HPE_INVALID_TRANSFER_ENCODING) return;
    if (err != HPE_OK && err != HPE_PAUSED) {
      Die(std::string("the delegator forwarded a request the upstream cannot parse (") +
          http_errno_description(err) + "): " + Printable(seen));
    }
  }
}

// A raw HTTP/1.1 upstream serving each connection on a thread of its own:
// reads the forwarded request (unless the answer is early), writes the
// current answer, half-closes, and then reads whatever still comes until the
// delegator closes (a pooled connection: at Settle()), so that closing never
// resets an answer the delegator has not read yet.
class FakeUpstream {
 public:
  FakeUpstream() {
    auto fd = anysnap::ListenTcp({"127.0.0.1", 0});
    if (!fd.ok()) Die("upstream: " + fd.status().message());
    auto bound = anysnap::LocalAddress(fd->get());
    if (!bound.ok()) Die("upstream: " + bound.status().message());
    listen_fd_ = std::move(fd.value());
    address_ = *bound;
    std::thread([this] { AcceptLoop(); }).detach();  // lives as long as the process
  }

  const anysnap::HostPort& address() const { return address_; }

  // The answer to every connection accepted from now on.
  void SetAnswer(std::string_view answer, bool early) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = answer;
    early_ = early;
  }

  // Waits until no connection is being served or waiting to be accepted.
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // A queued connection makes the listening socket readable; the accept
      // thread counts it as served (under mu_) before it takes it off the
      // queue, and notifies when it has been served, so no wake-up is lost.
      pollfd p{listen_fd_.get(), POLLIN, 0};
      if (serving_ == 0 && ::poll(&p, 1, 0) == 0) return;
      idle_.wait(lock);
    }
  }

 private:
  void AcceptLoop() {
    for (;;) {
      pollfd p{listen_fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, -1) <= 0) continue;
      std::string answer;
      bool early;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++serving_;
        answer = answer_;
        early = early_;
      }
      anysnap::UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      std::thread([this, fd = std::move(fd), answer = std::move(answer), early]() mutable {
        if (fd.valid()) Serve(fd.get(), answer, early);
        fd.Reset();
        std::lock_guard<std::mutex> lock(mu_);
        --serving_;
        idle_.notify_all();
      }).detach();
    }
  }

  static void Serve(int fd, std::string_view answer, bool early) {
    if (!early) ReadRequest(fd);
    (void)anysnap::SendAll(fd, answer);  // the delegator may have gone already
    ::shutdown(fd, SHUT_WR);
    char sink[16 * 1024];
    while (ReadSome(fd, sink, sizeof(sink)) > 0) {
    }
  }

  anysnap::UniqueFd listen_fd_;
  anysnap::HostPort address_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::string answer_;  // guarded by mu_
  bool early_ = false;  // guarded by mu_
  int serving_ = 0;     // connections accepted and not yet served; guarded by mu_
};

// Sends `request` to the delegator as a runtime would, half-closes, and returns
// the start of what the delegator answered until it closed. Sending and
// reading interleave: pipelined requests whose answers fill the socket
// buffers would deadlock a client that sends everything first.
std::string Exchange(const anysnap::HostPort& delegator, std::string_view request) {
  auto fd = anysnap::ConnectTcp(delegator);
  if (!fd.ok()) Die("the delegator no longer accepts: " + fd.status().message());
  const int s = fd->get();
  ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
  std::string answer;
  size_t sent = 0;
  bool half_closed = false;
  char buf[16 * 1024];
  for (;;) {
    if (sent == request.size() && !half_closed) {
      ::shutdown(s, SHUT_WR);
      half_closed = true;
    }
    pollfd p{s, static_cast<short>(POLLIN | (half_closed ? 0 : POLLOUT)), 0};
    int ready = ::poll(&p, 1, -1);
    if (ready < 0) continue;  // EINTR
    if ((p.revents & POLLOUT) != 0) {
      ssize_t n = ::send(s, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      // A delegator that stopped reading (after a 400) gets no more.
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) sent = request.size();
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = ::recv(s, buf, sizeof(buf), 0);
      if (n > 0) {
        answer.append(buf, std::min(static_cast<size_t>(n), kKeptAnswerBytes - answer.size()));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return answer;
    }
  }
}

struct Rig {
  FakeUpstream* upstream;
  anysnap::Delegator* delegator;
};

// Ends an input's traffic: pooled upstream connections are closed (the
// upstream had half-closed them anyway), so that the next input starts from
// the same state whatever this one left, and the upstream has finished.
void Settle(const Rig& rig) {
  rig.delegator->upstream().DropConnections();
  rig.upstream->WaitIdle();
}

// A well-formed next and its event cross the delegator intact.
void CheckSane(const Rig& rig, std::string_view when) {
  rig.upstream->SetAnswer(kEventAnswer, /*early=*/false);
  std::string answer = Exchange(rig.delegator->address(), kNextRequest);
  std::string_view body = kEventAnswer.substr(kEventAnswer.find("\r\n\r\n") + 4);
  if (answer.compare(0, 13, "HTTP/1.1 200 ") != 0 || !answer.ends_with(body))
    Die("a well-formed next " + std::string(when) + " got: " + answer.substr(0, 512));
  Settle(rig);
}

const Rig& World() {
  static const Rig rig = [] {
    // A warning per rejected request would be a line per input; a finding
    // shows as a crash with its input anyway.
    anysnap::Log().set_level(anysnap::LogLevel::kOff);
    Rig r;
    r.upstream = new FakeUpstream();
    anysnap::DelegatorOptions options;
    options.upstream = r.upstream->address();
    options.http.max_header_bytes = 16 * 1024;  // small, so the 431 path is reached
    auto d = anysnap::Delegator::Start(options);
    if (!d.ok()) Die("delegator: " + d.status().message());
    r.delegator = d->release();
    // The runtime's first next ends init: from then on every request is
    // forwarded the same way, whichever input comes first.
    CheckSane(r, "to end init");
    return r;
  }();
  return rig;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Rig& rig = World();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t mark = input.find(kAnswerMark);
  size_t early_mark = input.find(kEarlyAnswerMark);
  const bool early = early_mark < mark;
  std::string_view runtime = input.substr(0, std::min(mark, early_mark));
  std::string_view answer;
  if (early) {
    answer = input.substr(early_mark + kEarlyAnswerMark.size());
  } else if (mark != std::string_view::npos) {
    answer = input.substr(mark + kAnswerMark.size());
  }
  rig.upstream->SetAnswer(answer, early);
  Exchange(rig.delegator->address(), runtime);
  Settle(rig);
  CheckSane(rig, "after the input");
  return 0;
}
