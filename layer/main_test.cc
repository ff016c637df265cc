// Black-box tests of the anysnap-layer binary: exit statuses, output streams and
// the environment it reads.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <filesystem>

#include "layer/temp_dir.h"
#include "layer/test_command.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

const std::string kBinary = ANYSNAP_BIN_DIR "/anysnap-layer";

class MainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("main-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_EQ(::mkdir((dir_.path() + "/bin").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_.path() + "/tree").c_str(), 0755), 0);
    // A program with libraries to pack: anysnap-layer itself, under a name the
    // layer carries (anysnap-layer, a build tool, is left out of layers).
    std::filesystem::copy_file(kBinary, dir_.path() + "/bin/anysnap-tool");
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(WriteFile(dir_.path() + "/tree/f" + std::to_string(i), std::to_string(i)).ok());
    }
  }

  // Runs `anysnap-layer build` into `name` with the tree added and `extra` flags.
  // This machine's libraries need glibc 2.36 unless `glibc` says otherwise.
  Result<CommandOutput> Build(const std::string& name, std::vector<std::string> extra = {},
                              const std::vector<std::string>& env = {},
                              const std::string& glibc = "2.36") {
    std::vector<std::string> argv = {kBinary,     "build",
                                     "-o",        path(name),
                                     "--bin-dir", dir_.path() + "/bin",
                                     "--add",     dir_.path() + "/tree=tree",
                                     "--glibc",   glibc};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, env);
  }

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
};

TEST_F(MainTest, BuildPrintsOneSummaryLine) {
  auto run = Build("layer.zip");
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(run->err, "");  // no terminal: no progress bar
  EXPECT_TRUE(run->out.starts_with(path("layer.zip") + ": ")) << run->out;
  EXPECT_NE(run->out.find(" entries, "), std::string::npos) << run->out;
  EXPECT_NE(run->out.find(" unzipped, "), std::string::npos) << run->out;
  EXPECT_NE(run->out.find(" zipped, "), std::string::npos) << run->out;
  EXPECT_EQ(std::count(run->out.begin(), run->out.end(), '\n'), 1);
}

TEST_F(MainTest, SourceDateEpochComesFromTheFlagThenTheEnvironment) {
  ASSERT_EQ(Build("default.zip")->exit_code, 0);
  ASSERT_EQ(Build("env.zip", {}, {"SOURCE_DATE_EPOCH=1700000000"})->exit_code, 0);
  ASSERT_EQ(
      Build("flag.zip", {"--source-date-epoch", "1700000000"}, {"SOURCE_DATE_EPOCH=1600000000"})
          ->exit_code,
      0);
  ASSERT_EQ(Build("old.zip", {}, {"SOURCE_DATE_EPOCH=1"})->exit_code, 0);
  EXPECT_EQ(*ReadFile(path("env.zip")), *ReadFile(path("flag.zip")));
  EXPECT_NE(*ReadFile(path("env.zip")), *ReadFile(path("default.zip")));
  EXPECT_EQ(*ReadFile(path("old.zip")), *ReadFile(path("default.zip")));  // clamped to 1980
  auto listing = RunCommand({"unzip", "-Z", "-T", path("env.zip")});
  EXPECT_NE(listing->out.find("20231114.221320"), std::string::npos) << listing->out;

  auto bad = Build("bad.zip", {}, {"SOURCE_DATE_EPOCH=yesterday"});
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_NE(bad->err.find("SOURCE_DATE_EPOCH=yesterday"), std::string::npos) << bad->err;
}

