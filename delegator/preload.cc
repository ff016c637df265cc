#include "preload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "anysnap/unique_fd.h"

namespace anysnap {

namespace {

constexpr size_t kBufferBytes = 1024 * 1024;

void ReadFile(const std::string& path, char* buf, PreloadStats* stats) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    stats->problems.push_back(path + ": " + std::strerror(errno));
    return;
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, kBufferBytes);
    if (n > 0) {
      stats->bytes += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) stats->problems.push_back(path + ": " + std::strerror(errno));
    break;
  }
  ++stats->files;
}

}  // namespace

PreloadStats Preload(const std::vector<std::string>& paths, const std::atomic<bool>& cancel) {
  namespace fs = std::filesystem;
  PreloadStats stats;
  auto buf = std::make_unique<char[]>(kBufferBytes);
  for (const std::string& path : paths) {
    if (cancel.load()) break;
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec) {
      stats.problems.push_back(path + ": " + ec.message());
      continue;
    }
    if (fs::is_regular_file(st)) {
      ReadFile(path, buf.get(), &stats);
      continue;
    }
    if (!fs::is_directory(st)) {
      stats.problems.push_back(path + ": not a file or folder");
      continue;
    }
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (cancel.load()) break;
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) ReadFile(it->path().string(), buf.get(), &stats);
    }
    if (ec) stats.problems.push_back(path + ": " + ec.message());
  }
  return stats;
}

}  // namespace anysnap
