// Fault injection through the built anysnap-wrapper: a runtime that dies in
// the middle of a streamed answer or with several invocations in flight, a
// Runtime API that is not there, and hostile configuration values. Each test
// checks the defined outcome: the upstream call made, the exit status, the
// log line, and that no invocation is silently dropped.
// docs/reliability.md lists every case with its test.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <future>

#include "wrapped_function.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::kFixtures;
using Function = testing::WrappedFunction;

std::string PythonRuntime() { return "python3 " + kFixtures + "/python/runtime.py"; }

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Defined: a runtime that dies after the first bytes of a streamed response
// leaves that invocation failed, never answered and never lost. Which error
// depends on how far the stream got when the wrapper saw the death: once the
// stream has gone upstream, the platform sees it cut before its final chunk
// (Runtime.TruncatedResponse, as Lambda reports a broken stream) and the bytes
// sent so far reach the caller; before that, the platform reports
// Runtime.ExitError for the unanswered id. Either way the wrapper exits with
// the runtime's status.
TEST(FaultBlackBox, RuntimeDyingMidStreamFailsThatInvocation) {
  for (int round = 0; round < 5; ++round) {
    Function fn;
    fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
    fn.Start();
    std::mutex mu;
    std::string streamed;
    Invocation inv;
    inv.on_stream_data = [&](std::string_view piece) {
      std::lock_guard<std::mutex> lock(mu);
      streamed.append(piece);
    };
    InvocationResult r = fn.Invoke("{\"action\":\"stream_exit\",\"status\":5}", inv);
    EXPECT_EQ(r.kind, InvocationResult::Kind::kError) << r.body;
    EXPECT_EQ(fn.Wait(), 5);
    std::lock_guard<std::mutex> lock(mu);
    if (r.error_type == "Runtime.TruncatedResponse") {
      EXPECT_EQ(streamed, "part-1;");
    } else {
      EXPECT_EQ(r.error_type, "Runtime.ExitError") << r.body << fn.Stderr();
      EXPECT_NE(r.body.find("Runtime exited with error: exit status 5"), std::string::npos);
      EXPECT_EQ(streamed, "");
    }
  }
}

// Defined: a runtime that dies with several invocations in flight (managed
// instances) ends the wrapper with it, and the platform fails every one of
// them with Runtime.ExitError; none is left waiting.
TEST(FaultBlackBox, RuntimeDyingWithInvocationsInFlightFailsEachOne) {
  RuntimeApiServer::Options options;
  options.max_concurrency = 3;
  Function fn(options);
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("THREADS", "3");
  fn.Start();
  std::vector<std::future<InvocationResult>> all;
  for (int i = 0; i < 2; ++i) {
    Invocation inv;
    inv.event = "{\"action\":\"barrier\"}";  // waits for a third that never comes
    all.push_back(fn.server().Invoke(inv));
  }
  // Both are in the runtime before the one that kills it is queued.
  ASSERT_TRUE(fn.server().WaitFor(
      [](const std::vector<RuntimeApiCall>& calls) {
        return std::count_if(calls.begin(), calls.end(), [](const RuntimeApiCall& c) {
                 return c.path.find("/invocation/next") != std::string::npos && c.status == 200;
               }) == 2;
      },
      60s));
  Invocation killer;
  killer.event = "{\"action\":\"exit\",\"status\":9}";
  all.push_back(fn.server().Invoke(killer));
  // The wrapper ends with the runtime; the platform (here the harness) then
  // fails every open invocation.
  EXPECT_EQ(fn.Wait(), 9);
  for (auto& f : all) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready) << fn.Stderr();
    InvocationResult r = f.get();
    EXPECT_EQ(r.kind, InvocationResult::Kind::kError);
    EXPECT_EQ(r.error_type, "Runtime.ExitError") << r.body;
  }
}

