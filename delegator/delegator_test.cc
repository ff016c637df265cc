#include "delegator.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "scripted_upstream.h"

namespace anysnap {
namespace {

using testing::BuildRequest;
using testing::ReadResponse;
using testing::RoundTrip;
using testing::TestResponse;

using testing::ScriptedUpstream;
using testing::SeenRequest;

class DelegatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_server_ = std::make_unique<HttpServer>(&upstream_);
    ASSERT_TRUE(upstream_server_->Listen({"127.0.0.1", 0}).ok());
    upstream_server_->Start();
    DelegatorOptions options;
    options.upstream = upstream_server_->address();
    options.http.max_header_bytes = 16 * 1024;
    auto d = Delegator::Start(options);
    ASSERT_TRUE(d.ok()) << d.status().message();
    delegator_ = std::move(d.value());
  }

  const HostPort& addr() { return delegator_->address(); }

  ScriptedUpstream upstream_;
  std::unique_ptr<HttpServer> upstream_server_;
  std::unique_ptr<Delegator> delegator_;
};

TEST_F(DelegatorTest, ForwardsMethodPathHeadersAndBinaryBodyByteExact) {
  std::string body("\x00\x01\xff\r\n\r\nbinary", 12);
  std::string error_body = "{\"errorMessage\":\"boom\"}";
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    auto all = b.ReadAll(1 << 20);
    upstream_.Record(req, all.ok() ? *all : "", {});
    out.Respond(202,
                {{"Content-Type", "application/json"}, {"X-Weird-Case", "v a l"}, {"X-Empty", ""}},
                std::string("\x00resp\xfe", 6));
  });
  auto resp =
      RoundTrip(addr(), BuildRequest("POST", "/2018-06-01/runtime/invocation/id-1/error?q=1",
                                     {{"Lambda-Runtime-Function-Error-Type", "Function.Boom"},
                                      {"lambda-runtime-function-xray-error-cause", "{\"x\":1}"},
                                      {"X-Empty-Req", ""},
                                      {"Content-Type", "application/json"}},
                                     body));
  ASSERT_TRUE(resp.ok()) << resp.status().message();
  EXPECT_EQ(resp->status, 202);
  EXPECT_EQ(resp->body, std::string("\x00resp\xfe", 6));
  ASSERT_NE(FindHeader(resp->headers, "X-Weird-Case"), nullptr);
  EXPECT_EQ(*FindHeader(resp->headers, "X-Weird-Case"), "v a l");
  ASSERT_NE(FindHeader(resp->headers, "X-Empty"), nullptr);
  EXPECT_EQ(*FindHeader(resp->headers, "Content-Type"), "application/json");

  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/2018-06-01/runtime/invocation/id-1/error?q=1");
  EXPECT_EQ(seen[0].body, body);
  ASSERT_NE(FindHeader(seen[0].headers, "Lambda-Runtime-Function-Error-Type"), nullptr);
  EXPECT_EQ(*FindHeader(seen[0].headers, "Lambda-Runtime-Function-Error-Type"), "Function.Boom");
  // Original spelling of the name is kept.
  bool spelled = false;
  for (const auto& h : seen[0].headers)
    spelled |= h.name == "lambda-runtime-function-xray-error-cause";
  EXPECT_TRUE(spelled);
  ASSERT_NE(FindHeader(seen[0].headers, "X-Empty-Req"), nullptr);
  EXPECT_EQ(*FindHeader(seen[0].headers, "X-Empty-Req"), "");
  // curl's own defaults do not leak in.
  EXPECT_EQ(FindHeader(seen[0].headers, "Accept"), nullptr);
  EXPECT_EQ(FindHeader(seen[0].headers, "Expect"), nullptr);
}