TEST_F(MainTest, BuildNeedsFewDescriptors) {
  // 300 files and more, written with at most 24 descriptors open.
  auto run = RunCommand({"sh", "-c", "ulimit -n 24 && exec \"$@\"", "sh", kBinary, "build", "-o",
                         path("layer.zip"), "--bin-dir", dir_.path() + "/bin", "--add",
                         dir_.path() + "/tree=tree", "--glibc", "2.36"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 0) << run->err;
}

// Without --bin-dir, the programs are the ones beside anysnap-layer itself,
// wherever it is run from.
TEST_F(MainTest, BuildTakesTheProgramsBesideItselfByDefault) {
  const std::string self = dir_.path() + "/bin/anysnap-layer";
  std::filesystem::copy_file(kBinary, self);
  auto run = RunCommand({self, "build", "-o", path("beside.zip"), "--glibc", "2.36"});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  auto listing = RunCommand({"unzip", "-Z1", path("beside.zip")});
  ASSERT_TRUE(listing.ok());
  EXPECT_NE(listing->out.find("anysnap/bin/anysnap-tool\n"), std::string::npos) << listing->out;
}

TEST_F(MainTest, BuildFailsWithFindingsWhenTheChecksFail) {
  auto run = Build("layer.zip", {}, {}, "2.17");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_NE(run->err.find("error   glibc"), std::string::npos) << run->err;
  struct stat st;
  EXPECT_NE(::stat(path("layer.zip").c_str(), &st), 0);
}

TEST_F(MainTest, InspectExitsByWhatItFinds) {
  ASSERT_EQ(Build("layer.zip")->exit_code, 0);
  auto clean = RunCommand({kBinary, "inspect", path("layer.zip"), "--glibc", "2.36"});
  EXPECT_EQ(clean->exit_code, 0) << clean->out;
  EXPECT_NE(clean->out.find("anysnap/bin/anysnap-tool"), std::string::npos);
  EXPECT_NE(clean->out.find("0 errors"), std::string::npos) << clean->out;

  auto strict = RunCommand({kBinary, "inspect", path("layer.zip")});  // glibc 2.34
  EXPECT_EQ(strict->exit_code, 1) << strict->out;
  auto arm = RunCommand({kBinary, "inspect", path("layer.zip"), "--arch", "arm64", "--json"});
  EXPECT_EQ(arm->exit_code, 1);
  rapidjson::Document doc;
  doc.Parse(arm->out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << arm->out;
  EXPECT_FALSE(doc["ok"].GetBool());
  EXPECT_EQ(doc["target"]["arch"].GetString(), std::string("arm64"));
}

// A function's folder with a native module built against a newer glibc than
// Lambda's: inspect names the module, the symbol version it needs and the fix.
TEST_F(MainTest, InspectOfAFunctionFolderNamesANativeModuleThatNeedsANewerGlibc) {
  const std::string fn = path("function");
  const std::string release = fn + "/node_modules/native/build/Release";
  std::filesystem::create_directories(release);
  ASSERT_TRUE(WriteFile(fn + "/index.js", "exports.handler = async () => 1;\n").ok());
  auto module = CompileC(release, "addon.node",
                         "#include <stdlib.h>\nunsigned draw(void) { return arc4random(); }\n",
                         {"-shared", "-fPIC"});
  ASSERT_TRUE(module.ok()) << module.status().message();
  auto good =
      CompileC(release, "old.node", "int answer(void) { return 42; }\n", {"-shared", "-fPIC"});
  ASSERT_TRUE(good.ok()) << good.status().message();

  auto run = RunCommand({kBinary, "inspect", fn});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 1) << run->out;
  EXPECT_NE(run->out.find("node_modules/native/build/Release/addon.node: needs GLIBC_2.36 "
                          "(arc4random); the target has glibc 2.34"),
            std::string::npos)
      << run->out;
  EXPECT_NE(run->out.find("templates/Dockerfile"), std::string::npos) << run->out;
  EXPECT_EQ(run->out.find("old.node: needs"), std::string::npos) << run->out;

  // The same package zipped, as it is deployed.
  auto zipped = RunCommand({"sh", "-c", "cd \"$0\" && zip -qry \"$1\" .", fn, path("fn.zip")});
  ASSERT_TRUE(zipped.ok() && zipped->exit_code == 0);
  auto from_zip = RunCommand({kBinary, "inspect", path("fn.zip")});
  EXPECT_EQ(from_zip->exit_code, 1);
  EXPECT_NE(from_zip->out.find("node_modules/native/build/Release/addon.node: needs GLIBC_2.36"),
            std::string::npos)
      << from_zip->out;

  std::filesystem::remove(*module);
  auto clean = RunCommand({kBinary, "inspect", fn});
  EXPECT_EQ(clean->exit_code, 0) << clean->out;
}

TEST_F(MainTest, UsageAndIoErrorsExitWithTwo) {
  EXPECT_EQ(RunCommand({kBinary})->exit_code, 2);
  EXPECT_EQ(RunCommand({kBinary, "inspect"})->exit_code, 2);
  EXPECT_EQ(RunCommand({kBinary, "inspect", path("none.zip")})->exit_code, 2);
  EXPECT_EQ(RunCommand({kBinary, "inspect", path("x"), "--arch", "mips"})->exit_code, 2);
  EXPECT_EQ(RunCommand({kBinary, "inspect", path("x"), "--glibc", "new"})->exit_code, 2);
  EXPECT_EQ(Build("x.zip", {"--level", "10"})->exit_code, 2);
  EXPECT_EQ(Build("x.zip", {"--add", "nodest"})->exit_code, 2);
  EXPECT_EQ(RunCommand({kBinary, "--help"})->exit_code, 0);
  auto version = RunCommand({kBinary, "--version"});
  EXPECT_EQ(version->exit_code, 0);
  EXPECT_TRUE(version->out.starts_with("anysnap-layer ")) << version->out;
}

}  // namespace
}  // namespace anysnap::layer
