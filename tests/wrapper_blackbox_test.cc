// Black-box tests of the built anysnap-wrapper: real runtimes (bash with curl,
// Python's standard library, Node.js with AWS's aws-lambda-ric) run under it
// against the project's Runtime API server over loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "anysnap/base64.h"
#include "http_test_client.h"
#include "runtime_api_server.h"
#include "runtime_process.h"
#include "wrapped_function.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;

using testing::kBin;
using testing::kFixtures;
using testing::kSource;
using Function = testing::WrappedFunction;

std::string PythonRuntime() { return "python3 " + kFixtures + "/python/runtime.py"; }

TEST(WrapperBlackBox, BashBootstrapAnswersEvents) {
  Function fn;
  fn.Set("LAMBDA_TASK_ROOT",
         kFixtures + "/bash");  // default ANYSNAP_RUNTIME: $LAMBDA_TASK_ROOT/bootstrap
  fn.Start();
  for (int i = 0; i < 3; ++i) {
    InvocationResult r = fn.Invoke("{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(r.kind, InvocationResult::Kind::kResponse);
    EXPECT_EQ(r.body, "{\"echo\":{\"n\":" + std::to_string(i) + "}}");
  }
  fn.wrapper().Signal(SIGTERM);
  EXPECT_EQ(fn.Wait(), 128 + SIGTERM);
  EXPECT_NE(fn.Stderr().find("after wrapper start"), std::string::npos) << fn.Stderr();
}

TEST(WrapperBlackBox, NodeAwsLambdaRicAnswersEvents) {
  std::string ric = kSource + "/build/node_modules/aws-lambda-ric/index.mjs";
  ASSERT_TRUE(std::ifstream(ric).good()) << "run scripts/test-deps.sh: " << ric << " missing";
  Function fn;
  fn.Set("LAMBDA_TASK_ROOT", kFixtures + "/node");
  fn.Set("ANYSNAP_RUNTIME", "node " + ric + " index.handler");
  fn.Start();
  for (int i = 0; i < 3; ++i) {
    InvocationResult r = fn.Invoke("{\"n\":" + std::to_string(i) + "}");
    ASSERT_EQ(r.kind, InvocationResult::Kind::kResponse) << r.body << fn.Stderr();
    EXPECT_NE(r.body.find("\"echo\":{\"n\":" + std::to_string(i) + "}"), std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find(r.request_id), std::string::npos);
    // The runtime talks to the delegator, not to the real API.
    EXPECT_EQ(r.body.find(fn.server().address().ToString()), std::string::npos) << r.body;
  }
  fn.wrapper().Signal(SIGTERM);
  EXPECT_EQ(fn.Wait(), 128 + SIGTERM);
}

TEST(WrapperBlackBox, HeadersAndBinaryBodiesArriveByteExactBothWays) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  std::string binary("\x00\x01\x02\xff\xfe\r\n\r\n binary \x7f", 17);
  Invocation inv;
  inv.content_type = "application/octet-stream";
  inv.client_context = "{\"custom\":{\"k\":\"v\"}}";
  InvocationResult r = fn.Invoke(binary, inv);
  ASSERT_EQ(r.kind, InvocationResult::Kind::kResponse) << fn.Stderr();
  EXPECT_EQ(r.body, binary);
  ASSERT_NE(FindHeader(r.headers, "Content-Type"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "Content-Type"), "application/octet-stream");
  ASSERT_NE(FindHeader(r.headers, "X-Seen-Client-Context"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "X-Seen-Client-Context"), inv.client_context);
}

TEST(WrapperBlackBox, ErrorCallsKeepTheirHeadersAndBody) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  InvocationResult r = fn.Invoke("{\"action\":\"error\"}");
  EXPECT_EQ(r.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(r.error_type, "Function.Custom");
  EXPECT_EQ(r.body, "{\"errorMessage\":\"bad\",\"errorType\":\"Custom\",\"requestId\":\"x\"}");
  ASSERT_NE(FindHeader(r.headers, "Lambda-Runtime-Function-XRay-Error-Cause"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "Lambda-Runtime-Function-XRay-Error-Cause"),
            "{\"working_directory\":\"/var/task\"}");
}

TEST(WrapperBlackBox, StreamedResponseWithTrailersArrivesIntact) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  std::string streamed;
  std::mutex mu;
  Invocation inv;
  inv.on_stream_data = [&](std::string_view piece) {
    std::lock_guard<std::mutex> lock(mu);
    streamed.append(piece);
  };
  InvocationResult r = fn.Invoke("{\"action\":\"stream\"}", inv);
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(r.error_type, "Function.StreamBroke");
  EXPECT_EQ(r.body, "{\"errorMessage\":\"late\"}");
  ASSERT_EQ(r.trailers.size(), 2u);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(streamed, "part-1;part-2;part-3");
}

