// Cgroup owns one cgroup v2 directory that holds an execution environment's
// process tree: anysnap-local freezes the whole tree with it (the freeze
// snapshot backend) and ends it with one write (cgroup.kill), whatever the
// tree's processes did to their process groups and sessions.
//
// The v2 hierarchy is found at /sys/fs/cgroup/unified (a hybrid layout, as on
// this project's machines) or at /sys/fs/cgroup when that is cgroup2 itself.
// Each anysnap-local process works under a parent of its own,
// <hierarchy>/anysnap-local-<pid>; an environment's cgroup sits below it.
//
// Thread-compatible; Freeze/Thaw/Kill may be called from any one thread.
#ifndef ANYSNAP_EMULATOR_CGROUP_H_
#define ANYSNAP_EMULATOR_CGROUP_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "anysnap/status.h"

namespace anysnap {

// The mount point of the cgroup v2 hierarchy, if there is one and this
// process may create cgroups in it; else why not.
Result<std::string> FindCgroupV2Hierarchy();

// The parent that anysnap-local process `pid` works under.
std::string CgroupParentOf(const std::string& hierarchy, pid_t pid);

// Removes the parents of anysnap-local processes that are gone without
// removing theirs (killed), where nothing runs any more: a parent whose pid
// lives here, or with a process in it (that of an anysnap-local in another
// PID namespace), stays. Returns how many went.
int RemoveStaleParents(const std::string& hierarchy);

class Cgroup {
 public:
  // Creates `parent`/`name` (and `parent` when missing).
  static Result<Cgroup> Create(const std::string& parent, const std::string& name);

  Cgroup() = default;
  ~Cgroup();  // Kill() and removal of the directory
  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&& other) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  const std::string& path() const { return path_; }
  // The file a process writes "0" to in order to join.
  std::string procs_file() const { return path_ + "/cgroup.procs"; }

  // Freezes every process of the tree; returns once the kernel reports the
  // cgroup frozen (or with kTimedOut after `patience`).
  Status Freeze(std::chrono::milliseconds patience = std::chrono::seconds(10));
  Status Thaw();
  // SIGKILL to every process in the cgroup, frozen ones included; waits up
  // to `patience` for it to empty.
  Status Kill(std::chrono::milliseconds patience = std::chrono::seconds(10));
  // Returns true iff the cgroup holds a process.
  bool populated() const;

  // Kills every process in the cgroup at `path` and in every cgroup below
  // it, and removes them all, deepest first: whatever was made there, by
  // this process or another (criu restore recreates the cgroups it dumped).
  // Returns OK iff `path` is gone.
  static Status RemoveTree(const std::string& path);

 private:
  explicit Cgroup(std::string path) : path_(std::move(path)) {}
  Status WaitForEvent(const std::string& key, const std::string& value,
                      std::chrono::milliseconds patience) const;
  void Remove();

  std::string path_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_CGROUP_H_
