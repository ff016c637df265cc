// Fault injection at the delegator, in process: an upstream (the platform's
// Runtime API) that fails in every way the issue lists, and a runtime that
// sends broken, partial or very many requests. Each test states the defined
// behaviour and checks the status the runtime gets, what reaches the
// upstream, the log line, and that the delegator keeps serving.
// docs/reliability.md lists every case with its test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <fcntl.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "anysnap/log.h"
#include "delegator.h"
#include "http_test_client.h"
#include "scripted_upstream.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::BuildRequest;
using testing::RawUpstream;
using testing::ReadResponse;
using testing::ReadUntilClose;
using testing::RoundTrip;
using testing::ScriptedUpstream;
using testing::TestResponse;

const std::string kNextPath = "/2018-06-01/runtime/invocation/next";
// How long a test waits for an event before calling it missing.
constexpr auto kPatience = std::chrono::seconds(30);

// The delegator's log lines go through a pipe to a thread of the test, which
// keeps them and wakes whoever waits for one.
class LogCapture {
 public:
  LogCapture() {
    int ends[2];
    EXPECT_EQ(::pipe2(ends, O_CLOEXEC), 0);
    read_end_ = UniqueFd(ends[0]);
    write_end_ = UniqueFd(ends[1]);
    reader_ = std::thread([this] { Read(); });
    Log().Configure("delegator", LogLevel::kInfo, LogFormat::kText, write_end_.get());
  }
  ~LogCapture() {
    Log().Configure("delegator", LogLevel::kInfo, LogFormat::kText, 2);
    write_end_.Reset();  // the reader sees the end of the stream
    reader_.join();
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  // Waits for a line holding `needle` (log lines may trail the answer).
  bool WaitFor(const std::string& needle) const {
    std::unique_lock<std::mutex> lock(mu_);
    return written_.wait_for(lock, 60s, [&] { return text_.find(needle) != std::string::npos; });
  }

 private:
  void Read() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(read_end_.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      text_.append(buf, static_cast<size_t>(n));
      written_.notify_all();
    }
  }

  UniqueFd read_end_;
  UniqueFd write_end_;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable written_;
  std::string text_;  // guarded by mu_
};

int OpenFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

std::unique_ptr<Delegator> StartDelegator(const HostPort& upstream) {
  DelegatorOptions options;
  options.upstream = upstream;
  options.http.max_header_bytes = 16 * 1024;
  auto d = Delegator::Start(options);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? std::move(*d) : nullptr;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(&upstream_);
    ASSERT_TRUE(server_->Listen({"127.0.0.1", 0}).ok());
    server_->Start();
    delegator_ = StartDelegator(server_->address());
    ASSERT_NE(delegator_, nullptr);
  }
  const HostPort& addr() { return delegator_->address(); }
  // Stops the delegator and the upstream, so that no handler thread outlives
  // the state a test's script captured.
  void StopAll() {
    delegator_->Stop();
    server_->Stop();
  }

  // After RecordCompleteness: every request the upstream saw was cut off,
  // but for `complete` (once). The upstream sees the truncated ones end in
  // any order relative to later requests: it is stopped first, which waits
  // for every one of its connections to be done.
  void ExpectOnlyTruncatedAnd(const std::string& complete) {
    StopAll();
    std::lock_guard<std::mutex> lock(upstream_.mu_);
    int seen_complete = 0;
    for (const std::string& outcome : outcomes_) {
      if (outcome == complete) {
        ++seen_complete;
      } else {
        EXPECT_EQ(outcome, "/2018-06-01/runtime/invocation/a/response truncated");
      }
    }
    EXPECT_EQ(seen_complete, 1);
  }

  LogCapture log_;
  std::vector<std::string> outcomes_;  // RecordCompleteness; outlives the servers
  ScriptedUpstream upstream_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<Delegator> delegator_;
};

// ---- The upstream fails.

