// Black-box tests of `anysnap-local serve`: the binary serves real runtimes
// (the Python and bash fixtures) and is driven with real curl, as a user's
// scripts drive the Runtime Interface Emulator. snap-start runs on the freeze
// backend here; the criu tests run only where `criu check` passes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/child_process.h"
#include "cgroup.h"
#include "function_config.h"
#include "local_test_support.h"
#include "snapshot_backend.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::CountOccurrences;
using testing::CurlReply;
using testing::kLocal;
using testing::MakeFifo;
using testing::ReadTestFile;
using testing::RunCaptured;
using testing::ScratchDir;
using testing::ServedLocally;
using testing::TestEnvironment;
using testing::WriteBashRuntime;
using testing::WriteFifo;
using testing::WriteTestFile;

const std::string kPythonFixture =
    std::string(ANYSNAP_SOURCE_DIR) + "/tests/fixtures/python/runtime.py";
// Bounds a wait so that a broken server fails a test instead of hanging it.
constexpr auto kPatience = 60s;

// `anysnap-local serve` for the function in `task_root`. `through_wrapper`:
// the runtime starts through the built anysnap-wrapper, as on Lambda; else
// directly (--no-wrapper).
std::vector<std::string> ServeFlags(const std::string& task_root, std::vector<std::string> flags,
                                    bool through_wrapper) {
  std::vector<std::string> argv = {"--task-root", task_root};
  if (!through_wrapper) argv.push_back("--no-wrapper");
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

class Served : public ServedLocally {
 public:
  Served(const std::string& task_root, std::vector<std::string> flags, bool through_wrapper = false)
      : ServedLocally(ServeFlags(task_root, std::move(flags), through_wrapper), kPatience) {}
};

// A task root holding the Python fixture as its runtime.
class PythonFunction {
 public:
  PythonFunction() { WriteTestFile(dir_ / "runtime.py", ReadTestFile(kPythonFixture)); }
  const std::string& path() const { return dir_.path(); }
  std::string operator/(const std::string& name) const { return dir_ / name; }

 private:
  ScratchDir dir_;
};

const std::vector<std::string> kPython = {"--env", "ANYSNAP_RUNTIME=python3 runtime.py"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> ReportLines(const std::string& log) {
  std::vector<std::string> lines;
  size_t at = 0;
  while ((at = log.find("REPORT RequestId: ", at)) != std::string::npos) {
    size_t end = log.find('\n', at);
    lines.push_back(log.substr(at, end - at));
    at = end;
  }
  return lines;
}

bool HasHeader(const CurlReply& r, const std::string& line) {
  return r.head.find("\r\n" + line + "\r\n") != std::string::npos ||
         r.head.find("\r\n" + line) + line.size() + 2 == r.head.size() ||
         r.body.find(line + "\r\n") != std::string::npos;  // a trailer
}

TEST(LocalServeTest, AnswersTheEmulatorsEndpointWithCurlAndInitsLazily) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  // Lazy: nothing ran before the first invoke.
  EXPECT_EQ(CountOccurrences(served.log(), "fixture: init done"), 0u);
  CurlReply first = served.Invoke(R"({"hello":"world"})", {"-H", "Content-Type: application/json"});
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, R"({"hello":"world"})");
  EXPECT_NE(first.head.find("X-Amzn-RequestId: "), std::string::npos);
  EXPECT_EQ(first.head.find("X-Amz-Function-Error"), std::string::npos);
  CurlReply second = served.Invoke(R"({"action":"env","name":"LAMBDA_TASK_ROOT"})");
  EXPECT_EQ(second.body, "/var/task") << "namespaces are expected where the tests run as root";

  std::string log = served.log();
  EXPECT_EQ(CountOccurrences(log, "START RequestId: "), 2u);
  EXPECT_EQ(CountOccurrences(log, "END RequestId: "), 2u);
  std::vector<std::string> reports = ReportLines(log);
  ASSERT_EQ(reports.size(), 2u);
  for (const char* field :
       {"\tDuration: ", "\tBilled Duration: ", "\tMemory Size: 128 MB", "\tMax Memory Used: "}) {
    EXPECT_NE(reports[0].find(field), std::string::npos) << reports[0];
  }
  EXPECT_NE(reports[0].find("\tInit Duration: "), std::string::npos);
  EXPECT_EQ(reports[1].find("\tInit Duration: "), std::string::npos);
  // Unknown paths: as the emulator does.
  auto other = RunCaptured({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            served.url().substr(0, served.url().find("/2015")) + "/nope"},
                           TestEnvironment());
  EXPECT_EQ(other.out, "404");
}

