#include "layer/layer_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "anysnap/unique_fd.h"
#include "layer/layer_path.h"
#include "layer/zip_reader.h"

namespace anysnap::layer {

namespace fs = std::filesystem;

Status UnpackLayerZip(const std::string& zip, const std::string& dir, uint64_t max_bytes) {
  auto reader = ZipReader::Open(zip);
  if (!reader.ok()) return reader.status().WithContext(zip);
  uint64_t total = 0;
  for (const ZipEntry& e : (*reader)->entries()) {
    Status name = CheckEntryName(e.name);
    if (!name.ok()) return name.WithContext(zip + ": entry " + e.name);
    std::string name_no_slash = e.name;
    while (!name_no_slash.empty() && name_no_slash.back() == '/') name_no_slash.pop_back();
    fs::path target = fs::path(dir) / name_no_slash;
    std::error_code ec;
    fs::create_directories(e.is_directory() ? target : target.parent_path(), ec);
    if (ec) return Status::IoError(zip + ": mkdir " + target.string() + ": " + ec.message());
    if (e.is_directory()) continue;
    if (e.is_symlink()) {
      auto link = (*reader)->ReadPrefix(e, 4096);
      if (!link.ok()) return link.status().WithContext(zip);
      auto resolved = ResolveLinkTarget(e.name, *link);
      if (!resolved.ok()) return resolved.status().WithContext(zip + ": link " + e.name);
      if (::symlink(link->c_str(), target.c_str()) != 0) {
        return PosixError(zip + ": symlink " + target.string(), errno);
      }
      continue;
    }
    total += e.size;
    if (total > max_bytes) {
      constexpr uint64_t kMiB = 1024 * 1024;
      std::string limit = max_bytes % kMiB == 0 ? std::to_string(max_bytes / kMiB) + " MB"
                                                : std::to_string(max_bytes) + " bytes";
      return Status::TooLarge(zip + ": more than " + limit + " unzipped (Lambda's limit)");
    }
    mode_t mode = e.has_unix_mode() ? (e.unix_mode() & 0777) : 0644;
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode | 0200));
    if (!fd.valid()) return PosixError(zip + ": create " + target.string(), errno);
    ANYSNAP_RETURN_IF_ERROR((*reader)->CopyTo(e, fd.get(), max_bytes).WithContext(zip));
    ::fchmod(fd.get(), mode);
  }
  return Status::Ok();
}

}  // namespace anysnap::layer
