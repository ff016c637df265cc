#include "layer/zip_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "layer/temp_dir.h"
#include "layer/test_command.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

uint32_t Le32(const std::string& s, size_t at) {
  return static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8 |
         static_cast<uint8_t>(s[at + 2]) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3])) << 24;
}
uint16_t Le16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8);
}

// One central directory record, as the raw bytes hold it.
struct RawEntry {
  std::string name;
  uint16_t made_by;
  uint16_t time, date;
  uint16_t extra_len;
  uint16_t local_extra_len;
  uint32_t external;
};

// Walks the central directory of a small zip (no Zip64, no comment).
std::vector<RawEntry> ReadCentral(const std::string& zip) {
  std::vector<RawEntry> entries;
  size_t eocd = zip.size() - 22;
  EXPECT_EQ(Le32(zip, eocd), 0x06054b50u);
  size_t count = Le16(zip, eocd + 10);
  size_t at = Le32(zip, eocd + 16);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(Le32(zip, at), 0x02014b50u);
    RawEntry e;
    e.made_by = Le16(zip, at + 4);
    e.time = Le16(zip, at + 12);
    e.date = Le16(zip, at + 14);
    size_t name_len = Le16(zip, at + 28);
    e.extra_len = Le16(zip, at + 30);
    size_t comment_len = Le16(zip, at + 32);
    e.external = Le32(zip, at + 38);
    size_t local = Le32(zip, at + 42);
    EXPECT_EQ(Le32(zip, local), 0x04034b50u);
    e.local_extra_len = Le16(zip, local + 28);
    e.name = zip.substr(at + 46, name_len);
    entries.push_back(e);
    at += 46 + name_len + e.extra_len + comment_len;
  }
  return entries;
}

class ZipWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("zipw-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    ASSERT_TRUE(WriteFile(dir_.path() + "/tool", "#!/bin/sh\necho hi\n", 0700).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/data", std::string(10000, 'x'), 0600).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/empty", "", 0600).ok());
  }

  // Writes the same small archive to `name`; returns its bytes.
  std::string WriteSample(const std::string& name, DosTimestamp ts = {}) {
    std::string path = dir_.path() + "/" + name;
    auto writer = ZipWriter::Create(path, {6, ts});
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    auto& w = **writer;
    EXPECT_TRUE(w.AddDirectory("bin/", 0755).ok());
    EXPECT_TRUE(w.AddSymlink("bin/link", "tool").ok());
    EXPECT_TRUE(w.AddFile("bin/tool", dir_.path() + "/tool", 18, 0755).ok());
    EXPECT_TRUE(w.AddFile("data", dir_.path() + "/data", 10000, 0644).ok());
    EXPECT_TRUE(w.AddFile("empty", dir_.path() + "/empty", 0, 0644).ok());
    EXPECT_EQ(w.entry_count(), 5u);
    Status closed = w.Close();
    EXPECT_TRUE(closed.ok()) << closed.ToString();
    auto bytes = ReadFile(path);
    EXPECT_TRUE(bytes.ok());
    return *bytes;
  }

  TempDir dir_;
};

TEST(DosTimestampTest, ConvertsAndClamps) {
  DosTimestamp min;
  EXPECT_EQ(DosTimestampFromEpoch(0), min);
  EXPECT_EQ(DosTimestampFromEpoch(-5), min);
  EXPECT_EQ(DosTimestampFromEpoch(315532800), min);
  // 2024-02-29 13:45:31 UTC: seconds round down to 30.
  DosTimestamp ts = DosTimestampFromEpoch(1709214331);
  EXPECT_EQ(ts.date, ((2024 - 1980) << 9) | (2 << 5) | 29);
  EXPECT_EQ(ts.time, (13 << 11) | (45 << 5) | 15);
  DosTimestamp max = DosTimestampFromEpoch(int64_t{1} << 40);
  EXPECT_EQ(max.date, ((2107 - 1980) << 9) | (12 << 5) | 31);
}

TEST_F(ZipWriterTest, WritesFixedMetadataAndNoExtraFields) {
  DosTimestamp ts = DosTimestampFromEpoch(1700000000);
  std::string zip = WriteSample("a.zip", ts);
  auto entries = ReadCentral(zip);
  ASSERT_EQ(entries.size(), 5u);
  const char* names[] = {"bin/", "bin/link", "bin/tool", "data", "empty"};
  const uint32_t modes[] = {040755, 0120777, 0100755, 0100644, 0100644};
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE(entries[i].name);
    EXPECT_EQ(entries[i].name, names[i]);
    EXPECT_EQ(entries[i].made_by >> 8, 3);  // Unix
    EXPECT_EQ(entries[i].time, ts.time);
    EXPECT_EQ(entries[i].date, ts.date);
    EXPECT_EQ(entries[i].extra_len, 0);
    EXPECT_EQ(entries[i].local_extra_len, 0);
    EXPECT_EQ(entries[i].external >> 16, modes[i]);
  }
}

