// Tests of `anysnap-local run`: RunLocally in process with a real bash
// custom runtime (curl) as the function (started by the built anysnap-local's
// sandbox init, in this machine's namespaces), then the anysnap-local binary
// from the outside, without the exec wrapper and — when it is built — through
// it.
#include "local_run.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/unique_fd.h"
#include "local_test_support.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::CountOccurrences;
using testing::kLocal;
using testing::MakeFifo;
using testing::ReadFifo;
using testing::ReadTestFile;
using testing::RunCaptured;
using testing::ScratchDir;
using testing::TestEnvironment;
using testing::WriteBashRuntime;
using testing::WriteFifo;
using testing::WriteTestFile;

const std::string kWrapper = std::string(ANYSNAP_BIN_DIR) + "/anysnap-wrapper";

// Reads a line piece by piece; each call consumes what it matched and says
// whether it did.
struct LineCursor {
  std::string_view rest;

  bool Literal(std::string_view text) {
    if (rest.substr(0, text.size()) != text) return false;
    rest.remove_prefix(text.size());
    return true;
  }
  bool Digits() {
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    rest.remove_prefix(n);
    return n > 0;
  }
  bool Decimal() {  // "12.34"
    if (!Digits() || !Literal(".")) return false;
    std::string_view before = rest;
    return Digits() && before.size() - rest.size() == 2;
  }
  bool RequestId() {  // a UUID v4: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx
    if (rest.size() < 36) return false;
    std::string_view id = rest.substr(0, 36);
    for (size_t i = 0; i < id.size(); ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      bool hex = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
      if (dash ? id[i] != '-' : !hex) return false;
    }
    if (id[14] != '4' || std::string_view("89ab").find(id[19]) == std::string_view::npos) {
      return false;
    }
    rest.remove_prefix(36);
    return true;
  }
  bool AtEnd() const { return rest.empty(); }
};

bool IsRequestId(const std::string& text) {
  LineCursor c{text};
  return c.RequestId() && c.AtEnd();
}

// A function folder with the bash runtime, and a run of it without the
// wrapper whose log lines and function output are kept.
class LocalRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir((dir_ / "task").c_str(), 0755);
    WriteBashRuntime(dir_ / "task");
    output_.Reset(
        ::open((dir_ / "output").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    ASSERT_TRUE(output_.valid());
    fn().task_root = dir_ / "task";
    fn().function_name = "fixture";
    spec().output_fd = output_.get();
    spec().self_exe = kLocal;
    options_.function.stop_grace = 2s;
    options_.function.on_log = [this](std::string_view line) { log_.append(line); };
  }

  EnvironmentSpec& spec() { return options_.function.environment; }
  FunctionSettings& fn() { return options_.function.environment.function; }

  LocalRunResult Run() {
    auto result = RunLocally(options_);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? std::move(*result) : LocalRunResult{};
  }
  std::string FunctionOutput() const { return ReadTestFile(dir_ / "output"); }

  ScratchDir dir_;
  UniqueFd output_;
  LocalRunOptions options_;
  std::string log_;
};

TEST_F(LocalRunTest, AnswersEveryEventInOrderWithLambdasLines) {
  options_.events = {R"({"n":1})", R"({"n":2})", R"({"n":3})"};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 3u);
  EXPECT_TRUE(result.all_succeeded(3));
  EXPECT_EQ(result.environments, 1);
  for (int i = 0; i < 3; ++i) {
    const InvokeResult& o = result.invokes[static_cast<size_t>(i)];
    EXPECT_TRUE(o.ok) << o.body;
    EXPECT_EQ(o.body, R"({"echo":{"n":)" + std::to_string(i + 1) + "}}");
    EXPECT_EQ(o.figures.init_duration_ms.has_value(), i == 0) << "Init Duration on the first only";
    EXPECT_GE(o.figures.duration_ms, 0.0);
    EXPECT_GT(o.figures.max_memory_used_bytes, 0u) << "bash's VmHWM at least";
    EXPECT_EQ(o.figures.memory_size_mb, 128);
    EXPECT_NE(log_.find(StartLine(o.request_id)), std::string::npos);
    EXPECT_NE(log_.find(EndLine(o.request_id)), std::string::npos);
    EXPECT_NE(log_.find(ReportLine(o.request_id, o.figures)), std::string::npos) << log_;
  }
  EXPECT_GT(*result.invokes[0].figures.init_duration_ms, 0.0);
  // Request ids are distinct UUIDs.
  EXPECT_NE(result.invokes[0].request_id, result.invokes[1].request_id);
  EXPECT_TRUE(IsRequestId(result.invokes[0].request_id)) << result.invokes[0].request_id;
  // Lines in order: START, END, REPORT per invoke.
  size_t start = log_.find("START RequestId: " + result.invokes[1].request_id);
  size_t end = log_.find("END RequestId: " + result.invokes[1].request_id);
  size_t report = log_.find("REPORT RequestId: " + result.invokes[1].request_id);
  EXPECT_LT(start, end);
  EXPECT_LT(end, report);
  // The function's stdout and stderr both went to the output descriptor.
  std::string output = FunctionOutput();
  EXPECT_NE(output.find("fixture: init on stdout"), std::string::npos) << output;
  EXPECT_NE(output.find("fixture: init on stderr"), std::string::npos) << output;
  EXPECT_NE(output.find("fixture: handling " + result.invokes[2].request_id), std::string::npos);
}

