// The hook channel as a client library sees it (docs/hook-channel.md): raw
// HTTP to a delegator in snap-start mode in front of the project's Runtime API
// server, with the runtime's held next played by a test thread.
#include "hook_channel.h"

#include <gtest/gtest.h>

#include <future>

#include "delegator.h"
#include "http_test_client.h"
#include "runtime_api_server.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::BuildRequest;
using testing::RoundTrip;
using testing::TestResponse;

const std::string kNext = "/2018-06-01/runtime/invocation/next";

Invocation Event(const std::string& body) {
  Invocation inv;
  inv.event = body;
  return inv;
}

class HookChannelTest : public ::testing::Test {
 protected:
  void StartDelegator(InitType init_type, std::chrono::milliseconds before_timeout = 30000ms,
                      ReseedMode reseed = ReseedMode::kAuto) {
    RuntimeApiServer::Options o;
    o.snap_start = true;
    o.auto_restore = false;
    server_ = std::make_unique<RuntimeApiServer>(o);
    ASSERT_TRUE(server_->Start({"127.0.0.1", 0}).ok());
    DelegatorOptions options;
    options.upstream = server_->address();
    options.lifecycle.init_type = init_type;
    options.lifecycle.before_timeout = before_timeout;
    options.lifecycle.reseed = reseed;
    options.lifecycle.on_fatal = [this](int status) { fatal_.set_value(status); };
    auto d = Delegator::Start(options);
    ASSERT_TRUE(d.ok()) << d.status().message();
    delegator_ = std::move(*d);
  }
  void TearDown() override {
    if (delegator_) delegator_->Stop();
    if (server_) server_->Stop();
  }

  TestResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    auto r = RoundTrip(delegator_->address(), BuildRequest(method, target, {}, body));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : TestResponse{};
  }
  std::string Register() {
    TestResponse r = Send("POST", "/anysnap/v1/clients", R"({"language":"test","pid":7})");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body;
  }
  // The runtime's first next, held by the lifecycle; ready once forwarded and answered.
  std::future<TestResponse> HeldNext() {
    return std::async(std::launch::async, [this] { return Send("GET", kNext); });
  }
  int UpstreamCalls(const std::string& path) {
    int n = 0;
    for (const auto& c : server_->calls()) n += c.path == path;
    return n;
  }

  std::unique_ptr<RuntimeApiServer> server_;
  std::unique_ptr<Delegator> delegator_;
  std::promise<int> fatal_;
};

TEST_F(HookChannelTest, RegisteringAnswersThePhasesAndNeverGoesUpstream) {
  StartDelegator(InitType::kSnapStart);
  EXPECT_EQ(Register(), R"({"id":"1","phases":["before-snapshot","after-restore"]})");
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients", "{}").body,
            R"({"id":"2","phases":["before-snapshot","after-restore"]})");
  EXPECT_TRUE(server_->calls().empty());
}

// A reseed client (the runtime's reseed, loaded by the wrapper) is asked for
// after-restore only, before every hook client, and what it reports is logged
// rather than counted as hooks.
TEST_F(HookChannelTest, ReseedClientRunsAfterRestoreBeforeHookClients) {
  StartDelegator(InitType::kSnapStart);
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients", R"({"language":"nodejs","reseed":true})").body,
            R"({"id":"1","phases":["after-restore"]})");
  Register();  // a hook client: id 2
  auto next = HeldNext();
  // Before the snapshot only the hook client is asked.
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/2/phase").body, R"({"phase":"before-snapshot"})");
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/2/phase/before-snapshot", R"({"ok":true})").status,
            204);
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) {
        return !calls.empty() && calls.back().path == "/2018-06-01/runtime/restore/next";
      },
      30s));
  auto hook_poll =
      std::async(std::launch::async, [this] { return Send("GET", "/anysnap/v1/clients/2/phase"); });
  server_->Restore();
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"after-restore"})");
  EXPECT_EQ(hook_poll.wait_for(100ms), std::future_status::timeout)
      << "a hook client was asked before the reseed reported";
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/1/phase/after-restore",
                 R"({"ok":true,"reseeded":["OpenSSL","Math.random"],"not_reseeded":[]})")
                .status,
            204);
  EXPECT_EQ(hook_poll.get().body, R"({"phase":"after-restore"})");
  EXPECT_EQ(UpstreamCalls(kNext), 0);
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/2/phase/after-restore", R"({"ok":true})").status,
            204);
  server_->Invoke(Event("first"));
  EXPECT_EQ(next.get().body, "first");
}

// With ANYSNAP_RESEED=strict, a source the reseed could not reseed fails the
// restore (restore/error, exit 65); a reseed client alone holds the next.
TEST_F(HookChannelTest, StrictReseedFailsTheRestoreOnASourceNotReseeded) {
  StartDelegator(InitType::kSnapStart, 30000ms, ReseedMode::kStrict);
  EXPECT_EQ(
      Send("POST", "/anysnap/v1/clients", R"({"language":"nodejs","pid":9,"reseed":true})").status,
      201);
  auto next = HeldNext();
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) {
        return !calls.empty() && calls.back().path == "/2018-06-01/runtime/restore/next";
      },
      30s));
  server_->Restore();
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"after-restore"})");
  EXPECT_EQ(
      Send(
          "POST", "/anysnap/v1/clients/1/phase/after-restore",
          R"json({"ok":true,"reseeded":["Math.random"],"not_reseeded":["OpenSSL (no RAND_add)"]})json")
          .status,
      204);
  auto fatal = fatal_.get_future();
  ASSERT_EQ(fatal.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(fatal.get(), 65);
  EXPECT_EQ(UpstreamCalls(kNext), 0);
  bool reported = false;
  for (const auto& c : server_->calls()) {
    if (c.path == "/2018-06-01/runtime/restore/error") {
      reported = true;
      EXPECT_NE(c.body.find("ANYSNAP_RESEED=strict: not reseeded after restore: nodejs pid 9: "
                            "OpenSSL (no RAND_add)"),
                std::string::npos)
          << c.body;
    }
  }
  EXPECT_TRUE(reported);
  next.wait();
}