TEST(WrapperBlackBox, SixMegabytesPassAndSevenGet413) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  InvocationResult six = fn.Invoke("{\"action\":\"big\",\"size\":6291456}");
  EXPECT_EQ(six.kind, InvocationResult::Kind::kResponse);
  EXPECT_EQ(six.body_bytes, 6291456u);
  InvocationResult seven = fn.Invoke("{\"action\":\"big\",\"size\":7340032}");
  EXPECT_EQ(seven.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(seven.error_type, "Function.ResponseSizeTooLarge");
  // The runtime saw the upstream's 413 unchanged and carries on.
  InvocationResult last = fn.Invoke("{\"action\":\"last_status\"}");
  EXPECT_EQ(
      last.body,
      "{\"status\": 413, \"body\": \"{\\\"errorType\\\":\\\"RequestEntityTooLarge\\\","
      "\\\"errorMessage\\\":\\\"Exceeded maximum allowed payload size (6291556 bytes).\\\"}\"}");
}

TEST(WrapperBlackBox, EightConcurrentNextCallsAreNotSerialised) {
  RuntimeApiServer::Options options;
  options.max_concurrency = 8;
  Function fn(options);
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("THREADS", "8");
  fn.Start();
  std::vector<std::future<InvocationResult>> all;
  for (int i = 0; i < 8; ++i) {
    Invocation inv;
    inv.event = "{\"action\":\"barrier\"}";
    all.push_back(fn.server().Invoke(inv));
  }
  // Each answer needs all eight invocations in the runtime at once.
  for (auto& f : all) {
    ASSERT_EQ(f.wait_for(90s), std::future_status::ready) << fn.Stderr();
    InvocationResult r = f.get();
    EXPECT_EQ(r.body, "together");
  }
}

TEST(WrapperBlackBox, MalformedHttpToTheDelegatorLeavesTheFunctionWorking) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  std::string api = fn.Invoke("{\"action\":\"api\"}").body;
  auto delegator = ParseHostPort(api);
  ASSERT_TRUE(delegator.ok()) << api;
  auto held = ConnectTcp(*delegator);  // an idle connection, open throughout
  ASSERT_TRUE(held.ok());
  auto bad = testing::RoundTrip(*delegator, "GET /x HTTP/1.1\r\nBad Header\r\n\r\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  auto proxy =
      testing::RoundTrip(*delegator, "GET http://example.com/ HTTP/1.1\r\nHost: e\r\n\r\n");
  ASSERT_TRUE(proxy.ok());
  EXPECT_EQ(proxy->status, 400);
  EXPECT_EQ(fn.Invoke("{\"after\":1}").body, "{\"after\":1}");
}

// The number of error reports the wrapper posted (invocation, init, restore).
size_t ErrorPosts(Function& fn) {
  auto calls = fn.server().calls();
  return static_cast<size_t>(std::count_if(calls.begin(), calls.end(), [](const auto& c) {
    return c.method == "POST" && c.path.size() > 6 && c.path.substr(c.path.size() - 6) == "/error";
  }));
}

// A runtime that dies during an invocation: the wrapper ends the same way and
// posts nothing, so the platform reports the exit in its own words
// ("RequestId: <id> Error: Runtime exited with error: exit status 3") exactly
// as without the wrapper. Here the harness plays the platform.
TEST(WrapperBlackBox, CrashMidInvokeEndsTheWrapperWithTheRuntimesStatus) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  InvocationResult r = fn.Invoke("{\"action\":\"exit\",\"status\":3}");
  EXPECT_EQ(r.kind, InvocationResult::Kind::kError);
  EXPECT_EQ(r.error_type, "Runtime.ExitError");
  EXPECT_EQ(
      r.body,
      R"({"errorType":"Runtime.ExitError","errorMessage":"Runtime exited with error: exit status 3"})");
  EXPECT_EQ(fn.Wait(), 3);
  EXPECT_TRUE(WIFEXITED(fn.wait_status()));
  EXPECT_EQ(ErrorPosts(fn), 0u);
}

TEST(WrapperBlackBox, ARuntimeKilledBySignalKillsTheWrapperWithIt) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  InvocationResult r = fn.Invoke("{\"action\":\"signal\",\"signal\":9}");
  EXPECT_EQ(r.error_type, "Runtime.ExitError");
  EXPECT_EQ(
      r.body,
      R"({"errorType":"Runtime.ExitError","errorMessage":"Runtime exited with error: signal: killed"})");
  EXPECT_EQ(fn.Wait(), 128 + 9);
  ASSERT_TRUE(WIFSIGNALED(fn.wait_status())) << "exited with " << fn.wait_status();
  EXPECT_EQ(WTERMSIG(fn.wait_status()), 9);
  EXPECT_EQ(ErrorPosts(fn), 0u);
}