TEST(LocalServeTest, NextAlwaysSaysApplicationJsonWhateverTheCallerSent) {
  // Lambda and the emulator hand every event to the runtime as application/json;
  // AWS's Python client parses the event only then. The fixture answers with the
  // Content-Type its next carried, so the invoke's answer shows it.
  PythonFunction fn;
  Served served(fn.path(), kPython);
  CurlReply form = served.Invoke(R"({"k":"v"})");  // curl's own form type
  EXPECT_EQ(form.status, 200);
  EXPECT_TRUE(HasHeader(form, "Content-Type: application/json")) << form.head;
  CurlReply text = served.Invoke(R"({"k":"v"})", {"-H", "Content-Type: text/plain"});
  EXPECT_TRUE(HasHeader(text, "Content-Type: application/json")) << text.head;
}

TEST(LocalServeTest, AFunctionErrorCarriesTheHeaderAndKeepsTheEnvironment) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  CurlReply pid = served.Invoke(R"({"action":"pid"})");
  CurlReply error = served.Invoke(R"({"action":"error"})");
  EXPECT_EQ(error.status, 200);
  EXPECT_TRUE(HasHeader(error, "X-Amz-Function-Error: Unhandled")) << error.head;
  EXPECT_EQ(error.body, R"({"errorMessage":"bad","errorType":"Custom","requestId":"x"})");
  EXPECT_EQ(served.Invoke(R"({"action":"pid"})").body, pid.body);
  EXPECT_NE(served.log().find("\tStatus: error\tError Type: Function.Custom"), std::string::npos);
}

TEST(LocalServeTest, ARuntimeExitErrorEndsTheEnvironmentEvenBeforeItDies) {
  // What anysnap-wrapper does when its runtime host dies mid-invoke: reports
  // Runtime.ExitError, then exits. Here the reporter lives on: the next invoke
  // must still get a new environment.
  PythonFunction fn;
  Served served(fn.path(), kPython);
  EXPECT_EQ(served.Invoke("{}").status, 200);
  CurlReply exited = served.Invoke(R"({"action":"error","type":"Runtime.ExitError"})");
  EXPECT_TRUE(HasHeader(exited, "X-Amz-Function-Error: Unhandled")) << exited.head;
  EXPECT_EQ(served.Invoke("{}").status, 200);
  std::string log = served.LogOnceItHas("fixture: init done", 2);
  EXPECT_EQ(CountOccurrences(log, "fixture: init done"), 2u) << log;
}

TEST(LocalServeTest, InvokeIsAClientForServe) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  // "http://127.0.0.1:PORT/2015-03-31/..." -> "127.0.0.1:PORT"
  std::string address = served.url().substr(7, served.url().find("/2015") - 7);
  std::string event = fn.path() + "/../invoke-event.json";
  WriteTestFile(event, R"({"k":"v"})");
  auto ok =
      RunCaptured({kLocal, "invoke", "--address", address, "--event", event}, TestEnvironment());
  EXPECT_EQ(ok.status.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "{\"k\":\"v\"}\n");
  WriteTestFile(event, R"({"action":"error"})");
  auto failed =
      RunCaptured({kLocal, "invoke", "--address", address, "--event", event}, TestEnvironment());
  EXPECT_EQ(failed.status.code, 1);
  EXPECT_NE(failed.out.find(R"("errorType":"Custom")"), std::string::npos) << failed.out;
  EXPECT_NE(failed.err.find("X-Amz-Function-Error: Unhandled"), std::string::npos) << failed.err;
  auto nobody = RunCaptured({kLocal, "invoke", "--address", "127.0.0.1:1"}, TestEnvironment());
  EXPECT_EQ(nobody.status.code, 2);
  EXPECT_NE(nobody.err.find("anysnap-local: invoking 127.0.0.1:1: "), std::string::npos)
      << nobody.err;
}

