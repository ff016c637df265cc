#include "anysnap/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>

namespace anysnap {
namespace {

// Echoes the request back: method, target, body and trailers in the body.
class EchoHandler : public HttpHandler {
 public:
  void Handle(HttpRequest& req, RequestBody& body, ResponseWriter& out) override {
    auto all = body.ReadAll(1 << 20);
    if (!all.ok()) {
      out.RespondError(400, "BadBody", all.status().message());
      return;
    }
    std::string text = req.method + " " + req.target + " " + *all;
    for (const auto& t : body.trailers()) text += " [" + t.name + "=" + t.value + "]";
    out.Respond(200, {{"X-Echo", "1"}}, text);
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.max_header_bytes = 4096;
    server_ = std::make_unique<HttpServer>(&handler_, options);
    ASSERT_TRUE(server_->Listen({"127.0.0.1", 0}).ok());
    server_->Start();
  }

  UniqueFd Connect() {
    auto fd = ConnectTcp(server_->address());
    EXPECT_TRUE(fd.ok());
    return std::move(fd.value());
  }

  // Sends `raw` and reads until the peer closes or `until` appears.
  static std::string Exchange(int fd, const std::string& raw, const std::string& until = "") {
    EXPECT_TRUE(SendAll(fd, raw).ok());
    std::string got;
    char buf[4096];
    for (;;) {
      if (!until.empty() && got.find(until) != std::string::npos) break;
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersKeepAliveRequestsInOrder) {
  UniqueFd fd = Connect();
  std::string got = Exchange(fd.get(),
                             "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                             "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
                             "GET /b ");
  EXPECT_NE(got.find("HTTP/1.1 200 OK\r\nX-Echo: 1\r\nContent-Length: 11\r\n\r\nPOST /a abc"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find("GET /b "), std::string::npos);
}

TEST_F(HttpServerTest, DecodesChunkedBodyWithTrailers) {
  UniqueFd fd = Connect();
  std::string got = Exchange(fd.get(),
                             "POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: v\r\n\r\n",
                             "[X-T=v]");
  EXPECT_NE(got.find("POST /s abcde [X-T=v]"), std::string::npos) << got;
}

TEST_F(HttpServerTest, MalformedRequestGets400AndOthersCarryOn) {
  UniqueFd good = Connect();
  UniqueFd bad = Connect();
  std::string got = Exchange(bad.get(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
  got = Exchange(good.get(), "GET /ok HTTP/1.1\r\n\r\n", "GET /ok ");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
}

TEST_F(HttpServerTest, FramingTheHandlerCouldMisreadGets400) {
  // Each would frame the body one way for the parser and another for anyone
  // reading the fields by name (found by fuzz_delegator_forward).
  for (const std::string raw : {
           "POST /p HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
           "POST /p HTTP/1.1\r\nContent Length: 3\r\n\r\nabc",
           "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
           "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       }) {
    UniqueFd fd = Connect();
    std::string got = Exchange(fd.get(), raw);
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << raw << " -> " << got;
    EXPECT_EQ(got.find("POST /p"), std::string::npos) << raw << ": reached the handler";
  }
}

TEST_F(HttpServerTest, OversizedHeaderSectionGets431) {
  UniqueFd fd = Connect();
  std::string got =
      Exchange(fd.get(), "GET / HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 431 ", 0), 0u) << got;
}

TEST_F(HttpServerTest, ErrorAnswerSurvivesInputTheServerNeverReads) {
  // A malformed head followed by far more than the server will parse: closing
  // with that input unread would reset the connection and lose the 400.
  UniqueFd fd = Connect();
  std::string junk = "NOT A REQUEST LINE\r\n\r\n" + std::string(2 << 20, 'j');
  (void)SendAll(fd.get(), junk);  // the server may stop reading at any point
  ::shutdown(fd.get(), SHUT_WR);
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    ASSERT_GE(n, 0) << "the connection was reset: " << std::strerror(errno);
    if (n == 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
}

TEST_F(HttpServerTest, RefusesAbsoluteFormAndConnect) {
  {
    UniqueFd fd = Connect();
    std::string got = Exchange(fd.get(), "GET http://example.com/ HTTP/1.1\r\nHost: e\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  }
  {
    UniqueFd fd = Connect();
    std::string got = Exchange(fd.get(), "CONNECT example.com:443 HTTP/1.1\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  }
}

TEST_F(HttpServerTest, BrokenChunkFramingGets400) {
  UniqueFd fd = Connect();
  std::string got =
      Exchange(fd.get(), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
}

TEST_F(HttpServerTest, EveryClosedConnectionIsCountedAndWakesAWaiter) {
  const uint64_t before = server_->closed_connections();
  for (int i = 0; i < 3; ++i) {
    UniqueFd fd = Connect();
    Exchange(fd.get(), "GET / HTTP/1.1\r\n\r\n", "GET / ");
  }
  EXPECT_TRUE(server_->WaitForClosedConnections(before + 3, std::chrono::seconds(30)));
  EXPECT_EQ(server_->closed_connections(), before + 3);
  // Nothing more has closed: the wait ends unfulfilled.
  EXPECT_FALSE(server_->WaitForClosedConnections(before + 4, std::chrono::milliseconds(1)));
}

TEST_F(HttpServerTest, StopClosesIdleConnections) {
  UniqueFd fd = Connect();
  Exchange(fd.get(), "GET / HTTP/1.1\r\n\r\n", "GET / ");
  server_->Stop();
  EXPECT_EQ(server_->open_connections(), 0u);
}

// Answers with a Content-Length body, then waits before End until released.
class SlowEndHandler : public HttpHandler {
 public:
  void Handle(HttpRequest&, RequestBody&, ResponseWriter& out) override {
    out.Begin(200, {}, 5);
    out.Write("ab");
    out.Write("cde");
    // The client releases it once it has the answer.
    answer_arrived_before_end =
        released.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    out.End();
    done.set_value();
  }
  std::atomic<bool> answer_arrived_before_end{false};
  std::promise<void> done;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
};

TEST(HttpServerFlushTest, ContentLengthBodyLeavesWithItsLastByteNotAtEnd) {
  SlowEndHandler handler;
  HttpServer server(&handler);
  ASSERT_TRUE(server.Listen({"127.0.0.1", 0}).ok());
  server.Start();
  auto fd = ConnectTcp(server.address());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(fd->get(), "GET / HTTP/1.1\r\n\r\n").ok());
  // The whole answer arrives while the handler still waits before End.
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\nabcde") == std::string::npos) {
    ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(got.find("Content-Length: 5\r\n\r\nabcde"), std::string::npos) << got;
  handler.release.set_value();
  handler.done.get_future().wait();
  EXPECT_TRUE(handler.answer_arrived_before_end.load());
  server.Stop();
}

}  // namespace
}  // namespace anysnap