TEST_F(DelegatorTest, DropsHopByHopHeadersBothWays) {
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    upstream_.Record(req, "", {});
    (void)b;
    out.Respond(200,
                {{"Connection", "X-Secret-Resp"},
                 {"X-Secret-Resp", "1"},
                 {"Keep-Alive", "timeout=5"},
                 {"X-Kept", "1"}},
                "ok");
  });
  auto resp = RoundTrip(addr(), BuildRequest("GET", "/any/path",
                                             {{"Connection", "keep-alive, X-Hop"},
                                              {"X-Hop", "1"},
                                              {"Keep-Alive", "timeout=5"},
                                              {"TE", "trailers"},
                                              {"Proxy-Connection", "keep-alive"},
                                              {"X-End-To-End", "1"}},
                                             ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(FindHeader(resp->headers, "X-Secret-Resp"), nullptr);
  EXPECT_EQ(FindHeader(resp->headers, "Keep-Alive"), nullptr);
  EXPECT_NE(FindHeader(resp->headers, "X-Kept"), nullptr);
  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), 1u);
  for (const char* name : {"X-Hop", "Keep-Alive", "TE", "Proxy-Connection"})
    EXPECT_EQ(FindHeader(seen[0].headers, name), nullptr) << name;
  EXPECT_NE(FindHeader(seen[0].headers, "X-End-To-End"), nullptr);
}

TEST_F(DelegatorTest, UnknownPathsAndStatusesPassThrough) {
  upstream_.set_script([&](HttpRequest&, RequestBody&, ResponseWriter& out) {
    out.Respond(404, {{"Content-Type", "text/plain"}}, "404 page not found");
  });
  for (const char* target : {"/2020-01-01/extension/register", "/2022-07-01/telemetry", "/nope",
                             "//evil.example.com/x"}) {
    auto resp = RoundTrip(addr(), BuildRequest("PUT", target, {}, "x"));
    ASSERT_TRUE(resp.ok()) << target;
    EXPECT_EQ(resp->status, 404);
    EXPECT_EQ(resp->body, "404 page not found");
  }
}

TEST_F(DelegatorTest, StreamsChunkedBodyUpstreamChunkByChunkWithTrailers) {
  std::promise<std::string> first_piece;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<SeenRequest> seen_promise;
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    char buf[1024];
    auto n = b.Read(buf, sizeof(buf));
    first_piece.set_value(n.ok() ? std::string(buf, *n) : "error");
    released.wait();
    auto rest = b.ReadAll(1 << 20);
    SeenRequest s{req.method, req.target, req.headers, rest.ok() ? *rest : "error", b.trailers()};
    seen_promise.set_value(s);
    out.Respond(202, {{"Content-Type", "application/json"}}, "{\"status\":\"OK\"}");
  });
  auto fd = ConnectTcp(addr());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(
      SendAll(fd->get(),
              "POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: x\r\n"
              "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
              "Transfer-Encoding: chunked\r\n"
              "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
              "\r\n5\r\nfirst\r\n")
          .ok());
  // The first chunk reaches the upstream while the runtime has not sent more.
  auto piece = first_piece.get_future();
  ASSERT_EQ(piece.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(piece.get(), "first");
  release.set_value();
  ASSERT_TRUE(
      SendAll(fd->get(),
              "6\r\nsecond\r\n0\r\nLambda-Runtime-Function-Error-Type: Function.Late\r\n"
              "Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJsYXRlIn0=\r\n\r\n")
          .ok());
  auto resp = ReadResponse(fd->get());
  ASSERT_TRUE(resp.ok()) << resp.status().message();
  EXPECT_EQ(resp->status, 202);
  SeenRequest s = seen_promise.get_future().get();
  EXPECT_EQ(s.body, "second");
  ASSERT_EQ(s.trailers.size(), 2u);
  EXPECT_EQ(s.trailers[0].name, "Lambda-Runtime-Function-Error-Type");
  EXPECT_EQ(s.trailers[0].value, "Function.Late");
  EXPECT_EQ(s.trailers[1].value, "eyJlcnJvck1lc3NhZ2UiOiJsYXRlIn0=");
  ASSERT_NE(FindHeader(s.headers, "Lambda-Runtime-Function-Response-Mode"), nullptr);
  ASSERT_NE(FindHeader(s.headers, "Trailer"), nullptr);
}

