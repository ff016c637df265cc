#include "layer/deflate_pipeline.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "anysnap/unique_fd.h"

namespace anysnap::layer {

namespace {

constexpr uint64_t kDictionarySize = 32 * 1024;  // deflate's window

// Reads exactly `length` bytes at `offset`; an error when the file ends sooner.
Status ReadExactly(int fd, uint64_t offset, char* out, uint64_t length, const std::string& path) {
  uint64_t got = 0;
  while (got < length) {
    ssize_t n = ::pread(fd, out + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("read " + path, errno);
    if (n == 0) return Status::IoError(path + ": changed size while being zipped");
    got += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

DeflatePipeline::DeflatePipeline(int level, int threads)
    : level_(level),
      thread_count_(threads > 0
                        ? threads
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      max_in_flight_(static_cast<size_t>(thread_count_) * 4) {
  assert(level >= 1 && level <= 9);
}

DeflatePipeline::~DeflatePipeline() { Stop(); }

size_t DeflatePipeline::AddFile(std::string path, uint64_t size) {
  assert(threads_.empty() && size > 0);
  files_.push_back({std::move(path), size, total_chunks_});
  total_chunks_ += (size + kChunkSize - 1) / kChunkSize;
  return files_.size() - 1;
}

uint64_t DeflatePipeline::ChunkCount(size_t id) const {
  return (files_[id].size + kChunkSize - 1) / kChunkSize;
}

void DeflatePipeline::Start() {
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { Work(); });
}

void DeflatePipeline::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

DeflatePipeline::Chunk DeflatePipeline::Take(size_t id, uint64_t index) {
  uint64_t seq = files_[id].first_chunk + index;
  std::unique_lock<std::mutex> lock(mu_);
  // Chunks are handed out in sequence order and taken in sequence order, so the
  // awaited one is either in flight or next: the in-flight cap cannot block it.
  cv_.wait(lock, [&] { return done_.contains(seq); });
  Chunk chunk = std::move(done_[seq]);
  done_.erase(seq);
  --in_flight_;
  lock.unlock();
  cv_.notify_all();
  return chunk;
}

void DeflatePipeline::Work() {
  z_stream stream{};
  bool ready = deflateInit2(&stream, level_, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  std::string input;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || next_chunk_ == total_chunks_ || in_flight_ < max_in_flight_;
    });
    if (stopping_ || next_chunk_ == total_chunks_) break;
    uint64_t seq = next_chunk_++;
    while (seq >= files_[next_file_].first_chunk + ChunkCount(next_file_)) ++next_file_;
    const File& file = files_[next_file_];
    ++in_flight_;
    lock.unlock();
    Chunk chunk = ready ? Compress(file, seq - file.first_chunk, &stream, input)
                        : Chunk{Status::Internal("deflateInit2 failed"), {}, 0, 0};
    lock.lock();
    done_.emplace(seq, std::move(chunk));
    cv_.notify_all();
  }
  lock.unlock();
  deflateEnd(&stream);
}

DeflatePipeline::Chunk DeflatePipeline::Compress(const File& file, uint64_t index,
                                                 z_stream_s* stream, std::string& input) {
  Chunk chunk;
  uint64_t offset = index * kChunkSize;
  uint64_t length = std::min(kChunkSize, file.size - offset);
  bool last = offset + length == file.size;
  uint64_t dictionary = std::min(offset, kDictionarySize);

  UniqueFd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    chunk.status = PosixError("open " + file.path, errno);
    return chunk;
  }
  // The dictionary, the chunk, and for the last chunk one byte more, which must
  // not exist: a file that grew would otherwise go unnoticed.
  input.resize(dictionary + length + 1);
  chunk.status =
      ReadExactly(fd.get(), offset - dictionary, input.data(), dictionary + length, file.path);
  if (!chunk.status.ok()) return chunk;
  if (last) {
    ssize_t n;
    do {
      n = ::pread(fd.get(), input.data() + dictionary + length, 1,
                  static_cast<off_t>(offset + length));
    } while (n < 0 && errno == EINTR);
    if (n != 0) {
      chunk.status = Status::IoError(file.path + ": changed size while being zipped");
      return chunk;
    }
  }
  fd.Reset();

  auto* in = reinterpret_cast<Bytef*>(input.data());
  chunk.input_size = length;
  chunk.crc = static_cast<uint32_t>(crc32(0L, in + dictionary, static_cast<uInt>(length)));
  deflateReset(stream);
  if (dictionary > 0) deflateSetDictionary(stream, in, static_cast<uInt>(dictionary));
  // deflateBound covers the final block; a sync flush adds at most an empty
  // stored block and the bits to reach a byte boundary.
  chunk.data.resize(deflateBound(stream, static_cast<uLong>(length)) + 16);
  stream->next_in = in + dictionary;
  stream->avail_in = static_cast<uInt>(length);
  stream->next_out = reinterpret_cast<Bytef*>(chunk.data.data());
  stream->avail_out = static_cast<uInt>(chunk.data.size());
  int rc = deflate(stream, last ? Z_FINISH : Z_SYNC_FLUSH);
  if (rc != (last ? Z_STREAM_END : Z_OK) || stream->avail_in != 0) {
    chunk.status = Status::Internal("deflate " + file.path + ": zlib error " + std::to_string(rc));
    return chunk;
  }
  chunk.data.resize(chunk.data.size() - stream->avail_out);
  return chunk;
}

}  // namespace anysnap::layer
