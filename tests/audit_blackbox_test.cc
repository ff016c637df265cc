// Black-box tests of the snapshot-safety audit (ANYSNAP_AUDIT): real runtimes
// under the built wrapper, a real seccomp filter, and the report it writes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "wrapped_function.h"

namespace anysnap {
namespace {

using testing::kBin;
using testing::kFixtures;
using testing::kSource;
using testing::ReadAll;
using testing::SnapStart;
using Function = testing::WrappedFunction;

const std::string kTestBin = kBin + "/../tests";

std::string ReportPath(const std::string& name) {
  return ::testing::TempDir() + "/audit-" + std::to_string(::getpid()) + "-" + name + ".json";
}

// A snap-start function with the audit on, reporting to `report`.
void SetUpAudit(Function& fn, const std::string& mode, const std::string& report) {
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("ANYSNAP_AUDIT", mode);
  fn.Set("ANYSNAP_AUDIT_REPORT", report);
  std::remove(report.c_str());
}

TEST(Audit, PythonConnectAndUrandomDuringInitAreReported) {
  Function fn(SnapStart());
  std::string report = ReportPath("python");
  SetUpAudit(fn, "log", report);
  const std::string target = fn.server().address().ToString();
  fn.Set("ANYSNAP_RUNTIME", "python3 " + kFixtures + "/python/runtime.py");
  fn.Set("INIT_HAZARDS", target);
  fn.Start();
  EXPECT_EQ(fn.Invoke("x").body, "x");
  // The address the runtime was given: the delegator's, which it connected
  // to during init (its first invocation/next) as every runtime does.
  const std::string delegator = fn.Invoke(R"({"action":"api"})").body;
  ASSERT_NE(delegator, target);
  std::string json = ReadAll(report);
  // The Python runtime's reseed (ANYSNAP_RESEED=auto) holds its first next,
  // so the snapshot is taken at the delegator's restore/next.
  EXPECT_NE(json.find(R"("snapshot_point":"restore/next")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("call":"connect","detail":")" + target + "\""), std::string::npos) << json;
  EXPECT_NE(json.find(R"("call":"openat","detail":"/dev/urandom")"), std::string::npos) << json;
  // The delegator itself is never a hazard.
  EXPECT_EQ(json.find(delegator), std::string::npos) << json;
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("audit: connect: 1 call, e.g. connect " + target), std::string::npos) << log;
  EXPECT_NE(log.find("reconnect in an after-restore hook"), std::string::npos) << log;
}

TEST(Audit, WithoutAReportPathTheLogAloneCarriesTheReport) {
  // No default file: locally the host's /tmp would be shared by every
  // environment and every run.
  Function fn(SnapStart());
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("ANYSNAP_AUDIT", "log");
  fn.Set("ANYSNAP_RUNTIME", "python3 " + kFixtures + "/python/runtime.py");
  fn.Set("INIT_HAZARDS", fn.server().address().ToString());
  fn.Start();
  EXPECT_EQ(fn.Invoke("x").body, "x");
  std::string log = fn.Stderr();
  // The Python runtime's reseed holds its first next: the snapshot is taken
  // at the delegator's restore/next.
  EXPECT_NE(log.find("snapshot-safety audit at restore/next: "), std::string::npos) << log;
  EXPECT_NE(log.find("audit: connect: 1 call"), std::string::npos) << log;
  EXPECT_EQ(log.find("; report: "), std::string::npos) << log;
  EXPECT_EQ(log.find("cannot write the report"), std::string::npos) << log;
}

