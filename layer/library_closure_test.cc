#include "layer/library_closure.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

class LibraryClosureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("closure-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    for (const char* sub : {"/bin", "/lib1", "/lib2", "/wrong"}) {
      ASSERT_EQ(::mkdir((dir_.path() + sub).c_str(), 0755), 0);
    }
    // libfoo in lib2; libbar in lib1, needing libfoo.
    auto foo = CompileC(dir_.path() + "/lib2", "libfoo.so", "int foo(void) { return 1; }\n",
                        {"-shared", "-fPIC", "-Wl,-soname,libfoo.so"});
    ASSERT_TRUE(foo.ok()) << foo.status().ToString();
    auto bar = CompileC(
        dir_.path() + "/lib1", "libbar.so", "int foo(void);\nint bar(void) { return foo(); }\n",
        {"-shared", "-fPIC", "-Wl,-soname,libbar.so", "-L" + dir_.path() + "/lib2", "-lfoo"});
    ASSERT_TRUE(bar.ok()) << bar.status().ToString();
  }

  // A program needing libbar, with the search path `paths` of kind `dtags`.
  std::string Program(const std::string& name, const std::string& paths, bool new_dtags) {
    auto program = CompileC(
        dir_.path() + "/bin", name, "int bar(void);\nint main(void) { return bar(); }\n",
        {"-L" + dir_.path() + "/lib1", "-lbar", "-Wl,-rpath-link," + dir_.path() + "/lib2",
         "-Wl,-rpath," + paths, new_dtags ? "-Wl,--enable-new-dtags" : "-Wl,--disable-new-dtags"});
    EXPECT_TRUE(program.ok()) << program.status().ToString();
    return *program;
  }

  LibraryClosureOptions Options() {
    LibraryClosureOptions options;
    options.system_dirs = SystemLibraryDirs(Arch::kX86_64);
    return options;
  }

  TempDir dir_;
};

TEST_F(LibraryClosureTest, FollowsRpathThroughLibraries) {
  // DT_RPATH of the program also serves libbar's own needs.
  std::string program = Program("p", "$ORIGIN/../lib1:$ORIGIN/../lib2", false);
  auto libs = ResolveLibraryClosure({program}, Options());
  ASSERT_TRUE(libs.ok()) << libs.status().ToString();
  ASSERT_EQ(libs->size(), 2u);
  EXPECT_EQ((*libs)[0].name, "libbar.so");
  EXPECT_EQ((*libs)[0].path, dir_.path() + "/lib1/libbar.so");
  EXPECT_EQ((*libs)[0].needed_by, program);
  EXPECT_EQ((*libs)[1].name, "libfoo.so");
  EXPECT_EQ((*libs)[1].path, dir_.path() + "/lib2/libfoo.so");
  EXPECT_EQ((*libs)[1].needed_by, dir_.path() + "/lib1/libbar.so");
}

TEST_F(LibraryClosureTest, RunpathIsNotTransitive) {
  // ld.so would not find libfoo for libbar through the program's DT_RUNPATH.
  std::string program = Program("p", "$ORIGIN/../lib1:$ORIGIN/../lib2", true);
  auto libs = ResolveLibraryClosure({program}, Options());
  ASSERT_FALSE(libs.ok());
  EXPECT_EQ(libs.status().code(), Status::Code::kNotFound);
  EXPECT_NE(libs.status().message().find("libfoo.so (needed by " + dir_.path() + "/lib1/libbar.so"),
            std::string::npos)
      << libs.status().ToString();
}

TEST_F(LibraryClosureTest, SkipsLibrariesForAnotherMachine) {
  ASSERT_TRUE(
      CopyWithMachine(dir_.path() + "/lib2/libfoo.so", dir_.path() + "/wrong/libfoo.so", EM_AARCH64)
          .ok());
  std::string program = Program("p", "$ORIGIN/../lib1:$ORIGIN/../wrong:$ORIGIN/../lib2", false);
  auto libs = ResolveLibraryClosure({program}, Options());
  ASSERT_TRUE(libs.ok()) << libs.status().ToString();
  EXPECT_EQ((*libs)[1].path, dir_.path() + "/lib2/libfoo.so");
}

TEST_F(LibraryClosureTest, LeavesGlibcOut) {
  std::string self = ANYSNAP_BIN_DIR "/anysnap-layer";
  auto libs = ResolveLibraryClosure({self}, Options());
  ASSERT_TRUE(libs.ok()) << libs.status().ToString();
  bool has_libzip = false;
  for (const ResolvedLibrary& lib : *libs) {
    EXPECT_FALSE(IsGlibcLibrary(lib.name)) << lib.name;
    has_libzip |= lib.name == "libzip.so.4";
  }
  EXPECT_TRUE(has_libzip);
  EXPECT_TRUE(IsGlibcLibrary("libc.so.6"));
  EXPECT_TRUE(IsGlibcLibrary("ld-linux-x86-64.so.2"));
  EXPECT_TRUE(IsGlibcLibrary("libpthread.so.0"));
  EXPECT_FALSE(IsGlibcLibrary("libstdc++.so.6"));
}

TEST_F(LibraryClosureTest, ReadsLdSoConfIncludes) {
  std::string conf = dir_.path() + "/ld.so.conf";
  ASSERT_EQ(::mkdir((dir_.path() + "/conf.d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(conf, "# comment\ninclude conf.d/*.conf\n" + dir_.path() + "/lib1\n").ok());
  ASSERT_TRUE(WriteFile(dir_.path() + "/conf.d/a.conf", "  " + dir_.path() + "/lib2  # x\n").ok());
  auto dirs = SystemLibraryDirs(Arch::kX86_64, conf);
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], dir_.path() + "/lib2");
  EXPECT_EQ(dirs[1], dir_.path() + "/lib1");
}

}  // namespace
}  // namespace anysnap::layer
