// RewriteSearchPath gives an ELF file the library search path it needs inside a
// layer, by editing the file in place: no section grows and nothing moves. It
// overwrites the string of an existing DT_RPATH or DT_RUNPATH entry (which must be
// at least as long as the new path and share no bytes with other strings), and
// turns every such entry into a DT_RPATH pointing at it.
//
// DT_RPATH rather than DT_RUNPATH, on purpose: ld.so also searches a program's
// DT_RPATH for the needs of its libraries (DT_RUNPATH only serves the object that
// carries it), so libraries copied beside each other find each other without a
// path of their own; and DT_RPATH comes before LD_LIBRARY_PATH, which on Lambda
// lists the OS's /lib64, so the libraries shipped are the ones loaded.
//
// A program gets its path from the link, e.g. -Wl,-rpath,'$ORIGIN/../lib'.
#ifndef ANYSNAP_LAYER_ELF_SEARCH_PATH_H_
#define ANYSNAP_LAYER_ELF_SEARCH_PATH_H_

#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap::layer {

// Rewrites the ELF file at `path` so that its only search path is DT_RPATH
// `search_path`; an error, leaving the file untouched, when it has no entry whose
// string can hold `search_path`.
Status RewriteSearchPath(const std::string& path, std::string_view search_path);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_ELF_SEARCH_PATH_H_
