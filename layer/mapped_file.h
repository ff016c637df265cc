// MappedFile maps a whole file read-only (mmap) and unmaps it when destroyed, so a
// large binary can be parsed without being read into the heap: its pages come and
// go with the page cache. Move-only; the bytes stay valid while the MappedFile lives.
#ifndef ANYSNAP_LAYER_MAPPED_FILE_H_
#define ANYSNAP_LAYER_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "anysnap/status.h"

namespace anysnap::layer {

class MappedFile {
 public:
  // Maps the file at `path` (following symlinks).
  static Result<MappedFile> Open(const std::string& path);
  // Maps the open file `fd` (not taken over) from offset 0 to its current size.
  static Result<MappedFile> FromFd(int fd, const std::string& what);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Unmap();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_MAPPED_FILE_H_
