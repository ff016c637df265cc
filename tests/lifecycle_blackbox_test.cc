// Black-box tests of the SnapStart lifecycle: the built anysnap-wrapper runs a
// real runtime against the project's Runtime API server in snap-start mode,
// and the order of the calls the server receives tells what happened.
// Hook commands mark their runs in that same call log (tests/fixtures/hooks).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "anysnap/http_server.h"
#include "wrapped_function.h"

namespace anysnap {
namespace {

using testing::kFixtures;
using testing::SnapStart;
using Function = testing::WrappedFunction;

const std::string kMark = kFixtures + "/hooks/mark.sh";

std::string PythonRuntime() { return "python3 " + kFixtures + "/python/runtime.py"; }

// A function in snap-start mode running the Python fixture.
void SetUpSnapStart(Function& fn, const std::string& init_type = "snap-start") {
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", init_type);
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
}

// Index of the first call whose "METHOD path" starts with `prefix`, or -1.
int IndexOf(const std::vector<RuntimeApiCall>& calls, const std::string& prefix) {
  for (size_t i = 0; i < calls.size(); ++i) {
    if ((calls[i].method + " " + calls[i].path).rfind(prefix, 0) == 0) return static_cast<int>(i);
  }
  return -1;
}

// Whether a call starting with `first` came before one starting with
// `second`. A call that never happened fails: it is not "before" anything.
::testing::AssertionResult Before(const std::vector<RuntimeApiCall>& calls,
                                  const std::string& first, const std::string& second) {
  int a = IndexOf(calls, first);
  int b = IndexOf(calls, second);
  if (a < 0) return ::testing::AssertionFailure() << "no call \"" << first << "\"";
  if (b < 0) return ::testing::AssertionFailure() << "no call \"" << second << "\"";
  if (a >= b) {
    return ::testing::AssertionFailure()
           << "\"" << first << "\" (call " << a << ") is not before \"" << second << "\" (call "
           << b << ")";
  }
  return ::testing::AssertionSuccess();
}

int Count(const std::vector<RuntimeApiCall>& calls, const std::string& prefix) {
  return static_cast<int>(std::count_if(calls.begin(), calls.end(), [&](const RuntimeApiCall& c) {
    return (c.method + " " + c.path).rfind(prefix, 0) == 0;
  }));
}

const std::string kNext = "GET /2018-06-01/runtime/invocation/next";
const std::string kRestoreNext = "GET /2018-06-01/runtime/restore/next";
std::string Mark(const std::string& name) { return "POST /anysnap-test/mark/" + name + "?"; }

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Lifecycle, SnapStartWithNothingToDoForwardsTheFirstNext) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_RESEED", "off");  // else the Python runtime's reseed is something to do
  fn.Start();
  InvocationResult r = fn.Invoke("{\"n\":1}");
  EXPECT_EQ(r.body, "{\"n\":1}");
  auto calls = fn.server().calls();
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, kNext), 0);
  EXPECT_NE(fn.Stderr().find("nothing to run around the snapshot, so it is taken there"),
            std::string::npos)
      << fn.Stderr();
}

TEST(Lifecycle, OnDemandHoldsNothingAndRunsNoHook) {
  Function fn(SnapStart());
  SetUpSnapStart(fn, "on-demand");
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " before");
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " after");
  fn.Start();
  EXPECT_EQ(fn.Invoke("x").body, "x");
  auto calls = fn.server().calls();
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, "POST /anysnap-test/"), -1);
}

