// Black-box tests of the built anysnap-wrapper: real runtimes (bash with curl,
// Python's standard library, Node.js with AWS's aws-lambda-ric) run under it
// against the project's Runtime API server over loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "anysnap/base64.h"
#include "anysnap/unique_fd.h"
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
  const std::string& ric = testing::kRic;
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

TEST(WrapperBlackBox, WrapperDeathTakesTheRuntimeDown) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("KEEP_RUNNING", "1");  // losing its Runtime API does not end it
  fn.Start();
  pid_t runtime_pid = std::stoi(fn.Invoke("{\"action\":\"pid\"}").body);
  ASSERT_GT(runtime_pid, 0);
  // A descriptor of the runtime host, taken while it surely runs: it becomes
  // readable when the process ends.
  UniqueFd runtime(static_cast<int>(::syscall(SYS_pidfd_open, runtime_pid, 0)));
  ASSERT_TRUE(runtime.valid()) << std::strerror(errno);
  fn.wrapper().Signal(SIGKILL);
  EXPECT_EQ(fn.Wait(), 128 + SIGKILL);
  pollfd ended{runtime.get(), POLLIN, 0};
  if (::poll(&ended, 1, 60'000) != 1) {
    ADD_FAILURE() << "runtime host outlived the wrapper";
    ::kill(runtime_pid, SIGKILL);
  }
}

TEST(WrapperBlackBox, TelemetryDescriptorArrivesOpenInTheRuntime) {
  // A pipe whose write end the wrapper inherits, as Lambda hands it the
  // telemetry descriptor; the read end stays with the test.
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  ASSERT_EQ(::fcntl(read_end.get(), F_SETFD, FD_CLOEXEC), 0);
  struct stat pipe_stat;
  ASSERT_EQ(::fstat(read_end.get(), &pipe_stat), 0);
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("_LAMBDA_TELEMETRY_LOG_FD", std::to_string(write_end.get()));
  fn.Start();
  const int fd = write_end.get();
  write_end.Reset();  // the wrapper's copy and the runtime's are the only ones left
  InvocationResult r = fn.Invoke(R"({"action":"telemetry"})");
  rapidjson::Document report;
  report.Parse(r.body.c_str());
  ASSERT_TRUE(report.IsObject()) << r.body << fn.Stderr();
  EXPECT_EQ(report["fd"].GetInt(), fd) << r.body;
  ASSERT_TRUE(report["open"].GetBool()) << r.body;
  // The same pipe the test made, not some other descriptor under that number.
  EXPECT_EQ(std::string(report["target"].GetString()),
            "pipe:[" + std::to_string(pipe_stat.st_ino) + "]");
  // What the runtime wrote through it arrives at the other end.
  const std::string expected = "telemetry from the runtime\n";
  std::string got;
  char buf[256];
  while (got.size() < expected.size()) {
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "the pipe closed after \"" << got << "\"";
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, expected);
}

// The wrapper's log lines (stderr) of a run of a runtime that writes none of
// its own: one invocation, then SIGTERM.
// The wrapper's log of one invoke and a SIGTERM, with the environment `env`.
std::string LogOfOneRun(const std::vector<std::pair<std::string, std::string>>& env) {
  Function fn;
  for (const auto& [key, value] : env) fn.Set(key, value);
  fn.Set("ANYSNAP_RUNTIME", kBin + "/../tests/anysnap-plain-runtime");
  // A setting without effect: one WARN line from the configuration.
  fn.Set("ANYSNAP_AUDIT_REPORT", ::testing::TempDir() + "/unused-audit-report.json");
  fn.Start();
  EXPECT_EQ(fn.Invoke("{\"n\":1}").body, "{\"n\":1}") << fn.Stderr();
  fn.wrapper().Signal(SIGTERM);
  EXPECT_EQ(fn.Wait(), 128 + SIGTERM) << fn.Stderr();
  return fn.Stderr();
}

const std::string kWarnMessage = "ANYSNAP_AUDIT_REPORT has no effect while ANYSNAP_AUDIT is off";
const std::string kInfoMessage = "runtime host " + kBin + "/../tests/anysnap-plain-runtime started";
const std::string kDebugMessage = "forwarding Terminated to the runtime host";

struct LogLine {
  std::string level;
  std::string message;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Each line of `text` parsed as a Lambda-style JSON log line: an object of
// exactly timestamp (ISO 8601 UTC, milliseconds), level, component and
// message. A line that is not one is a test failure.
std::vector<LogLine> JsonLogLines(const std::string& text) {
  static const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<LogLine> out;
  for (const std::string& line : Lines(text)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject() || doc.MemberCount() != 4 ||
        !doc.HasMember("timestamp") || !doc["timestamp"].IsString() || !doc.HasMember("level") ||
        !doc["level"].IsString() || !doc.HasMember("component") || !doc["component"].IsString() ||
        !doc.HasMember("message") || !doc["message"].IsString()) {
      ADD_FAILURE() << "not a JSON log line: " << line;
      continue;
    }
    EXPECT_TRUE(std::regex_match(doc["timestamp"].GetString(), kTimestamp)) << line;
    EXPECT_STREQ(doc["component"].GetString(), "anysnap-wrapper") << line;
    out.push_back({doc["level"].GetString(), doc["message"].GetString()});
  }
  return out;
}