TEST(LocalServeTest, ARuntimeThatDiesAnswersExitErrorAndTheNextInvokeGetsANewEnvironment) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  served.Invoke("{}");
  CurlReply died = served.Invoke(R"({"action":"exit","status":3})");
  EXPECT_TRUE(HasHeader(died, "X-Amz-Function-Error: Unhandled"));
  EXPECT_NE(died.body.find(R"("errorType":"Runtime.ExitError")"), std::string::npos) << died.body;
  EXPECT_NE(died.body.find("Runtime exited with error: exit status 3"), std::string::npos);
  EXPECT_EQ(served.Invoke(R"({"again":1})").body, R"({"again":1})");
  std::vector<std::string> reports = ReportLines(served.log());
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_NE(reports[1].find("Error Type: Runtime.ExitError"), std::string::npos);
  EXPECT_NE(reports[2].find("Init Duration"), std::string::npos) << "a new environment";
}

// A runtime that answers and then ends before it asks for the next event (a
// crash while idle, an OOM kill): Lambda gives an event only to a runtime
// waiting in next, so the invoke that came in between runs in a new
// environment rather than failing. The fixture ends only once that invoke is
// under way.
// `new_environment` is what the REPORT line of a new environment's first
// invoke says.
void AnInvokeQueuedForARuntimeThatThenEndsRunsInANewEnvironment(
    const std::vector<std::string>& flags, const std::string& new_environment) {
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  MakeFifo(fn / "exit");
  Served served(fn.path(), With(flags, {"--env", "FIXTURE_EXIT_FIFO=" + fn / "exit"}));
  EXPECT_EQ(served.Invoke(R"("exit-when-told")").body, R"({"bye":true})");
  auto next = std::async(std::launch::async, [&] { return served.Invoke(R"("next")"); });
  // Its START line is out: it is past choosing the environment.
  while (CountOccurrences(served.log(), "START RequestId: ") < 2) {
    ASSERT_NE(next.wait_for(10ms), std::future_status::ready) << served.log();
  }
  WriteFifo(fn / "exit", "go\n");
  CurlReply reply = next.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"echo":"next"})") << served.log();
  EXPECT_EQ(reply.head.find("X-Amz-Function-Error"), std::string::npos) << reply.head;
  std::string log = served.log();
  EXPECT_NE(log.find("the runtime exited between invokes (exit status 4)"), std::string::npos)
      << log;
  std::vector<std::string> reports = ReportLines(log);
  ASSERT_EQ(reports.size(), 2u) << log;
  EXPECT_NE(reports[1].find(new_environment), std::string::npos) << reports[1];
}

TEST(LocalServeTest, AnInvokeQueuedForARuntimeThatThenEndsRunsInANewEnvironment) {
  AnInvokeQueuedForARuntimeThatThenEndsRunsInANewEnvironment({}, "\tInit Duration: ");
}

TEST(LocalServeTest, AnInvokeQueuedForARestoredRuntimeThatThenEndsIsRestoredAgain) {
  AnInvokeQueuedForARuntimeThatThenEndsRunsInANewEnvironment(
      {"--init-type", "snap-start", "--snapshot", "freeze"}, "\tRestore Duration: ");
}

TEST(LocalServeTest, ARuntimeThatCannotBeStartedIsAnInvalidEntrypoint) {
  ScratchDir fn;  // no bootstrap
  Served served(fn.path(), {});
  CurlReply r = served.Invoke("{}");
  EXPECT_TRUE(HasHeader(r, "X-Amz-Function-Error: Unhandled")) << r.head;
  EXPECT_NE(r.body.find(R"("errorType":"Runtime.InvalidEntrypoint")"), std::string::npos) << r.body;
  // Named as the sandbox has it, as Lambda names /var/task/bootstrap.
  EXPECT_NE(r.body.find("Error: exec /var/task/bootstrap: No such file or directory"),
            std::string::npos)
      << r.body;
}

TEST(LocalServeTest, AnInitErrorIsTheFirstInvokesAnswer) {
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  Served served(fn.path(), {"--env", "FIXTURE_INIT_ERROR=1"});
  CurlReply r = served.Invoke("{}");
  EXPECT_TRUE(HasHeader(r, "X-Amz-Function-Error: Unhandled"));
  EXPECT_NE(r.body.find("Runtime.FixtureInitError"), std::string::npos) << r.body;
}

