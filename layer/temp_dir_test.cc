#include "layer/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(TempDirTest, RemovesEverythingItHolds) {
  std::string path;
  {
    auto dir = TempDir::Create("tempdir-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    path = dir->path();
    EXPECT_TRUE(path.starts_with("/"));
    ASSERT_EQ(::mkdir((path + "/sub").c_str(), 0755), 0);
    ASSERT_TRUE(WriteFile(path + "/sub/file", "x").ok());
    TempDir moved = std::move(*dir);
    EXPECT_TRUE(dir->path().empty());
    EXPECT_EQ(moved.path(), path);
  }
  EXPECT_FALSE(Exists(path));
}

TEST(TempDirTest, FailsInAMissingParent) {
  EXPECT_EQ(TempDir::Create("x-", "/nonexistent/parent").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace anysnap::layer