TEST_F(LocalRunTest, TheRuntimeSeesLambdasEnvironment) {
  options_.events = {R"({"want":"env"})"};
  fn().handler = "my.handler";
  fn().memory_mb = 256;
  fn().overrides = {{"EXTRA", "from --env"}};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 1u);
  const std::string& env = result.invokes[0].body;
  EXPECT_NE(env.find("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"), std::string::npos) << env;
  EXPECT_NE(env.find("LAMBDA_TASK_ROOT=" + dir_ / "task" + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("_HANDLER=my.handler\n"), std::string::npos);
  EXPECT_NE(env.find("AWS_LAMBDA_FUNCTION_NAME=fixture\n"), std::string::npos);
  EXPECT_NE(env.find("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256\n"), std::string::npos);
  EXPECT_NE(env.find("AWS_LAMBDA_INITIALIZATION_TYPE=on-demand\n"), std::string::npos);
  EXPECT_NE(env.find("EXTRA=from --env\n"), std::string::npos);
  EXPECT_NE(env.find("PWD=" + dir_ / "task" + "\n"), std::string::npos) << "cwd is the task root";
  EXPECT_EQ(env.find("AWS_LAMBDA_EXEC_WRAPPER="), std::string::npos) << "no wrapper in this run";
  EXPECT_EQ(result.invokes[0].figures.memory_size_mb, 256);
}

TEST_F(LocalRunTest, AFunctionErrorFailsTheInvokeButKeepsTheEnvironment) {
  options_.events = {R"({"do":"fail"})", R"({"n":2})"};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 2u);
  EXPECT_FALSE(result.invokes[0].ok);
  EXPECT_EQ(result.invokes[0].error_type, "Function.FixtureError");
  EXPECT_NE(result.invokes[0].body.find("failed on purpose"), std::string::npos);
  EXPECT_TRUE(result.invokes[1].ok);
  EXPECT_EQ(result.environments, 1);
  EXPECT_FALSE(result.all_succeeded(2));
  EXPECT_NE(log_.find("\tStatus: error\tError Type: Function.FixtureError\n"), std::string::npos)
      << log_;
}

TEST_F(LocalRunTest, ARuntimeThatDiesIsAnExitErrorAndTheNextEventStartsAFreshEnvironment) {
  options_.events = {R"({"n":1})", R"({"do":"crash"})", R"({"n":3})"};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 3u);
  EXPECT_TRUE(result.invokes[0].ok);
  const InvokeResult& crashed = result.invokes[1];
  EXPECT_FALSE(crashed.ok);
  EXPECT_EQ(crashed.error_type, "Runtime.ExitError");
  EXPECT_NE(crashed.body.find("RequestId: " + crashed.request_id +
                              " Error: Runtime exited with error: exit status 3"),
            std::string::npos)
      << crashed.body;
  EXPECT_TRUE(result.invokes[2].ok);
  EXPECT_EQ(result.environments, 2);
  EXPECT_TRUE(result.invokes[2].figures.init_duration_ms.has_value()) << "a new init";
  EXPECT_FALSE(crashed.figures.init_duration_ms.has_value());
  EXPECT_NE(log_.find("Runtime exited with error: exit status 3\nRuntime.ExitError\n"),
            std::string::npos)
      << log_;
}