TEST(LocalServeTest, ATimeoutIsAnErrorAndTheEnvironmentIsReinitialised) {
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  Served served(fn.path(), {"--timeout", "1"});
  CurlReply hung = served.Invoke(R"("hang")");
  EXPECT_TRUE(HasHeader(hung, "X-Amz-Function-Error: Unhandled"));
  EXPECT_NE(hung.body.find(R"("errorType":"Sandbox.Timedout")"), std::string::npos) << hung.body;
  EXPECT_NE(hung.body.find("Task timed out after 1.00 seconds"), std::string::npos);
  CurlReply next = served.Invoke(R"("after")");
  EXPECT_EQ(next.body, R"({"echo":"after"})");
  std::vector<std::string> reports = ReportLines(served.log());
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("\tStatus: timeout"), std::string::npos) << reports[0];
  EXPECT_NE(reports[1].find("Init Duration"), std::string::npos) << "re-initialised";
}

TEST(LocalServeTest, ConcurrentInvokesAreQueuedAndAllAnswered) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  std::vector<std::future<CurlReply>> replies;
  for (int i = 0; i < 6; ++i) {
    replies.push_back(std::async(std::launch::async, [&served, i] {
      return served.Invoke("{\"n\":" + std::to_string(i) + "}");
    }));
  }
  for (int i = 0; i < 6; ++i) {
    CurlReply r = replies[i].get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"n\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(CountOccurrences(served.log(), "Init Duration"), 1u) << "one environment";
}

TEST(LocalServeTest, ManagedInstancesRunInvokesAtOnce) {
  PythonFunction fn;
  Served served(fn.path(),
                With(kPython, {"--env", "AWS_LAMBDA_MAX_CONCURRENCY=2", "--env", "THREADS=2"}));
  // The fixture answers "barrier" only once two invocations are in flight.
  auto a = std::async(std::launch::async, [&] { return served.Invoke(R"({"action":"barrier"})"); });
  auto b = std::async(std::launch::async, [&] { return served.Invoke(R"({"action":"barrier"})"); });
  EXPECT_EQ(a.get().body, "together");
  EXPECT_EQ(b.get().body, "together");
}

TEST(LocalServeTest, AStreamedResponseGoesOutChunkedWithItsErrorTrailers) {
  PythonFunction fn;
  Served served(fn.path(), kPython);
  CurlReply r = served.Invoke(R"({"action":"stream"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Transfer-Encoding: chunked"), std::string::npos) << r.head;
  // --raw keeps the chunk framing: each piece is its own chunk.
  EXPECT_NE(r.body.find("7\r\npart-1;\r\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("part-3"), std::string::npos);
  EXPECT_NE(r.body.find("0\r\nX-Amz-Function-Error: Unhandled\r\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Lambda-Runtime-Function-Error-Type: Function.StreamBroke"),
            std::string::npos);
}

TEST(LocalServeTest, SnapStartRestoresAndAnswersRestoreNextOnlyAfterTheSnapshot) {
  PythonFunction fn;
  Served served(fn.path(), With(kPython, {"--init-type", "snap-start", "--snapshot", "freeze",
                                          "--env", "NATIVE_RESTORE=1"}));
  std::string before = served.LogOnceItHas("fixture: init done");
  // Init ran at start, and the snapshot was taken while restore/next waited.
  EXPECT_NE(before.find("fixture: init done"), std::string::npos) << before;
  EXPECT_NE(before.find("snapshot taken"), std::string::npos) << before;
  EXPECT_NE(before.find("not the restoring of memory"), std::string::npos) << "freeze says so";
  EXPECT_EQ(before.find("fixture: restore/next answered"), std::string::npos) << before;

  EXPECT_EQ(served.Invoke(R"({"action":"env","name":"AWS_LAMBDA_INITIALIZATION_TYPE"})").body,
            "snap-start");
  // The fixture's line may trail the REPORT line in the log (it comes through
  // the output pipe); the restore's line is written before restore/next is
  // answered, so the fixture's always comes after it.
  std::string log = served.LogOnceItHas("fixture: restore/next answered 200");
  size_t snapshot = log.find("snapshot taken");
  size_t restored = log.find("restored a new execution environment");
  size_t answered = log.find("fixture: restore/next answered 200");
  ASSERT_NE(restored, std::string::npos) << log;
  ASSERT_NE(answered, std::string::npos) << log;
  EXPECT_LT(snapshot, restored);
  EXPECT_LT(restored, answered);
  std::vector<std::string> reports = ReportLines(log);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("\tRestore Duration: "), std::string::npos) << reports[0];
  EXPECT_EQ(reports[0].find("Init Duration"), std::string::npos) << reports[0];

  // Warm: no restore. After the runtime dies: a new restore.
  EXPECT_EQ(served.Invoke("{}").status, 200);
  served.Invoke(R"({"action":"exit","status":1})");
  EXPECT_EQ(served.Invoke(R"({"x":1})").body, R"({"x":1})");
  reports = ReportLines(served.log());
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_EQ(reports[1].find("Restore Duration"), std::string::npos);
  EXPECT_NE(reports[3].find("\tRestore Duration: "), std::string::npos) << reports[3];
}

