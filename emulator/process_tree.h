// ProcessTree reads a process's descendants and their peak memory from procfs:
// what a REPORT line's "Max Memory Used" is made of. Lambda measures the
// sandbox's memory as a whole; locally the nearest figure is the sum of
// VmHWM (peak resident set) over the runtime's live process tree — the
// wrapper, the delegator and the runtime host with its children. Processes
// that already ended no longer count, so callers sample while the tree runs
// and keep the largest sum.
//
// The procfs root is a parameter, so tests can build a fake one.
// Thread-compatible: plain functions over the file system.
#ifndef ANYSNAP_EMULATOR_PROCESS_TREE_H_
#define ANYSNAP_EMULATOR_PROCESS_TREE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace anysnap {

// The parent pid in the text of /proc/PID/stat (the field after the state,
// which follows the last ')' of the command name), or nullopt when malformed.
std::optional<pid_t> ParentPidFromStat(const std::string& stat);

// VmHWM in bytes from the text of /proc/PID/status, or nullopt when absent
// (kernel threads, zombies).
std::optional<uint64_t> PeakRssFromStatus(const std::string& status);

// `root` and every process below it, found by following parent links among
// the numeric entries of `proc_root`, root first. Empty when `root` is gone.
std::vector<pid_t> ProcessTreePids(pid_t root, const std::string& proc_root = "/proc");

// The sum of VmHWM over ProcessTreePids(root); 0 when the tree is gone.
uint64_t ProcessTreePeakRss(pid_t root, const std::string& proc_root = "/proc");

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_PROCESS_TREE_H_
