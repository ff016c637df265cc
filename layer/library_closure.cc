#include "layer/library_closure.h"

#include <elf.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "layer/elf_file.h"
#include "layer/mapped_file.h"

namespace anysnap::layer {

namespace {

// One object in the walk: a program or a library found for one.
struct Node {
  std::string path;
  std::vector<std::string> needed;
  std::vector<std::string> rpath;    // DT_RPATH, expanded; empty when it has DT_RUNPATH
  std::vector<std::string> runpath;  // DT_RUNPATH, expanded
  bool has_runpath = false;
  int loader = -1;  // the node that needed it first; -1 for a program
};

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// Splits a DT_RPATH/DT_RUNPATH value and expands $ORIGIN, $LIB and $PLATFORM as
// ld.so does. Empty entries (the current directory to ld.so) are dropped.
std::vector<std::string> ExpandSearchPath(const std::string& value, const std::string& origin,
                                          Arch arch) {
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= value.size()) {
    size_t colon = value.find(':', start);
    if (colon == std::string::npos) colon = value.size();
    std::string dir = value.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) continue;
    std::string lib = "lib/" + std::string(ArchMultiarchTriplet(arch));
    std::string platform = arch == Arch::kX86_64 ? "x86_64" : "aarch64";
    ReplaceAll(dir, "${ORIGIN}", origin);
    ReplaceAll(dir, "$ORIGIN", origin);
    ReplaceAll(dir, "${LIB}", lib);
    ReplaceAll(dir, "$LIB", lib);
    ReplaceAll(dir, "${PLATFORM}", platform);
    ReplaceAll(dir, "$PLATFORM", platform);
    dirs.push_back(dir);
  }
  return dirs;
}

