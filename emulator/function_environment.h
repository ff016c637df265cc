// FunctionEnvironment is one execution environment of anysnap-local (serve,
// compare, run): a RuntimeApiServer and the function's process tree started against
// it in a sandbox (sandbox.h), the way Lambda's java21 runtime starts it
// (lambda_launch.h). A watcher thread notices when the tree's first process
// ends and fails every invocation still waiting on the environment with
// Runtime.ExitError (RuntimeApiServer::Abandon), so that a dead runtime is
// answered at once and never leaves a caller waiting.
//
// The runtime's stdout and stderr reach `output_fd` through a pipe (CRIU can
// restore a pipe to a reader outside the tree, never a growing file).
//
// Threading: thread-safe. Freeze/Thaw/Kill may be called from any thread.
#ifndef ANYSNAP_EMULATOR_FUNCTION_ENVIRONMENT_H_
#define ANYSNAP_EMULATOR_FUNCTION_ENVIRONMENT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "anysnap/child_process.h"
#include "anysnap/runtime_api.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"
#include "cgroup.h"
#include "lambda_launch.h"
#include "runtime_api_server.h"
#include "sandbox.h"

namespace anysnap {

// How every environment of one function is made.
struct EnvironmentSpec {
  FunctionSettings function;  // host paths; initialization_type as Lambda sets it
  // The exec wrapper's host path; empty: the runtime host that ANYSNAP_RUNTIME
  // names is started directly.
  std::string exec_wrapper;
  std::string self_exe;  // anysnap-local, for its sandbox-init
  // Network, PID and mount namespaces (/var/task and /opt bound).
  bool namespaces = false;
  // With namespaces: the host's /proc rather than the PID namespace's own, for
  // a tree that criu dumps from inside its mount namespace.
  bool host_proc = false;
  // io_uring_setup fails in the function's sandbox (SandboxSpec), for criu.
  bool deny_io_uring = false;
  std::string cgroup_parent;  // where environments' cgroups go; empty: none
  int max_concurrency = 1;
  int output_fd = 2;  // the function's own output
  std::string function_arn;
};

class FunctionEnvironment {
 public:
  // Starts the runtime. `id` names its cgroup.
  static Result<std::shared_ptr<FunctionEnvironment>> Start(const EnvironmentSpec& spec, int id);

  // What a command that brings back a snapshotted tree (criu restore) gets.
  struct RestoreContext {
    const NetworkNamespace* netns = nullptr;  // the new environment's; null without
    std::string cgroup_procs;                 // its cgroup; empty without
  };
  // The spawn of such a command: argv, environment and stdin (e.g. a
  // namespace's descriptor for the command to inherit).
  using RestoreCommand = std::function<Result<SpawnOptions>(const RestoreContext&)>;
  // Like Start, but the tree comes from `command` rather than from a launch:
  // a new Runtime API server (and network namespace) waits for it.
  static Result<std::shared_ptr<FunctionEnvironment>> StartRestored(const EnvironmentSpec& spec,
                                                                    int id,
                                                                    const RestoreCommand& command);
  ~FunctionEnvironment();  // Kill()
  FunctionEnvironment(const FunctionEnvironment&) = delete;
  FunctionEnvironment& operator=(const FunctionEnvironment&) = delete;

  RuntimeApiServer& server() { return *server_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  // Returns OK iff an environment of `spec` could be launched, as far as can
  // be told without starting one: the exec wrapper exists, and the launch's
  // configuration (ANYSNAP_RUNTIME, anysnap.json) is good. A bad one fails
  // every environment alike.
  static Status CheckLaunch(const EnvironmentSpec& spec);

  // Returns true iff the sandbox runs in namespaces of its own.
  bool isolated() const { return isolated_; }

  enum class InitEnd { kReady, kInitError, kExited, kTimedOut };
  // Waits until init ends: a next or restore/next arrived (kReady), the
  // runtime posted init/error, or it exited; kTimedOut after `patience`.
  InitEnd WaitForInitEnd(std::chrono::milliseconds patience);
  // Arrival of the first next or restore/next.
  std::optional<std::chrono::steady_clock::time_point> init_ended_at() const;

  bool alive() const { return !exited_.load(); }
  // How the tree's first process ended, once it has.
  std::optional<ExitStatus> exit_status() const;

  // cgroup v2 freeze of the whole tree; Unavailable without a cgroup.
  Status Freeze();
  Status Thaw();
  // Fails every waiting invocation with `error_type`/`message`, ends the
  // tree, and waits for the watcher. Idempotent.
  void Kill(std::string_view error_type = kExitErrorType,
            std::string_view message = "The execution environment was shut down");
  // Like Kill, but the runtime gets SIGTERM first and up to `grace` to end
  // on its own; what is left then is killed. A zero grace is Kill.
  void Terminate(std::chrono::milliseconds grace, std::string_view error_type,
                 std::string_view message);
  // The peak resident memory of the tree (sum of VmHWM), sampled while it lives.
  uint64_t PeakRss();
  // The pid of the first process (the sandbox init) and of the namespace's
  // init below it (itself without a PID namespace); -1 once gone.
  pid_t pid() const { return pid_; }
  pid_t namespace_init_pid() const;
  // The inode of the runtime's output pipe, as CRIU names it: pipe:[INODE].
  unsigned long output_pipe_inode() const;
  const NetworkNamespace& netns() const { return netns_; }

 private:
  FunctionEnvironment() = default;
  // Makes the server (in a new network namespace when spec.namespaces), the
  // cgroup and the output pipe.
  static Result<std::shared_ptr<FunctionEnvironment>> Prepare(const EnvironmentSpec& spec, int id);
  // Spawns the tree with its output on the pipe and starts the threads.
  Status Launch(SpawnOptions spawn);
  void Watch();
  void SamplePeakRss();

  std::unique_ptr<RuntimeApiServer> server_;
  NetworkNamespace netns_;
  std::optional<Cgroup> cgroup_;
  std::chrono::steady_clock::time_point started_;
  bool isolated_ = false;
  pid_t pid_ = -1;

  mutable std::mutex mu_;  // guards runtime_'s reaping against Kill's signal
  ChildProcess runtime_;
  std::optional<ExitStatus> exit_status_;
  std::atomic<bool> exited_{false};
  std::condition_variable exited_cv_;  // with mu_: exited_ became true
  std::atomic<bool> killing_{false};
  std::atomic<uint64_t> peak_rss_{0};
  std::mutex join_mu_;  // one Kill() joins the watcher
  std::thread watcher_;
  UniqueFd output_read_;
  int output_fd_ = 2;
  std::thread output_copier_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_FUNCTION_ENVIRONMENT_H_