TEST_F(LocalRunTest, ARuntimeThatExitsAfterAnsweringIsReplacedBeforeTheNextEvent) {
  options_.events = {R"({"do":"exit-after"})", R"({"n":2})"};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 2u);
  EXPECT_TRUE(result.invokes[0].ok) << result.invokes[0].body;
  EXPECT_TRUE(result.invokes[1].ok) << result.invokes[1].body;
  EXPECT_EQ(result.environments, 2);
  EXPECT_NE(log_.find("the runtime exited between invokes (exit status 4)"), std::string::npos)
      << log_;
}

TEST_F(LocalRunTest, AnInitErrorIsReturnedToTheInvoke) {
  options_.events = {"{}", "{}"};
  fn().overrides = {{"FIXTURE_INIT_ERROR", "1"}};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 2u);
  for (const InvokeResult& o : result.invokes) {
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_type, "Runtime.FixtureInitError");
    EXPECT_NE(o.body.find("init failed on purpose"), std::string::npos) << o.body;
    EXPECT_TRUE(o.figures.init_duration_ms.has_value());
  }
  EXPECT_EQ(result.environments, 2) << "each event tries a fresh init";
}

TEST_F(LocalRunTest, ARuntimeThatExitsDuringInitIsAnExitError) {
  options_.events = {"{}"};
  fn().overrides = {{"FIXTURE_INIT_EXIT", "5"}};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 1u);
  EXPECT_EQ(result.invokes[0].error_type, "Runtime.ExitError");
  EXPECT_NE(result.invokes[0].body.find("exit status 5"), std::string::npos);
}

TEST_F(LocalRunTest, AMissingBootstrapIsAnInvalidEntrypoint) {
  ::unlink((dir_ / "task/bootstrap").c_str());
  options_.events = {"{}"};
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 1u);
  EXPECT_EQ(result.invokes[0].error_type, "Runtime.InvalidEntrypoint");
  EXPECT_NE(result.invokes[0].body.find(dir_ / "task/bootstrap"), std::string::npos)
      << result.invokes[0].body;
  EXPECT_EQ(result.environments, 0);
  EXPECT_NE(log_.find("REPORT RequestId: " + result.invokes[0].request_id), std::string::npos);
  // One line says why, naming the invoke once.
  EXPECT_NE(log_.find("RequestId: " + result.invokes[0].request_id + " Error: exec " +
                      dir_ / "task/bootstrap" + ": No such file or directory\n" +
                      "Runtime.InvalidEntrypoint\n"),
            std::string::npos)
      << log_;
  EXPECT_EQ(CountOccurrences(log_, " Error: "), 1u) << log_;
}

TEST_F(LocalRunTest, AnInvokeThatRunsTooLongTimesOutAndTheEnvironmentIsReplaced) {
  options_.events = {R"({"do":"hang"})", R"({"n":2})"};
  options_.function.timeout = 300ms;
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 2u);
  EXPECT_FALSE(result.invokes[0].ok);
  EXPECT_EQ(result.invokes[0].error_type, "Sandbox.Timedout");
  EXPECT_NE(result.invokes[0].body.find("Task timed out after 0.30 seconds"), std::string::npos)
      << result.invokes[0].body;
  EXPECT_EQ(result.invokes[0].figures.status.kind, InvokeStatus::Kind::kTimeout);
  EXPECT_TRUE(result.invokes[1].ok);
  EXPECT_EQ(result.environments, 2);
}

TEST_F(LocalRunTest, AnInitThatNeverEndsTimesOut) {
  // A "runtime" that never calls next.
  WriteTestFile(dir_ / "task/bootstrap", "#!/bin/sh\nexec sleep 60\n", 0755);
  options_.events = {"{}"};
  options_.function.init_timeout = 300ms;
  LocalRunResult result = Run();
  ASSERT_EQ(result.invokes.size(), 1u);
  EXPECT_EQ(result.invokes[0].error_type, "Sandbox.Timedout");
  EXPECT_NE(result.invokes[0].body.find("Init timed out after 0.30 seconds"), std::string::npos);
}