TEST(Lifecycle, HooksRunAroundRestoreNextInTheirOrder) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " b1\n" + kMark + " b2");
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " a1\n" + kMark + " a2");
  fn.Start();
  // The snapshot point: restore/next waits upstream, the runtime's next is held.
  ASSERT_TRUE(
      fn.server().WaitFor([](const auto& calls) { return IndexOf(calls, kRestoreNext) >= 0; },
                          std::chrono::seconds(30)))
      << fn.Stderr();
  auto calls = fn.server().calls();
  EXPECT_EQ(IndexOf(calls, kNext), -1) << "the held next went upstream before the snapshot";
  EXPECT_EQ(IndexOf(calls, Mark("a1")), -1);
  // Before-snapshot hooks: reverse registration order, all before restore/next.
  EXPECT_TRUE(Before(calls, Mark("b2"), Mark("b1")));
  EXPECT_TRUE(Before(calls, Mark("b1"), kRestoreNext));

  fn.server().Restore();
  EXPECT_EQ(fn.Invoke("after").body, "after");
  calls = fn.server().calls();
  // After-restore hooks: registration order, after restore/next answered,
  // before the held next is forwarded.
  EXPECT_TRUE(Before(calls, kRestoreNext, Mark("a1")));
  EXPECT_TRUE(Before(calls, Mark("a1"), Mark("a2")));
  EXPECT_TRUE(Before(calls, Mark("a2"), kNext));
  int restore = IndexOf(calls, kRestoreNext);
  int a1 = IndexOf(calls, Mark("a1"));
  int b1 = IndexOf(calls, Mark("b1"));
  int a2 = IndexOf(calls, Mark("a2"));
  ASSERT_TRUE(restore >= 0 && a1 >= 0 && b1 >= 0 && a2 >= 0);
  EXPECT_LT(calls[static_cast<size_t>(restore)].answered, calls[static_cast<size_t>(a1)].received);
  // Each hook saw its phase and the function's environment.
  EXPECT_NE(calls[static_cast<size_t>(b1)].path.find("phase=before-snapshot&function=blackbox"),
            std::string::npos);
  EXPECT_NE(calls[static_cast<size_t>(a2)].path.find("phase=after-restore&function=blackbox"),
            std::string::npos);
  // Hook output and phase timings are in the log.
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("mark.sh b1\": marked b1"), std::string::npos) << log;
  EXPECT_NE(log.find("before-snapshot hooks done in"), std::string::npos) << log;
  EXPECT_NE(log.find("ms of wall-clock time"), std::string::npos) << log;
  EXPECT_NE(log.find("restore to the runtime's first invocation/next forwarded"), std::string::npos)
      << log;
}

TEST(Lifecycle, PrimingServesEventsLocallyRoundAfterRound) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_PRIME_EVENTS", WriteFile("prime.json",
                                           R"([{"warm": 1}, {"event": {"warm": 2},
                       "headers": {"Lambda-Runtime-Client-Context": "{\"primed\":true}"}}])"));
  fn.Set("ANYSNAP_PRIME_ROUNDS", "3");
  fn.Start();
  InvocationResult r = fn.Invoke("{\"action\":\"seen\"}");
  EXPECT_EQ(r.body,
            "[\"anysnap-prime-r1-e1\", \"anysnap-prime-r1-e2\", \"anysnap-prime-r2-e1\", "
            "\"anysnap-prime-r2-e2\", \"anysnap-prime-r3-e1\", \"anysnap-prime-r3-e2\"]");
  ASSERT_TRUE(fn.server().WaitFor([](const auto& c) { return Count(c, kNext) == 2; },
                                  std::chrono::seconds(30)));
  auto calls = fn.server().calls();
  // Priming traffic never reaches the platform.
  EXPECT_EQ(Count(calls, "POST /2018-06-01/runtime/invocation/anysnap-prime"), 0);
  EXPECT_EQ(Count(calls, kNext), 2);  // the held one, then the one after the invoke
  EXPECT_TRUE(Before(calls, kRestoreNext, kNext));
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("priming round 3 of 3: 2 events in"), std::string::npos) << log;
  EXPECT_NE(log.find("priming done; ms per round:"), std::string::npos) << log;
}

TEST(Lifecycle, PrimingErrorFailsInitWithBeforeSnapshotError) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_PRIME_EVENTS",
         WriteFile("prime-headers.json",
                   R"([{"event": {"action": "error"}, "headers": {"X-Unused": "1"}}])"));
  fn.Start();
  fn.ExpectEndedWithError(
      64, /*restore=*/false, "Runtime.BeforeSnapshotError",
      "priming round 1 of 1, event 1 of 1: the function failed: Function.Custom: bad");
  auto calls = fn.server().calls();
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, kNext), -1);
  EXPECT_EQ(Count(calls, "POST /2018-06-01/runtime/invocation/"), 0);
}

