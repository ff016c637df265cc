#include "layer_stack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "local_test_support.h"

namespace anysnap {
namespace {

using testing::ReadTestFile;
using testing::RunCaptured;
using testing::ScratchDir;
using testing::TestEnvironment;
using testing::WriteTestFile;

void Mkdir(const std::string& path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path; }

// A zip of `dir`'s contents, made by the real zip(1).
std::string Zip(const std::string& dir, const std::string& zip) {
  auto run =
      RunCaptured({"sh", "-c", "cd \"$0\" && zip -qry \"$1\" .", dir, zip}, TestEnvironment());
  EXPECT_TRUE(run.status.success()) << run.err;
  return zip;
}

TEST(LayerStackTest, LaterLayersReplaceEarlierFilesAndFoldersMerge) {
  ScratchDir scratch;
  Mkdir(scratch / "a");
  Mkdir(scratch / "a/bin");
  WriteTestFile(scratch / "a/bin/tool", "a\n", 0755);
  WriteTestFile(scratch / "a/only-a", "a\n");
  Mkdir(scratch / "b");
  Mkdir(scratch / "b/bin");
  WriteTestFile(scratch / "b/bin/tool", "b\n", 0755);
  WriteTestFile(scratch / "b/only-b", "b\n");
  std::string b_zip = Zip(scratch / "b", scratch / "b.zip");
  Mkdir(scratch / "c");
  WriteTestFile(scratch / "c/only-a", "c\n");

  LayerStack stack;
  ASSERT_TRUE(stack.Build({scratch / "a", b_zip, scratch / "c"}, 1 << 20).ok());
  EXPECT_EQ(ReadTestFile(stack.dir() + "/bin/tool"), "b\n");
  EXPECT_EQ(ReadTestFile(stack.dir() + "/only-a"), "c\n");
  EXPECT_EQ(ReadTestFile(stack.dir() + "/only-b"), "b\n");
  struct stat st;
  ASSERT_EQ(::stat((stack.dir() + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // The given folders are left as they were.
  EXPECT_EQ(ReadTestFile(scratch / "a/bin/tool"), "a\n");

  LayerStack reversed;
  ASSERT_TRUE(reversed.Build({b_zip, scratch / "a"}, 1 << 20).ok());
  EXPECT_EQ(ReadTestFile(reversed.dir() + "/bin/tool"), "a\n");
}

TEST(LayerStackTest, OneFolderIsUsedInPlaceAndRemovedNever) {
  ScratchDir scratch;
  Mkdir(scratch / "a");
  std::string merged;
  {
    LayerStack stack;
    ASSERT_TRUE(stack.Build({scratch / "a"}, 1 << 20).ok());
    EXPECT_EQ(stack.dir(), scratch / "a");
  }
  struct stat st;
  EXPECT_EQ(::stat((scratch / "a").c_str(), &st), 0);
}

TEST(LayerStackTest, MergedFolderGoesAwayWithTheStack) {
  ScratchDir scratch;
  Mkdir(scratch / "a");
  Mkdir(scratch / "b");
  std::string merged;
  {
    LayerStack stack;
    ASSERT_TRUE(stack.Build({scratch / "a", scratch / "b"}, 1 << 20).ok());
    merged = stack.dir();
  }
  struct stat st;
  EXPECT_NE(::stat(merged.c_str(), &st), 0);
}

TEST(LayerStackTest, RefusesMoreThanFiveTooLargeAndMissing) {
  ScratchDir scratch;
  Mkdir(scratch / "a");
  WriteTestFile(scratch / "a/big", std::string(2000, 'x'));
  std::vector<std::string> six(6, scratch / "a");
  Status s = LayerStack().Build(six, 1 << 20);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("at most 5"), std::string::npos) << s.message();
  std::vector<std::string> five(5, scratch / "a");
  EXPECT_TRUE(LayerStack().Build(five, 1 << 20).ok());

  s = LayerStack().Build({scratch / "a", scratch / "a"}, 3000);
  EXPECT_EQ(s.code(), Status::Code::kTooLarge) << s.message();
  EXPECT_NE(s.message().find("4000 bytes"), std::string::npos) << s.message();

  s = LayerStack().Build({scratch / "a", scratch / "nope"}, 1 << 20);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find(scratch / "nope"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace anysnap