// Node.js draws from the kernel only to seed OpenSSL, at start: the runtime's
// draw, never the function's. The id the function makes during init comes
// from OpenSSL without a system call: no audit of system calls sees it.
TEST(Audit, NodesStartUpDrawIsTheRuntimesNotTheFunctions) {
  const std::string& ric = testing::kRic;
  ASSERT_TRUE(std::ifstream(ric).good()) << "run scripts/test-deps.sh: " << ric << " missing";
  Function fn(SnapStart());
  std::string report = ReportPath("node");
  SetUpAudit(fn, "log", report);
  fn.Set("ANYSNAP_RESEED", "off");
  fn.Set("LAMBDA_TASK_ROOT", kFixtures + "/node");
  fn.Set("ANYSNAP_RUNTIME", "node " + ric + " index.handler");
  fn.Set("UUID_AT_INIT", "1");
  fn.Start();
  InvocationResult r = fn.Invoke("{}");
  EXPECT_NE(r.body.find("\"initId\":"), std::string::npos) << r.body;
  std::string json = ReadAll(report);
  EXPECT_NE(json.find(R"({"kind":"random","verdict":"runtime","source":"Node.js start-up: )"
                      R"(OpenSSL's generator)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("call":"getrandom","detail":"48 bytes","origin":"runtime")"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find(R"("verdict":"yours")"), std::string::npos) << json;
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("audit: random (runtime-level: Node.js start-up: OpenSSL's generator"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("leave ANYSNAP_RESEED at auto"), std::string::npos) << log;
}

// With the reseed on (the default under snap-start), Node.js's start-up draw
// and the reseed's own seed of its Math.random are reseeded: no hazard left.
TEST(Audit, NodesStartUpDrawIsReseededByDefault) {
  const std::string& ric = testing::kRic;
  ASSERT_TRUE(std::ifstream(ric).good()) << "run scripts/test-deps.sh: " << ric << " missing";
  Function fn(SnapStart());
  std::string report = ReportPath("node-reseeded");
  SetUpAudit(fn, "strict", report);
  fn.Set("LAMBDA_TASK_ROOT", kFixtures + "/node");
  fn.Set("ANYSNAP_RUNTIME", "node " + ric + " index.handler");
  fn.Start();
  EXPECT_NE(fn.Invoke("{}").body.find("\"echo\""), std::string::npos);
  std::string json = ReadAll(report);
  EXPECT_NE(json.find(R"({"kind":"random","verdict":"reseeded","source":"Node.js start-up: )"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find(R"("verdict":"yours")"), std::string::npos) << json;
  EXPECT_EQ(json.find(R"("verdict":"runtime")"), std::string::npos) << json;
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("snapshot-safety audit at "), std::string::npos) << log;
  EXPECT_NE(log.find(": no hazard seen (and "), std::string::npos) << log;
  EXPECT_NE(log.find("audit: random (reseeded by anysnap: Node.js start-up"), std::string::npos)
      << log;
}

// A Python function that makes an id, uses ssl and random during init: its
// uuid4 is its own; the hash secret, random's hidden instance and OpenSSL's
// seed are the runtime's, each reported once with its remedy.
TEST(Audit, PythonsStartUpDrawsAreToldFromTheFunctions) {
  Function fn(SnapStart());
  std::string report = ReportPath("python-draws");
  SetUpAudit(fn, "log", report);
  fn.Set("ANYSNAP_RESEED", "off");
  fn.Set("ANYSNAP_RUNTIME", kFixtures + "/random/python/bootstrap");
  fn.Start();
  EXPECT_NE(fn.Invoke("{}").body.find("\"initId\""), std::string::npos);
  std::string json = ReadAll(report);
  EXPECT_NE(json.find(R"({"kind":"random","verdict":"yours","source":"","count":1,)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("call":"getrandom","detail":"16 bytes","origin":"function")"),
            std::string::npos)
      << json;
  for (const char* source :
       {"Python start-up: the str and bytes hash secret",
        "Python's random module: its hidden generator", "Python's OpenSSL: its generator"}) {
    EXPECT_NE(json.find(std::string(R"("verdict":"runtime","source":")") + source),
              std::string::npos)
        << source << "\n"
        << json;
  }
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("audit: random (yours to fix): 1 call, e.g. getrandom 16 bytes"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("call random.seed() in an after-restore hook"), std::string::npos) << log;
}

// Strict refuses a runtime-level hazard that has a remedy (the reseed is off
// here), never the hash secret, which nothing can change.
TEST(Audit, StrictRefusesRuntimeHazardsOnlyWhereThereIsARemedy) {
  Function fn(SnapStart());
  std::string report = ReportPath("python-strict");
  SetUpAudit(fn, "strict", report);
  fn.Set("ANYSNAP_RESEED", "off");
  fn.Set("ANYSNAP_AUDIT_FAIL_ON", "random");
  fn.Set("ANYSNAP_RUNTIME", kFixtures + "/random/python/bootstrap");
  fn.Start();
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "ANYSNAP_AUDIT_FAIL_ON refuses: random (1: getrandom 16 bytes");
  const std::string body = fn.server().init_error()->body;
  EXPECT_NE(body.find("random (1: getrandom 2496 bytes"), std::string::npos) << body;
  EXPECT_EQ(body.find("getrandom 24 bytes"), std::string::npos) << body;
}