// Defined: with no Runtime API to talk to, the runtime's next gets 502
// Delegator.UpstreamUnavailable from the delegator with a WARN line naming
// the refused connection (the runtime decides what to do: this one stops),
// and the wrapper exits with the runtime's status.
TEST(FaultBlackBox, RuntimeApiGoneAtStartEndsWithTheRuntimesStatus) {
  Function fn;
  fn.server().Stop();
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  int status = fn.Wait();
  std::string err = fn.Stderr();
  EXPECT_NE(err.find("next answered 502: b'{\"errorType\":\"Delegator.UpstreamUnavailable\""),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("WARN GET /2018-06-01/runtime/invocation/next: upstream: connect"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("runtime host exited with status " + std::to_string(status)),
            std::string::npos)
      << err;
}

// Defined: a hostile value for a setting is a configuration error: exit 78,
// init/error Runtime.InvalidConfiguration naming the variable, and exactly
// one log line, escaped and cut short, never echoing raw bytes.
TEST(FaultBlackBox, HostileSettingsAreOneLineAndExit78) {
  struct Case {
    std::string variable, value, expect;
  };
  const std::vector<Case> cases = {
      {"ANYSNAP_RUNTIME", "python3 \xff\xfe.py", "\\xFF\\xFE"},
      {"ANYSNAP_RUNTIME", "python3 run\x1b[31m.py", "\\u001B"},
      {"ANYSNAP_BEFORE_SNAPSHOT", std::string(100 * 1024, 'h'), "(102400 bytes)"},
      {"ANYSNAP_PRIME_ROUNDS", std::string(5000, '9'), "ANYSNAP_PRIME_ROUNDS"},
      {"ANYSNAP_HOOK_TIMEOUT_MS", "after=20000", "ANYSNAP_HOOK_TIMEOUT_MS"},
      {"ANYSNAP_HOOK_TIMEOUT_MS", "before=1,before=2", "ANYSNAP_HOOK_TIMEOUT_MS"},
      {"ANYSNAP_PROVISIONED", "none,prime", "ANYSNAP_PROVISIONED"},
      {"ANYSNAP_AUDIT", "strict\n", "ANYSNAP_AUDIT"},
      {"ANYSNAP_LOG_LEVEL", "\xc3", "ANYSNAP_LOG_LEVEL"},
  };
  for (const Case& c : cases) {
    Function fn;
    fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
    fn.Set(c.variable, c.value);
    fn.Start();
    EXPECT_EQ(fn.Wait(), 78) << c.variable << "\n" << fn.Stderr();
    auto init = fn.server().init_error();
    ASSERT_TRUE(init.has_value()) << c.variable;
    EXPECT_EQ(init->error_type, "Runtime.InvalidConfiguration");
    EXPECT_NE(init->body.find(c.variable), std::string::npos) << init->body;
    std::string err = fn.Stderr();
    EXPECT_EQ(Lines(err), 1) << err.substr(0, 2000);
    EXPECT_NE(err.find(c.expect), std::string::npos) << err.substr(0, 2000);
    EXPECT_LT(err.size(), 1024u) << c.variable;
    EXPECT_EQ(err.find('\x1b'), std::string::npos);
    EXPECT_EQ(err.find('\xff'), std::string::npos);
  }
}

// Defined: an empty setting is an unset one (Lambda cannot unset a
// variable): empty ANYSNAP_RUNTIME runs $LAMBDA_TASK_ROOT/bootstrap, empty
// hooks hold nothing.
TEST(FaultBlackBox, EmptySettingsMeanTheDefaults) {
  Function fn;
  fn.Set("LAMBDA_TASK_ROOT", kFixtures + "/bash");
  for (const char* variable :
       {"ANYSNAP_RUNTIME", "ANYSNAP_CHAIN", "ANYSNAP_BEFORE_SNAPSHOT", "ANYSNAP_AFTER_RESTORE",
        "ANYSNAP_HOOK_TIMEOUT_MS", "ANYSNAP_PRIME_EVENTS", "ANYSNAP_PRIME_ROUNDS",
        "ANYSNAP_PRELOAD", "ANYSNAP_AUDIT", "ANYSNAP_LOG_LEVEL", "ANYSNAP_LOG_FORMAT",
        "ANYSNAP_DISABLE"}) {
    fn.Set(variable, "");
  }
  fn.Start();
  EXPECT_EQ(fn.Invoke("{\"n\":1}").body, "{\"echo\":{\"n\":1}}") << fn.Stderr();
  EXPECT_EQ(fn.Stderr().find("WARN"), std::string::npos) << fn.Stderr();
}

// Defined: contradictory sources resolve by the documented priority: the
// environment wins over the file, and ANYSNAP_DISABLE in the environment wins
// over a broken file and a broken ANYSNAP_RUNTIME (the escape hatch works).
TEST(FaultBlackBox, ContradictorySettingsFollowTheDocumentedPriority) {
  std::string file = ::testing::TempDir() + "/contradictory-" + std::to_string(::getpid());
  std::ofstream(file) << "{\"ANYSNAP_RUNTIME\": \"/nonexistent/from-the-file\", "
                         "\"ANYSNAP_PRIME_ROUNDS\": 3}";
  {
    Function fn;
    fn.Set("ANYSNAP_CONFIG", file);
    fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
    fn.Start();
    EXPECT_EQ(fn.Invoke("{\"env\":1}").body, "{\"env\":1}") << fn.Stderr();
    // Rounds without events is a setting without effect: a warning, not a stop.
    EXPECT_NE(fn.Stderr().find("WARN"), std::string::npos) << fn.Stderr();
  }
  std::string broken = file + "-broken";
  std::ofstream(broken) << "{\"ANYSNAP_RUNTIME\": [1, 2";
  {
    std::string java = ::testing::TempDir() + "/contradictory-java";
    std::ofstream(java) << "#!/bin/sh\nexit 7\n";
    ::chmod(java.c_str(), 0755);
    Function fn;
    fn.Set("ANYSNAP_CONFIG", broken);
    fn.Set("ANYSNAP_DISABLE", "1");
    fn.Set("ANYSNAP_RUNTIME", "'unterminated");
    fn.Start(java);
    EXPECT_EQ(fn.Wait(), 7) << fn.Stderr();
    EXPECT_FALSE(fn.server().init_error().has_value());
  }
}

}  // namespace
}  // namespace anysnap
