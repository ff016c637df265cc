// ZipReader reads an existing zip archive with libzip, for inspection: the list of
// entries with their names as stored (raw bytes), sizes and attributes, and their
// contents on demand. The input may be hostile: libzip checks the archive's
// consistency on open and each entry's CRC when it is read to the end, and every
// read here is capped, so a lying size or a zip bomb costs at most the cap.
//
// Not thread-safe; not copyable.
#ifndef ANYSNAP_LAYER_ZIP_READER_H_
#define ANYSNAP_LAYER_ZIP_READER_H_

#include <zip.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "anysnap/status.h"

namespace anysnap::layer {

struct ZipEntry {
  uint64_t index = 0;
  std::string name;  // raw bytes as stored
  uint64_t size = 0;
  uint64_t compressed_size = 0;
  uint16_t method = 0;  // ZIP_CM_*
  bool encrypted = false;
  uint8_t opsys = 0;  // ZIP_OPSYS_* of the "version made by" field
  uint32_t external_attributes = 0;

  // Returns true iff the entry carries a Unix mode (made on Unix, mode not zero).
  bool has_unix_mode() const;
  // The Unix mode (type and permission bits); 0 when there is none.
  uint32_t unix_mode() const;
  bool is_directory() const;  // name ends with '/' or the mode says so
  bool is_symlink() const;    // the Unix mode says so
};

class ZipReader {
 public:
  static Result<std::unique_ptr<ZipReader>> Open(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The size of the archive file itself.
  uint64_t archive_size() const { return archive_size_; }

  // Returns the first `max` bytes of `entry` (fewer when it is shorter).
  Result<std::string> ReadPrefix(const ZipEntry& entry, size_t max);
  // Writes the whole content of `entry` to `fd`; an error when it holds more than
  // `max_bytes` or differs from its declared size or CRC.
  Status CopyTo(const ZipEntry& entry, int fd, uint64_t max_bytes);

 private:
  ZipReader(zip_t* zip, std::string path) : zip_(zip), path_(std::move(path)) {}
  Status LoadEntries();

  zip_t* zip_;  // owned
  std::string path_;
  uint64_t archive_size_ = 0;
  std::vector<ZipEntry> entries_;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_ZIP_READER_H_