TEST(Lifecycle, RuntimeDyingWhilePrimingIsAnInitExitError) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_PRIME_EVENTS", WriteFile("prime-exit.json", R"([{"action":"exit","status":3}])"));
  fn.Start();
  fn.ExpectEndedWithError(
      3, /*restore=*/false, "Runtime.ExitError",
      "Runtime exited with error: exit status 3 while priming round 1 of 1, event 1 of 1");
}

TEST(Lifecycle, BadPrimingFileIsAConfigurationError) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_PRIME_EVENTS", WriteFile("prime-bad.json", "[]"));
  fn.Start();
  fn.ExpectEndedWithError(78, /*restore=*/false, "Runtime.InvalidConfiguration",
                          "prime-bad.json\\\": the array holds no events");
}

TEST(Lifecycle, FailingBeforeHookStopsTheRuntimeWith64) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " broken 3");
  fn.Start();
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "mark.sh broken 3\\\" failed: exit status 3");
  auto calls = fn.server().calls();
  EXPECT_GE(IndexOf(calls, Mark("broken")), 0);
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, kNext), -1);
  EXPECT_NE(fn.Stderr().find("exit status 64"), std::string::npos) << fn.Stderr();
}

TEST(Lifecycle, HangingBeforeHookTimesOutAndIsNamed) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", "sleep 30");
  fn.Set("ANYSNAP_HOOK_TIMEOUT_MS", "before=300");
  fn.Start();
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "before-snapshot hook \\\"sleep 30\\\" timed out after 300 ms");
}

TEST(Lifecycle, FailingAfterHookReportsRestoreErrorAnd65) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " ok\n" + kMark + " broken 2");
  fn.Start();
  fn.ExpectEndedWithError(
      65, /*restore=*/true, "Runtime.AfterRestoreError",
      "after-restore hook \\\"" + kMark + " broken 2\\\" failed: exit status 2");
  EXPECT_FALSE(fn.server().init_error().has_value());
  auto calls = fn.server().calls();
  EXPECT_TRUE(Before(calls, kRestoreNext, Mark("ok")));
  EXPECT_EQ(IndexOf(calls, kNext), -1) << "the held next went upstream after a failed restore";
}

TEST(Lifecycle, HangingAfterHookTimesOutWithin) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_AFTER_RESTORE", "sleep 30");
  fn.Set("ANYSNAP_HOOK_TIMEOUT_MS", "after=250");
  fn.Start();
  fn.ExpectEndedWithError(65, /*restore=*/true, "Runtime.AfterRestoreError",
                          "after-restore hook \\\"sleep 30\\\" timed out after 250 ms");
}

TEST(Lifecycle, NativeRestoreNextRuntimeWorksUnchanged) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("NATIVE_RESTORE", "1");
  fn.Start();
  EXPECT_EQ(fn.Invoke("native").body, "native");
  auto calls = fn.server().calls();
  EXPECT_EQ(Count(calls, kRestoreNext), 1);
  EXPECT_TRUE(Before(calls, kRestoreNext, kNext));
}

TEST(Lifecycle, NativeRestoreNextGetsAnysnapHooksAroundIt) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpSnapStart(fn);
  fn.Set("NATIVE_RESTORE", "1");
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " before");
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " after");
  fn.Start();
  ASSERT_TRUE(
      fn.server().WaitFor([](const auto& calls) { return IndexOf(calls, kRestoreNext) >= 0; },
                          std::chrono::seconds(30)))
      << fn.Stderr();
  EXPECT_EQ(IndexOf(fn.server().calls(), Mark("after")), -1);
  fn.server().Restore();
  EXPECT_EQ(fn.Invoke("native").body, "native");
  auto calls = fn.server().calls();
  EXPECT_EQ(Count(calls, kRestoreNext), 1);
  EXPECT_TRUE(Before(calls, Mark("before"), kRestoreNext));
  EXPECT_TRUE(Before(calls, kRestoreNext, Mark("after")));
  EXPECT_TRUE(Before(calls, Mark("after"), kNext));
  EXPECT_NE(fn.Stderr().find("fixture: restore/next answered 200"), std::string::npos);
}