// Reads the directories of an ld.so.conf file, following "include" globs.
void ReadLdSoConf(const std::string& path, int depth, std::vector<std::string>& dirs) {
  if (depth > 8) return;  // include cycles
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_last_not_of(" \t\r");
    line = line.substr(b, e - b + 1);
    if (line.starts_with("include") && line.size() > 7 && (line[7] == ' ' || line[7] == '\t')) {
      std::string pattern = line.substr(line.find_first_not_of(" \t", 7));
      if (!pattern.starts_with('/')) pattern = DirName(path) + "/" + pattern;
      glob_t g{};
      if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) ReadLdSoConf(g.gl_pathv[i], depth + 1, dirs);
      }
      ::globfree(&g);
    } else if (line.starts_with('/')) {
      dirs.push_back(line);
    }
  }
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class ClosureWalk {
 public:
  explicit ClosureWalk(const LibraryClosureOptions& options) : options_(options) {}

  Result<std::vector<ResolvedLibrary>> Run(const std::vector<std::string>& programs) {
    for (const std::string& program : programs) {
      auto elf = Load(program);
      if (!elf.ok()) return elf.status();
      AddNode(program, *elf, -1);
    }
    while (!queue_.empty()) {
      int index = queue_.front();
      queue_.pop_front();
      // Copied: AddNode may grow nodes_.
      std::vector<std::string> needed = nodes_[index].needed;
      for (const std::string& name : needed) {
        if (IsGlibcLibrary(name) || found_.contains(name)) continue;
        if (name.find('/') != std::string::npos) {
          return Status::InvalidArgument(nodes_[index].path + " needs " + name +
                                         " by path; a layer cannot provide that");
        }
        auto status = Find(index, name);
        if (!status.ok()) return status;
      }
    }
    std::vector<ResolvedLibrary> out;
    for (auto& [name, lib] : found_) out.push_back(std::move(lib));
    return out;
  }

 private:
  Result<ElfFile> Load(const std::string& path) {
    auto mapped = MappedFile::Open(path);
    if (!mapped.ok()) return mapped.status();
    auto elf = ElfFile::Parse(mapped->bytes());
    if (!elf.ok()) return elf.status().WithContext(path);
    return elf;
  }

  void AddNode(const std::string& path, const ElfFile& elf, int loader) {
    Node node;
    node.path = path;
    node.needed = elf.needed();
    node.loader = loader;
    std::string origin = DirName(path);
    for (const ElfSearchPath& sp : elf.search_paths()) {
      if (sp.tag == DT_RUNPATH) node.has_runpath = true;
    }
    for (const ElfSearchPath& sp : elf.search_paths()) {
      auto dirs = ExpandSearchPath(sp.value, origin, options_.arch);
      auto& into = sp.tag == DT_RUNPATH ? node.runpath : node.rpath;
      if (sp.tag != DT_RUNPATH && node.has_runpath) continue;  // ld.so ignores DT_RPATH then
      into.insert(into.end(), dirs.begin(), dirs.end());
    }
    nodes_.push_back(std::move(node));
    queue_.push_back(static_cast<int>(nodes_.size() - 1));
  }

  // The directories ld.so searches for a library needed by node `index`.
  std::vector<std::string> SearchDirs(int index) const {
    std::vector<std::string> dirs;
    const Node& node = nodes_[index];
    if (!node.has_runpath) {
      for (int at = index; at >= 0; at = nodes_[at].loader) {
        dirs.insert(dirs.end(), nodes_[at].rpath.begin(), nodes_[at].rpath.end());
      }
    }
    dirs.insert(dirs.end(), node.runpath.begin(), node.runpath.end());
    dirs.insert(dirs.end(), options_.system_dirs.begin(), options_.system_dirs.end());
    return dirs;
  }

  Status Find(int index, const std::string& name) {
    uint16_t machine = ArchElfMachine(options_.arch);
    for (const std::string& dir : SearchDirs(index)) {
      std::string candidate = dir + "/" + name;
      struct stat st;
      if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      auto elf = Load(candidate);
      // ld.so skips files it cannot use and goes on searching.
      if (!elf.ok() || !elf->is_64bit() || elf->machine() != machine) continue;
      std::error_code ec;
      std::string real = std::filesystem::canonical(candidate, ec).string();
      if (ec) real = candidate;
      found_[name] = {name, real, nodes_[index].path, !elf->search_paths().empty()};
      AddNode(real, *elf, index);
      return Status::Ok();
    }
    return Status::NotFound(name + " (needed by " + nodes_[index].path + ") not found for " +
                            std::string(ArchName(options_.arch)));
  }

  const LibraryClosureOptions& options_;
  std::vector<Node> nodes_;
  std::deque<int> queue_;
  std::map<std::string, ResolvedLibrary> found_;  // by name: sorted output
};

}  // namespace

bool IsGlibcLibrary(std::string_view name) {
  static constexpr std::string_view kGlibc[] = {
      "libc.so.6",         "libm.so.6",
      "libpthread.so.0",   "libdl.so.2",
      "librt.so.1",        "libresolv.so.2",
      "libutil.so.1",      "libanl.so.1",
      "libmvec.so.1",      "libBrokenLocale.so.1",
      "libthread_db.so.1", "libc_malloc_debug.so.0",
  };
  if (name.starts_with("ld-linux") || name.starts_with("ld64.so")) return true;
  return std::find(std::begin(kGlibc), std::end(kGlibc), name) != std::end(kGlibc);
}

std::vector<std::string> SystemLibraryDirs(Arch arch, const std::string& ld_so_conf) {
  std::vector<std::string> candidates;
  ReadLdSoConf(ld_so_conf, 0, candidates);
  std::string triplet(ArchMultiarchTriplet(arch));
  for (const char* base : {"/lib/", "/usr/lib/"}) candidates.push_back(base + triplet);
  for (const char* dir : {"/lib64", "/usr/lib64", "/lib", "/usr/lib"}) candidates.push_back(dir);
  std::vector<std::string> dirs;
  for (const std::string& dir : candidates) {
    if (IsDirectory(dir) && std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) {
      dirs.push_back(dir);
    }
  }
  return dirs;
}

Result<std::vector<ResolvedLibrary>> ResolveLibraryClosure(const std::vector<std::string>& programs,
                                                           const LibraryClosureOptions& options) {
  return ClosureWalk(options).Run(programs);
}

}  // namespace anysnap::layer