TEST(LocalServeTest, SnapStartAtTheFirstNextWithTheBashRuntime) {
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  Served served(fn.path(), {"--init-type", "snap-start", "--snapshot", "freeze"});
  EXPECT_EQ(served.Invoke(R"("one")").body, R"({"echo":"one"})");
  EXPECT_EQ(served.Invoke(R"("two")").body, R"({"echo":"two"})");
  EXPECT_EQ(CountOccurrences(served.log(), "Restore Duration"), 1u);
}

TEST(LocalServeTest, VariablesComeFromTheTemplateAnEnvFileAndEnvInThatOrder) {
  PythonFunction fn;
  WriteTestFile(fn / "template.yaml", R"(Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        FROM_GLOBALS: g
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: java21
      Timeout: 30
      Environment:
        Variables:
          A: template
          B: template
          C: template
)");
  WriteTestFile(fn / "vars.env", "# comment\nB=file\nexport C=\"file\"\n");
  Served served(fn.path(), With(kPython, {"--template", fn / "template.yaml", "--function", "Fn",
                                          "--env-file", fn / "vars.env", "--env", "C=flag"}));
  auto env = [&](const std::string& name) {
    return served.Invoke(R"({"action":"env","name":")" + name + "\"}").body;
  };
  EXPECT_EQ(env("FROM_GLOBALS"), "g");
  EXPECT_EQ(env("A"), "template");
  EXPECT_EQ(env("B"), "file");
  EXPECT_EQ(env("C"), "flag");
}