TEST_F(LocalRunTest, TheRuntimeIsStoppedWithSigtermAtTheEnd) {
  options_.events = {"{}"};
  fn().overrides = {{"FIXTURE_TERM_FILE", dir_ / "term"}, {"FIXTURE_PID_FILE", dir_ / "pid"}};
  LocalRunResult result = Run();
  ASSERT_TRUE(result.all_succeeded(1));
  EXPECT_EQ(ReadTestFile(dir_ / "term"), "term\n");
  pid_t pid = std::stoi(ReadTestFile(dir_ / "pid"));
  EXPECT_NE(::kill(pid, 0), 0) << "the runtime outlived the run";
}

TEST_F(LocalRunTest, ARuntimeThatIgnoresSigtermIsKilled) {
  options_.events = {"{}"};
  options_.function.stop_grace = 200ms;
  fn().overrides = {{"FIXTURE_IGNORE_TERM", "1"}, {"FIXTURE_PID_FILE", dir_ / "pid"}};
  LocalRunResult result = Run();
  ASSERT_TRUE(result.all_succeeded(1));
  pid_t pid = std::stoi(ReadTestFile(dir_ / "pid"));
  EXPECT_NE(::kill(pid, 0), 0) << "the runtime outlived the run";
}

TEST_F(LocalRunTest, AStopRequestEndsTheRunEarly) {
  std::atomic<bool> stop{false};
  options_.stop_requested = &stop;
  options_.events = {R"({"do":"hang"})", "{}"};
  // Asked to stop once the runtime is inside the hanging invoke.
  MakeFifo(dir_ / "hanging");
  fn().overrides = {{"FIXTURE_HANG_FIFO", dir_ / "hanging"}};
  std::thread stopper([&] {
    EXPECT_EQ(ReadFifo(dir_ / "hanging"), "hanging\n");
    stop = true;
  });
  LocalRunResult result = Run();
  // A run that ended without the runtime ever hanging leaves the stopper
  // waiting for a writer: one that comes and goes lets it fail, not hang.
  UniqueFd release(::open((dir_ / "hanging").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  release.Reset();
  stopper.join();
  EXPECT_TRUE(result.interrupted);
  ASSERT_EQ(result.invokes.size(), 1u);
  EXPECT_FALSE(result.invokes[0].ok);
  EXPECT_FALSE(result.all_succeeded(2));
}

TEST_F(LocalRunTest, AMissingWrapperIsAnErrorBeforeAnythingRuns) {
  spec().exec_wrapper = dir_ / "no-such-wrapper";
  options_.events = {"{}"};
  auto result = RunLocally(options_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kNotFound);
  EXPECT_NE(result.status().message().find("no-such-wrapper"), std::string::npos);
  EXPECT_TRUE(log_.empty());
}

TEST_F(LocalRunTest, ABadRuntimeSettingIsAnErrorBeforeAnythingRuns) {
  fn().overrides = {{"ANYSNAP_RUNTIME", "'unterminated"}};
  options_.events = {"{}"};
  auto result = RunLocally(options_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("ANYSNAP_RUNTIME"), std::string::npos);
}

TEST(BashSampleTest, AnswersFromItsPrimeTable) {
  // samples/bash with a small table, so that its init is quick here.
  LocalRunOptions options;
  EnvironmentSpec& spec = options.function.environment;
  spec.function.task_root = std::string(ANYSNAP_SOURCE_DIR) + "/samples/bash";
  spec.function.overrides = {{"PRIME_LIMIT", "20000"}};
  spec.self_exe = kLocal;
  options.events = {ReadTestFile(spec.function.task_root + "/event.json"), R"({"n": 97})",
                    R"({"n": "x"})"};
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  spec.output_fd = null.get();
  auto result = RunLocally(options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(result->invokes.size(), 3u);
  EXPECT_NE(result->invokes[0].body.find(
                R"({"n":12345,"primes_up_to_n":1474,"largest_prime_up_to_n":12343,)"),
            std::string::npos)
      << result->invokes[0].body;
  EXPECT_NE(
      result->invokes[1].body.find(R"({"n":97,"primes_up_to_n":25,"largest_prime_up_to_n":97,)"),
      std::string::npos)
      << result->invokes[1].body;
  EXPECT_EQ(result->invokes[2].error_type, "Function.InvalidEvent");
  EXPECT_EQ(result->environments, 1);
}

// --- The binary, from the outside ------------------------------------------

// Runs anysnap-local with the test's own environment (the function's is built
// from scratch either way).
testing::CapturedRun RunLocal(const std::vector<std::string>& args,
                              const std::string& stdin_path = "") {
  std::vector<std::string> argv{kLocal};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCaptured(argv, TestEnvironment(), stdin_path);
}

// Counts the lines of `err` that are whole REPORT lines with Lambda's fields:
// REPORT RequestId: <uuid>\tDuration: 1.23 ms\tBilled Duration: 2 ms\t
// Memory Size: 128 MB\tMax Memory Used: 4 MB[\tInit Duration: 5.67 ms]
size_t CountReports(const std::string& err) {
  size_t count = 0;
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    LineCursor c{std::string_view(err).substr(start, end - start)};
    bool ok = c.Literal("REPORT RequestId: ") && c.RequestId() && c.Literal("\tDuration: ") &&
              c.Decimal() && c.Literal(" ms\tBilled Duration: ") && c.Digits() &&
              c.Literal(" ms\tMemory Size: 128 MB\tMax Memory Used: ") && c.Digits() &&
              c.Literal(" MB");
    if (ok && !c.AtEnd()) ok = c.Literal("\tInit Duration: ") && c.Decimal() && c.Literal(" ms");
    count += ok && c.AtEnd() ? 1 : 0;
    start = end + 1;
  }
  return count;
}

// Under the criu backend the function's sandbox refuses io_uring (criu cannot
// checkpoint a ring): io_uring_setup(2) fails with ENOSYS there, as on a
// kernel without it, and only there (else EFAULT for its null parameters).
TEST(LocalBinaryTest, TheSandboxCanRefuseIoUring) {
  const std::string probe =
      "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
      "print(libc.syscall(425, 1, None), ctypes.get_errno())";  // io_uring_setup
  auto denied = RunCaptured(
      {kLocal, "sandbox-init", "--deny-io-uring", "--", "python3", "-c", probe}, TestEnvironment());
  EXPECT_TRUE(denied.status.success()) << denied.err;
  EXPECT_EQ(denied.out, "-1 " + std::to_string(ENOSYS) + "\n") << denied.err;
  auto allowed =
      RunCaptured({kLocal, "sandbox-init", "--", "python3", "-c", probe}, TestEnvironment());
  EXPECT_TRUE(allowed.status.success()) << allowed.err;
  EXPECT_NE(allowed.out, "-1 " + std::to_string(ENOSYS) + "\n") << allowed.err;
}

TEST(LocalBinaryTest, RunSendsEachEventCountTimesAndExitsZero) {
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  WriteTestFile(dir / "a.json", R"({"a":1})");
  WriteTestFile(dir / "b.json", R"({"b":2})");
  auto run = RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--event", dir / "a.json",
                       "--event", dir / "b.json", "--count", "2"});
  EXPECT_TRUE(run.status.success()) << run.status.Describe() << "\n" << run.err;
  EXPECT_EQ(run.out,
            "{\"echo\":{\"a\":1}}\n{\"echo\":{\"a\":1}}\n{\"echo\":{\"b\":2}}\n"
            "{\"echo\":{\"b\":2}}\n");
  EXPECT_EQ(CountOccurrences(run.err, "START RequestId: "), 4u) << run.err;
  EXPECT_EQ(CountOccurrences(run.err, "END RequestId: "), 4u);
  EXPECT_EQ(CountReports(run.err), 4u) << run.err;
  EXPECT_EQ(CountOccurrences(run.err, "Init Duration: "), 1u);
  EXPECT_NE(run.err.find("fixture: init on stdout"), std::string::npos) << "function output";
  EXPECT_NE(run.err.find("anysnap-local: 4 of 4 invokes succeeded"), std::string::npos);
}