TEST_F(ZipWriterTest, SameInputsGiveTheSameBytes) {
  std::string first = WriteSample("a.zip");
  // Source times and the time zone must not matter.
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() + "/data").c_str(), nullptr, 0), 0);
  const char* old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "America/New_York", 1);
  ::tzset();
  std::string second = WriteSample("b.zip");
  if (old_tz)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  EXPECT_EQ(first, second);
}

TEST_F(ZipWriterTest, BytesDoNotDependOnThreadsOrChunks) {
  // Several deflate chunks, text and noise.
  std::string big;
  for (int i = 0; big.size() < 3'500'000; ++i) {
    big += "line " + std::to_string(i * 7919LL % 1000) + "\n";
    if (i % 1000 == 0) big += std::string(reinterpret_cast<const char*>(&i), sizeof(i)) + "\xff";
  }
  ASSERT_TRUE(WriteFile(dir_.path() + "/big", big).ok());
  std::string zips[2];
  for (int threads : {1, 3}) {
    std::string path = dir_.path() + "/t" + std::to_string(threads) + ".zip";
    auto writer = ZipWriter::Create(path, {6, {}, threads});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AddFile("big", dir_.path() + "/big", big.size(), 0644).ok());
    ASSERT_TRUE((*writer)->AddFile("data", dir_.path() + "/data", 10000, 0644).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    zips[threads == 1 ? 0 : 1] = *ReadFile(path);
    auto test = RunCommand({"unzip", "-tq", path});
    ASSERT_TRUE(test.ok());
    EXPECT_EQ(test->exit_code, 0) << test->out << test->err;
  }
  EXPECT_EQ(zips[0], zips[1]);
  EXPECT_LT(zips[0].size(), big.size() / 2);
}

TEST_F(ZipWriterTest, UnzipReadsModesAndSymlinks) {
  WriteSample("a.zip");
  auto listing = RunCommand({"unzip", "-Z", dir_.path() + "/a.zip"});
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->exit_code, 0) << listing->err;
  EXPECT_NE(listing->out.find("drwxr-xr-x"), std::string::npos) << listing->out;
  EXPECT_NE(listing->out.find("lrwxrwxrwx"), std::string::npos) << listing->out;
  EXPECT_NE(listing->out.find("-rwxr-xr-x"), std::string::npos) << listing->out;
  EXPECT_NE(listing->out.find("-rw-r--r--"), std::string::npos) << listing->out;
  auto test = RunCommand({"unzip", "-tq", dir_.path() + "/a.zip"});
  ASSERT_TRUE(test.ok());
  EXPECT_EQ(test->exit_code, 0) << test->out << test->err;
}

TEST_F(ZipWriterTest, RefusesEntriesOutOfOrder) {
  auto writer = ZipWriter::Create(dir_.path() + "/o.zip", {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddFile("b", dir_.path() + "/data", 10000, 0644).ok());
  EXPECT_FALSE((*writer)->AddFile("a", dir_.path() + "/data", 10000, 0644).ok());
  EXPECT_FALSE((*writer)->AddFile("b", dir_.path() + "/data", 10000, 0644).ok());
  // Bytewise: 0xc3 sorts after 'z'.
  EXPECT_TRUE((*writer)->AddFile("\xc3\xa9", dir_.path() + "/data", 10000, 0644).ok());
}

TEST_F(ZipWriterTest, NamesAFileThatChangedSize) {
  auto writer = ZipWriter::Create(dir_.path() + "/c.zip", {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddFile("data", dir_.path() + "/data", 9999, 0644).ok());
  Status status = (*writer)->Close();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir_.path() + "/data"), std::string::npos) << status.ToString();
  struct stat st;
  EXPECT_NE(::stat((dir_.path() + "/c.zip").c_str(), &st), 0);
}

TEST_F(ZipWriterTest, HoldsOneSourceFileOpenAtATime) {
  constexpr int kFiles = 2000;
  auto writer = ZipWriter::Create(dir_.path() + "/many.zip", {1, {}});
  ASSERT_TRUE(writer.ok());
  char name[32];
  for (int i = 0; i < kFiles; ++i) {
    std::snprintf(name, sizeof(name), "f%05d", i);
    ASSERT_TRUE((*writer)->AddFile(name, dir_.path() + "/data", 10000, 0644).ok());
  }
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit low = saved;
  low.rlim_cur = 32;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  double last = 0;
  Status status = (*writer)->Close([&](double f) { last = f; });
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_DOUBLE_EQ(last, 1.0);
}

}  // namespace
}  // namespace anysnap::layer
