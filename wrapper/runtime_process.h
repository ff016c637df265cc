// RuntimeProcess starts the runtime host as a child of the wrapper and owns it
// until it has been waited for.
//
// The child runs in a process group of its own (so everything it starts can be
// ended with it), dies with the wrapper (PR_SET_PDEATHSIG), starts with the
// signal mask and dispositions of a fresh process, and inherits every file
// descriptor the wrapper inherited (anysnap's own are close-on-exec). A failed
// exec is reported back through a close-on-exec pipe, so Start() knows whether
// the runtime host really started, and when.
//
// Must be started from the thread that will live as long as the child (the
// death signal follows the thread that forked). Not thread-safe.
#ifndef ANYSNAP_WRAPPER_RUNTIME_PROCESS_H_
#define ANYSNAP_WRAPPER_RUNTIME_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

// A step run in the child between fork and exec (e.g. installing a seccomp
// filter). Run() must be async-signal-safe: no allocation, no locks, only
// system calls on data prepared before fork.
class ChildPreExec {
 public:
  virtual ~ChildPreExec() = default;
  virtual void Run() noexcept = 0;
};

class RuntimeProcess {
 public:
  RuntimeProcess() = default;
  ~RuntimeProcess();  // Kills and reaps a child still running.
  RuntimeProcess(const RuntimeProcess&) = delete;
  RuntimeProcess& operator=(const RuntimeProcess&) = delete;

  // Starts argv[0] (searched in the PATH of `env` when it has no slash) with
  // `env`. Returns once exec succeeded; on failure the Status carries the
  // errno of exec as a PosixError (kNotFound for ENOENT, kPermissionDenied for
  // EACCES) and no child is left.
  // `pre_exec`, when given, runs in the child just before exec.
  Status Start(const std::vector<std::string>& argv, const EnvMap& env,
               ChildPreExec* pre_exec = nullptr);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }

  // Sends `signo` to the runtime host.
  void Signal(int signo);
  // Reaps the child if it has ended; returns true with its wait status then.
  bool TryReap(int* wait_status);
  // Kills whatever is left of the runtime's process group.
  void KillGroup();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// The exit status a shell would report for `wait_status`: the exit code, or
// 128+N for death by signal N.
int ShellExitStatus(int wait_status);

// "exited with status 3" / "was killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_RUNTIME_PROCESS_H_
