#include "layer/layer_unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"
#include "layer/zip_writer.h"

namespace anysnap::layer {
namespace {

class LayerUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("unpack-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_EQ(::mkdir(out().c_str(), 0755), 0);
    ASSERT_TRUE(WriteFile(dir_.path() + "/data", std::string(1000, 'x')).ok());
  }
  std::string zip() const { return dir_.path() + "/layer.zip"; }
  std::string out() const { return dir_.path() + "/out"; }

  // Writes layer.zip with what `add` puts in it.
  void MakeZip(const std::function<void(ZipWriter&)>& add) {
    auto writer = ZipWriter::Create(zip(), {});
    ASSERT_TRUE(writer.ok());
    add(**writer);
    ASSERT_TRUE((*writer)->Close().ok());
  }
  std::string data() const { return dir_.path() + "/data"; }

  TempDir dir_;
};

TEST_F(LayerUnpackTest, KeepsFilesModesFoldersAndSymlinks) {
  MakeZip([&](ZipWriter& w) {
    ASSERT_TRUE(w.AddDirectory("bin/", 0755).ok());
    ASSERT_TRUE(w.AddFile("bin/tool", data(), 1000, 0755).ok());
    ASSERT_TRUE(w.AddSymlink("bin/tool-link", "tool").ok());
    ASSERT_TRUE(w.AddFile("lib/deep/conf", data(), 1000, 0640).ok());
  });
  ASSERT_TRUE(UnpackLayerZip(zip(), out()).ok());
  struct stat st {};
  ASSERT_EQ(::stat((out() + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat((out() + "/lib/deep/conf").c_str(), &st), 0) << "parents made as needed";
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  auto content = ReadFile(out() + "/lib/deep/conf");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, std::string(1000, 'x'));
  char link[64] = {};
  ASSERT_GT(::readlink((out() + "/bin/tool-link").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_STREQ(link, "tool");
}

TEST_F(LayerUnpackTest, RefusesAnEntryOutsideTheFolder) {
  MakeZip([&](ZipWriter& w) { ASSERT_TRUE(w.AddFile("../escaped", data(), 1000, 0644).ok()); });
  Status s = UnpackLayerZip(zip(), out());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(zip() + ": entry ../escaped"), std::string::npos) << s.message();
  EXPECT_NE(::access((dir_.path() + "/escaped").c_str(), F_OK), 0);
}

TEST_F(LayerUnpackTest, RefusesASymlinkThatLeadsOutside) {
  MakeZip([&](ZipWriter& w) { ASSERT_TRUE(w.AddSymlink("a/l", "../../etc").ok()); });
  Status s = UnpackLayerZip(zip(), out());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(zip() + ": link a/l"), std::string::npos) << s.message();
  EXPECT_NE(::access((out() + "/a/l").c_str(), F_OK), 0);
}

TEST_F(LayerUnpackTest, HoldsTheUnzippedSizeToTheLimit) {
  MakeZip([&](ZipWriter& w) {
    ASSERT_TRUE(w.AddFile("a", data(), 1000, 0644).ok());
    ASSERT_TRUE(w.AddFile("b", data(), 1000, 0644).ok());
  });
  EXPECT_TRUE(UnpackLayerZip(zip(), out(), 2000).ok());
  ASSERT_EQ(::mkdir((out() + "2").c_str(), 0755), 0);
  Status s = UnpackLayerZip(zip(), out() + "2", 1999);
  EXPECT_EQ(s.code(), Status::Code::kTooLarge) << s.message();
  EXPECT_NE(s.message().find("unzipped (Lambda's limit)"), std::string::npos);
}

TEST_F(LayerUnpackTest, AMissingZipIsNamed) {
  Status s = UnpackLayerZip(dir_.path() + "/none.zip", out());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir_.path() + "/none.zip"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace anysnap::layer
