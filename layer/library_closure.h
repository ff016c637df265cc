// The shared libraries a set of ELF programs loads, found the way ld.so finds
// them: each DT_NEEDED name is looked up in the needing object's DT_RPATH (and,
// when it has no DT_RUNPATH, its loaders' DT_RPATH), then its DT_RUNPATH, then the
// system's directories (/etc/ld.so.conf, then the multiarch and default
// directories); a candidate of another class or machine is skipped, as ld.so does.
// The walk recurses into every library found, except glibc's own (libc, libm,
// libpthread, libdl, librt, libresolv, libutil, the loader, ...): those come with
// the target's OS and must never be shipped.
//
// Thread-compatible.
#ifndef ANYSNAP_LAYER_LIBRARY_CLOSURE_H_
#define ANYSNAP_LAYER_LIBRARY_CLOSURE_H_

#include <string>
#include <string_view>
#include <vector>

#include "anysnap/status.h"
#include "layer/lambda_target.h"

namespace anysnap::layer {

struct ResolvedLibrary {
  std::string name;              // the DT_NEEDED name, e.g. "libzip.so.4"
  std::string path;              // the file it resolved to, symlinks followed
  std::string needed_by;         // the first object (a path) that needed it
  bool has_search_path = false;  // carries its own DT_RPATH or DT_RUNPATH
};

struct LibraryClosureOptions {
  Arch arch = Arch::kX86_64;
  // Searched after an object's own paths, in order.
  std::vector<std::string> system_dirs;
};

// Returns true iff `name` is a library of glibc itself (never shipped in a layer).
bool IsGlibcLibrary(std::string_view name);

// The directories ld.so searches after an object's own paths on this machine for
// `arch`: those of `ld_so_conf` (following its include lines), then the multiarch,
// lib64 and lib directories. Missing files or directories are skipped.
std::vector<std::string> SystemLibraryDirs(Arch arch,
                                           const std::string& ld_so_conf = "/etc/ld.so.conf");

// The libraries `programs` need, directly or through each other, sorted by name;
// an error names a library that cannot be found and who needs it.
Result<std::vector<ResolvedLibrary>> ResolveLibraryClosure(const std::vector<std::string>& programs,
                                                           const LibraryClosureOptions& options);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LIBRARY_CLOSURE_H_
