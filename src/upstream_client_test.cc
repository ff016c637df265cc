#include "anysnap/upstream_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace anysnap {
namespace {

using namespace std::chrono_literals;

// An upstream that writes exactly the bytes a test scripts, so tests can
// answer as any server might (chunked with trailers, close-delimited,
// interim 100s) and close connections when they like. Each connection runs
// the script on a thread of its own and closes when the script returns.
class RawUpstream {
 public:
  using Script = std::function<void(int fd, int index)>;

  explicit RawUpstream(Script script) : script_(std::move(script)) {
    auto fd = ListenTcp({"127.0.0.1", 0});
    EXPECT_TRUE(fd.ok());
    listen_ = std::move(fd.value());
    address_ = LocalAddress(listen_.get()).value();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~RawUpstream() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
  }

  const HostPort& address() const { return address_; }
  // Connections accepted so far.
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }
  // Waits until `n` connections have been closed by their scripts.
  bool WaitClosed(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return closed_ >= n; });
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      int index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = accepted_++;
        open_.insert(fd);
      }
      threads_.emplace_back([this, fd, index] {
        script_(fd, index);
        std::lock_guard<std::mutex> lock(mu_);
        open_.erase(fd);
        ::close(fd);
        ++closed_;
        cv_.notify_all();
      });
    }
  }

  const Script script_;
  UniqueFd listen_;
  HostPort address_;
  std::thread accept_thread_;
  std::vector<std::thread> threads_;  // touched by the accept thread until it ends
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> open_;  // guarded by mu_
  int accepted_ = 0;    // guarded by mu_
  int closed_ = 0;      // guarded by mu_
};

// Reads one request (head, and a body of its Content-Length) as raw text;
// empty when the peer closed first.
std::string ReadRequest(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = 0;
      size_t at = got.find("Content-Length: ");
      if (at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16));
      if (got.size() >= end + 4 + length) return got;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    got.append(buf, static_cast<size_t>(n));
  }
}

// What a script sends; a failure shows in what the client receives.
void Send(int fd, std::string_view bytes) { (void)SendAll(fd, bytes); }

// Serves requests on one connection, answering each with `answer`.
void AnswerEach(int fd, std::string_view answer) {
  while (!ReadRequest(fd).empty()) Send(fd, answer);
}

// Records what the client side of Forward() was told.
class RecordingWriter final : public ResponseWriter {
 public:
  Status Begin(int s, const HttpHeaders& h, std::optional<uint64_t> l) override {
    ++begins;
    status = s;
    headers = h;
    length = l;
    return Status::Ok();
  }
  Status Write(std::string_view data) override {
    body.append(data);
    return Status::Ok();
  }
  Status End(const HttpHeaders& t) override {
    ended = true;
    trailers = t;
    return Status::Ok();
  }
  bool started() const override { return begins > 0; }
  void CloseAfterResponse() override { closed = true; }

  int begins = 0;
  int status = 0;
  HttpHeaders headers;
  std::optional<uint64_t> length;
  std::string body;
  HttpHeaders trailers;
  bool ended = false;
  bool closed = false;
};

class StringBody final : public RequestBody {
 public:
  explicit StringBody(std::string data = "") : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = std::min(cap, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  std::string data_;
  size_t pos_ = 0;
  HttpHeaders trailers_;
};

HttpRequest Request(std::string method, std::string target, HttpHeaders headers = {},
                    std::optional<uint64_t> content_length = std::nullopt) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.content_length = content_length;
  return r;
}

// Forwards a request without a body.
ForwardOutcome Get(UpstreamClient& client, RecordingWriter& out, std::string target = "/x",
                   bool long_poll = false) {
  StringBody none;
  return client.Forward(Request("GET", std::move(target)), none, out, long_poll);
}

