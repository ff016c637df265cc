#include "layer/runtime_layer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

// A fake npm that installs Bun's package with a program of `size` bytes (a
// sparse file: nothing is really written).
RunCommandFn FakeBunInstall(uint64_t size) {
  return [size](const std::vector<std::string>& argv, const EnvMap&) -> Result<CapturedOutput> {
    const std::string prefix = argv[3];
    const std::string pkg = prefix + "/node_modules/@oven/bun-linux-x64";
    std::filesystem::create_directories(pkg + "/bin");
    int fd = ::open((pkg + "/bin/bun").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    ::close(fd);
    auto spec = FindRuntime("bun", Arch::kX86_64);
    EXPECT_TRUE(WriteFile(prefix + "/node_modules/.package-lock.json",
                          R"({"packages": {"node_modules/@oven/bun-linux-x64": {"version": ")" +
                              spec->runtime.version + R"(", "integrity": ")" +
                              spec->runtime.integrity + R"("}}})")
                    .ok());
    return CapturedOutput{0, ""};
  };
}

TEST(RuntimeLayerTest, OverLambdasUnzippedLimitIsRefusedWithItsSizeAndNothingWritten) {
  auto dir = TempDir::Create("runtime-layer-test-");
  ASSERT_TRUE(dir.ok());
  RuntimeLayerOptions o;
  o.runtime = "bun";
  o.output = dir->path() + "/bun.zip";
  o.cache_dir = dir->path() + "/cache";
  o.run = FakeBunInstall(251ull * 1024 * 1024);
  auto r = BuildRuntimeLayer(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge);
  EXPECT_NE(r.status().message().find("the bun layer would hold 251.0 MiB unzipped: over "
                                      "Lambda's 250.0 MiB"),
            std::string::npos)
      << r.status().message();
  struct stat st;
  EXPECT_NE(::stat(o.output.c_str(), &st), 0);
  EXPECT_NE(::stat((o.output + ".partial").c_str(), &st), 0);
}

TEST(RuntimeLayerTest, NodejsForAnotherArchitectureIsRefusedBeforeNpmRuns) {
  RuntimeLayerOptions o;
  o.runtime = "nodejs22";
  o.output = "/nonexistent/node.zip";
  o.target.arch = Arch::kArm64;
  o.machine = Arch::kX86_64;
  bool ran = false;
  o.run = [&ran](const std::vector<std::string>&, const EnvMap&) -> Result<CapturedOutput> {
    ran = true;
    return CapturedOutput{1, ""};
  };
  auto r = BuildRuntimeLayer(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("build this layer on arm64"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace anysnap::layer
