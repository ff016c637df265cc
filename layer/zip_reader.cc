#include "layer/zip_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "layer/zip_status.h"

namespace anysnap::layer {

namespace {

// Closes a zip_file_t.
struct FileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using UniqueZipFile = std::unique_ptr<zip_file_t, FileCloser>;

}  // namespace

bool ZipEntry::has_unix_mode() const {
  return opsys == ZIP_OPSYS_UNIX && (external_attributes >> 16) != 0;
}

uint32_t ZipEntry::unix_mode() const { return has_unix_mode() ? external_attributes >> 16 : 0; }

bool ZipEntry::is_directory() const {
  return (!name.empty() && name.back() == '/') || S_ISDIR(unix_mode());
}

bool ZipEntry::is_symlink() const { return has_unix_mode() && S_ISLNK(unix_mode()); }

Result<std::unique_ptr<ZipReader>> ZipReader::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("open " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  int code = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (zip == nullptr) return ZipOpenErrorStatus("open " + path, code, errno);
  std::unique_ptr<ZipReader> reader(new ZipReader(zip, path));
  reader->archive_size_ = static_cast<uint64_t>(st.st_size);
  ANYSNAP_RETURN_IF_ERROR(reader->LoadEntries());
  return reader;
}

ZipReader::~ZipReader() { zip_discard(zip_); }

Status ZipReader::LoadEntries() {
  zip_int64_t count = zip_get_num_entries(zip_, 0);
  if (count < 0) return ZipErrorStatus("read " + path_, zip_get_error(zip_));
  entries_.reserve(static_cast<size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    if (zip_stat_index(zip_, index, ZIP_FL_ENC_RAW, &st) != 0) {
      return ZipErrorStatus("read " + path_, zip_get_error(zip_));
    }
    ZipEntry e;
    e.index = index;
    if (st.valid & ZIP_STAT_NAME) e.name = st.name;
    if (st.valid & ZIP_STAT_SIZE) e.size = st.size;
    if (st.valid & ZIP_STAT_COMP_SIZE) e.compressed_size = st.comp_size;
    if (st.valid & ZIP_STAT_COMP_METHOD) e.method = st.comp_method;
    e.encrypted = (st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE;
    if (zip_file_get_external_attributes(zip_, index, 0, &e.opsys, &e.external_attributes) != 0) {
      return ZipErrorStatus("read " + path_, zip_get_error(zip_));
    }
    entries_.push_back(std::move(e));
  }
  return Status::Ok();
}

Result<std::string> ZipReader::ReadPrefix(const ZipEntry& entry, size_t max) {
  std::string context = "read " + path_ + ": " + entry.name;
  UniqueZipFile file(zip_fopen_index(zip_, entry.index, 0));
  if (file == nullptr) return ZipErrorStatus(context, zip_get_error(zip_));
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    zip_int64_t n = zip_fread(file.get(), out.data() + got, max - got);
    if (n < 0) return ZipErrorStatus(context, zip_file_get_error(file.get()));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Status ZipReader::CopyTo(const ZipEntry& entry, int fd, uint64_t max_bytes) {
  std::string context = "read " + path_ + ": " + entry.name;
  UniqueZipFile file(zip_fopen_index(zip_, entry.index, 0));
  if (file == nullptr) return ZipErrorStatus(context, zip_get_error(zip_));
  std::string buf(1 << 16, '\0');
  uint64_t total = 0;
  for (;;) {
    zip_int64_t n = zip_fread(file.get(), buf.data(), buf.size());
    if (n < 0) return ZipErrorStatus(context, zip_file_get_error(file.get()));
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > max_bytes)
      return Status::TooLarge(context + ": more than " + std::to_string(max_bytes) + " bytes");
    for (zip_int64_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return PosixError(context + ": write", errno);
      off += w;
    }
  }
  if (total != entry.size) {
    return Status::InvalidArgument(context + ": holds " + std::to_string(total) +
                                   " bytes, declares " + std::to_string(entry.size));
  }
  return Status::Ok();
}

}  // namespace anysnap::layer
