#include "layer/elf_search_path.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "layer/elf_file.h"
#include "layer/mapped_file.h"
#include "layer/temp_dir.h"
#include "layer/test_command.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

class ElfSearchPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("searchpath-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_EQ(::mkdir((dir_.path() + "/bin").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_.path() + "/lib").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_.path() + "/build").c_str(), 0755), 0);
    auto foo = CompileC(dir_.path() + "/build", "libfoo.so", "int foo(void) { return 7; }\n",
                        {"-shared", "-fPIC", "-Wl,-soname,libfoo.so"});
    ASSERT_TRUE(foo.ok());
    auto bar = CompileC(
        dir_.path() + "/build", "libbar.so", "int foo(void);\nint bar(void) { return foo(); }\n",
        {"-shared", "-fPIC", "-Wl,-soname,libbar.so", "-L" + dir_.path() + "/build", "-lfoo"});
    ASSERT_TRUE(bar.ok());
  }

  std::string Program(const std::string& rpath) {
    std::vector<std::string> flags = {"-L" + dir_.path() + "/build", "-lbar",
                                      "-Wl,-rpath-link," + dir_.path() + "/build"};
    if (!rpath.empty()) flags.push_back("-Wl,-rpath," + rpath);
    auto program = CompileC(dir_.path() + "/bin", "p",
                            "int bar(void);\nint main(void) { return bar(); }\n", flags);
    EXPECT_TRUE(program.ok()) << program.status().ToString();
    return *program;
  }

  ElfFile Parse(const std::string& path) {
    auto mapped = MappedFile::Open(path);
    EXPECT_TRUE(mapped.ok());
    auto elf = ElfFile::Parse(mapped->bytes());
    EXPECT_TRUE(elf.ok());
    return std::move(*elf);
  }

  TempDir dir_;
};

TEST_F(ElfSearchPathTest, MakesProgramsFindTheirLibrariesAndTheirsToo) {
  // Linked with a DT_RUNPATH into a build tree; shipped with libraries in ../lib.
  std::string program = Program(dir_.path() + "/build:$ORIGIN/../lib");
  for (const char* lib : {"libfoo.so", "libbar.so"}) {
    ASSERT_EQ(
        ::rename((dir_.path() + "/build/" + lib).c_str(), (dir_.path() + "/lib/" + lib).c_str()),
        0);
  }
  ASSERT_TRUE(RewriteSearchPath(program, "$ORIGIN/../lib").ok());
  ElfFile elf = Parse(program);
  ASSERT_EQ(elf.search_paths().size(), 1u);
  EXPECT_EQ(elf.search_paths()[0].tag, DT_RPATH);
  EXPECT_EQ(elf.search_paths()[0].value, "$ORIGIN/../lib");
  // libbar finds libfoo through the program's DT_RPATH.
  auto run = RunCommand({program});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 7) << run->err;
}

TEST_F(ElfSearchPathTest, RefusesWhenThereIsNoRoom) {
  std::string none = Program("");
  Status status = RewriteSearchPath(none, "$ORIGIN/../lib");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("-Wl,-rpath,'$ORIGIN/../lib'"), std::string::npos)
      << status.ToString();
  std::string tight = Program("/x");
  auto before = ReadFile(tight);
  EXPECT_FALSE(RewriteSearchPath(tight, "$ORIGIN/../lib").ok());
  EXPECT_EQ(*ReadFile(tight), *before);
}

}  // namespace
}  // namespace anysnap::layer
