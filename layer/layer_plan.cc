#include "layer/layer_plan.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "layer/layer_path.h"

namespace anysnap::layer {

namespace {

uint32_t NormalisedMode(mode_t mode) { return (mode & 0111) != 0 ? 0755 : 0644; }

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

// The names in directory `path`, sorted bytewise, without "." and "..".
Result<std::vector<std::string>> ListDirectory(const std::string& path) {
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (dir == nullptr) return PosixError("open directory " + path, errno);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return PosixError("read directory " + path, errno);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

Status LayerPlan::Insert(const std::string& key, PlannedEntry entry) {
  // A name is a file or a directory, never both.
  bool is_dir = key.ends_with('/');
  std::string other = is_dir ? key.substr(0, key.size() - 1) : key + "/";
  if (entries_.contains(other)) {
    return Status::InvalidArgument(key + ": added both as a directory and as a file");
  }
  auto [it, inserted] = entries_.emplace(key, entry);
  if (!inserted && !is_dir) return Status::InvalidArgument(key + ": added twice");
  if (inserted && entry.kind == PlannedEntry::Kind::kFile) total_bytes_ += entry.size;
  return Status::Ok();
}

Status LayerPlan::AddParents(const std::string& name) {
  for (size_t slash = name.find('/'); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    ANYSNAP_RETURN_IF_ERROR(
        Insert(name.substr(0, slash + 1), {PlannedEntry::Kind::kDirectory, 0755, "", 0, ""}));
  }
  return Status::Ok();
}

Status LayerPlan::AddDirectory(const std::string& name) {
  ANYSNAP_RETURN_IF_ERROR(CheckEntryName(name + "/").WithContext(name));
  ANYSNAP_RETURN_IF_ERROR(AddParents(name));
  return Insert(name + "/", {PlannedEntry::Kind::kDirectory, 0755, "", 0, ""});
}

Status LayerPlan::AddFileStat(const std::string& name, const std::string& source,
                              const struct stat& st) {
  ANYSNAP_RETURN_IF_ERROR(CheckEntryName(name).WithContext(name));
  ANYSNAP_RETURN_IF_ERROR(AddParents(name));
  return Insert(name, {PlannedEntry::Kind::kFile, NormalisedMode(st.st_mode), source,
                       static_cast<uint64_t>(st.st_size), ""});
}

Status LayerPlan::AddFile(const std::string& name, const std::string& source) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) return PosixError("stat " + source, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(source + ": not a regular file");
  return AddFileStat(name, source, st);
}

Status LayerPlan::AddSymlink(const std::string& name, const std::string& target) {
  ANYSNAP_RETURN_IF_ERROR(CheckEntryName(name).WithContext(name));
  auto resolved = ResolveLinkTarget(name, target);
  if (!resolved.ok()) return resolved.status().WithContext(name);
  ANYSNAP_RETURN_IF_ERROR(AddParents(name));
  return Insert(name, {PlannedEntry::Kind::kSymlink, 0777, "", target.size(), target});
}

void LayerPlan::Exclude(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) excluded_.emplace(st.st_dev, st.st_ino);
}

bool LayerPlan::Excluded(const struct stat& st) const {
  return excluded_.contains({st.st_dev, st.st_ino});
}

Status LayerPlan::AddTree(const std::string& source, const std::string& dest) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) return PosixError("stat " + source, errno);
  if (S_ISREG(st.st_mode)) {
    if (dest.empty()) return Status::InvalidArgument(source + ": a file needs a destination name");
    return Excluded(st) ? Status::Ok() : AddFileStat(dest, source, st);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(source + ": not a file or directory");
  if (!dest.empty()) ANYSNAP_RETURN_IF_ERROR(AddDirectory(dest));

  // Depth-first with an explicit stack: deep trees cannot exhaust the call stack,
  // and only one directory is open at a time.
  std::vector<std::pair<std::string, std::string>> pending = {{source, dest}};
  while (!pending.empty()) {
    auto [dir, name] = std::move(pending.back());
    pending.pop_back();
    auto children = ListDirectory(dir);
    if (!children.ok()) return children.status();
    for (const std::string& child : *children) {
      std::string path = dir + "/" + child;
      std::string child_name = Join(name, child);
      struct stat cst;
      if (::lstat(path.c_str(), &cst) != 0) return PosixError("stat " + path, errno);
      if (S_ISDIR(cst.st_mode)) {
        ANYSNAP_RETURN_IF_ERROR(AddDirectory(child_name));
        pending.emplace_back(path, child_name);
      } else if (S_ISREG(cst.st_mode)) {
        if (!Excluded(cst)) ANYSNAP_RETURN_IF_ERROR(AddFileStat(child_name, path, cst));
      } else if (S_ISLNK(cst.st_mode)) {
        std::string target(static_cast<size_t>(cst.st_size) + 1, '\0');
        ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
        if (n < 0) return PosixError("readlink " + path, errno);
        if (static_cast<size_t>(n) >= target.size()) {
          return Status::IoError(path + ": symlink changed while being read");
        }
        target.resize(static_cast<size_t>(n));
        ANYSNAP_RETURN_IF_ERROR(AddSymlink(child_name, target).WithContext(path));
      } else {
        return Status::InvalidArgument(path + ": not a file, directory or symlink");
      }
    }
  }
  return Status::Ok();
}

Status LayerPlan::WriteTo(ZipWriter& writer) const {
  for (const auto& [name, e] : entries_) {
    switch (e.kind) {
      case PlannedEntry::Kind::kDirectory:
        ANYSNAP_RETURN_IF_ERROR(writer.AddDirectory(name, e.mode));
        break;
      case PlannedEntry::Kind::kFile:
        ANYSNAP_RETURN_IF_ERROR(writer.AddFile(name, e.source, e.size, e.mode));
        break;
      case PlannedEntry::Kind::kSymlink:
        ANYSNAP_RETURN_IF_ERROR(writer.AddSymlink(name, e.link_target));
        break;
    }
  }
  return Status::Ok();
}

}  // namespace anysnap::layer