// Defined: an error status from the platform is the platform's answer; it
// reaches the runtime unchanged (status, headers, body), is not retried, is
// not logged as a delegator fault, and the runtime's connection stays open.
TEST_F(FaultTest, UpstreamErrorStatusesReachTheRuntimeUnchanged) {
  std::atomic<int> calls{0};
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    ++calls;
    (void)b.ReadAll(1 << 20);
    int status = std::stoi(req.target.substr(req.target.rfind('=') + 1));
    out.Respond(status, {{"Content-Type", "application/json"}, {"X-From", "platform"}},
                "{\"errorType\":\"E" + std::to_string(status) + "\",\"errorMessage\":\"m\"}");
  });
  auto fd = ConnectTcp(addr());
  ASSERT_TRUE(fd.ok());
  const std::vector<int> statuses = {500, 403, 404, 410, 413};
  for (int status : statuses) {
    std::string target = "/2018-06-01/runtime/invocation/id-1/response?s=" + std::to_string(status);
    ASSERT_TRUE(SendAll(fd->get(), BuildRequest("POST", target, {}, "{\"r\":1}")).ok());
    auto resp = ReadResponse(fd->get());
    ASSERT_TRUE(resp.ok()) << status << ": " << resp.status().message();
    EXPECT_EQ(resp->status, status);
    EXPECT_EQ(resp->body,
              "{\"errorType\":\"E" + std::to_string(status) + "\",\"errorMessage\":\"m\"}");
    ASSERT_NE(FindHeader(resp->headers, "X-From"), nullptr);
    EXPECT_TRUE(resp->keep_alive) << status;
  }
  EXPECT_EQ(calls.load(), static_cast<int>(statuses.size()));
  EXPECT_EQ(log_.text().find("WARN"), std::string::npos) << log_.text();
  StopAll();
}

