// Preload (ANYSNAP_PRELOAD): reads files into the page cache before the
// snapshot, so that a restored environment does not fetch them from disk on
// its first invocation.
#ifndef ANYSNAP_DELEGATOR_PRELOAD_H_
#define ANYSNAP_DELEGATOR_PRELOAD_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace anysnap {

struct PreloadStats {
  uint64_t files = 0;
  uint64_t bytes = 0;
  // Paths that could not be read, each "path: reason" (the rest still is).
  std::vector<std::string> problems;
};

// Reads every regular file under `paths` (files, or folders walked
// recursively without following symbolic links to folders) to its end,
// through one fixed buffer. Stops early when `cancel` becomes true.
PreloadStats Preload(const std::vector<std::string>& paths, const std::atomic<bool>& cancel);

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_PRELOAD_H_
