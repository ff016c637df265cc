// DeflatePipeline compresses files with raw deflate on worker threads, ahead of
// one consumer that takes the results in order (ZipWriter, on libzip's thread).
//
// Files are cut into fixed 1 MiB chunks, each compressed on its own with the 32
// KiB before it as preset dictionary and ended with a sync flush (the last one
// with the final block): pigz's method. Concatenated, the chunks of a file form
// one deflate stream, so one large file keeps every core busy too, and the bytes
// depend only on the input and the level — never on the thread count or timing.
//
// At most a fixed number of chunks are compressed or waiting at any time, so
// memory stays bounded whatever the number and size of the files; each worker
// opens a file only while it reads one chunk of it.
//
// Files are added before Start; Take is called from one thread only, for every
// chunk of every file in order.
#ifndef ANYSNAP_LAYER_DEFLATE_PIPELINE_H_
#define ANYSNAP_LAYER_DEFLATE_PIPELINE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "anysnap/status.h"

struct z_stream_s;

namespace anysnap::layer {

class DeflatePipeline {
 public:
  static constexpr uint64_t kChunkSize = 1 << 20;

  struct Chunk {
    Status status;
    std::string data;         // deflate data
    uint32_t crc = 0;         // CRC-32 of the chunk's input
    uint64_t input_size = 0;  // bytes of input it covers
  };

  // `level` 1-9; `threads` 0 means one per CPU.
  DeflatePipeline(int level, int threads);
  ~DeflatePipeline();
  DeflatePipeline(const DeflatePipeline&) = delete;
  DeflatePipeline& operator=(const DeflatePipeline&) = delete;

  // Registers the file at `path`, which must be `size` (> 0) bytes long when read;
  // returns its id (0, 1, 2, ...). Only before Start.
  size_t AddFile(std::string path, uint64_t size);
  // The number of chunks of file `id`.
  uint64_t ChunkCount(size_t id) const;
  // Starts the workers.
  void Start();
  // Waits for chunk `index` of file `id` and hands it over.
  Chunk Take(size_t id, uint64_t index);
  // Stops the workers (also done by the destructor); pending Takes must not follow.
  void Stop();

 private:
  struct File {
    std::string path;
    uint64_t size;
    uint64_t first_chunk;  // sequence number of its chunk 0
  };

  void Work();
  Chunk Compress(const File& file, uint64_t index, z_stream_s* stream, std::string& input);

  const int level_;
  const int thread_count_;
  const size_t max_in_flight_;
  std::vector<File> files_;
  uint64_t total_chunks_ = 0;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_chunk_ = 0;                   // sequence number of the next chunk to hand a worker
  size_t next_file_ = 0;                      // the file that chunk belongs to
  size_t in_flight_ = 0;                      // chunks handed to workers and not yet taken
  std::unordered_map<uint64_t, Chunk> done_;  // by sequence number
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_DEFLATE_PIPELINE_H_