// Reads one chunked request to the end of its trailer section, as raw text;
// empty when the peer closed first.
std::string ReadChunkedRequest(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    size_t last = got.find("\r\n0\r\n");
    if (last != std::string::npos && got.find("\r\n\r\n", last + 2) != std::string::npos) {
      return got;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    got.append(buf, static_cast<size_t>(n));
  }
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// An upstream whose first connection answers one request and closes, leaving
// a dead connection in the client's pool (as after a snapshot restore); each
// later connection reads a request with `read`, hands it to `seen` and
// answers `answer`.
std::unique_ptr<RawUpstream> DyingFirstConnection(std::string (*read)(int),
                                                  std::promise<std::string>* seen,
                                                  std::string answer) {
  return std::make_unique<RawUpstream>([=](int fd, int index) {
    if (index == 0) {
      ReadRequest(fd);
      Send(fd, kOk);
      return;
    }
    seen->set_value(read(fd));
    Send(fd, answer);
  });
}

// Has `client` pool the first connection of `upstream`, and waits until the
// upstream has closed it.
void PoolADeadConnection(UpstreamClient& client, RawUpstream& upstream) {
  RecordingWriter first;
  StringBody none;
  EXPECT_EQ(client.Forward(Request("GET", "/x"), none, first).status, 200);
  ASSERT_TRUE(upstream.WaitClosed(1));
}

// A runtime reacting the instant its answer is complete: the moment the
// last body byte reaches it, it sends its next request.
class EagerRuntime final : public ResponseWriter {
 public:
  EagerRuntime(UpstreamClient* client, uint64_t answer_length)
      : client_(client), left_(answer_length) {}
  Status Begin(int, const HttpHeaders&, std::optional<uint64_t>) override {
    started_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view data) override {
    left_ -= data.size();
    if (left_ == 0) {
      RecordingWriter next;
      StringBody none;
      next_status = client_->Forward(Request("GET", "/next"), none, next).status;
    }
    return Status::Ok();
  }
  Status End(const HttpHeaders&) override { return Status::Ok(); }
  bool started() const override { return started_; }
  void CloseAfterResponse() override {}

  int next_status = 0;

 private:
  UpstreamClient* const client_;
  uint64_t left_;
  bool started_ = false;
};

TEST(UpstreamClientTest, ARuntimeAnsweredInFullFindsTheConnectionBackInThePool) {
  RawUpstream upstream([](int fd, int) { AnswerEach(fd, kOk); });
  UpstreamClient client(upstream.address());
  EagerRuntime runtime(&client, 2);
  StringBody none;
  EXPECT_EQ(client.Forward(Request("GET", "/first"), none, runtime).status, 200);
  EXPECT_EQ(runtime.next_status, 200);
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, KeepsOneConnectionAliveAndSendsHeadAndBodyAsGiven) {
  std::promise<std::string> seen_post;
  RawUpstream upstream([&](int fd, int) {
    ReadRequest(fd);
    Send(fd,
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Secret\r\nX-Secret: 1\r\n"
         "X-Kept: 1\r\n\r\nok");
    seen_post.set_value(ReadRequest(fd));
    Send(fd, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    AnswerEach(fd, kOk);
  });
  UpstreamClient client(upstream.address());

  RecordingWriter first;
  ForwardOutcome o = Get(client, first, "/2018-06-01/runtime/invocation/next");
  EXPECT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_EQ(o.status, 200);
  EXPECT_TRUE(o.answered_by_upstream);
  EXPECT_FALSE(o.retried);
  EXPECT_NE(FindHeader(o.response_headers, "X-Secret"), nullptr);  // the upstream's, as sent
  EXPECT_EQ(first.body, "ok");
  EXPECT_EQ(first.length, std::optional<uint64_t>(2));
  EXPECT_TRUE(first.ended);
  EXPECT_EQ(FindHeader(first.headers, "X-Secret"), nullptr);  // named by Connection
  EXPECT_EQ(FindHeader(first.headers, "Connection"), nullptr);
  EXPECT_NE(FindHeader(first.headers, "X-Kept"), nullptr);

  RecordingWriter second;
  StringBody body("hello");
  o = client.Forward(Request("POST", "/2018-06-01/runtime/invocation/r1/response",
                             {{"Connection", "X-Hop"},
                              {"X-Hop", "1"},
                              {"TE", "trailers"},
                              {"Host", "runtime.example"},
                              {"Expect", "100-continue"},
                              {"lambda-runtime-function-error-type", "Function.X"},
                              {"X-Empty", ""},
                              {"Content-Length", "5"}},
                             5),
                     body, second);
  EXPECT_EQ(o.status, 202);
  EXPECT_TRUE(second.ended);
  auto post = seen_post.get_future();
  ASSERT_EQ(post.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(post.get(),
            "POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\n"
            "Host: " +
                upstream.address().ToString() +
                "\r\n"
                "lambda-runtime-function-error-type: Function.X\r\n"
                "X-Empty:\r\n"
                "Content-Length: 5\r\n"
                "\r\n"
                "hello");
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, PooledConnectionFoundDeadIsReplacedAndTheRequestSentOnceMore) {
  std::promise<std::string> seen_again;
  auto upstream = DyingFirstConnection(&ReadRequest, &seen_again,
                                       "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
  UpstreamClient client(upstream->address());
  PoolADeadConnection(client, *upstream);

  RecordingWriter second;
  StringBody body("payload");
  ForwardOutcome o = client.Forward(Request("POST", "/again", {}, 7), body, second);
  EXPECT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_TRUE(o.retried);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(second.begins, 1);
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream->connections(), 2);
  auto again = seen_again.get_future();
  ASSERT_EQ(again.wait_for(30s), std::future_status::ready);
  EXPECT_NE(again.get().find("\r\n\r\npayload"), std::string::npos);
}

TEST(UpstreamClientTest, RetriesOnlyOnceThenAnswers502) {
  RawUpstream upstream([](int fd, int) { ReadRequest(fd); });  // closes without a word
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_TRUE(o.retried);
  EXPECT_FALSE(o.answered_by_upstream);
  EXPECT_EQ(o.status, 502);
  EXPECT_EQ(out.status, 502);
  EXPECT_NE(out.body.find("Delegator.UpstreamUnavailable"), std::string::npos);
  EXPECT_EQ(upstream.connections(), 2);
}

TEST(UpstreamClientTest, AnswerThatStartedIsNeverRetriedAndTheRuntimeConnectionCloses) {
  RawUpstream upstream([](int fd, int) {
    ReadRequest(fd);
    Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_FALSE(o.retried);
  EXPECT_TRUE(o.answered_by_upstream);
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.error.ok());
  EXPECT_EQ(out.begins, 1);
  EXPECT_EQ(out.body, "partial");
  EXPECT_FALSE(out.ended);
  EXPECT_TRUE(out.closed);
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, AnswerBrokenInItsHeadIsNotRetried) {
  RawUpstream upstream([](int fd, int) {
    ReadRequest(fd);
    Send(fd, "HTTP/1.1 20");
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_FALSE(o.retried);
  EXPECT_EQ(o.status, 502);
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, ChunkedAnswerKeepsItsTrailersAndTheConnection) {
  RawUpstream upstream([](int fd, int) {
    ReadRequest(fd);
    Send(fd,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Done\r\n\r\n3\r\nabc\r\n");
    Send(fd, "3\r\ndef\r\n0\r\nX-Done: yes\r\nX-Also: 2\r\n\r\n");
    AnswerEach(fd, kOk);
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_EQ(out.length, std::nullopt);
  EXPECT_EQ(FindHeader(out.headers, "Transfer-Encoding"), nullptr);
  EXPECT_NE(FindHeader(out.headers, "Trailer"), nullptr);
  EXPECT_EQ(out.body, "abcdef");
  EXPECT_TRUE(out.ended);
  ASSERT_EQ(out.trailers.size(), 2u);
  EXPECT_EQ(out.trailers[0].name, "X-Done");
  EXPECT_EQ(out.trailers[0].value, "yes");
  EXPECT_EQ(out.trailers[1].value, "2");

  RecordingWriter next;
  EXPECT_EQ(Get(client, next).status, 200);
  EXPECT_FALSE(next.closed);
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, CloseDelimitedAnswerEndsAtTheCloseAndIsNotPooled) {
  RawUpstream upstream([](int fd, int) {
    ReadRequest(fd);
    Send(fd, "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil ");
    Send(fd, "the close");
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(out.length, std::nullopt);
  EXPECT_EQ(out.body, "until the close");
  EXPECT_TRUE(out.ended);

  RecordingWriter next;
  o = Get(client, next);
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.retried);  // a fresh connection, not a dead pooled one
  EXPECT_EQ(upstream.connections(), 2);
}

TEST(UpstreamClientTest, HeadAnd204And304AnswersHaveNoBody) {
  RawUpstream upstream([](int fd, int) {
    for (;;) {
      std::string req = ReadRequest(fd);
      if (req.empty()) return;
      if (req.rfind("HEAD ", 0) == 0)
        Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
      else if (req.find(" /204 ") != std::string::npos)
        Send(fd, "HTTP/1.1 204 No Content\r\nX-N: 204\r\n\r\n");
      else if (req.find(" /304 ") != std::string::npos)
        Send(fd, "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
      else
        Send(fd, kOk);
    }
  });
  UpstreamClient client(upstream.address());
  {
    RecordingWriter out;
    StringBody none;
    ForwardOutcome o = client.Forward(Request("HEAD", "/h"), none, out);
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(out.length, std::optional<uint64_t>(5));
    EXPECT_EQ(out.body, "");
    EXPECT_TRUE(out.ended);
  }
  for (int status : {204, 304}) {
    RecordingWriter out;
    std::string path = "/";
    path += std::to_string(status);
    ForwardOutcome o = Get(client, out, path);
    EXPECT_EQ(o.status, status);
    EXPECT_EQ(out.body, "");
    EXPECT_TRUE(out.ended);
  }
  RecordingWriter last;
  EXPECT_EQ(Get(client, last).status, 200);
  EXPECT_EQ(last.body, "ok");
  // Had any of them waited for a body, the next answer would have gone astray.
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, InterimAnswersAreSkipped) {
  RawUpstream upstream([](int fd, int) {
    ReadRequest(fd);
    Send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    Send(fd,
         "HTTP/1.1 102 Processing\r\nX-Interim: 1\r\n\r\nHTTP/1.1 201 Created\r\n"
         "Content-Length: 4\r\n\r\ndone");
    AnswerEach(fd, kOk);
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  StringBody body("x");
  ForwardOutcome o = client.Forward(Request("POST", "/p", {}, 1), body, out);
  EXPECT_EQ(o.status, 201);
  EXPECT_EQ(out.begins, 1);
  EXPECT_EQ(out.status, 201);
  EXPECT_EQ(FindHeader(out.headers, "X-Interim"), nullptr);
  EXPECT_EQ(FindHeader(o.response_headers, "X-Interim"), nullptr);
  EXPECT_EQ(out.body, "done");
  RecordingWriter next;
  EXPECT_EQ(Get(client, next).status, 200);
  EXPECT_EQ(upstream.connections(), 1);
}

TEST(UpstreamClientTest, BodyShorterThanItsLengthGets400) {
  RawUpstream upstream([](int fd, int) { AnswerEach(fd, kOk); });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  StringBody body("abc");
  ForwardOutcome o = client.Forward(Request("POST", "/p", {}, 10), body, out);
  EXPECT_EQ(o.status, 400);
  EXPECT_TRUE(out.closed);
  EXPECT_EQ(upstream.connections(), 0);
}

TEST(UpstreamClientTest, UnreachableUpstreamGives502) {
  HostPort gone;
  {
    auto fd = ListenTcp({"127.0.0.1", 0});
    ASSERT_TRUE(fd.ok());
    gone = LocalAddress(fd->get()).value();
  }
  UpstreamClient client(gone);
  RecordingWriter out;
  ForwardOutcome o = Get(client, out);
  EXPECT_EQ(o.status, 502);
  EXPECT_FALSE(o.answered_by_upstream);
  EXPECT_NE(out.body.find("Delegator.UpstreamUnavailable"), std::string::npos);
}

// A connection script that parks each request until released.
struct Parking {
  std::promise<void> parked;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();

  void Serve(int fd) {
    ReadRequest(fd);
    parked.set_value();
    released.wait_for(30s);
    Send(fd, kOk);
  }
  bool WaitParked() { return parked.get_future().wait_for(30s) == std::future_status::ready; }
};

TEST(UpstreamClientTest, AbortEndsAParkedLongPollAtOnce) {
  std::promise<void> parked;
  RawUpstream upstream([&](int fd, int) {
    ReadRequest(fd);
    parked.set_value();
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }  // never answers; returns once the client is gone
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  auto poll = std::async(std::launch::async, [&] { return Get(client, out, "/next", true); });
  ASSERT_EQ(parked.get_future().wait_for(30s), std::future_status::ready);
  client.Abort(std::chrono::hours(1));
  ASSERT_EQ(poll.wait_for(30s), std::future_status::ready);
  ForwardOutcome o = poll.get();
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(out.status, 503);
  EXPECT_TRUE(out.closed);

  RecordingWriter late;  // a long poll after Abort() is refused
  EXPECT_EQ(Get(client, late, "/next", true).status, 503);
}

TEST(UpstreamClientTest, AbortLetsOtherRequestsFinishWithinTheGrace) {
  Parking parking;
  RawUpstream upstream([&](int fd, int) { parking.Serve(fd); });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  auto post = std::async(std::launch::async, [&] { return Get(client, out); });
  ASSERT_TRUE(parking.WaitParked());
  client.Abort(std::chrono::hours(1));
  parking.release.set_value();
  ForwardOutcome o = post.get();
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(out.body, "ok");
}

TEST(UpstreamClientTest, AbortEndsOtherRequestsWhenTheGraceIsOver) {
  Parking parking;
  RawUpstream upstream([&](int fd, int) { parking.Serve(fd); });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  auto post = std::async(std::launch::async, [&] { return Get(client, out); });
  ASSERT_TRUE(parking.WaitParked());
  client.Abort(0ms);
  ASSERT_EQ(post.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(post.get().status, 503);
  parking.release.set_value();
}

TEST(UpstreamClientTest, DropConnectionsClosesPooledAndInUseConnections) {
  Parking parking;
  RawUpstream upstream([&](int fd, int index) {
    if (index == 1) parking.Serve(fd);
    AnswerEach(fd, kOk);
  });
  UpstreamClient client(upstream.address());
  RecordingWriter first;
  EXPECT_EQ(Get(client, first).status, 200);  // connection 0, pooled
  client.DropConnections();
  RecordingWriter second;
  auto in_use = std::async(std::launch::async, [&] { return Get(client, second); });
  ASSERT_TRUE(parking.WaitParked());  // on connection 1
  client.DropConnections();
  parking.release.set_value();
  ForwardOutcome o = in_use.get();
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.retried);
  RecordingWriter third;
  o = Get(client, third);  // connection 1 was in use when dropped: not pooled
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.retried);
  EXPECT_EQ(upstream.connections(), 3);
  // Connections 0 and 1 were closed by the client, not left for the upstream to time out.
  EXPECT_TRUE(upstream.WaitClosed(2));
}

// A body handed out in scripted pieces; before each piece after the first it
// may wait for a signal (so a test can prove a piece went upstream before the
// next one existed), and it may end in an error instead of its end.
class PieceBody final : public RequestBody {
 public:
  explicit PieceBody(std::vector<std::string> pieces, HttpHeaders trailers = {})
      : pieces_(std::move(pieces)), trailers_(std::move(trailers)) {}
  // Before handing out piece `i` (i >= 1), waits for `gates[i - 1]`.
  std::vector<std::shared_future<void>> gates;
  bool fail_at_end = false;

  Result<size_t> Read(char* buf, size_t cap) override {
    if (next_ == pieces_.size()) {
      if (fail_at_end) return Status::ProtocolError("client went away");
      return size_t{0};
    }
    if (next_ >= 1 && next_ - 1 < gates.size() &&
        gates[next_ - 1].wait_for(30s) != std::future_status::ready) {
      return Status::TimedOut("the upstream never saw the piece before");
    }
    const std::string& piece = pieces_[next_];
    size_t n = std::min(cap, piece.size() - offset_);
    std::memcpy(buf, piece.data() + offset_, n);
    offset_ += n;
    if (offset_ == piece.size()) {
      ++next_;
      offset_ = 0;
    }
    return n;
  }
  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  std::vector<std::string> pieces_;
  HttpHeaders trailers_;
  size_t next_ = 0;
  size_t offset_ = 0;
};

HttpRequest ChunkedPost(std::string target) {
  HttpRequest r = Request("POST", std::move(target),
                          {{"Lambda-Runtime-Function-Response-Mode", "streaming"},
                           {"Transfer-Encoding", "chunked"},
                           {"Trailer", "Lambda-Runtime-Function-Error-Type"}});
  r.chunked = true;
  return r;
}

TEST(UpstreamClientTest, ChunkedBodyGoesUpPieceByPieceWithItsTrailersAgainAndAgain) {
  // Three streamed responses in a row on one pooled connection: each piece
  // must reach the upstream before the runtime produces the next.
  constexpr int kStreams = 3;
  std::vector<std::promise<void>> seen(kStreams * 2);
  std::vector<std::string> requests;
  std::mutex mu;
  RawUpstream upstream([&](int fd, int) {
    for (int stream = 0; stream < kStreams; ++stream) {
      std::string got;
      char buf[4096];
      for (int piece = 0; piece < 2; ++piece) {
        const std::string want = "piece-" + std::to_string(stream) + "-" + std::to_string(piece);
        while (got.find(want) == std::string::npos) {
          ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) return;
          got.append(buf, static_cast<size_t>(n));
        }
        seen[stream * 2 + piece].set_value();
      }
      while (got.find("\r\n0\r\n") == std::string::npos ||
             got.find("\r\n\r\n", got.find("\r\n0\r\n") + 2) == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) return;
        got.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(got);
      }
      Send(fd, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    }
  });
  UpstreamClient client(upstream.address());
  for (int stream = 0; stream < kStreams; ++stream) {
    const std::string tag = std::to_string(stream);
    PieceBody body({"piece-" + tag + "-0", "piece-" + tag + "-1", "the end"},
                   {{"Lambda-Runtime-Function-Error-Type", "E" + tag}});
    body.gates = {seen[stream * 2].get_future().share(), seen[stream * 2 + 1].get_future().share()};
    RecordingWriter out;
    ForwardOutcome o = client.Forward(ChunkedPost("/r" + tag), body, out);
    ASSERT_TRUE(o.error.ok()) << o.error.message();
    EXPECT_EQ(o.status, 202);
    EXPECT_TRUE(out.ended);
  }
  EXPECT_EQ(upstream.connections(), 1);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(requests.size(), static_cast<size_t>(kStreams));
  EXPECT_NE(requests[2].find("POST /r2 HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(requests[2].find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(requests[2].find("\r\n9\r\npiece-2-0\r\n9\r\npiece-2-1\r\n7\r\nthe end\r\n"
                             "0\r\nLambda-Runtime-Function-Error-Type: E2\r\n\r\n"),
            std::string::npos)
      << requests[2];
}

TEST(UpstreamClientTest, LargeBodyIsSentAsItArrivesWithItsLength) {
  const std::string big(3 * UpstreamClient::kReplayLimit + 17, 'z');
  std::promise<std::string> seen;
  RawUpstream upstream([&](int fd, int) {
    seen.set_value(ReadRequest(fd));
    Send(fd, kOk);
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  PieceBody body({big.substr(0, 100), big.substr(100)});
  ForwardOutcome o = client.Forward(Request("POST", "/big", {}, big.size()), body, out);
  ASSERT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_EQ(o.status, 200);
  auto got = seen.get_future();
  ASSERT_EQ(got.wait_for(30s), std::future_status::ready);
  const std::string request = got.get();
  EXPECT_NE(request.find("Content-Length: " + std::to_string(big.size()) + "\r\n"),
            std::string::npos);
  EXPECT_EQ(request.substr(request.find("\r\n\r\n") + 4), big);
}

TEST(UpstreamClientTest, EarlyAnswerToALargeBodyReachesTheRuntimeAndEndsTheSending) {
  // Like the Runtime API refusing a response over 6 MB: it answers 413 after
  // the head and stops reading.
  std::promise<void> exchange_over;
  std::shared_future<void> over = exchange_over.get_future().share();
  RawUpstream upstream([over](int fd, int) {
    char buf[4096];
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      got.append(buf, static_cast<size_t>(n));
    }
    Send(fd, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big!");
    // Keeps the connection open without reading until the exchange is over:
    // only the early answer can end it.
    over.wait();
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  const std::string big(64 * 1024 * 1024, 'x');
  StringBody body(big);
  ForwardOutcome o = client.Forward(Request("POST", "/huge", {}, big.size()), body, out);
  exchange_over.set_value();
  EXPECT_EQ(o.status, 413);
  EXPECT_EQ(out.status, 413);
  EXPECT_EQ(out.body, "too big!");
  EXPECT_TRUE(out.ended);
}

TEST(UpstreamClientTest, DeadPooledConnectionRetriesAStreamedBodyItStillHolds) {
  std::promise<std::string> seen_again;
  auto upstream = DyingFirstConnection(&ReadChunkedRequest, &seen_again,
                                       "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
  UpstreamClient client(upstream->address());
  PoolADeadConnection(client, *upstream);
  RecordingWriter out;
  PieceBody body({"one", "two"});
  ForwardOutcome o = client.Forward(ChunkedPost("/s"), body, out);
  EXPECT_TRUE(o.error.ok()) << o.error.message();
  EXPECT_EQ(o.status, 202);
  auto again = seen_again.get_future();
  ASSERT_EQ(again.wait_for(30s), std::future_status::ready);
  const std::string request = again.get();
  // What was read before the dead connection showed is sent again first.
  EXPECT_NE(request.find("\r\n\r\n"), std::string::npos);
  std::string body_text = request.substr(request.find("\r\n\r\n") + 4);
  EXPECT_NE(body_text.find("one"), std::string::npos) << body_text;
  EXPECT_NE(body_text.find("two"), std::string::npos) << body_text;
  EXPECT_LT(body_text.find("one"), body_text.find("two"));
}

TEST(UpstreamClientTest, StreamedBodyThatBreaksOffGets400AndClosesTheUpstreamConnection) {
  RawUpstream upstream([](int fd, int) {
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }  // returns once the client closes
  });
  UpstreamClient client(upstream.address());
  RecordingWriter out;
  PieceBody body({"half of it"});
  body.fail_at_end = true;
  ForwardOutcome o = client.Forward(ChunkedPost("/s"), body, out);
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(out.status, 400);
  EXPECT_TRUE(upstream.WaitClosed(1));
}

TEST(UpstreamClientTest, CallGivesUpAtItsDeadlineOrWhenCancelled) {
  RawUpstream upstream([](int fd, int) {
    char c;
    while (::recv(fd, &c, 1, 0) > 0) {
    }  // never answers
  });
  UpstreamClient client(upstream.address());
  CallOptions timed;
  timed.deadline = std::chrono::steady_clock::now() + 100ms;
  auto r = client.Call("POST", "/hook", {}, "{}", timed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTimedOut);

  std::atomic<bool> cancel{false};
  CallOptions cancellable;
  cancellable.cancel = &cancel;
  auto call = std::async(std::launch::async,
                         [&] { return client.Call("POST", "/hook", {}, "{}", cancellable); });
  cancel = true;
  ASSERT_EQ(call.wait_for(30s), std::future_status::ready);
  r = call.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted);
}

}  // namespace
}  // namespace anysnap