TEST(LocalBinaryTest, DefaultEventIsAnEmptyObjectAndStdinWorks) {
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  auto run = RunLocal({"run", "--task-root", dir.path(), "--no-wrapper"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "{\"echo\":{}}\n");

  WriteTestFile(dir / "event", R"({"from":"stdin"})");
  run = RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--event", "-"}, dir / "event");
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_EQ(run.out, "{\"echo\":{\"from\":\"stdin\"}}\n");
}

TEST(LocalBinaryTest, AFailedInvokePrintsTheErrorAndExitsOne) {
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  WriteTestFile(dir / "crash.json", R"({"do":"crash"})");
  auto run =
      RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--event", dir / "crash.json"});
  EXPECT_EQ(run.status.code, 1) << run.status.Describe() << "\n" << run.err;
  EXPECT_NE(run.out.find("\"errorType\":\"Runtime.ExitError\""), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("Runtime exited with error: exit status 3"), std::string::npos);
  EXPECT_NE(run.err.find("Status: error\tError Type: Runtime.ExitError"), std::string::npos);
  EXPECT_NE(run.err.find("anysnap-local: 0 of 1 invokes succeeded"), std::string::npos);
}

TEST(LocalBinaryTest, EnvFlagsReachTheFunction) {
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  WriteTestFile(dir / "env.json", R"({"want":"env"})");
  auto run =
      RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--event", dir / "env.json",
                "--env", "GREETING=hello world", "--env", "EMPTY=", "--function-name", "named"});
  EXPECT_TRUE(run.status.success()) << run.err;
  EXPECT_NE(run.out.find("GREETING=hello world\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("EMPTY=\n"), std::string::npos);
  EXPECT_NE(run.out.find("AWS_LAMBDA_FUNCTION_NAME=named\n"), std::string::npos);
}

TEST(LocalBinaryTest, UsageErrorsExitTwo) {
  ScratchDir dir;
  EXPECT_EQ(RunLocal({"run", "--no-wrapper"}).status.code, 2) << "--task-root is required";
  EXPECT_EQ(RunLocal({"run", "--task-root", dir / "missing", "--no-wrapper"}).status.code, 2);
  EXPECT_EQ(
      RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--env", "NOEQUALS"}).status.code,
      2);
  EXPECT_EQ(
      RunLocal({"run", "--task-root", dir.path(), "--no-wrapper", "--event", dir / "missing.json"})
          .status.code,
      2);
  EXPECT_EQ(RunLocal({"run", "--task-root", dir.path(), "--layer", dir / "missing"}).status.code,
            2);
  auto help = RunLocal({"run", "--help"});
  EXPECT_EQ(help.status.code, 0);
  EXPECT_NE(help.out.find("--no-wrapper"), std::string::npos) << help.out;
}

TEST(LocalBinaryTest, WithoutTheWrapperBuiltTheDefaultRunSaysWhatToDo) {
  if (FileExists(kWrapper)) GTEST_SKIP() << kWrapper << " exists: the wrapper test covers this";
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  auto run = RunLocal({"run", "--task-root", dir.path()});
  EXPECT_EQ(run.status.code, 2);
  EXPECT_NE(run.err.find("anysnap-wrapper"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--no-wrapper"), std::string::npos) << run.err;
}

TEST(LocalBinaryTest, ThroughTheWrapperTheBashRuntimeAnswers) {
  if (!FileExists(kWrapper)) {
    GTEST_SKIP() << kWrapper << " is not built in this tree";
  }
  ScratchDir dir;
  WriteBashRuntime(dir.path());
  WriteTestFile(dir / "env.json", R"({"want":"env"})");
  auto run = RunLocal({"run", "--task-root", dir.path(), "--count", "3"});
  EXPECT_TRUE(run.status.success()) << run.status.Describe() << "\n" << run.err;
  EXPECT_EQ(run.out, "{\"echo\":{}}\n{\"echo\":{}}\n{\"echo\":{}}\n") << run.err;
  EXPECT_EQ(CountReports(run.err), 3u) << run.err;

  run = RunLocal({"run", "--task-root", dir.path(), "--event", dir / "env.json"});
  EXPECT_TRUE(run.status.success()) << run.err;
  // The wrapper points the runtime at its delegator, not at anysnap-local's
  // server; either way the runtime sees a loopback Runtime API.
  EXPECT_NE(run.out.find("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"), std::string::npos) << run.out;
  // The sandbox `serve` runs functions in: the code at /var/task.
  EXPECT_NE(run.out.find("LAMBDA_TASK_ROOT=/var/task\n"), std::string::npos)
      << "namespaces are expected where the tests run as root\n"
      << run.out;
}

}  // namespace
}  // namespace anysnap