TEST(Audit, ACleanRuntimeGetsAnEmptyReport) {
  Function fn(SnapStart());
  std::string report = ReportPath("clean");
  SetUpAudit(fn, "strict", report);
  fn.Set("ANYSNAP_RUNTIME", kTestBin + "/anysnap-plain-runtime");
  fn.Start();
  EXPECT_EQ(fn.Invoke("clean").body, "clean");
  EXPECT_EQ(ReadAll(report),
            "{\"mode\":\"strict\",\"snapshot_point\":\"restore/next\",\"hazards\":[]}\n");
  EXPECT_NE(fn.Stderr().find("snapshot-safety audit at restore/next: no hazard seen"),
            std::string::npos)
      << fn.Stderr();
}

TEST(Audit, StrictModeFailsTheInitOnTheKindsItNames) {
  Function fn(SnapStart());
  std::string report = ReportPath("strict");
  SetUpAudit(fn, "strict", report);
  const std::string target = fn.server().address().ToString();
  fn.Set("ANYSNAP_AUDIT_FAIL_ON", "connect");
  fn.Set("ANYSNAP_RUNTIME", "python3 " + kFixtures + "/python/runtime.py");
  fn.Set("INIT_HAZARDS", target);
  fn.Start();
  fn.ExpectEndedWithError(64, /*restore=*/false, "Runtime.BeforeSnapshotError",
                          "ANYSNAP_AUDIT_FAIL_ON refuses: connect (1: connect " + target);
  EXPECT_EQ(fn.server().init_error()->body.find("random ("), std::string::npos)
      << "random is not in FAIL_ON";
  for (const auto& call : fn.server().calls())
    EXPECT_NE(call.path, "/2018-06-01/runtime/restore/next");
}

TEST(Audit, StrictModePassesWhenNoListedKindIsSeen) {
  Function fn(SnapStart());
  std::string report = ReportPath("strict-pass");
  SetUpAudit(fn, "strict", report);
  fn.Set("ANYSNAP_AUDIT_FAIL_ON", "listen,timer");
  fn.Set("ANYSNAP_RUNTIME", "python3 " + kFixtures + "/python/runtime.py");
  fn.Set("INIT_HAZARDS", fn.server().address().ToString());
  fn.Start();
  EXPECT_EQ(fn.Invoke("ok").body, "ok");
  EXPECT_NE(ReadAll(report).find(R"("kind":"connect")"), std::string::npos);
}

TEST(Audit, ARefusedFilterIsOneWarningAndTheFunctionRuns) {
  Function fn(SnapStart());
  std::string report = ReportPath("refused");
  SetUpAudit(fn, "strict", report);
  fn.SetLauncher(kTestBin + "/deny-seccomp");
  fn.Set("ANYSNAP_RUNTIME", "python3 " + kFixtures + "/python/runtime.py");
  fn.Set("INIT_HAZARDS", fn.server().address().ToString());
  fn.Start();
  EXPECT_EQ(fn.Invoke("unaudited").body, "unaudited");
  std::string log = fn.Stderr();
  EXPECT_NE(log.find("WARN ANYSNAP_AUDIT=strict: the function runs unaudited: "), std::string::npos)
      << log;
  EXPECT_EQ(ReadAll(report), "");
}

}  // namespace
}  // namespace anysnap
