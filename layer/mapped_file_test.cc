#include "layer/mapped_file.h"

#include <gtest/gtest.h>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

TEST(MappedFileTest, MapsWholeFiles) {
  auto dir = TempDir::Create("mapped-test-");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFile(dir->path() + "/f", "hello").ok());
  ASSERT_TRUE(WriteFile(dir->path() + "/empty", "").ok());
  auto f = MappedFile::Open(dir->path() + "/f");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->bytes().data()), f->size()), "hello");
  MappedFile moved = std::move(*f);
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(f->size(), 0u);
  auto empty = MappedFile::Open(dir->path() + "/empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->bytes().empty());
  EXPECT_EQ(MappedFile::Open(dir->path() + "/none").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(MappedFile::Open(dir->path()).ok());
}

}  // namespace
}  // namespace anysnap::layer