TEST_F(DelegatorTest, StreamsResponseAfterResponseOnKeptAndNewConnections) {
  // Regression: the second streamed response through one delegator once
  // crashed it. Ten in a row, half on one kept-alive runtime connection, each
  // with a body of its own size and its own trailers.
  std::mutex mu;
  std::vector<SeenRequest> seen;
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    auto body = b.ReadAll(8 << 20);
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(
          {req.method, req.target, req.headers, body.ok() ? *body : "error", b.trailers()});
    }
    out.Respond(202, {}, "");
  });
  auto kept = ConnectTcp(addr());
  ASSERT_TRUE(kept.ok());
  for (int i = 0; i < 10; ++i) {
    UniqueFd fresh;
    int fd = kept->get();
    if (i % 2 == 1) {
      auto c = ConnectTcp(addr());
      ASSERT_TRUE(c.ok());
      fresh = std::move(*c);
      fd = fresh.get();
    }
    const std::string piece(1000 * (i + 1), static_cast<char>('a' + i));
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    std::string raw = "POST /2018-06-01/runtime/invocation/s" + std::to_string(i) +
                      "/response HTTP/1.1\r\nHost: x\r\n"
                      "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                      "Transfer-Encoding: chunked\r\n"
                      "Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n";
    for (int k = 0; k < 3; ++k) raw += std::string(size) + "\r\n" + piece + "\r\n";
    raw += "0\r\nLambda-Runtime-Function-Error-Type: E" + std::to_string(i) + "\r\n\r\n";
    ASSERT_TRUE(SendAll(fd, raw).ok());
    auto resp = ReadResponse(fd);
    ASSERT_TRUE(resp.ok()) << i << ": " << resp.status().message();
    EXPECT_EQ(resp->status, 202) << i;
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(seen[i].target, "/2018-06-01/runtime/invocation/s" + std::to_string(i) + "/response");
    EXPECT_EQ(seen[i].body, std::string(3000 * (i + 1), static_cast<char>('a' + i))) << i;
    ASSERT_EQ(seen[i].trailers.size(), 1u) << i;
    EXPECT_EQ(seen[i].trailers[0].value, "E" + std::to_string(i));
  }
}

