#include "layer/zip_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "anysnap/unique_fd.h"
#include "layer/temp_dir.h"
#include "layer/test_elf.h"
#include "layer/zip_writer.h"

namespace anysnap::layer {
namespace {

class ZipReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("zipr-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_TRUE(WriteFile(dir_.path() + "/data", std::string(100000, 'y')).ok());
    auto writer = ZipWriter::Create(path(), {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AddDirectory("d/", 0755).ok());
    ASSERT_TRUE((*writer)->AddSymlink("d/l", "../f").ok());
    ASSERT_TRUE((*writer)->AddFile("f", dir_.path() + "/data", 100000, 0644).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  std::string path() const { return dir_.path() + "/r.zip"; }

  TempDir dir_;
};

TEST_F(ZipReaderTest, ListsEntriesWithTheirModes) {
  auto reader = ZipReader::Open(path());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const auto& entries = (*reader)->entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].is_directory());
  EXPECT_EQ(entries[0].unix_mode(), 040755u);
  EXPECT_TRUE(entries[1].is_symlink());
  EXPECT_EQ(entries[2].name, "f");
  EXPECT_EQ(entries[2].size, 100000u);
  EXPECT_LT(entries[2].compressed_size, 1000u);
  EXPECT_EQ(entries[2].method, ZIP_CM_DEFLATE);
  EXPECT_EQ(entries[2].unix_mode(), 0100644u);

  auto target = (*reader)->ReadPrefix(entries[1], 100);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "../f");
  auto prefix = (*reader)->ReadPrefix(entries[2], 4);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(*prefix, "yyyy");
}

TEST_F(ZipReaderTest, CopiesWithACap) {
  auto reader = ZipReader::Open(path());
  ASSERT_TRUE(reader.ok());
  const ZipEntry& f = (*reader)->entries()[2];
  UniqueFd out(::open((dir_.path() + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
  ASSERT_TRUE(out.valid());
  EXPECT_TRUE((*reader)->CopyTo(f, out.get(), 100000).ok());
  struct stat st;
  ASSERT_EQ(::fstat(out.get(), &st), 0);
  EXPECT_EQ(st.st_size, 100000);
  Status capped = (*reader)->CopyTo(f, out.get(), 99999);
  EXPECT_EQ(capped.code(), Status::Code::kTooLarge);
}

TEST_F(ZipReaderTest, RefusesWhatIsNotAZip) {
  ASSERT_TRUE(WriteFile(dir_.path() + "/junk", "not a zip at all").ok());
  EXPECT_FALSE(ZipReader::Open(dir_.path() + "/junk").ok());
  EXPECT_EQ(ZipReader::Open(dir_.path() + "/missing").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(ZipReader::Open(dir_.path()).ok());
}

TEST_F(ZipReaderTest, SurvivesCorruptedArchives) {
  auto bytes = ReadFile(path());
  ASSERT_TRUE(bytes.ok());
  std::mt19937 rng(7);
  std::string victim = dir_.path() + "/victim.zip";
  for (int round = 0; round < 500; ++round) {
    std::string copy = *bytes;
    if (round % 5 == 0) copy.resize(rng() % copy.size());
    for (int flips = 0; flips < 4 && !copy.empty(); ++flips) {
      copy[rng() % copy.size()] = static_cast<char>(rng());
    }
    ASSERT_TRUE(WriteFile(victim, copy).ok());
    auto reader = ZipReader::Open(victim);
    if (!reader.ok()) continue;
    for (const ZipEntry& e : (*reader)->entries()) {
      (void)(*reader)->ReadPrefix(e, 64);
      UniqueFd out(::open("/dev/null", O_WRONLY));
      (void)(*reader)->CopyTo(e, out.get(), 1 << 20);
    }
  }
}

}  // namespace
}  // namespace anysnap::layer
