#include "layer/elf_search_path.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "anysnap/unique_fd.h"
#include "layer/elf_file.h"
#include "layer/mapped_file.h"

namespace anysnap::layer {

namespace {

// `value` as `width` bytes in the file's byte order.
std::string Encode(uint64_t value, int width, bool little_endian) {
  std::string out(width, '\0');
  for (int i = 0; i < width; ++i) {
    out[little_endian ? i : width - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return out;
}

Status WriteAt(int fd, uint64_t offset, const std::string& bytes, const std::string& path) {
  ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  if (n < 0) return PosixError("write " + path, errno);
  if (static_cast<size_t>(n) != bytes.size()) return Status::IoError("short write to " + path);
  return Status::Ok();
}

}  // namespace

Status RewriteSearchPath(const std::string& path, std::string_view search_path) {
  std::optional<ElfFile> elf;
  {
    auto mapped = MappedFile::Open(path);
    if (!mapped.ok()) return mapped.status();
    auto parsed = ElfFile::Parse(mapped->bytes());
    if (!parsed.ok()) return parsed.status().WithContext(path);
    elf.emplace(std::move(*parsed));
  }
  std::string hint = "; link it with -Wl,-rpath,'" + std::string(search_path) + "'";
  if (elf->search_paths().empty()) {
    return Status::InvalidArgument(path + ": no DT_RPATH or DT_RUNPATH to rewrite" + hint);
  }
  const ElfSearchPath* chosen = nullptr;
  for (const ElfSearchPath& sp : elf->search_paths()) {
    if (sp.value.size() >= search_path.size() &&
        !elf->StringOverlapsOthers(sp.string_offset, sp.value.size())) {
      chosen = &sp;
      break;
    }
  }
  if (chosen == nullptr) {
    return Status::InvalidArgument(path + ": search path \"" + elf->search_paths()[0].value +
                                   "\" cannot hold \"" + std::string(search_path) + "\"" + hint);
  }

  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("open " + path, errno);
  // The new string, NUL-padded over the whole old one.
  std::string text(search_path);
  text.resize(chosen->value.size() + 1, '\0');
  ANYSNAP_RETURN_IF_ERROR(WriteAt(fd.get(), chosen->string_offset, text, path));
  int width = elf->is_64bit() ? 8 : 4;
  for (const ElfSearchPath& sp : elf->search_paths()) {
    std::string entry = Encode(DT_RPATH, width, elf->is_little_endian()) +
                        Encode(chosen->string_index, width, elf->is_little_endian());
    ANYSNAP_RETURN_IF_ERROR(WriteAt(fd.get(), sp.entry_offset, entry, path));
  }
  return Status::Ok();
}

}  // namespace anysnap::layer