TEST_F(DelegatorTest, ChunkedAnswerWithTrailersReachesTheRuntime) {
  upstream_.set_script([&](HttpRequest&, RequestBody&, ResponseWriter& out) {
    out.Begin(200, {{"Trailer", "X-Done"}}, std::nullopt);
    out.Write("abc");
    out.Write("def");
    out.End({{"X-Done", "yes"}});
  });
  auto resp = RoundTrip(addr(), BuildRequest("GET", "/stream", {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_TRUE(resp->chunked);
  EXPECT_EQ(resp->body, "abcdef");
  ASSERT_EQ(resp->trailers.size(), 1u);
  EXPECT_EQ(resp->trailers[0].value, "yes");
}

TEST_F(DelegatorTest, UpstreamRefusalOfLargeBodyReachesRuntimeUnchanged) {
  const std::string too_large =
      "{\"errorType\":\"RequestEntityTooLarge\",\"errorMessage\":\"Exceeded maximum allowed "
      "payload "
      "size (6291556 bytes).\"}";
  upstream_.set_script([&](HttpRequest&, RequestBody& b, ResponseWriter& out) {
    auto all = b.ReadAll(6291556);
    if (!all.ok()) {
      char sink[65536];
      while (true) {
        auto n = b.Read(sink, sizeof(sink));
        if (!n.ok() || *n == 0) break;
      }
      out.Respond(413, {{"Content-Type", "application/json"}}, too_large);
      return;
    }
    out.Respond(202, {}, "{\"status\":\"OK\"}");
  });
  auto ok = RoundTrip(addr(), BuildRequest("POST", "/2018-06-01/runtime/invocation/a/response", {},
                                           std::string(6 * 1024 * 1024, 'x')));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 202);
  auto big = RoundTrip(addr(), BuildRequest("POST", "/2018-06-01/runtime/invocation/a/response", {},
                                            std::string(7 * 1024 * 1024, 'x')));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->body, too_large);
}

TEST_F(DelegatorTest, ConcurrentLongPollsAreNotSerialised) {
  constexpr int kPolls = 8;
  int arrived = 0;
  upstream_.set_script([&](HttpRequest&, RequestBody&, ResponseWriter& out) {
    int mine;
    {
      std::unique_lock<std::mutex> lock(upstream_.mu_);
      mine = ++arrived;
      upstream_.cv_.notify_all();
      // Answers only once every poll is parked upstream at the same time.
      upstream_.cv_.wait(lock, [&] { return arrived == kPolls; });
    }
    out.Respond(200, {{"Lambda-Runtime-Aws-Request-Id", "id-" + std::to_string(mine)}}, "{}");
  });
  std::vector<std::future<Result<TestResponse>>> polls;
  for (int i = 0; i < kPolls; ++i) {
    polls.push_back(std::async(std::launch::async, [&] {
      return RoundTrip(addr(), BuildRequest("GET", "/2018-06-01/runtime/invocation/next", {}, ""));
    }));
  }
  std::set<std::string> ids;
  for (auto& p : polls) {
    ASSERT_EQ(p.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    auto r = p.get();
    ASSERT_TRUE(r.ok());
    ids.insert(*FindHeader(r->headers, "Lambda-Runtime-Aws-Request-Id"));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kPolls));
  RuntimeProgress progress = delegator_->progress();
  EXPECT_TRUE(progress.next_called);
  EXPECT_EQ(progress.unanswered.size(), static_cast<size_t>(kPolls));
}

TEST_F(DelegatorTest, TracksUnansweredInvocations) {
  upstream_.set_script([&](HttpRequest& req, RequestBody& b, ResponseWriter& out) {
    (void)b.ReadAll(1 << 20);
    if (req.method == "GET")
      out.Respond(200, {{"Lambda-Runtime-Aws-Request-Id", "req-7"}}, "{}");
    else
      out.Respond(202, {}, "{\"status\":\"OK\"}");
  });
  EXPECT_FALSE(delegator_->progress().next_called);
  ASSERT_TRUE(
      RoundTrip(addr(), BuildRequest("GET", "/2018-06-01/runtime/invocation/next", {}, "")).ok());
  EXPECT_EQ(delegator_->progress().unanswered, std::vector<std::string>{"req-7"});
  ASSERT_TRUE(
      RoundTrip(addr(),
                BuildRequest("POST", "/2018-06-01/runtime/invocation/req-7/response", {}, "r"))
          .ok());
  EXPECT_TRUE(delegator_->progress().unanswered.empty());
}

TEST_F(DelegatorTest, SurvivesAnUpstreamRestartLikeASnapshotRestore) {
  auto first = RoundTrip(addr(), BuildRequest("GET", "/a", {}, ""));
  ASSERT_TRUE(first.ok());
  // Every connection of the old upstream dies; a new one listens on the same port.
  HostPort same = upstream_server_->address();
  upstream_server_->Stop();
  upstream_server_ = std::make_unique<HttpServer>(&upstream_);
  ASSERT_TRUE(upstream_server_->Listen(same).ok());
  upstream_server_->Start();
  auto again = RoundTrip(addr(), BuildRequest("POST", "/b", {}, "body after restore"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].body, "body after restore");
}

TEST_F(DelegatorTest, NeverRetriesOnceTheAnswerStarted) {
  std::atomic<int> calls{0};
  upstream_.set_script([&](HttpRequest&, RequestBody&, ResponseWriter& out) {
    ++calls;
    out.Begin(200, {}, 100);
    out.Write("partial");
    // Ends without the promised 100 bytes: the connection closes mid-answer.
  });
  auto fd = ConnectTcp(addr());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(fd->get(), BuildRequest("GET", "/x", {}, "")).ok());
  std::string got = testing::ReadUntilClose(fd->get());
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK", 0), 0u) << got;
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(DelegatorTest, UpstreamGoneGives502) {
  upstream_server_->Stop();
  auto resp = RoundTrip(addr(), BuildRequest("GET", "/2018-06-01/runtime/invocation/next", {}, ""));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 502);
  EXPECT_NE(resp->body.find("Delegator.UpstreamUnavailable"), std::string::npos);
}

TEST_F(DelegatorTest, MalformedRequestLeavesOtherConnectionsWorking) {
  auto good = ConnectTcp(addr());
  ASSERT_TRUE(good.ok());
  auto bad = RoundTrip(addr(), "BLAH /x SPDY/9\r\n\r\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  auto huge = RoundTrip(addr(), "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->status, 431);
  auto absolute =
      RoundTrip(addr(), "GET http://169.254.169.254/latest HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->status, 400);
  ASSERT_TRUE(SendAll(good->get(), BuildRequest("GET", "/still-fine", {}, "")).ok());
  auto resp = ReadResponse(good->get());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(upstream_.seen().size() == 1u);
}

TEST(DelegatorStartTest, RefusesNonLoopbackUnlessForced) {
  DelegatorOptions options;
  options.listen = {"0.0.0.0", 0};
  options.upstream = {"127.0.0.1", 9};
  auto d = Delegator::Start(options);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("non-loopback"), std::string::npos);
  options.allow_non_loopback = true;
  EXPECT_TRUE(Delegator::Start(options).ok());
}

}  // namespace
}  // namespace anysnap