TEST(LocalServeTest, BadInputGetsOneLineAndStatus2) {
  PythonFunction fn;
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const Case cases[] = {
      {{"--task-root", "/nonexistent"}, "--task-root /nonexistent"},
      {{"--task-root", fn.path(), "--init-type", "sometimes"}, "--init-type"},
      {{"--task-root", fn.path(), "--env", "NOEQUALS"}, "--env NOEQUALS: expected KEY=VALUE"},
      {{"--task-root", fn.path(), "--template", fn / "none.yaml", "--function", "F"}, "--template"},
      {{"--task-root", fn.path(), "--env", "AWS_LAMBDA_FUNCTION_TIMEOUT=forever"},
       "AWS_LAMBDA_FUNCTION_TIMEOUT=forever"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {kLocal, "serve", "--no-wrapper", "--port", "0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    auto run = RunCaptured(argv, TestEnvironment());
    EXPECT_EQ(run.status.code, 2) << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
    EXPECT_EQ(CountOccurrences(run.err, "\n"), 1u) << run.err;
  }
}

// A runtime on its own loses its connection to the dumped environment's
// Runtime API and ends after the restore: said as that, not as criu failing.
TEST(LocalServeTest, ARestoredTreeThatEndsIsNotCalledACriuFailure) {
  Status criu = CheckCriu(testing::TestCriu());
  if (!criu.ok()) GTEST_SKIP() << "criu unusable here: " << criu.message();
  PythonFunction fn;
  auto run =
      RunCaptured(With({kLocal, "run", "--task-root", fn.path(), "--no-wrapper", "--init-type",
                        "snap-start", "--snapshot", "criu", "--criu", testing::TestCriu()},
                       kPython),
                  TestEnvironment());
  EXPECT_EQ(run.status.code, 1) << run.err;
  EXPECT_NE(run.out.find("the restored process tree ended (exit status 0) before it called the "
                         "Runtime API; criu's log: "),
            std::string::npos)
      << run.out << run.err;
  EXPECT_EQ(run.out.find("criu restore failed"), std::string::npos) << run.out;
}

TEST(LocalServeTest, CriuRestoresFromOneImage) {
  Status criu = CheckCriu(testing::TestCriu());
  if (!criu.ok()) GTEST_SKIP() << "criu unusable here: " << criu.message();
  PythonFunction fn;
  // Through the wrapper: CRIU brings the tree's loopback connections back, but
  // not the one to the Runtime API server of the dumped environment, which
  // the delegator replaces (a runtime on its own would have to reconnect).
  Served served(fn.path(),
                With(kPython, {"--init-type", "snap-start", "--snapshot", "criu", "--criu",
                               testing::TestCriu()}),
                /*through_wrapper=*/true);
  EXPECT_EQ(served.Invoke(R"({"a":1})").body, R"({"a":1})");
  served.Invoke(R"({"action":"exit","status":1})");
  EXPECT_EQ(served.Invoke(R"({"b":2})").body, R"({"b":2})") << served.log();
  EXPECT_EQ(CountOccurrences(served.log(), "Restore Duration"), 2u);
  // The audit cannot be checkpointed: it ran in an init of its own, first.
  // Both environments came from the one snapshot: init ran once for it (and
  // once before it for the audit).
  std::string log = served.LogOnceItHas("fixture: init done", 2);
  EXPECT_EQ(CountOccurrences(log, "fixture: init done"), 2u) << log;
  EXPECT_NE(log.find("anysnap-local: audited init (its snapshot is not taken)"), std::string::npos)
      << log;
  // The Python reseed holds the first next: the snapshot point is restore/next.
  EXPECT_NE(log.find("snapshot-safety audit at restore/next: "), std::string::npos) << log;
  EXPECT_NE(log.find("audit: random (runtime-level: Python start-up: the str and bytes hash"),
            std::string::npos)
      << log;
  EXPECT_LT(log.find("audited init ended at its snapshot point"), log.find("INIT_REPORT")) << log;
  // The code where every backend has it; the restored runtime's working
  // folder (/var/task, as criu restored it) exists only through the bind.
  EXPECT_EQ(served.Invoke(R"({"action":"env","name":"LAMBDA_TASK_ROOT"})").body, "/var/task");
  // Nothing of it is left in the cgroup hierarchy once serve ends.
  auto hierarchy = FindCgroupV2Hierarchy();
  ASSERT_TRUE(hierarchy.ok()) << hierarchy.status().message();
  const std::string parent =
      *hierarchy + "/anysnap-local-" + std::to_string(served.process().pid());
  ASSERT_TRUE(std::filesystem::is_directory(parent));
  EXPECT_TRUE(served.process().Stop(kPatience).success()) << served.log();
  EXPECT_FALSE(std::filesystem::exists(parent)) << served.log();
}

// Each serve works under a cgroup of its own; when it ends, that cgroup goes,
// with whatever is below it, made by serve or not (criu restore recreates the
// cgroups it dumped there), and the processes in them.
TEST(LocalServeTest, ServeRemovesItsCgroupWithEverythingBelowItWhenItEnds) {
  auto hierarchy = FindCgroupV2Hierarchy();
  if (!hierarchy.ok()) GTEST_SKIP() << "no cgroup v2 here: " << hierarchy.status().message();
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  Served served(fn.path(), {"--init-type", "snap-start", "--snapshot", "freeze"});
  EXPECT_EQ(served.Invoke(R"("x")").body, R"({"echo":"x"})");
  const std::string parent =
      *hierarchy + "/anysnap-local-" + std::to_string(served.process().pid());
  ASSERT_TRUE(std::filesystem::is_directory(parent)) << served.log();
  // A cgroup that serve did not make, with a process in it.
  const std::string stray = parent + "/made-by-another";
  ASSERT_EQ(::mkdir(stray.c_str(), 0755), 0) << std::strerror(errno);
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "infinity"};
  sleeper.env = TestEnvironment();
  auto sleeping = ChildProcess::Spawn(sleeper);
  ASSERT_TRUE(sleeping.ok()) << sleeping.status().message();
  WriteTestFile(stray + "/cgroup.procs", std::to_string(sleeping->pid()));

  ExitStatus stopped = served.process().Stop(kPatience);
  EXPECT_TRUE(stopped.success()) << stopped.Describe() << "\n" << served.log();
  EXPECT_FALSE(std::filesystem::exists(parent)) << served.log();
  auto slept = sleeping->WaitFor(kPatience);
  ASSERT_TRUE(slept.has_value()) << "the process in the stray cgroup lives on";
  EXPECT_EQ(slept->signal, SIGKILL) << slept->Describe();
}

// An anysnap-local that was killed could not remove its cgroups: the next one
// does, once nothing runs there.
TEST(LocalServeTest, ServeRemovesTheEmptyCgroupsOfAnysnapLocalsThatAreGone) {
  auto hierarchy = FindCgroupV2Hierarchy();
  if (!hierarchy.ok()) GTEST_SKIP() << "no cgroup v2 here: " << hierarchy.status().message();
  // No process has this pid: pids stay below pid_max.
  pid_t gone = std::stoi(ReadTestFile("/proc/sys/kernel/pid_max"));
  const std::string stale = CgroupParentOf(*hierarchy, gone);
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0) << stale << ": " << std::strerror(errno);
  ASSERT_EQ(::mkdir((stale + "/env-2").c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(::mkdir((stale + "/env-3").c_str(), 0755), 0) << std::strerror(errno);
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "infinity"};
  sleeper.env = TestEnvironment();
  auto sleeping = ChildProcess::Spawn(sleeper);
  ASSERT_TRUE(sleeping.ok()) << sleeping.status().message();
  WriteTestFile(stale + "/env-3/cgroup.procs", std::to_string(sleeping->pid()));
  ScratchDir fn;
  WriteBashRuntime(fn.path());
  {
    // What still runs stays, untouched.
    Served served(fn.path(), {});
    EXPECT_FALSE(std::filesystem::exists(stale + "/env-2")) << served.log();
    EXPECT_TRUE(std::filesystem::exists(stale + "/env-3")) << served.log();
    EXPECT_TRUE(sleeping->running() && !sleeping->Poll()) << "the process was killed";
  }
  sleeping->Kill();
  {
    Served served(fn.path(), {});
    // (Any anysnap-local that starts meanwhile may be the one that removed it.)
    EXPECT_FALSE(std::filesystem::exists(stale)) << served.log();
  }
  ::rmdir((stale + "/env-3").c_str());
  ::rmdir((stale + "/env-2").c_str());
  ::rmdir(stale.c_str());
}

TEST(LocalCompareTest, PrintsATableAndWritesAChart) {
  PythonFunction fn;
  std::vector<std::string> argv = {kLocal,         "compare", "--task-root", fn.path(),
                                   "--no-wrapper", "-n",      "2",           "--snapshot",
                                   "freeze",       "--chart", fn / "c.svg"};
  argv.insert(argv.end(), kPython.begin(), kPython.end());
  auto run = RunCaptured(argv, TestEnvironment());
  EXPECT_TRUE(run.status.success()) << run.err;
  for (const char* row : {"cold (on-demand)", "restored", "speed-up", "median", "p90",
                          "not the restoring of memory"}) {
    EXPECT_NE(run.out.find(row), std::string::npos) << run.out;
  }
  std::string svg = ReadTestFile(fn / "c.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(CountOccurrences(svg, "<circle"), 4u);
}

TEST(LocalCheckTest, RefusesTheFreezeBackendSayingWhy) {
  PythonFunction fn;
  std::vector<std::string> argv = {kLocal, "check", "--task-root", fn.path(), "--no-wrapper",
                                   "-n",   "2",     "--snapshot",  "freeze"};
  argv.insert(argv.end(), kPython.begin(), kPython.end());
  auto run = RunCaptured(argv, TestEnvironment());
  EXPECT_EQ(run.status.code, 3) << run.err;
  EXPECT_NE(run.err.find("the freeze backend cannot see cloned state: each of its restores "
                         "resumes a process tree frozen after its own init, not a copy of one "
                         "snapshot's memory"),
            std::string::npos)
      << run.err;
  // Refused before anything ran: one line, nothing on stdout.
  EXPECT_EQ(CountOccurrences(run.err, "\n"), 1u) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(LocalCheckTest, OneRunOfEachKindIsAUsageError) {
  PythonFunction fn;
  auto run = RunCaptured({kLocal, "check", "--task-root", fn.path(), "--no-wrapper", "-n", "1",
                          "--snapshot", "freeze"},
                         TestEnvironment());
  EXPECT_EQ(run.status.code, 2) << run.err;
  EXPECT_NE(run.err.find("--runs"), std::string::npos) << run.err;
}

TEST(FunctionConfigTest, EnvFiles) {
  auto env = ParseEnvFile("A=1\n\n# c\nexport B='two words'\nC=\"x=y\"\r\n");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ((*env)["A"], "1");
  EXPECT_EQ((*env)["B"], "two words");
  EXPECT_EQ((*env)["C"], "x=y");
  auto bad = ParseEnvFile("A=1\nnothing\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "line 2: expected KEY=VALUE");
}

TEST(FunctionConfigTest, TemplatesRefuseWhatOnlyCloudFormationResolves) {
  const std::string yaml = R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 512
      Handler: app.handler
      Environment:
        Variables:
          TABLE: !Ref Table
  Table:
    Type: AWS::DynamoDB::Table
)";
  auto f = ParseTemplateFunction(yaml, "Fn");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("Environment.Variables.TABLE: !Ref"), std::string::npos)
      << f.status().message();
  auto table = ParseTemplateFunction(yaml, "Table");
  EXPECT_NE(table.status().message().find("AWS::DynamoDB::Table, not a function"),
            std::string::npos);
  auto missing = ParseTemplateFunction(yaml, "Nope");
  EXPECT_NE(missing.status().message().find("(functions: Fn)"), std::string::npos)
      << missing.status().message();
  auto plain = ParseTemplateFunction(
      "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Timeout: 7\n",
      "F");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->timeout_s, 7.0);
}

TEST(FunctionConfigTest, TemplateLayersAreReadInOrderAndUnreadableOnesSaySo) {
  const std::string yaml = R"(Globals:
  Function:
    Layers: [arn:aws:lambda:us-east-1:1:layer:x:1]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Layers:
        - !Ref Anysnap
        - Ref: Node
        - !Ref Built
        - arn:aws:lambda:us-east-1:123456789012:layer:other:3
  Anysnap:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: anysnap-layer.zip
  Node:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: NodeLayer
  Built:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: ./
    Metadata:
      BuildMethod: makefile
  Other:
    Type: AWS::Serverless::Function
    Properties:
      Handler: x
)";
  auto f = ParseTemplateFunction(yaml, "Fn");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->layers.size(), 4u);
  EXPECT_EQ(f->layers[0].path, "anysnap-layer.zip");
  EXPECT_EQ(f->layers[1].path, "NodeLayer");
  EXPECT_EQ(f->layers[0].problem + f->layers[1].problem, "");
  EXPECT_NE(f->layers[2].problem.find("built by `sam build` (BuildMethod makefile)"),
            std::string::npos)
      << f->layers[2].problem;
  EXPECT_NE(f->layers[3].problem.find("published layer: give its zip or folder with --layer"),
            std::string::npos)
      << f->layers[3].problem;
  // Globals' Layers apply where the function has none of its own.
  auto other = ParseTemplateFunction(yaml, "Other");
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->layers.size(), 1u);
  EXPECT_FALSE(other->layers[0].problem.empty());
}

}  // namespace
}  // namespace anysnap

