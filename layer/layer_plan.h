// LayerPlan is the list of entries a layer zip will hold, gathered from files,
// trees and symlinks on disk before anything is written. Names are checked as
// they come in (layer_path.h), every parent directory gets its own entry, and
// modes are normalised: 0755 for directories and for files with any execute bit,
// 0644 for other files, 0777 for symlinks. Entries are kept sorted bytewise, the
// order ZipWriter needs for a reproducible archive.
//
// Only metadata is held (a path and a size per file), so a plan of a huge tree
// stays small. Not thread-safe.
#ifndef ANYSNAP_LAYER_LAYER_PLAN_H_
#define ANYSNAP_LAYER_LAYER_PLAN_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "anysnap/status.h"
#include "layer/zip_writer.h"

namespace anysnap::layer {

struct PlannedEntry {
  enum class Kind { kDirectory, kFile, kSymlink };
  Kind kind = Kind::kFile;
  uint32_t mode = 0644;     // normalised permission bits
  std::string source;       // files: the path to read
  uint64_t size = 0;        // files: bytes; symlinks: target length
  std::string link_target;  // symlinks
};

class LayerPlan {
 public:
  // Adds the regular file at `source` as `name`; mode from its execute bits.
  Status AddFile(const std::string& name, const std::string& source);
  // Adds a symlink `name` -> `target`; refused when the target is absolute or
  // resolves outside the layer.
  Status AddSymlink(const std::string& name, const std::string& target);
  // Adds a directory entry (and its parents); `name` without a trailing '/'.
  Status AddDirectory(const std::string& name);
  // Adds what `source` is — a directory tree, a file or a symlink (followed only
  // when it is `source` itself) — as `dest`. An empty `dest` puts a directory's
  // contents at the layer's root. Sockets, devices and FIFOs are refused.
  Status AddTree(const std::string& source, const std::string& dest);
  // Never adds the file `path` (e.g. the zip being written) if a tree holds it.
  void Exclude(const std::string& path);

  // Entries by zip name (directories end with '/'), sorted bytewise.
  const std::map<std::string, PlannedEntry>& entries() const { return entries_; }
  uint64_t total_bytes() const { return total_bytes_; }

  // Adds every entry to `writer`, in order.
  Status WriteTo(ZipWriter& writer) const;

 private:
  Status AddParents(const std::string& name);
  Status Insert(const std::string& key, PlannedEntry entry);
  Status AddFileStat(const std::string& name, const std::string& source, const struct stat& st);
  bool Excluded(const struct stat& st) const;

  std::map<std::string, PlannedEntry> entries_;
  std::set<std::pair<dev_t, ino_t>> excluded_;
  uint64_t total_bytes_ = 0;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAYER_PLAN_H_
