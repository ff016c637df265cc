#include "layer/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "anysnap/unique_fd.h"

namespace anysnap::layer {

Result<MappedFile> MappedFile::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("open " + path, errno);
  return FromFd(fd.get(), path);
}

Result<MappedFile> MappedFile::FromFd(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("stat " + what, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(what + ": not a regular file");
  // mmap of length 0 fails; an empty file maps to an empty span.
  if (st.st_size == 0) return MappedFile();
  size_t size = static_cast<size_t>(st.st_size);
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) return PosixError("mmap " + what, errno);
  return MappedFile(static_cast<const uint8_t*>(data), size);
}

MappedFile::~MappedFile() { Unmap(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::Unmap() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace anysnap::layer