TEST_F(HookChannelTest, OnDemandAnnouncesNoPhase) {
  StartDelegator(InitType::kOnDemand);
  EXPECT_EQ(Register(), R"({"id":"1","phases":[]})");
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"done"})");
}

TEST_F(HookChannelTest, PhasesRunAroundTheSnapshotInOrder) {
  StartDelegator(InitType::kSnapStart);
  Register();
  auto next = HeldNext();
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"before-snapshot"})");
  EXPECT_EQ(UpstreamCalls("/2018-06-01/runtime/restore/next"), 0)
      << "restore/next before the client reported";
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/1/phase/before-snapshot", R"({"ok":true,"hooks":2})")
                .status,
            204);
  ASSERT_TRUE(server_->WaitFor(
      [](const auto& calls) {
        return !calls.empty() && calls.back().path == "/2018-06-01/runtime/restore/next";
      },
      30s));
  auto poll =
      std::async(std::launch::async, [this] { return Send("GET", "/anysnap/v1/clients/1/phase"); });
  EXPECT_EQ(poll.wait_for(100ms), std::future_status::timeout) << "after-restore before restore";
  server_->Restore();
  EXPECT_EQ(poll.get().body, R"({"phase":"after-restore"})");
  EXPECT_EQ(UpstreamCalls(kNext), 0) << "the held next went upstream before after-restore hooks";
  EXPECT_EQ(
      Send("POST", "/anysnap/v1/clients/1/phase/after-restore", R"({"ok":true,"hooks":1})").status,
      204);
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"done"})");
  server_->Invoke(Event("first"));
  EXPECT_EQ(next.get().body, "first");
}

TEST_F(HookChannelTest, RegisteringAfterInitEndedIsTooLate) {
  StartDelegator(InitType::kSnapStart);
  auto next = HeldNext();  // nothing to do: forwarded, the snapshot is there
  ASSERT_TRUE(server_->WaitFor([](const auto& calls) { return !calls.empty(); }, 30s));
  TestResponse r = Send("POST", "/anysnap/v1/clients", "{}");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("Anysnap.TooLate"), std::string::npos) << r.body;
  server_->Invoke(Event("e"));
  EXPECT_EQ(next.get().body, "e");
}

TEST_F(HookChannelTest, AFailedHookFailsTheInitNamingIt) {
  StartDelegator(InitType::kSnapStart);
  Register();
  auto next = HeldNext();
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/1/phase").body, R"({"phase":"before-snapshot"})");
  Send("POST", "/anysnap/v1/clients/1/phase/before-snapshot",
       R"({"ok":false,"hook":"closePool","errorType":"Error","errorMessage":"pool busy"})");
  auto fatal = fatal_.get_future();
  ASSERT_EQ(fatal.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(fatal.get(), kExitBeforeSnapshotError);
  auto error = server_->init_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->error_type, "Runtime.BeforeSnapshotError");
  EXPECT_NE(error->body.find("before-snapshot hook closePool failed: Error: pool busy in test pid "
                             "7 (hook client 1)"),
            std::string::npos)
      << error->body;
  EXPECT_EQ(UpstreamCalls("/2018-06-01/runtime/restore/next"), 0);
  EXPECT_EQ(next.get().status, 503);
}

TEST_F(HookChannelTest, AClientThatNeverReportsTimesOut) {
  StartDelegator(InitType::kSnapStart, 200ms);
  Register();
  auto next = HeldNext();
  auto fatal = fatal_.get_future();
  ASSERT_EQ(fatal.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(fatal.get(), kExitBeforeSnapshotError);
  auto error = server_->init_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(
      error->body.find("in-process hooks of test pid 7 (hook client 1) timed out after 200 ms"),
      std::string::npos)
      << error->body;
  // A report after the deadline is refused.
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/1/phase/before-snapshot", R"({"ok":true})").status,
            409);
  next.get();
}

TEST_F(HookChannelTest, BadRequestsGetClearAnswers) {
  StartDelegator(InitType::kSnapStart);
  Register();
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients/9/phase").status, 404);
  EXPECT_EQ(Send("GET", "/anysnap/v1/clients").status, 405);
  EXPECT_EQ(Send("GET", "/anysnap/v1/elsewhere").status, 404);
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients", "not json").status, 400);
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients/1/phase/before-snapshot", R"({"hooks":1})").status,
            400);
  TestResponse wrong = Send("POST", "/anysnap/v1/clients/1/phase/after-restore", R"({"ok":true})");
  EXPECT_EQ(wrong.status, 409);
  EXPECT_NE(wrong.body.find("Anysnap.WrongPhase"), std::string::npos);
  EXPECT_EQ(Send("POST", "/anysnap/v1/clients", std::string(70 * 1024, ' ')).status, 413);
  EXPECT_TRUE(server_->calls().empty()) << "hook channel traffic went upstream";
}

}  // namespace
}  // namespace anysnap