TEST(WrapperBlackBox, CrashDuringInitIsThePlatformsToReport) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("FAIL_INIT", "2");
  fn.Start();
  EXPECT_EQ(fn.Wait(), 2);
  EXPECT_TRUE(WIFEXITED(fn.wait_status()));
  EXPECT_FALSE(fn.server().init_error().has_value()) << fn.server().init_error()->body;
  EXPECT_EQ(ErrorPosts(fn), 0u);
}

TEST(WrapperBlackBox, MissingRuntimeIs127AndNotExecutableIs126) {
  {
    Function fn;
    fn.Set("ANYSNAP_RUNTIME", "/nonexistent/bootstrap --flag");
    fn.Start();
    EXPECT_EQ(fn.Wait(), 127);
    auto init = fn.server().init_error();
    ASSERT_TRUE(init.has_value());
    EXPECT_EQ(init->error_type, "Runtime.InvalidEntrypoint");
    EXPECT_NE(init->body.find("/nonexistent/bootstrap"), std::string::npos);
  }
  {
    std::string path = ::testing::TempDir() + "/bootstrap-not-executable";
    std::ofstream(path) << "#!/bin/sh\n";
    chmod(path.c_str(), 0644);
    Function fn;
    fn.Set("ANYSNAP_RUNTIME", path);
    fn.Start();
    EXPECT_EQ(fn.Wait(), 126);
    ASSERT_TRUE(fn.server().init_error().has_value());
    EXPECT_EQ(fn.server().init_error()->error_type, "Runtime.InvalidEntrypoint");
  }
}

TEST(WrapperBlackBox, BadSettingIsOneLineAndInvalidConfiguration) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("ANYSNAP_PRIME_ROUNDS", "abc");
  fn.Start();
  EXPECT_EQ(fn.Wait(), 78);
  auto init = fn.server().init_error();
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->error_type, "Runtime.InvalidConfiguration");
  EXPECT_NE(init->body.find("ANYSNAP_PRIME_ROUNDS"), std::string::npos);
  std::string err = fn.Stderr();
  EXPECT_NE(err.find("ERROR ANYSNAP_PRIME_ROUNDS=\"abc\": expected a whole number"),
            std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(WrapperBlackBox, DisableExecsTheOriginalCommandUntouched) {
  std::string out = ::testing::TempDir() + "/disabled-out";
  std::remove(out.c_str());
  std::string java = ::testing::TempDir() + "/fake-java";
  std::ofstream(java)
      << "#!/bin/sh\necho \"$AWS_LAMBDA_RUNTIME_API|$#|$5\" > \"$ANYSNAP_TEST_OUT\"\n";
  chmod(java.c_str(), 0755);
  Function fn;
  fn.Set("ANYSNAP_DISABLE", "true");
  fn.Set("ANYSNAP_RUNTIME", "/nonexistent/would-fail");
  fn.Set("ANYSNAP_TEST_OUT", out);
  fn.Start(java);
  EXPECT_EQ(fn.Wait(), 0) << fn.Stderr();
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  // The real Runtime API address (no delegator), all five java arguments.
  EXPECT_EQ(line, fn.server().address().ToString() + "|5|index.handler");
}

TEST(WrapperBlackBox, ChainRunsTheRuntimeThroughAnotherWrapper) {
  Function fn;
  fn.Set("ANYSNAP_CHAIN", kFixtures + "/chain.sh --tag 'two words'");
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  EXPECT_EQ(fn.Invoke("{\"action\":\"env\",\"name\":\"CHAINED_WITH\"}").body, "--tag|two words");
}

TEST(WrapperBlackBox, SignalsReachTheRuntimeAndWrapperDeathTakesItDown) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  pid_t runtime_pid = std::stoi(fn.Invoke("{\"action\":\"pid\"}").body);
  ASSERT_GT(runtime_pid, 0);
  fn.wrapper().Signal(SIGKILL);
  EXPECT_EQ(fn.Wait(), 128 + SIGKILL);
  bool gone = false;
  for (int i = 0; i < 5000 && !gone; ++i) {
    gone = ::kill(runtime_pid, 0) != 0;
    std::ifstream stat("/proc/" + std::to_string(runtime_pid) + "/stat");
    std::string s;
    std::getline(stat, s);
    gone = gone || s.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(gone) << "runtime host outlived the wrapper";
}

TEST(WrapperBlackBox, SigintIsForwardedAndItsStatusReturned) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  ASSERT_EQ(fn.Invoke("{\"warm\":1}").body, "{\"warm\":1}");
  fn.wrapper().Signal(SIGINT);
  // Python turns SIGINT into KeyboardInterrupt in the main thread: exit 1... or
  // dies by the signal; either way the wrapper returns what the runtime did.
  int status = fn.Wait();
  EXPECT_TRUE(status == 1 || status == 128 + SIGINT || status == 130) << status;
}

}  // namespace
}  // namespace anysnap