namespace anysnap {
namespace {

// The whole product on a laptop: the Python sample through the built
// anysnap-wrapper in snap-start; its in-process hooks run around the snapshot,
// the audit (on by default here) reports, and the restored environment answers.
TEST(LocalServeTest, SnapStartThroughTheWrapperRunsHooksAndTheAudit) {
  const std::string source = ANYSNAP_SOURCE_DIR;
  Served served(
      source + "/samples/python",
      {"--init-type", "snap-start", "--snapshot", "freeze", "--env", "PRIME_LIMIT=20000", "--env",
       "PYTHONPATH=" + source + "/samples/hooks/python", "--env", "PYTHONDONTWRITEBYTECODE=1"},
      /*through_wrapper=*/true);
  auto r = served.Invoke(R"({"n": 100})");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"largest_prime_up_to_n\": 97"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"restored_at\": null"), std::string::npos) << r.body;
  std::string log;
  for (const char* line :
       {"before-snapshot: in-process hooks of python", "after-restore: in-process hooks of python",
        "snapshot-safety audit at restore/next: "}) {
    log = served.LogOnceItHas(line);
  }
  EXPECT_NE(log.find("before-snapshot: in-process hooks of python"), std::string::npos) << log;
  EXPECT_NE(log.find("after-restore: in-process hooks of python"), std::string::npos) << log;
  EXPECT_NE(log.find("snapshot-safety audit at restore/next: "), std::string::npos) << log;
  std::vector<std::string> reports = ReportLines(log);
  ASSERT_EQ(reports.size(), 1u) << log;
  EXPECT_NE(reports[0].find("\tRestore Duration: "), std::string::npos) << reports[0];
}

}  // namespace
}  // namespace anysnap
