// The built layer, unpacked, runs each sample: anysnap-layer packs the built
// programs and the hook clients, unzip unpacks them as Lambda does under /opt,
// and the unpacked anysnap-wrapper runs the bash, Node.js and Python samples
// in snap-start against the project's Runtime API server, the Node.js and
// Python ones loading their hook clients from the unpacked layer.
#include <gnu/libc-version.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include "wrapped_function.h"

namespace anysnap {
namespace {

using testing::kBin;
using testing::kSource;
using testing::SnapStart;
using Function = testing::WrappedFunction;

class LayerSamples : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/layer-samples-" + std::to_string(::getpid()));
    const std::string zip = *dir_ + ".zip";
    // Static programs need no glibc of the target's: the layer is checked
    // against Lambda's (the builder's default). Otherwise they need this
    // machine's, and the target says so.
    std::string build =
        kBin + "/anysnap-layer build -o " + zip + " --bin-dir " + kBin + " --hooks-dir " + kSource +
        "/samples/hooks" +
        (ANYSNAP_STATIC_PROGRAMS ? std::string()
                                 : std::string(" --glibc ") + gnu_get_libc_version()) +
        " >/dev/null";
    std::string unpack = "rm -rf " + *dir_ + " && unzip -q " + zip + " -d " + *dir_;
    ok_ = std::system(build.c_str()) == 0 && std::system(unpack.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf " + *dir_ + " " + *dir_ + ".zip").c_str());
    delete dir_;
  }

  // Runs `sample` from the unpacked layer in snap-start; returns the first
  // response after restore.
  std::string RunSample(Function& fn, const std::string& sample) {
    EXPECT_TRUE(ok_) << "building or unpacking the layer failed";
    fn.SetWrapper(*dir_ + "/anysnap/bin/anysnap-wrapper");
    fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
    fn.Set("LAMBDA_TASK_ROOT", kSource + "/samples/" + sample);
    fn.Set("PRIME_LIMIT", "20000");
    fn.Start();
    std::ifstream in(kSource + "/samples/" + sample + "/event.json");
    std::string event((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    InvocationResult r = fn.Invoke(event);
    EXPECT_EQ(r.kind, InvocationResult::Kind::kResponse) << r.body << fn.Stderr();
    bool restored = false;
    for (const auto& call : fn.server().calls())
      restored = restored || call.path == "/2018-06-01/runtime/restore/next";
    EXPECT_EQ(restored, sample != "bash") << "restore/next only where hooks are registered";
    return r.body;
  }

  static std::string* dir_;
  static bool ok_;
};

std::string* LayerSamples::dir_ = nullptr;
bool LayerSamples::ok_ = false;

TEST_F(LayerSamples, LayerHoldsTheWrapperWithItsLibraries) {
  ASSERT_TRUE(ok_);
  EXPECT_EQ(std::system(("test -x " + *dir_ + "/anysnap/bin/anysnap-wrapper").c_str()), 0);
  EXPECT_EQ(
      std::system(("test -f " + *dir_ + "/nodejs/node_modules/anysnap-hooks/index.js").c_str()), 0);
  EXPECT_EQ(std::system(("test -f " + *dir_ + "/python/anysnap_hooks.py").c_str()), 0);
  // Build tools stay out; static programs bring no libraries.
  EXPECT_NE(std::system(("test -e " + *dir_ + "/anysnap/bin/anysnap-layer").c_str()), 0);
  if (ANYSNAP_STATIC_PROGRAMS) {
    EXPECT_NE(std::system(("test -e " + *dir_ + "/anysnap/lib").c_str()), 0);
  }
}

TEST_F(LayerSamples, BashSampleRuns) {
  Function fn(SnapStart());
  std::string body = RunSample(fn, "bash");
  EXPECT_NE(body.find("\"largest_prime_up_to_n\":12343"), std::string::npos) << body;
}

TEST_F(LayerSamples, NodejsSampleRunsWithTheLayersHookClient) {
  const std::string& ric = testing::kRic;
  ASSERT_TRUE(std::ifstream(ric).good()) << "run scripts/test-deps.sh: " << ric << " missing";
  Function fn(SnapStart());
  fn.Set("ANYSNAP_RUNTIME", "node " + ric + " index.handler");
  fn.Set("NODE_PATH", *dir_ + "/nodejs/node_modules");
  std::string body = RunSample(fn, "nodejs");
  EXPECT_NE(body.find("\"largestPrimeUpToN\":12343"), std::string::npos) << body;
  EXPECT_EQ(body.find("\"restoredAt\":null"), std::string::npos) << body;
}

TEST_F(LayerSamples, PythonSampleRunsWithTheLayersHookClient) {
  Function fn(SnapStart());
  fn.Set("PYTHONPATH", *dir_ + "/python");
  fn.Set("PYTHONDONTWRITEBYTECODE", "1");
  std::string body = RunSample(fn, "python");
  EXPECT_NE(body.find("\"largest_prime_up_to_n\": 12343"), std::string::npos) << body;
  EXPECT_EQ(body.find("\"restored_at\": null"), std::string::npos) << body;
}

}  // namespace
}  // namespace anysnap
