#include "layer/deflate_pipeline.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

// Text that compresses and bytes that do not, `size` in all.
std::string MixedBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < size) {
    if (rng() % 2) {
      for (int i = 0; i < 2000; ++i) out += "word" + std::to_string(rng() % 100) + " ";
    } else {
      for (int i = 0; i < 10000; ++i) out += static_cast<char>(rng());
    }
  }
  out.resize(size);
  return out;
}

std::string Inflate(const std::string& deflated, size_t size) {
  std::string out(size + 1, '\0');
  z_stream s{};
  EXPECT_EQ(inflateInit2(&s, -MAX_WBITS), Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(deflated.data()));
  s.avail_in = static_cast<uInt>(deflated.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&s, Z_FINISH), Z_STREAM_END);
  EXPECT_EQ(s.avail_in, 0u);  // the stream ends exactly at the last chunk's end
  out.resize(out.size() - s.avail_out);
  inflateEnd(&s);
  return out;
}

class DeflatePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("deflate-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    big_ = MixedBytes(3 * DeflatePipeline::kChunkSize + 12345, 1);
    small_ = MixedBytes(5000, 2);
    ASSERT_TRUE(WriteFile(path("big"), big_).ok());
    ASSERT_TRUE(WriteFile(path("small"), small_).ok());
  }

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  // Compresses big and small with `threads` workers; returns each file's deflate
  // stream and CRC.
  std::vector<std::pair<std::string, uint32_t>> Run(int threads) {
    DeflatePipeline pipeline(6, threads);
    size_t ids[] = {pipeline.AddFile(path("big"), big_.size()),
                    pipeline.AddFile(path("small"), small_.size())};
    pipeline.Start();
    std::vector<std::pair<std::string, uint32_t>> out;
    for (size_t id : ids) {
      std::string data;
      uint32_t crc = 0;
      for (uint64_t k = 0; k < pipeline.ChunkCount(id); ++k) {
        DeflatePipeline::Chunk chunk = pipeline.Take(id, k);
        EXPECT_TRUE(chunk.status.ok()) << chunk.status.ToString();
        data += chunk.data;
        crc = k == 0 ? chunk.crc
                     : static_cast<uint32_t>(
                           crc32_combine(crc, chunk.crc, static_cast<z_off_t>(chunk.input_size)));
      }
      out.emplace_back(std::move(data), crc);
    }
    return out;
  }

  TempDir dir_;
  std::string big_, small_;
};

TEST_F(DeflatePipelineTest, ChunksFormOneDeflateStream) {
  auto out = Run(3);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Inflate(out[0].first, big_.size()), big_);
  EXPECT_EQ(Inflate(out[1].first, small_.size()), small_);
  auto crc = [](const std::string& s) {
    return static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
  };
  EXPECT_EQ(out[0].second, crc(big_));
  EXPECT_EQ(out[1].second, crc(small_));
  EXPECT_LT(out[0].first.size(), big_.size());
}

TEST_F(DeflatePipelineTest, BytesDoNotDependOnThreads) { EXPECT_EQ(Run(1), Run(4)); }

TEST_F(DeflatePipelineTest, ReportsFilesThatVanishOrChange) {
  DeflatePipeline pipeline(1, 2);
  size_t missing = pipeline.AddFile(path("missing"), 10);
  size_t shrunk = pipeline.AddFile(path("small"), small_.size() + 1);
  size_t grown = pipeline.AddFile(path("small"), small_.size() - 1);
  pipeline.Start();
  EXPECT_EQ(pipeline.Take(missing, 0).status.code(), Status::Code::kNotFound);
  EXPECT_NE(pipeline.Take(shrunk, 0).status.message().find("changed size"), std::string::npos);
  EXPECT_NE(pipeline.Take(grown, 0).status.message().find("changed size"), std::string::npos);
}

TEST_F(DeflatePipelineTest, StopsWithWorkLeft) {
  DeflatePipeline pipeline(9, 2);
  for (int i = 0; i < 50; ++i) pipeline.AddFile(path("big"), big_.size());
  pipeline.Start();
  EXPECT_TRUE(pipeline.Take(0, 0).status.ok());
  pipeline.Stop();  // workers blocked on the in-flight cap must wake and leave
}

}  // namespace
}  // namespace anysnap::layer
