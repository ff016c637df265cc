// The process environment and the filesystem reads configuration needs, kept
// behind plain values and function seams: main turns `environ` into an EnvMap
// once, and everything below it (config, word splitting, process spawn) takes
// that map. Tests build maps and fake ReadFileFn by hand; nothing below main
// calls getenv.
//
// Thread-compatible: the functions keep no state.
#ifndef ANYSNAP_ENVIRONMENT_H_
#define ANYSNAP_ENVIRONMENT_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "anysnap/status.h"

namespace anysnap {

// Variable name to value. Ordered, so environments render deterministically.
using EnvMap = std::map<std::string, std::string>;

// Builds an EnvMap from a NULL-terminated array of "K=V" strings (`environ`).
// The first of duplicate names wins, as getenv(3) sees it. Entries without '='
// or with an empty name are skipped. A null `envp` gives an empty map.
EnvMap EnvFromEnviron(char** envp);

// Renders `env` as "K=V" strings, sorted by name, ready for execve(2).
std::vector<std::string> ToEnvironStrings(const EnvMap& env);

// Reads a whole file; the seam config uses for ANYSNAP_CONFIG and tests fake.
using ReadFileFn = std::function<Result<std::string>(const std::string& path)>;

// Reads the whole file at `path`. On failure, the PosixError of the failing call
// ("open <path>: ...", "read <path>: ..."), e.g. NotFound for a missing file.
Result<std::string> ReadWholeFile(const std::string& path);

// Returns true iff `path` names an existing file system object (stat(2) succeeds).
bool FileExists(const std::string& path);

// Returns the directory holding the running program (from /proc/self/exe), or
// "." when it cannot be read: where a tool finds the programs built beside it.
std::string ProgramDirectory();

}  // namespace anysnap

#endif  // ANYSNAP_ENVIRONMENT_H_
