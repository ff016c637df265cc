// ChildProcess owns one process started with posix_spawn: the runtime that
// anysnap-local runs for a function, a before-snapshot / after-restore hook
// command the delegator runs, or any program a test drives.
//
// The child starts in a process group of its own (so a terminal's Ctrl-C
// reaches only its parent, which then stops the child in order), with every
// signal at its default disposition and none blocked, stdin on /dev/null, and
// stdout/stderr on the descriptors the caller names. The destructor of a
// still-running child kills its whole group and reaps it: no zombies, no
// orphans left behind by a test that fails half-way.
//
// Thread-compatible: one thread at a time may call a ChildProcess.
#ifndef ANYSNAP_CHILD_PROCESS_H_
#define ANYSNAP_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

// How a process ended, in the words Lambda uses for a runtime's exit.
struct ExitStatus {
  int code = -1;   // exit code, or -1 when killed by a signal
  int signal = 0;  // the signal that killed it, or 0

  // How waitpid(2) reported it.
  static ExitStatus FromWaitStatus(int wait_status);

  bool exited() const { return signal == 0; }
  bool success() const { return signal == 0 && code == 0; }
  // "exit status 3" or "signal: killed": Go's os/exec words (the signal's
  // name as Go's syscall package spells it), which Lambda's platform prints.
  std::string Describe() const;
  // Lambda's reason for a runtime that ended: "Runtime exited with error:
  // exit status 3", or "Runtime exited without providing a reason" for 0.
  std::string RuntimeExitReason() const;
  // The shell's convention: the code, or 128 + signal.
  int ShellCode() const { return signal != 0 ? 128 + signal : code; }
};

struct SpawnOptions {
  // argv[0] is the program: a path when it holds a '/', else a name searched
  // on the PATH of `env` (not anysnap-local's own), as execvp(3) would.
  std::vector<std::string> argv;
  EnvMap env;         // the child's whole environment
  std::string cwd;    // empty: anysnap-local's own
  int stdout_fd = 1;  // descriptor the child's stdout is a copy of
  int stderr_fd = 2;  // descriptor the child's stderr is a copy of
  int stdin_fd = -1;  // -1: /dev/null
};

class ChildProcess {
 public:
  // Starts the program. NotFound / PermissionDenied (with the exec error, as
  // "exec <path>: ...") when it cannot be run.
  static Result<ChildProcess> Spawn(const SpawnOptions& options);

  ChildProcess() = default;
  ~ChildProcess();  // Kill() when still running
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The child's pid (also its process group id); -1 for an empty object.
  pid_t pid() const { return pid_; }
  // Returns true iff a child was started and has not been reaped yet.
  bool running() const { return pid_ > 0 && !status_; }

  // Non-blocking: the exit status once the child has ended (it is then reaped,
  // and what is left of its group is killed), else nullopt.
  std::optional<ExitStatus> Poll();
  // Waits up to `timeout` for the child to end; Poll() semantics.
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout);
  // Sends `sig` to the child only (not its group). No-op once it has ended.
  Status Signal(int sig);
  // Lambda's shutdown: SIGTERM to the child, up to `grace` for it to end, then
  // SIGKILL to its group. Returns how it ended.
  ExitStatus Stop(std::chrono::milliseconds grace);
  // SIGKILL to the group at once; reaps. Returns how it ended.
  ExitStatus Kill();

  // The status, once known; nullopt while running or for an empty object.
  const std::optional<ExitStatus>& exit_status() const { return status_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  // Reaps a child that waitid reported as ended: kills the rest of its group
  // first, while the zombie still holds the group id, so the id cannot have
  // been reused.
  ExitStatus Reap();

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

// Finds `name` on the colon-separated `path` the way execvp(3) does: the
// first directory holding an executable regular file of that name ("" means
// the current directory). Returns `name` unchanged when it holds a '/';
// nullopt when nothing matches.
std::optional<std::string> SearchPath(const std::string& name, const std::string& path);

}  // namespace anysnap

#endif  // ANYSNAP_CHILD_PROCESS_H_
