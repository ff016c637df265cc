// ZipWriter writes a zip archive with libzip so that the same entries always give
// the same bytes: entries go in the order they are added, which must be strictly
// increasing bytewise; every entry carries one fixed DOS timestamp; modes are
// stored as given in Unix external attributes; no extra fields are written (only a
// Zip64 field for an entry of 4 GiB or more, which the format requires).
//
// Files are streamed from disk while the archive is written. When compressing,
// a DeflatePipeline compresses them on every core ahead of libzip, which only
// copies the deflate data into place; storing, libzip reads each file when its
// turn comes. Either way memory and open descriptors stay bounded whatever the
// number and size of the files. Writing goes to a temporary file beside the
// output, renamed into place by Close.
//
// Not thread-safe; not copyable or movable (libzip keeps pointers into it).
#ifndef ANYSNAP_LAYER_ZIP_WRITER_H_
#define ANYSNAP_LAYER_ZIP_WRITER_H_

#include <zip.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap::layer {

class DeflatePipeline;
struct ZipSourceErrors;

// A DOS date and time as zip headers store them (local, 2-second resolution).
struct DosTimestamp {
  uint16_t time = 0;
  uint16_t date = (1 << 5) | 1;  // 1980-01-01 00:00:00
  bool operator==(const DosTimestamp&) const = default;
};

// The DOS timestamp of `epoch_seconds` read as UTC, clamped to what DOS can hold
// (1980-01-01 00:00:00 to 2107-12-31 23:59:58) and rounded down to even seconds.
DosTimestamp DosTimestampFromEpoch(int64_t epoch_seconds);

struct ZipWriterOptions {
  int level = 6;  // deflate level 1-9; 0 stores files uncompressed
  DosTimestamp timestamp;
  int threads = 0;  // compression threads; 0: one per CPU. The bytes do not depend on it.
};

class ZipWriter {
 public:
  // Called while Close writes, with the fraction done, from 0 to 1.
  using ProgressFn = std::function<void(double fraction)>;

  // Starts an archive that Close will write to `path`, replacing any file there.
  static Result<std::unique_ptr<ZipWriter>> Create(const std::string& path,
                                                   const ZipWriterOptions& options);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // An Add that fails for its name (empty, out of order) leaves the writer as it
  // was; any other failure spoils it: later calls return that error and Close
  // writes nothing.

  // Adds a directory entry; `name` ends with '/'. Stored with `mode` (permission bits).
  Status AddDirectory(std::string_view name, uint32_t mode);
  // Adds the regular file at `source_path`, which must still be `size` bytes long
  // when Close reads it.
  Status AddFile(std::string_view name, const std::string& source_path, uint64_t size,
                 uint32_t mode);
  // Adds a symbolic link to `target` (mode 0120777).
  Status AddSymlink(std::string_view name, std::string_view target);

  // Writes the archive; the ZipWriter is spent afterwards, whatever the outcome.
  Status Close(const ProgressFn& progress = {});

  // Sum of the sizes of the entries added so far.
  uint64_t uncompressed_bytes() const { return uncompressed_bytes_; }
  uint64_t entry_count() const { return entry_count_; }

 private:
  ZipWriter(zip_t* zip, std::string path, const ZipWriterOptions& options, time_t mtime);
  Status CheckOrder(std::string_view name);
  // Returns `status`, remembering the first error as what spoils the writer.
  Status Spoil(Status status);
  // Sets the fixed metadata of entry `index`; frees nothing.
  Status FinishEntry(zip_int64_t index, std::string_view name, uint32_t mode_with_type,
                     bool compress);
  Status LibzipError(std::string_view context);

  zip_t* zip_;  // owned; discarded by the destructor unless Close ran
  std::string path_;
  ZipWriterOptions options_;
  time_t mtime_;  // the timestamp as libzip wants it, see FinishEntry
  std::string last_name_;
  Status spoiled_;
  uint64_t uncompressed_bytes_ = 0;
  uint64_t entry_count_ = 0;
  std::unique_ptr<ZipSourceErrors> source_errors_;
  std::unique_ptr<DeflatePipeline> pipeline_;  // when compressing  // what file sources report back
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_ZIP_WRITER_H_