// A loopback web app's hook endpoint, for URL hooks.
class HookEndpoint final : public HttpHandler {
 public:
  explicit HookEndpoint(int status) : status_(status), server_(this) {
    EXPECT_TRUE(server_.Listen({"127.0.0.1", 0}).ok());
    server_.Start();
  }
  void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) override {
    auto text = body.ReadAll(1024);
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(request.method + " " + request.target + " " + (text.ok() ? *text : ""));
    }
    out.Respond(status_, {}, status_ == 200 ? "" : "not ready");
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::string url(const std::string& path) const {
    return "http://" + server_.address().ToString() + path;
  }

 private:
  const int status_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  HttpServer server_;
};

TEST(Lifecycle, UrlHooksArePostedTheirPhase) {
  HookEndpoint app(200);
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", app.url("/hooks/before"));
  fn.Set("ANYSNAP_AFTER_RESTORE", app.url("/hooks/after?x=1"));
  fn.Start();
  EXPECT_EQ(fn.Invoke("u").body, "u");
  EXPECT_EQ(app.seen(),
            (std::vector<std::string>{"POST /hooks/before {\"phase\":\"before-snapshot\"}",
                                      "POST /hooks/after?x=1 {\"phase\":\"after-restore\"}"}));
}

TEST(Lifecycle, UrlHookAnsweringNon2xxFails) {
  HookEndpoint app(503);
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", app.url("/ready"));
  fn.Start();
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "/ready\\\" answered 503: not ready");
}

TEST(Lifecycle, UrlHookNobodyListensOnFailsNamingTheHook) {
  // A loopback port that was bound a moment ago and is free now.
  std::string url;
  {
    HookEndpoint gone(200);
    url = gone.url("/gone");
  }
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", url);
  fn.Start();
  // The hook is named, and nothing calls it "upstream".
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "/gone\\\" POST failed: connect 127.0.0.1:");
  EXPECT_EQ(fn.Stderr().find("upstream"), std::string::npos) << fn.Stderr();
}

TEST(Lifecycle, PreloadReadsFilesBeforeTheSnapshot) {
  Function fn(SnapStart());
  SetUpSnapStart(fn);
  fn.Set("ANYSNAP_PRELOAD", kFixtures + "/python:" + kFixtures + "/hooks/mark.sh:/no/such/path");
  fn.Start();
  EXPECT_EQ(fn.Invoke("p").body, "p");
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("preload: 2 files, "), std::string::npos) << log;
  EXPECT_NE(log.find("1 path could not be read"), std::string::npos) << log;
  EXPECT_NE(log.find("ANYSNAP_PRELOAD: cannot read /no/such/path"), std::string::npos) << log;
  EXPECT_GE(IndexOf(fn.server().calls(), kRestoreNext), 0);
}

TEST(Lifecycle, ProvisionedConcurrencyPrimesWithoutRestoreNext) {
  Function fn(SnapStart());
  SetUpSnapStart(fn, "provisioned-concurrency");
  fn.Set("ANYSNAP_PRIME_EVENTS", WriteFile("prime-pc.json", R"([{"warm": true}])"));
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " before");
  fn.Start();
  EXPECT_EQ(fn.Invoke("{\"action\":\"seen\"}").body, "[\"anysnap-prime-r1-e1\"]");
  auto calls = fn.server().calls();
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, Mark("before")), -1) << "before-snapshot hooks are opt-in here";
}