// Defined: a next answered 500 (container error) reaches the runtime as 500,
// and no invocation is recorded as delivered.
TEST_F(FaultTest, NextAnswered500DeliversNoInvocation) {
  upstream_.set_script([&](HttpRequest&, RequestBody&, ResponseWriter& out) {
    out.RespondError(500, "ServiceException", "container error");
  });
  auto resp = RoundTrip(addr(), BuildRequest("GET", kNextPath, {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 500);
  EXPECT_TRUE(delegator_->progress().unanswered.empty());
}

// Defined: an upstream that closes before any byte of an answer is retried
// once on a fresh connection; when that fails too the runtime gets 502
// Delegator.UpstreamUnavailable and a WARN line names the request.
TEST_F(FaultTest, UpstreamClosingBeforeAnsweringIsRetriedOnceThen502) {
  RawUpstream raw([](int fd) { (void)RawUpstream::ReadHead(fd); });
  auto d = StartDelegator(raw.address());
  auto resp = RoundTrip(d->address(), BuildRequest("GET", kNextPath, {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_NE(resp->body.find("Delegator.UpstreamUnavailable"), std::string::npos) << resp->body;
  EXPECT_EQ(raw.accepted(), 2);
  EXPECT_TRUE(log_.WaitFor("WARN GET " + kNextPath + ": ")) << log_.text();
}

// Defined: an upstream that closes in the middle of the answer's head is not
// retried (the request may have taken effect); the runtime gets 502.
TEST_F(FaultTest, UpstreamClosingMidHeadIsNotRetried) {
  RawUpstream raw([](int fd) {
    (void)RawUpstream::ReadHead(fd);
    (void)SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Le");
  });
  auto d = StartDelegator(raw.address());
  auto resp = RoundTrip(d->address(),
                        BuildRequest("POST", "/2018-06-01/runtime/invocation/a/response", {}, "x"));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_EQ(raw.accepted(), 1);
  EXPECT_TRUE(log_.WaitFor("WARN POST /2018-06-01/runtime/invocation/a/response: ")) << log_.text();
}

// Defined: an upstream that closes in the middle of the body (after the head
// reached the runtime) cannot be hidden: the runtime's connection is closed
// before the announced length, never padded or retried, and a WARN line says
// so. The delegator keeps serving.
TEST_F(FaultTest, UpstreamClosingMidBodyClosesTheRuntimeConnection) {
  RawUpstream raw([](int fd) {
    std::string head = RawUpstream::ReadHead(fd);
    if (head.find("/after") != std::string::npos) {
      (void)SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      return;
    }
    (void)SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  });
  auto d = StartDelegator(raw.address());
  auto fd = ConnectTcp(d->address());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(fd->get(), BuildRequest("GET", kNextPath, {}, "")).ok());
  std::string got = ReadUntilClose(fd->get());
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Length: 100\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "partial");
  EXPECT_EQ(raw.accepted(), 1);
  EXPECT_TRUE(log_.WaitFor("WARN GET " + kNextPath + ": ")) << log_.text();
  auto after = RoundTrip(d->address(), BuildRequest("GET", "/after", {}, ""));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, "ok");
}

// Defined: the same for a chunked answer cut before its last chunk: the
// runtime sees the chunks that came and then the close, never a final chunk.
TEST_F(FaultTest, UpstreamClosingMidChunkedAnswerNeverEndsItCleanly) {
  RawUpstream raw([](int fd) {
    (void)RawUpstream::ReadHead(fd);
    (void)SendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
  });
  auto d = StartDelegator(raw.address());
  auto fd = ConnectTcp(d->address());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(fd->get(), BuildRequest("GET", "/stream", {}, "")).ok());
  std::string got = ReadUntilClose(fd->get());
  EXPECT_NE(got.find("first"), std::string::npos) << got;
  EXPECT_EQ(got.find("\r\n0\r\n"), std::string::npos) << got;
}

// Defined: garbage instead of an HTTP answer is a 502 for the runtime.
TEST_F(FaultTest, UpstreamAnsweringGarbageGives502) {
  RawUpstream raw([](int fd) {
    (void)RawUpstream::ReadHead(fd);
    (void)SendAll(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  auto d = StartDelegator(raw.address());
  auto resp = RoundTrip(d->address(), BuildRequest("GET", kNextPath, {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_TRUE(log_.WaitFor("WARN GET " + kNextPath + ": ")) << log_.text();
}

// Defined: a slow upstream is waited for without any timeout (a next may wait
// for days), its answer arrives intact however it trickles in, and other
// requests are served meanwhile on their own connections.
TEST_F(FaultTest, SlowUpstreamIsWaitedForWhileOthersAreServed) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  const std::string event = "{\"slow\":\"event with some bytes\"}";
  RawUpstream raw([&](int fd) {
    std::string head = RawUpstream::ReadHead(fd);
    if (head.find("/fast") != std::string::npos) {
      (void)SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast");
      return;
    }
    released.wait();
    std::string answer =
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: slow-1\r\n"
        "Content-Length: " +
        std::to_string(event.size()) + "\r\n\r\n" + event;
    for (char c : answer) {  // one byte per write
      if (!SendAll(fd, std::string_view(&c, 1)).ok()) return;
      std::this_thread::sleep_for(100us);
    }
  });
  auto d = StartDelegator(raw.address());
  auto slow = std::async(std::launch::async, [&] {
    return RoundTrip(d->address(), BuildRequest("GET", kNextPath, {}, ""));
  });
  auto fast = RoundTrip(d->address(), BuildRequest("GET", "/fast", {}, ""));
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(fast->body, "fast");
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);
  release.set_value();
  auto resp = slow.get();
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, event);
  EXPECT_EQ(d->progress().unanswered, std::vector<std::string>{"slow-1"});
}

// Defined: with no upstream at start every request gets 502
// Delegator.UpstreamUnavailable with a WARN line; once the upstream is there,
// the same delegator forwards normally (nothing is cached from the failure).
TEST(FaultUpstreamGoneTest, GoneAtStartGives502UntilItAppears) {
  LogCapture log;
  HostPort port;
  {
    auto probe = ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(probe.ok());
    port = *LocalAddress(probe->get());
  }  // closed: nothing listens there now
  auto d = StartDelegator(port);
  ASSERT_NE(d, nullptr);
  auto resp = RoundTrip(d->address(), BuildRequest("GET", kNextPath, {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_NE(resp->body.find("Delegator.UpstreamUnavailable"), std::string::npos);
  EXPECT_TRUE(log.WaitFor("WARN GET " + kNextPath + ": ")) << log.text();
  ScriptedUpstream upstream;
  HttpServer server(&upstream);
  ASSERT_TRUE(server.Listen(port).ok());
  server.Start();
  auto again = RoundTrip(d->address(), BuildRequest("GET", kNextPath, {}, ""));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

// Answers 200 and records "complete: BODY" when the body arrived whole, or
// "truncated" when reading it failed: what the platform would take as a
// response and what it would refuse.
void RecordCompleteness(ScriptedUpstream& upstream, std::vector<std::string>* outcomes) {
  upstream.set_script([&upstream, outcomes](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    auto all = b.ReadAll(8 << 20);
    {
      std::lock_guard<std::mutex> lock(upstream.mu_);
      outcomes->push_back(all.ok() ? req.target + " complete: " + *all : req.target + " truncated");
    }
    out.Respond(all.ok() ? 202 : 400, {}, "");
  });
}

// ---- The runtime misbehaves.

// Defined: a malformed request line gets 400 InvalidRequest, a WARN line
// naming the peer, and only that connection closes; nothing goes upstream.
TEST_F(FaultTest, MalformedRequestLinesGet400AndNothingGoesUpstream) {
  for (const std::string& raw : std::vector<std::string>{
           "GET\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "G\x01T /x HTTP/1.1\r\n\r\n", "GET /x\r\n\r\n",
           "GET /a b c HTTP/1.1\r\n\r\n", std::string("\0\0\0\0\r\n\r\n", 8)}) {
    auto resp = RoundTrip(addr(), raw);
    ASSERT_TRUE(resp.ok()) << raw;
    EXPECT_EQ(resp->status, 400) << raw;
    EXPECT_FALSE(resp->keep_alive) << raw;
  }
  EXPECT_TRUE(upstream_.seen().empty());
  EXPECT_TRUE(log_.WaitFor("WARN rejected request from 127.0.0.1:")) << log_.text();
}

// Defined: a header section over the limit (names, values and target
// counted) gets 431 before anything goes upstream, however it is spread (one
// huge header, very many small ones, a huge target).
TEST_F(FaultTest, HeaderSectionOverTheLimitGets431) {
  std::string many = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  for (const std::string& raw :
       std::vector<std::string>{"GET /x HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
                                many, "GET /" + std::string(20000, 'p') + " HTTP/1.1\r\n\r\n"}) {
    auto resp = RoundTrip(addr(), raw);
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(resp->status, 431) << raw.substr(0, 40) << " (" << raw.size() << " bytes)";
  }
  EXPECT_TRUE(upstream_.seen().empty());
}

// Defined: bytes beyond Content-Length are the next request on the
// connection: the declared body goes upstream exactly, and the surplus, not
// being a request, is answered 400 and the connection closed. (The close can
// overtake the 400: the server does not linger; docs/reliability.md.)
TEST_F(FaultTest, BodyLongerThanDeclaredForwardsOnlyTheDeclaredBytes) {
  auto fd = ConnectTcp(addr());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(fd->get(),
                      "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\n"
                      "Content-Length: 5\r\n\r\nhelloSURPLUS BYTES\r\n\r\n")
                  .ok());
  // Both answers, as they come (they may share one read): the 200, then the
  // 400 for the surplus, then the close.
  const std::string answers = ReadUntilClose(fd->get());
  EXPECT_EQ(answers.rfind("HTTP/1.1 200 ", 0), 0u) << answers;
  EXPECT_NE(answers.find("HTTP/1.1 400 ", 1), std::string::npos) << answers;
  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "hello");
}

// Defined: a body shorter than declared, then the runtime closes: the
// request never completes upstream (the platform does not take a truncated
// response as the answer), and the delegator serves the next connection.
TEST_F(FaultTest, BodyShorterThanDeclaredNeverCompletesUpstream) {
  RecordCompleteness(upstream_, &outcomes_);
  for (size_t declared : {size_t{100}, size_t{3} << 20}) {  // direct path and streamed path
    auto fd = ConnectTcp(addr());
    ASSERT_TRUE(fd.ok());
    ASSERT_TRUE(SendAll(fd->get(),
                        "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\n"
                        "Content-Length: " +
                            std::to_string(declared) + "\r\n\r\nshort")
                    .ok());
    ::shutdown(fd->get(), SHUT_WR);
    std::string rest = ReadUntilClose(fd->get());
    EXPECT_EQ(rest.find("HTTP/1.1 2"), std::string::npos) << declared << ": " << rest;
  }
  auto after = RoundTrip(addr(), BuildRequest("GET", "/after", {}, ""));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 202);
  ExpectOnlyTruncatedAnd("/after complete: ");
}

// Defined: broken chunk framing from the runtime never becomes a complete
// request upstream: the runtime gets 400 or its connection closes, and the
// delegator serves the next connection.
TEST_F(FaultTest, BrokenChunkFramingNeverCompletesUpstream) {
  RecordCompleteness(upstream_, &outcomes_);
  for (const std::string& body :
       std::vector<std::string>{"ZZ\r\nabc\r\n0\r\n\r\n", "5\r\nabc\r\n0\r\n\r\n",
                                "3\r\nabcXY\r\n0\r\n\r\n", "fffffffffffffffff\r\n"}) {
    auto fd = ConnectTcp(addr());
    ASSERT_TRUE(fd.ok());
    ASSERT_TRUE(SendAll(fd->get(),
                        "POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n" +
                            body)
                    .ok());
    std::string got = ReadUntilClose(fd->get());
    EXPECT_EQ(got.find("HTTP/1.1 2"), std::string::npos) << body << ": " << got;
  }
  auto after = RoundTrip(addr(), BuildRequest("GET", "/after", {}, ""));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 202);
  ExpectOnlyTruncatedAnd("/after complete: ");
}

// Defined: half a request head and then a close sends nothing upstream and
// leaves no descriptor or thread behind.
TEST_F(FaultTest, HalfARequestThenCloseLeavesNothingBehind) {
  const HttpServer& server = delegator_->server();
  const uint64_t closed = server.closed_connections() + 1;
  ASSERT_TRUE(RoundTrip(addr(), BuildRequest("GET", "/warm", {}, "")).ok());
  ASSERT_TRUE(server.WaitForClosedConnections(closed, kPatience));
  int before = OpenFds();
  for (int i = 0; i < 50; ++i) {
    auto fd = ConnectTcp(addr());
    ASSERT_TRUE(fd.ok());
    ASSERT_TRUE(SendAll(fd->get(), "GET " + kNextPath + " HTTP/1.1\r\nHost: x\r\nX-Ha").ok());
  }
  // Each connection's thread has seen its peer go and closed its end.
  ASSERT_TRUE(server.WaitForClosedConnections(closed + 50, kPatience));
  EXPECT_LE(OpenFds(), before);
  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/warm");
}

// Defined: 200 runtimes' connections at once, each with a next in flight, are
// all answered with their own event; none waits for another.
TEST_F(FaultTest, TwoHundredConnectionsAtOnceAreAllAnswered) {
  constexpr int kConnections = 200;
  std::atomic<int> parked{0};
  std::promise<void> all_parked;
  std::shared_future<void> go = all_parked.get_future().share();
  upstream_.set_script([&](HttpRequest& req, RequestBody&, ResponseWriter& out) {
    if (++parked == kConnections) all_parked.set_value();
    go.wait();  // every next is parked upstream at the same time
    out.Respond(200,
                {{"Lambda-Runtime-Aws-Request-Id", req.target.substr(req.target.find('=') + 1)}},
                "{}");
  });
  std::vector<UniqueFd> fds;
  for (int i = 0; i < kConnections; ++i) {
    auto fd = ConnectTcp(addr());
    ASSERT_TRUE(fd.ok()) << i;
    ASSERT_TRUE(
        SendAll(fd->get(), BuildRequest("GET", kNextPath + "?i=" + std::to_string(i), {}, ""))
            .ok());
    fds.push_back(std::move(*fd));
  }
  for (int i = 0; i < kConnections; ++i) {
    auto resp = ReadResponse(fds[i].get());
    ASSERT_TRUE(resp.ok()) << i;
    EXPECT_EQ(resp->status, 200);
    ASSERT_NE(FindHeader(resp->headers, "Lambda-Runtime-Aws-Request-Id"), nullptr);
    EXPECT_EQ(*FindHeader(resp->headers, "Lambda-Runtime-Aws-Request-Id"), std::to_string(i));
  }
  EXPECT_EQ(delegator_->progress().unanswered.size(), static_cast<size_t>(kConnections));
  StopAll();
}

}  // namespace
}  // namespace anysnap
