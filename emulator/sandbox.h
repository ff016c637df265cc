// The sandbox an execution environment's process tree runs in, as close to
// Lambda's as this machine permits:
//   - its own network namespace (only loopback, up), where the Runtime API is
//     at 127.0.0.1:9001 as on Lambda, and where two environments never clash;
//   - its own PID namespace, led by a small init (the sandbox init below) that
//     reaps orphans and passes SIGTERM on to the runtime: the tree CRIU needs;
//   - its own mount namespace with the function's code bound read-only at
//     /var/task and the layer at /opt, and a /proc of its own (or, for a tree
//     that CRIU checkpoints from inside that namespace, the host's /proc);
//   - a cgroup (cgroup.h), joined before anything runs, for freeze and kill.
// Without the privilege for namespaces (ProbeNamespaces says why), the tree
// runs in the host's namespaces: the code and layer keep their host paths and
// the Runtime API listens on a free loopback port.
//
// The sandbox init is anysnap-local itself, run as `anysnap-local
// sandbox-init [flags] -- ARGV...` (a hidden subcommand): the only way to set
// up namespaces between fork and exec when the parent has threads.
//
// Thread-safe: free functions; NetworkNamespace is thread-compatible.
#ifndef ANYSNAP_EMULATOR_SANDBOX_H_
#define ANYSNAP_EMULATOR_SANDBOX_H_

#include <functional>
#include <string>
#include <vector>

#include "anysnap/status.h"
#include "anysnap/unique_fd.h"

namespace anysnap {

// Where Lambda puts the function's code and the layers.
inline constexpr const char* kLambdaTaskRoot = "/var/task";
inline constexpr const char* kLambdaLayerRoot = "/opt";

// What the sandbox init does before it starts ARGV.
struct SandboxSpec {
  std::string cgroup_procs;  // a cgroup.procs file to join first; empty: none
  int netns_fd = -1;         // a network namespace to enter (inherited fd); -1: none
  // The mount namespace of this file (/proc/PID/ns/mnt) to enter; empty: none.
  std::string enter_mount_ns;
  bool pid_namespace = false;
  // A mount namespace of its own with task_root and layer_dir bound, and with
  // pid_namespace a /proc of the PID namespace's own unless host_proc.
  bool mount_namespace = false;
  bool host_proc = false;
  // io_uring_setup(2) fails with ENOSYS in the runtime (a seccomp filter):
  // criu cannot checkpoint an io_uring, and libuv (Node.js 22 and later)
  // makes some at start unless the kernel refuses; it then uses epoll.
  bool deny_io_uring = false;
  // Internal: the init started again inside the namespaces it made (see
  // RunSandboxInit), which are not to be made again.
  bool namespaces_made = false;
  std::string task_root;          // bound read-only at /var/task (mount namespace)
  std::string layer_dir;          // bound read-only at /opt (mount namespace); may be empty
  std::string cwd;                // the runtime's working directory
  std::vector<std::string> argv;  // the runtime; its environment is the init's own
};

// The command line that runs the sandbox init of `spec` (`self` is the
// anysnap-local binary).
std::vector<std::string> SandboxInitCommand(const std::string& self, const SandboxSpec& spec);

// The sandbox init itself, given its spec; returns only on failure (an exit
// status for main, after one line on stderr). With a PID namespace it forks:
// the outer process waits for the namespace's init and ends the way it does.
int RunSandboxInit(const SandboxSpec& spec);

// Returns OK iff this process may create network, PID and mount namespaces
// and bind-mount in them (tried in a short-lived child); else why not.
Status ProbeNamespaces();

// A network namespace of its own with loopback up, held by a descriptor.
class NetworkNamespace {
 public:
  static Result<NetworkNamespace> Create();
  NetworkNamespace() = default;

  // The namespace's descriptor (close-on-exec; children get a copy by dup).
  int fd() const { return fd_.get(); }
  // Runs `fn` on a short-lived thread that has entered the namespace: a
  // socket made there belongs to it for good.
  Status RunInside(const std::function<Status()>& fn) const;
  // The inode of the namespace, as CRIU names it: net[INODE].
  unsigned long inode() const;

 private:
  UniqueFd fd_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_SANDBOX_H_