TEST(Lifecycle, ProvisionedConcurrencyRunsBeforeHooksWhenAskedTo) {
  Function fn(SnapStart());
  SetUpSnapStart(fn, "provisioned-concurrency");
  fn.Set("ANYSNAP_PROVISIONED", "before-snapshot");
  fn.Set("ANYSNAP_BEFORE_SNAPSHOT", kMark + " before");
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " after");
  fn.Start();
  EXPECT_EQ(fn.Invoke("pc").body, "pc");
  auto calls = fn.server().calls();
  EXPECT_TRUE(Before(calls, Mark("before"), kNext));
  EXPECT_EQ(IndexOf(calls, kRestoreNext), -1);
  EXPECT_EQ(IndexOf(calls, Mark("after")), -1);
}

TEST(Lifecycle, CrashAfterRestoreBeforeTheFirstNextIsARestoreError) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpSnapStart(fn);
  // The after-restore hook kills the runtime host: its sibling, a child of
  // the same wrapper.
  fn.Set("ANYSNAP_AFTER_RESTORE", "/bin/sh -c 'pkill -9 -P $PPID -f [r]untime.py; sleep 5'");
  fn.Set("ANYSNAP_HOOK_TIMEOUT_MS", "after=10000");
  fn.Start();
  ASSERT_TRUE(
      fn.server().WaitFor([](const auto& calls) { return IndexOf(calls, kRestoreNext) >= 0; },
                          std::chrono::seconds(30)));
  fn.server().Restore();
  fn.ExpectEndedWithError(128 + 9, /*restore=*/true, "Runtime.ExitError",
                          "Runtime exited with error: signal: killed");
}

}  // namespace
}  // namespace anysnap

namespace anysnap {
namespace {

// The samples' in-process hooks (anysnap-hooks in Node.js, anysnap_hooks in
// Python) run through the hook channel around a real restore/next: the
// response after restore shows the state the after-restore hook reset.
void ExpectHooksRanAroundTheSnapshot(Function& fn, const std::string& restored_key) {
  fn.Start();
  ASSERT_TRUE(
      fn.server().WaitFor([](const auto& calls) { return IndexOf(calls, kRestoreNext) >= 0; },
                          std::chrono::seconds(60)))
      << fn.Stderr();
  EXPECT_EQ(IndexOf(fn.server().calls(), kNext), -1);
  fn.server().Restore();
  InvocationResult r = fn.Invoke(R"({"n": 12345})");
  EXPECT_EQ(r.kind, InvocationResult::Kind::kResponse) << r.body << fn.Stderr();
  EXPECT_NE(r.body.find(restored_key), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(restored_key + "null"), std::string::npos) << r.body;
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("before-snapshot: in-process hooks of "), std::string::npos) << log;
  EXPECT_NE(log.find("after-restore: in-process hooks of "), std::string::npos) << log;
}

TEST(Lifecycle, NodeSampleHooksResetStateAfterRestore) {
  const std::string& ric = testing::kRic;
  ASSERT_TRUE(std::ifstream(ric).good()) << "run scripts/test-deps.sh: " << ric << " missing";
  Function fn(SnapStart(/*auto_restore=*/false));
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("LAMBDA_TASK_ROOT", testing::kSource + "/samples/nodejs");
  fn.Set("ANYSNAP_RUNTIME", "node " + ric + " index.handler");
  fn.Set("NODE_PATH", testing::kSource + "/samples/hooks/nodejs");
  fn.Set("PRIME_LIMIT", "20000");
  ExpectHooksRanAroundTheSnapshot(fn, "\"restoredAt\":");
}

TEST(Lifecycle, PythonSampleHooksResetStateAfterRestore) {
  Function fn(SnapStart(/*auto_restore=*/false));
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("LAMBDA_TASK_ROOT", testing::kSource + "/samples/python");
  fn.Set("PYTHONPATH", testing::kSource + "/samples/hooks/python");
  fn.Set("PYTHONDONTWRITEBYTECODE", "1");
  fn.Set("PRIME_LIMIT", "20000");
  ExpectHooksRanAroundTheSnapshot(fn, "\"restored_at\": ");
}

}  // namespace
}  // namespace anysnap
