// Restoring for real: a Node.js function on AWS's aws-lambda-ric and a Python
// function (tests/fixtures/random) run through the built anysnap-wrapper by
// `anysnap-local check --snapshot criu`, 3 cold starts and 3 restores from one
// snapshot. Each response carries one value per random source; the test reads
// them all (--responses): with default settings (anysnap's reseed) every
// source gives each restored environment its own value, and with
// ANYSNAP_RESEED=off those whose state is in the snapshot repeat.
// Runs only where `criu check` passes (CRIU 4.2 built from its sources does
// here; Debian 12's 3.17 does not, and CI has none): elsewhere it skips and
// says why.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "local_test_support.h"
#include "snapshot_backend.h"

namespace anysnap {
namespace {

using testing::kLocal;
using testing::ReadTestFile;
using testing::RunCaptured;
using testing::ScratchDir;
using testing::TestEnvironment;

const std::string kSource = ANYSNAP_SOURCE_DIR;
const std::string kFixtures = kSource + "/tests/fixtures/random";
const std::string kRic = kSource + "/build/node_modules/aws-lambda-ric/index.mjs";
constexpr int kRuns = 3;

// One check run: its exit status and stdout, and each field's value per
// restored environment (".perInvoke.randomUUID" -> 3 values).
struct Measured {
  int exit_status = -1;
  std::string out;
  std::string err;
  std::map<std::string, std::vector<std::string>> restored;
};

std::string Text(const rapidjson::Value& v) {
  if (v.IsString()) return v.GetString();
  if (v.IsNumber()) return std::to_string(v.GetDouble());
  return "?";
}

Measured Check(const std::string& task_root, std::vector<std::string> flags) {
  ScratchDir dir;
  std::vector<std::string> argv = {kLocal,        "check",
                                   "--task-root", task_root,
                                   "--snapshot",  "criu",
                                   "--criu",      testing::TestCriu(),
                                   "-n",          std::to_string(kRuns),
                                   "--responses", dir / "responses.jsonl"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto run = RunCaptured(argv, TestEnvironment());
  Measured m;
  m.exit_status = run.status.code;
  m.out = run.out;
  m.err = run.err;
  std::istringstream lines(ReadTestFile(dir / "responses.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document record, body;
    record.Parse(line.data(), line.size());
    if (record.HasParseError() || std::string(record["run"].GetString()) != "restored") continue;
    body.Parse(record["body"].GetString());
    if (body.HasParseError() || !body.IsObject()) continue;
    m.restored[".initId"].push_back(Text(body["initId"]));
    for (auto& f : body["perInvoke"].GetObject())
      m.restored[std::string(".perInvoke.") + f.name.GetString()].push_back(Text(f.value));
  }
  return m;
}

size_t Distinct(const std::vector<std::string>& values) {
  return std::set<std::string>(values.begin(), values.end()).size();
}

#define SKIP_WITHOUT_CRIU()                                                   \
  do {                                                                        \
    Status criu = CheckCriu(testing::TestCriu());                             \
    if (!criu.ok()) GTEST_SKIP() << "criu unusable here: " << criu.message(); \
  } while (0)

std::vector<std::string> NodeFlags() {
  return {"--handler", "index.handler", "--env", "ANYSNAP_RUNTIME=node " + kRic + " index.handler"};
}

const char* const kNodeSources[] = {".perInvoke.randomUUID", ".perInvoke.randomUUIDWithoutCache",
                                    ".perInvoke.randomBytes", ".perInvoke.getRandomValues",
                                    ".perInvoke.mathRandom"};
const char* const kPythonClonable[] = {".perInvoke.random", ".perInvoke.sslRandBytes"};
const char* const kPythonKernel[] = {".perInvoke.uuid4", ".perInvoke.urandom"};

// Default settings: anysnap's reseed runs after every restore. Only the id
// made during init repeats (a value, not a generator: nothing can reseed it).
TEST(RestoreUniquenessTest, NodeEverySourceIsUniqueInEachRestoreWithTheReseed) {
  SKIP_WITHOUT_CRIU();
  ASSERT_TRUE(FileExists(kRic)) << "run scripts/test-deps.sh: " << kRic << " missing";
  Measured m = Check(kFixtures + "/node", NodeFlags());
  ASSERT_EQ(m.exit_status, 1) << m.err << m.out;
  for (const char* source : kNodeSources) {
    ASSERT_EQ(m.restored[source].size(), static_cast<size_t>(kRuns)) << source << "\n" << m.err;
    EXPECT_EQ(Distinct(m.restored[source]), static_cast<size_t>(kRuns)) << source;
  }
  EXPECT_EQ(Distinct(m.restored[".initId"]), 1u);
  EXPECT_NE(m.out.find("1 field differs between cold starts but repeats in every restore"),
            std::string::npos)
      << m.out;
  EXPECT_NE(m.out.find("cloned  .initId  "), std::string::npos) << m.out;
}

TEST(RestoreUniquenessTest, PythonEverySourceIsUniqueInEachRestoreWithTheReseed) {
  SKIP_WITHOUT_CRIU();
  Measured m =
      Check(kFixtures + "/python",
            {"--env", "ANYSNAP_RUNTIME=" + kFixtures + "/python/bootstrap", "--allow", ".initId"});
  // The one cloned field is allowed: nothing left to fail on.
  ASSERT_EQ(m.exit_status, 0) << m.err << m.out;
  for (const char* const* sources : {kPythonClonable, kPythonKernel}) {
    for (int i = 0; i < 2; ++i) {
      const char* source = sources[i];
      ASSERT_EQ(m.restored[source].size(), static_cast<size_t>(kRuns)) << source << "\n" << m.err;
      EXPECT_EQ(Distinct(m.restored[source]), static_cast<size_t>(kRuns)) << source;
    }
  }
  EXPECT_NE(m.out.find("allowed .initId  "), std::string::npos) << m.out;
}

TEST(RestoreUniquenessTest, NodeSourcesRepeatInEveryRestoreWithoutTheReseed) {
  SKIP_WITHOUT_CRIU();
  ASSERT_TRUE(FileExists(kRic)) << "run scripts/test-deps.sh: " << kRic << " missing";
  std::vector<std::string> flags = NodeFlags();
  flags.insert(flags.end(), {"--env", "ANYSNAP_RESEED=off"});
  Measured m = Check(kFixtures + "/node", flags);
  ASSERT_EQ(m.exit_status, 1) << m.err << m.out;
  for (const char* source : kNodeSources) {
    ASSERT_EQ(m.restored[source].size(), static_cast<size_t>(kRuns)) << source << "\n" << m.err;
    EXPECT_EQ(Distinct(m.restored[source]), 1u) << source;
    EXPECT_NE(m.out.find(std::string("cloned  ") + source + "  "), std::string::npos)
        << source << "\n"
        << m.out;
  }
  EXPECT_NE(m.out.find("cloned  .initId  "), std::string::npos) << m.out;
}

TEST(RestoreUniquenessTest, PythonRandomAndOpenSslRepeatWithoutTheReseedTheKernelsDoNot) {
  SKIP_WITHOUT_CRIU();
  Measured m =
      Check(kFixtures + "/python", {"--env", "ANYSNAP_RUNTIME=" + kFixtures + "/python/bootstrap",
                                    "--env", "ANYSNAP_RESEED=off"});
  ASSERT_EQ(m.exit_status, 1) << m.err << m.out;
  for (const char* source : kPythonClonable) {
    ASSERT_EQ(m.restored[source].size(), static_cast<size_t>(kRuns)) << source << "\n" << m.err;
    EXPECT_EQ(Distinct(m.restored[source]), 1u) << source;
  }
  for (const char* source : kPythonKernel) {
    EXPECT_EQ(Distinct(m.restored[source]), static_cast<size_t>(kRuns)) << source;
    EXPECT_EQ(m.out.find(std::string("cloned  ") + source), std::string::npos) << m.out;
  }
}

}  // namespace
}  // namespace anysnap
