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
// Installs `spec`'s runtime package as npm would under the prefix in `argv`,
// with a program of `size` bytes (a sparse file: nothing is really written).
void InstallRuntimePackage(const RuntimeSpec& spec, const std::vector<std::string>& argv,
                           uint64_t size) {
  const std::string prefix = argv[3];
  const std::string pkg = prefix + "/node_modules/" + spec.runtime.name;
  const std::string program = pkg + "/" + spec.program;
  std::filesystem::create_directories(std::filesystem::path(program).parent_path());
  int fd = ::open(program.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ::close(fd);
  EXPECT_TRUE(WriteFile(prefix + "/node_modules/.package-lock.json",
                        R"({"packages": {"node_modules/)" + spec.runtime.name +
                            R"(": {"version": ")" + spec.runtime.version + R"(", "integrity": ")" +
                            spec.runtime.integrity + R"("}}})")
                  .ok());
}

// A fake npm that installs Bun's package with a program of `size` bytes.
RunCommandFn FakeBunInstall(uint64_t size) {
  return [size](const std::vector<std::string>& argv, const EnvMap&) -> Result<CapturedOutput> {
    InstallRuntimePackage(*FindRuntime("bun", Arch::kX86_64), argv, size);
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

// npm runs the client's install scripts in the client's own folder: the
// runtime it compiles against (PATH, npm_config_nodedir) must be named by an
// absolute path even when the cache is given as a relative one.
TEST(RuntimeLayerTest, TheClientCompilesAgainstTheRuntimeByAbsolutePath) {
  auto dir = TempDir::Create("runtime-layer-test-");
  ASSERT_TRUE(dir.ok());
  auto spec = FindRuntime("nodejs22", Arch::kX86_64);
  ASSERT_TRUE(spec.ok());
  const std::string was = std::filesystem::current_path();
  std::filesystem::current_path(dir->path());
  RuntimeLayerOptions o;
  o.runtime = "nodejs22";
  o.output = dir->path() + "/node.zip";
  o.cache_dir = "relative/cache";
  o.target.arch = o.machine = Arch::kX86_64;
  o.env["PATH"] = "/usr/bin:/bin";
  EnvMap client_env;
  o.run = [&](const std::vector<std::string>& argv, const EnvMap& env) -> Result<CapturedOutput> {
    if (argv.back() == spec->runtime.Spec()) {
      InstallRuntimePackage(*spec, argv, 1);
      return CapturedOutput{0, ""};
    }
    client_env = env;
    return CapturedOutput{1, "npm error stop here\n"};
  };
  auto r = BuildRuntimeLayer(o);
  std::filesystem::current_path(was);
  ASSERT_FALSE(r.ok());
  const std::string runtime_dir = dir->path() + "/relative/cache/" + spec->runtime.name + "@" +
                                  spec->runtime.version + "/node_modules/" + spec->runtime.name;
  EXPECT_EQ(client_env["npm_config_nodedir"], runtime_dir);
  EXPECT_EQ(client_env["PATH"], runtime_dir + "/bin:/usr/bin:/bin");
}

}  // namespace
}  // namespace anysnap::layer
