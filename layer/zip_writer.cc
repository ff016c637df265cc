#include "layer/zip_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "anysnap/unique_fd.h"
#include "layer/deflate_pipeline.h"
#include "layer/zip_status.h"

namespace anysnap::layer {

// The first error a source met, naming its file, so Close can say which file it
// was: libzip only passes the error code on.
struct ZipSourceErrors {
  Status status;
  void Record(Status s) {
    if (status.ok()) status = std::move(s);
  }
};

namespace {

// A zip source reading one file from disk. It opens the file only when libzip
// starts on its entry and closes it when libzip is done with it, so an archive of
// any number of files holds one descriptor at a time. Its stat reports no mtime:
// the entry's time is set explicitly.
class FileSource {
 public:
  FileSource(std::string path, uint64_t size, ZipSourceErrors* errors)
      : path_(std::move(path)), size_(size), errors_(errors) {
    zip_error_init(&error_);
  }
  ~FileSource() { zip_error_fini(&error_); }

  static zip_int64_t Callback(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<FileSource*>(state)->Handle(data, len, cmd);
  }

 private:
  zip_int64_t Fail(int zip_code, int err, Status status) {
    zip_error_set(&error_, zip_code, err);
    errors_->Record(std::move(status));
    return -1;
  }

  zip_int64_t Handle(void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    switch (cmd) {
      case ZIP_SOURCE_OPEN:
        fd_.Reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd_.valid()) return Fail(ZIP_ER_OPEN, errno, PosixError("open " + path_, errno));
        ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        read_ = 0;
        return 0;
      case ZIP_SOURCE_READ: {
        ssize_t n;
        do {
          n = ::read(fd_.get(), data, len);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return Fail(ZIP_ER_READ, errno, PosixError("read " + path_, errno));
        read_ += static_cast<uint64_t>(n);
        if (read_ > size_ || (n == 0 && read_ < size_)) {
          return Fail(ZIP_ER_READ, 0, Status::IoError(path_ + ": changed size while being zipped"));
        }
        return n;
      }
      case ZIP_SOURCE_CLOSE:
        fd_.Reset();
        return 0;
      case ZIP_SOURCE_STAT: {
        zip_stat_t* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &error_);
        if (st == nullptr) return -1;
        zip_stat_init(st);
        st->size = size_;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof(*st);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&error_, data, len);
      case ZIP_SOURCE_FREE:
        delete this;
        return 0;
      case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
      default:
        zip_error_set(&error_, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

  std::string path_;
  uint64_t size_;
  ZipSourceErrors* errors_;
  UniqueFd fd_;
  uint64_t read_ = 0;
  zip_error_t error_;
};

// A zip source serving one file's deflate data from a DeflatePipeline. Its stat
// says the data is already deflated, so libzip copies it as it is; the CRC and
// compressed size are known once libzip has read it all, which is when libzip
// asks for them (after reading, before rewriting the local header).
class DeflatedSource {
 public:
  DeflatedSource(DeflatePipeline* pipeline, size_t id, uint64_t size, int level,
                 ZipSourceErrors* errors)
      : pipeline_(pipeline), id_(id), size_(size), level_(level), errors_(errors) {
    zip_error_init(&error_);
  }
  ~DeflatedSource() { zip_error_fini(&error_); }

  static zip_int64_t Callback(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<DeflatedSource*>(state)->Handle(data, len, cmd);
  }

 private:
  zip_int64_t Handle(void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    switch (cmd) {
      case ZIP_SOURCE_OPEN:
        if (next_chunk_ != 0) {  // the chunks were handed over once and are gone
          zip_error_set(&error_, ZIP_ER_INTERNAL, 0);
          return -1;
        }
        return 0;
      case ZIP_SOURCE_READ:
        return Read(static_cast<char*>(data), len);
      case ZIP_SOURCE_CLOSE:
        return 0;
      case ZIP_SOURCE_STAT: {
        zip_stat_t* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &error_);
        if (st == nullptr) return -1;
        zip_stat_init(st);
        st->size = size_;
        st->comp_method = ZIP_CM_DEFLATE;
        st->valid |= ZIP_STAT_SIZE | ZIP_STAT_COMP_METHOD;
        if (finished_) {
          st->crc = crc_;
          st->comp_size = compressed_;
          st->valid |= ZIP_STAT_CRC | ZIP_STAT_COMP_SIZE;
        }
        return sizeof(*st);
      }
      case ZIP_SOURCE_GET_FILE_ATTRIBUTES: {
        auto* attributes = ZIP_SOURCE_GET_ARGS(zip_file_attributes_t, data, len, &error_);
        if (attributes == nullptr) return -1;
        // Bits 1-2 tell the deflate option, as libzip's own deflate sets them.
        attributes->valid |= ZIP_FILE_ATTRIBUTES_GENERAL_PURPOSE_BIT_FLAGS;
        attributes->general_purpose_bit_mask = 0x0006;
        attributes->general_purpose_bit_flags = level_ < 3 ? 0x0004 : level_ > 7 ? 0x0002 : 0;
        return sizeof(*attributes);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&error_, data, len);
      case ZIP_SOURCE_FREE:
        delete this;
        return 0;
      case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              ZIP_SOURCE_GET_FILE_ATTRIBUTES, -1);
      default:
        zip_error_set(&error_, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

  zip_int64_t Read(char* out, zip_uint64_t len) {
    zip_uint64_t copied = 0;
    while (copied < len) {
      if (offset_ == chunk_.data.size()) {
        if (next_chunk_ == pipeline_->ChunkCount(id_)) {
          finished_ = true;
          // libzip frees sources only at the end of the archive: free the buffer
          // now (assigning an empty string would keep its capacity).
          std::string().swap(chunk_.data);
          offset_ = 0;
          break;
        }
        chunk_ = pipeline_->Take(id_, next_chunk_++);
        offset_ = 0;
        if (!chunk_.status.ok()) {
          zip_error_set(&error_, ZIP_ER_READ, 0);
          errors_->Record(chunk_.status);
          return -1;
        }
        crc_ = next_chunk_ == 1 ? chunk_.crc
                                : static_cast<uint32_t>(crc32_combine(
                                      crc_, chunk_.crc, static_cast<z_off_t>(chunk_.input_size)));
        compressed_ += chunk_.data.size();
        continue;
      }
      size_t n = std::min<size_t>(len - copied, chunk_.data.size() - offset_);
      std::memcpy(out + copied, chunk_.data.data() + offset_, n);
      offset_ += n;
      copied += n;
    }
    return static_cast<zip_int64_t>(copied);
  }

  DeflatePipeline* pipeline_;
  size_t id_;
  uint64_t size_;
  int level_;
  ZipSourceErrors* errors_;
  zip_error_t error_;
  DeflatePipeline::Chunk chunk_;  // the chunk being read
  size_t offset_ = 0;             // read position in chunk_.data
  uint64_t next_chunk_ = 0;
  bool finished_ = false;
  uint32_t crc_ = 0;
  uint64_t compressed_ = 0;
};

// Owns a zip_source_t until libzip takes it over.
struct SourceDeleter {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};
using UniqueSource = std::unique_ptr<zip_source_t, SourceDeleter>;

// Wraps `state` (a FileSource or DeflatedSource) in a zip source, which frees it.
template <typename State>
Result<UniqueSource> MakeSource(std::unique_ptr<State> state, const std::string& context) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_function_create(&State::Callback, state.get(), &error);
  Status status = source == nullptr ? ZipErrorStatus(context, &error) : Status::Ok();
  zip_error_fini(&error);
  if (!status.ok()) return status;
  state.release();  // ZIP_SOURCE_FREE deletes it
  return UniqueSource(source);
}

// Adds `source` (or a directory when it is null) under `name`: flagged UTF-8
// (general purpose bit 11, no extra field) when the name is valid UTF-8, else
// with its raw bytes, which libzip refuses to flag.
zip_int64_t AddNamed(zip_t* zip, const std::string& name, zip_source_t* source) {
  for (zip_flags_t encoding : {ZIP_FL_ENC_UTF_8, ZIP_FL_ENC_RAW}) {
    zip_int64_t index = source == nullptr ? zip_dir_add(zip, name.c_str(), encoding)
                                          : zip_file_add(zip, name.c_str(), source, encoding);
    if (index >= 0 || zip_error_code_zip(zip_get_error(zip)) != ZIP_ER_INVAL) return index;
    zip_error_clear(zip);
  }
  return -1;
}

// libzip 1.7 keeps an entry's time as a time_t and turns it into DOS fields with
// localtime_r when writing. Returns the time_t that localtime_r turns into exactly
// `ts`, or an error when the local time zone skips that instant (a DST gap).
Result<time_t> LocalTimeFor(DosTimestamp ts) {
  std::tm fields{};
  fields.tm_year = ((ts.date >> 9) & 0x7f) + 80;
  fields.tm_mon = ((ts.date >> 5) & 0xf) - 1;
  fields.tm_mday = ts.date & 0x1f;
  fields.tm_hour = (ts.time >> 11) & 0x1f;
  fields.tm_min = (ts.time >> 5) & 0x3f;
  fields.tm_sec = (ts.time & 0x1f) * 2;
  fields.tm_isdst = -1;
  std::tm wanted = fields;
  time_t t = std::mktime(&fields);
  std::tm back{};
  if (t == static_cast<time_t>(-1) || localtime_r(&t, &back) == nullptr ||
      back.tm_year != wanted.tm_year || back.tm_mon != wanted.tm_mon ||
      back.tm_mday != wanted.tm_mday || back.tm_hour != wanted.tm_hour ||
      back.tm_min != wanted.tm_min || back.tm_sec != wanted.tm_sec) {
    return Status::InvalidArgument("the local time zone cannot represent the zip timestamp");
  }
  return t;
}

}  // namespace

DosTimestamp DosTimestampFromEpoch(int64_t epoch_seconds) {
  constexpr int64_t kMin = 315532800;   // 1980-01-01 00:00:00 UTC
  constexpr int64_t kMax = 4354819198;  // 2107-12-31 23:59:58 UTC
  epoch_seconds = std::clamp(epoch_seconds, kMin, kMax);
  time_t t = static_cast<time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  DosTimestamp ts;
  ts.date = static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  ts.time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  return ts;
}

Result<std::unique_ptr<ZipWriter>> ZipWriter::Create(const std::string& path,
                                                     const ZipWriterOptions& options) {
  if (options.level < 0 || options.level > 9) {
    return Status::InvalidArgument("compression level must be 0-9, not " +
                                   std::to_string(options.level));
  }
  auto mtime = LocalTimeFor(options.timestamp);
  if (!mtime.ok()) return mtime.status();
  int code = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (zip == nullptr) return ZipOpenErrorStatus("create " + path, code, errno);
  std::unique_ptr<ZipWriter> writer(new ZipWriter(zip, path, options, *mtime));
  if (options.level > 0) {
    writer->pipeline_ = std::make_unique<DeflatePipeline>(options.level, options.threads);
  }
  return writer;
}

ZipWriter::ZipWriter(zip_t* zip, std::string path, const ZipWriterOptions& options, time_t mtime)
    : zip_(zip),
      path_(std::move(path)),
      options_(options),
      mtime_(mtime),
      source_errors_(std::make_unique<ZipSourceErrors>()) {}

ZipWriter::~ZipWriter() {
  if (zip_ != nullptr) zip_discard(zip_);
}

Status ZipWriter::LibzipError(std::string_view context) {
  return ZipErrorStatus(std::string(context), zip_get_error(zip_));
}

Status ZipWriter::Spoil(Status status) {
  if (!status.ok() && spoiled_.ok()) spoiled_ = status;
  return status;
}

Status ZipWriter::CheckOrder(std::string_view name) {
  if (zip_ == nullptr) return Status::InvalidArgument(path_ + ": already closed");
  if (!spoiled_.ok()) return spoiled_;
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("zip entry name is empty or holds NUL");
  }
  // std::string compares char as unsigned: bytewise order.
  if (entry_count_ != 0 && std::string_view(last_name_).compare(name) >= 0) {
    return Status::InvalidArgument("zip entries out of order: \"" + std::string(name) +
                                   "\" after \"" + last_name_ + "\"");
  }
  last_name_ = std::string(name);
  return Status::Ok();
}

Status ZipWriter::FinishEntry(zip_int64_t index, std::string_view name, uint32_t mode_with_type,
                              bool compress) {
  auto i = static_cast<zip_uint64_t>(index);
  std::string context = "zip entry " + std::string(name);
  if (compress && options_.level > 0) {
    if (zip_set_file_compression(zip_, i, ZIP_CM_DEFLATE, options_.level) != 0) {
      return LibzipError(context);
    }
  } else if (zip_set_file_compression(zip_, i, ZIP_CM_STORE, 0) != 0) {
    return LibzipError(context);
  }
  if (zip_file_set_mtime(zip_, i, mtime_, 0) != 0) return LibzipError(context);
  // The MS-DOS directory bit (0x10) beside the Unix mode, as Info-ZIP writes it.
  uint32_t attributes = (mode_with_type << 16) | (S_ISDIR(mode_with_type) ? 0x10 : 0);
  if (zip_file_set_external_attributes(zip_, i, 0, ZIP_OPSYS_UNIX, attributes) != 0) {
    return LibzipError(context);
  }
  // New entries carry none today; deleting makes "no extra fields" hold regardless
  // of what a libzip version might add.
  if (zip_file_extra_field_delete(zip_, i, ZIP_EXTRA_FIELD_ALL, ZIP_FL_LOCAL | ZIP_FL_CENTRAL) !=
      0) {
    return LibzipError(context);
  }
  ++entry_count_;
  return Status::Ok();
}

Status ZipWriter::AddDirectory(std::string_view name, uint32_t mode) {
  if (!name.ends_with('/')) return Status::InvalidArgument("directory entry must end with /");
  ANYSNAP_RETURN_IF_ERROR(CheckOrder(name));
  zip_int64_t index = AddNamed(zip_, std::string(name), nullptr);
  if (index < 0) return Spoil(LibzipError("add " + std::string(name)));
  return Spoil(FinishEntry(index, name, S_IFDIR | (mode & 07777), false));
}

Status ZipWriter::AddFile(std::string_view name, const std::string& source_path, uint64_t size,
                          uint32_t mode) {
  ANYSNAP_RETURN_IF_ERROR(CheckOrder(name));
  std::string context = "add " + std::string(name);
  Result<UniqueSource> source =
      pipeline_ != nullptr && size > 0
          ? MakeSource(std::make_unique<DeflatedSource>(pipeline_.get(),
                                                        pipeline_->AddFile(source_path, size), size,
                                                        options_.level, source_errors_.get()),
                       context)
          : MakeSource(std::make_unique<FileSource>(source_path, size, source_errors_.get()),
                       context);
  if (!source.ok()) return Spoil(source.status());
  zip_int64_t index = AddNamed(zip_, std::string(name), source->get());
  if (index < 0) return Spoil(LibzipError(context));
  source->release();  // the archive owns it now
  uncompressed_bytes_ += size;
  // An empty file is stored: deflate would make two bytes out of nothing.
  return Spoil(FinishEntry(index, name, S_IFREG | (mode & 07777), size > 0));
}

Status ZipWriter::AddSymlink(std::string_view name, std::string_view target) {
  ANYSNAP_RETURN_IF_ERROR(CheckOrder(name));
  // libzip frees the buffer with free() (freep=1): hand it a malloc'ed copy.
  void* copy = std::malloc(target.size() == 0 ? 1 : target.size());
  if (copy == nullptr) return Status::Internal("out of memory");
  std::memcpy(copy, target.data(), target.size());
  zip_error_t error;
  zip_error_init(&error);
  UniqueSource source(zip_source_buffer_create(copy, target.size(), 1, &error));
  if (source == nullptr) {
    std::free(copy);
    Status status = ZipErrorStatus("add " + std::string(name), &error);
    zip_error_fini(&error);
    return status;
  }
  zip_error_fini(&error);
  zip_int64_t index = AddNamed(zip_, std::string(name), source.get());
  if (index < 0) return Spoil(LibzipError("add " + std::string(name)));
  source.release();
  uncompressed_bytes_ += target.size();
  return Spoil(FinishEntry(index, name, S_IFLNK | 0777, false));
}

namespace {

void ProgressTrampoline(zip_t*, double fraction, void* state) {
  (*static_cast<const ZipWriter::ProgressFn*>(state))(fraction);
}

}  // namespace

Status ZipWriter::Close(const ProgressFn& progress) {
  if (zip_ == nullptr) return Status::InvalidArgument(path_ + ": already closed");
  if (!spoiled_.ok()) {
    // Half-added entries (and files queued for compression) must never be written.
    zip_discard(zip_);
    zip_ = nullptr;
    return spoiled_.WithContext("write " + path_);
  }
  if (progress) {
    zip_register_progress_callback_with_state(zip_, 0.001, &ProgressTrampoline, nullptr,
                                              const_cast<ProgressFn*>(&progress));
  }
  if (pipeline_ != nullptr) pipeline_->Start();
  int closed = zip_close(zip_);
  if (pipeline_ != nullptr) pipeline_->Stop();
  if (closed == 0) {
    zip_ = nullptr;
    if (progress) progress(1.0);  // libzip's last report may fall just short
    return Status::Ok();
  }
  Status status = source_errors_->status.ok()
                      ? LibzipError("write " + path_)
                      : source_errors_->status.WithContext("write " + path_);
  zip_discard(zip_);
  zip_ = nullptr;
  return status;
}

}  // namespace anysnap::layer