// The level of the first line whose message starts with `message`, or "".
std::string LevelOf(const std::vector<LogLine>& lines, const std::string& message) {
  for (const auto& l : lines) {
    if (l.message.rfind(message, 0) == 0) return l.level;
  }
  return "";
}

std::set<std::string> Levels(const std::vector<LogLine>& lines) {
  std::set<std::string> levels;
  for (const auto& l : lines) levels.insert(l.level);
  return levels;
}

TEST(WrapperLog, JsonFormatWritesEveryLineAsAJsonObject) {
  std::string log = LogOfOneRun({{"ANYSNAP_LOG_FORMAT", "json"}, {"ANYSNAP_LOG_LEVEL", "debug"}});
  auto lines = JsonLogLines(log);
  EXPECT_EQ(lines.size(), Lines(log).size()) << log;
  EXPECT_EQ(LevelOf(lines, kWarnMessage), "WARN") << log;
  EXPECT_EQ(LevelOf(lines, kInfoMessage), "INFO") << log;
  EXPECT_EQ(LevelOf(lines, kDebugMessage), "DEBUG") << log;
}

TEST(WrapperLog, LevelLeavesOutTheLinesBelowIt) {
  std::string log = LogOfOneRun({{"ANYSNAP_LOG_FORMAT", "json"}, {"ANYSNAP_LOG_LEVEL", "warn"}});
  auto lines = JsonLogLines(log);
  EXPECT_EQ(LevelOf(lines, kWarnMessage), "WARN") << log;
  EXPECT_EQ(Levels(lines), std::set<std::string>{"WARN"}) << log;
}

TEST(WrapperLog, LambdaLogSettingsApplyWhenAnysnapHasNone) {
  std::string log =
      LogOfOneRun({{"AWS_LAMBDA_LOG_FORMAT", "JSON"}, {"AWS_LAMBDA_LOG_LEVEL", "DEBUG"}});
  auto lines = JsonLogLines(log);
  EXPECT_EQ(LevelOf(lines, kDebugMessage), "DEBUG") << log;
  EXPECT_EQ(LevelOf(lines, kWarnMessage), "WARN") << log;
}

TEST(WrapperLog, AnysnapLogSettingsOverrideLambdas) {
  std::string log = LogOfOneRun({{"AWS_LAMBDA_LOG_FORMAT", "JSON"},
                                 {"AWS_LAMBDA_LOG_LEVEL", "ERROR"},
                                 {"ANYSNAP_LOG_FORMAT", "text"},
                                 {"ANYSNAP_LOG_LEVEL", "info"}});
  // Text lines: "anysnap-wrapper LEVEL message"; INFO kept, DEBUG left out.
  EXPECT_NE(log.find("anysnap-wrapper WARN " + kWarnMessage + "\n"), std::string::npos) << log;
  EXPECT_NE(log.find("anysnap-wrapper INFO " + kInfoMessage), std::string::npos) << log;
  EXPECT_EQ(log.find(kDebugMessage), std::string::npos) << log;
  for (const std::string& line : Lines(log))
    EXPECT_EQ(line.rfind("anysnap-wrapper ", 0), 0u) << line;
}

// SIGTERM and SIGINT sent to the wrapper reach the runtime host from the
// wrapper (its parent), which records them before dying by them; the wrapper
// then ends with the runtime's status.
class ForwardedSignal : public ::testing::TestWithParam<int> {};

TEST_P(ForwardedSignal, ReachesTheRuntimeFromTheWrapperAndItsStatusIsReturned) {
  const int sig = GetParam();
  const std::string record = ::testing::TempDir() + "/signal-record-" + std::to_string(::getpid()) +
                             "-" + std::to_string(sig);
  std::remove(record.c_str());
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Set("SIGNAL_RECORD", record);
  fn.Start();
  // Answered: the runtime host is past its init, its signal mask in place.
  ASSERT_EQ(fn.Invoke("{\"warm\":1}").body, "{\"warm\":1}");
  fn.wrapper().Signal(sig);
  EXPECT_EQ(fn.Wait(), 128 + sig) << fn.Stderr();
  std::ifstream in(record);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "SIG" + std::string(sigabbrev_np(sig)) + " from parent") << fn.Stderr();
}

INSTANTIATE_TEST_SUITE_P(WrapperBlackBox, ForwardedSignal, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                           return "SIG" + std::string(sigabbrev_np(info.param));
                         });

}  // namespace
}  // namespace anysnap
