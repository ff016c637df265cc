#include "sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace anysnap {

namespace {

// The runtime's pid, for the signal handlers of the two init processes.
volatile sig_atomic_t g_forward_to = 0;

extern "C" void ForwardSignal(int sig) {
  if (g_forward_to > 0) ::kill(static_cast<pid_t>(g_forward_to), sig);
}

void InstallForwarding(pid_t to) {
  g_forward_to = to;
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &sa, nullptr);
}

int Fail(const std::string& what, int err, int status = 70) {
  std::string line = "anysnap-local sandbox-init: " + what;
  if (err != 0) line += std::string(": ") + std::strerror(err);
  line += "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  return status;
}

// Ends this process the way a child with wait status `raw` ended.
[[noreturn]] void Mirror(int raw) {
  if (WIFSIGNALED(raw)) {
    int sig = WTERMSIG(raw);
    ::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(sig);
    ::_exit(128 + sig);
  }
  ::_exit(WEXITSTATUS(raw));
}

// A seccomp filter under which io_uring_setup(2) fails with ENOSYS, as on a
// kernel without io_uring; every other call is allowed. Kept across exec and
// by children, and checkpointed with the tree by criu.
Status DenyIoUring() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Status::Internal("seccomp_init failed");
  int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
  if (rc == 0) rc = ::seccomp_load(ctx);
  ::seccomp_release(ctx);
  if (rc != 0) return PosixError("deny io_uring_setup (seccomp)", -rc);
  return Status::Ok();
}

[[noreturn]] void ExecRuntime(const SandboxSpec& spec) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
    ::_exit(Fail("chdir " + spec.cwd, errno, 1));
  }
  if (spec.deny_io_uring) {
    Status denied = DenyIoUring();
    if (!denied.ok()) ::_exit(Fail(denied.message(), 0, 1));
  }
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  int err = errno;
  ::_exit(Fail("exec " + spec.argv[0], err, err == ENOENT ? 127 : 126));
}

Status BindReadOnly(const std::string& from, const char* to) {
  if (::mkdir(to, 0755) != 0 && errno != EEXIST)
    return PosixError(std::string("mkdir ") + to, errno);
  if (::mount(from.c_str(), to, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return PosixError("bind " + from + " at " + to, errno);
  }
  if (::mount(nullptr, to, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    return PosixError(std::string("make ") + to + " read-only", errno);
  }
  return Status::Ok();
}

// In a new mount namespace: keeps what happens here from the host, binds the
// code and the layer, and (`own_proc`) mounts the PID namespace's /proc.
Status SetUpMounts(const SandboxSpec& spec, bool own_proc) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return PosixError("make / private", errno);
  }
  ANYSNAP_RETURN_IF_ERROR(BindReadOnly(spec.task_root, kLambdaTaskRoot));
  if (!spec.layer_dir.empty())
    ANYSNAP_RETURN_IF_ERROR(BindReadOnly(spec.layer_dir, kLambdaLayerRoot));
  if (own_proc &&
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return PosixError("mount /proc", errno);
  }
  return Status::Ok();
}

// PID 1 of the namespace: sets up the mounts, starts the runtime, reaps every
// orphan, and reports the runtime's wait status on `status_fd`.
[[noreturn]] void InnerInit(const SandboxSpec& spec, int status_fd) {
  // The outer process is outside the namespace (getppid() says 0): when it
  // dies this init dies, and the namespace with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::setsid();
  if (spec.mount_namespace && !spec.namespaces_made) {
    Status s = SetUpMounts(spec, /*own_proc=*/!spec.host_proc);
    if (!s.ok()) ::_exit(Fail(s.message(), 0));
  }
  pid_t runtime = ::fork();
  if (runtime < 0) ::_exit(Fail("fork", errno));
  if (runtime == 0) {
    ::close(status_fd);
    ExecRuntime(spec);
  }
  InstallForwarding(runtime);
  for (;;) {
    int raw = 0;
    pid_t done = ::waitpid(-1, &raw, 0);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) ::_exit(Fail("waitpid", errno));
    if (done == runtime) {
      (void)!::write(status_fd, &raw, sizeof(raw));
      // Leaving ends every other process of the namespace.
      ::_exit(0);
    }
  }
}

}  // namespace

std::vector<std::string> SandboxInitCommand(const std::string& self, const SandboxSpec& spec) {
  std::vector<std::string> cmd{self, "sandbox-init"};
  if (!spec.cgroup_procs.empty()) cmd.insert(cmd.end(), {"--cgroup-procs", spec.cgroup_procs});
  if (spec.netns_fd >= 0) {
    // By path: the fd stays close-on-exec here, so no other child gets it.
    cmd.insert(cmd.end(), {"--netns", "/proc/" + std::to_string(::getpid()) + "/fd/" +
                                          std::to_string(spec.netns_fd)});
  }
  if (!spec.enter_mount_ns.empty())
    cmd.insert(cmd.end(), {"--enter-mount-ns", spec.enter_mount_ns});
  if (spec.pid_namespace) cmd.push_back("--pid-ns");
  if (spec.mount_namespace) {
    cmd.insert(cmd.end(), {"--mount-ns", "--task-root", spec.task_root});
    if (!spec.layer_dir.empty()) cmd.insert(cmd.end(), {"--layer", spec.layer_dir});
    if (spec.host_proc) cmd.push_back("--host-proc");
  }
  if (spec.deny_io_uring) cmd.push_back("--deny-io-uring");
  if (spec.namespaces_made) cmd.push_back("--namespaces-made");
  if (!spec.cwd.empty()) cmd.insert(cmd.end(), {"--cwd", spec.cwd});
  cmd.push_back("--");
  cmd.insert(cmd.end(), spec.argv.begin(), spec.argv.end());
  return cmd;
}

int RunSandboxInit(const SandboxSpec& spec) {
  if (spec.argv.empty()) return Fail("no command to run", 0, 2);
  if (!spec.cgroup_procs.empty()) {
    int fd = ::open(spec.cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) return Fail("join " + spec.cgroup_procs, errno);
    ::close(fd);
  }
  if (spec.netns_fd >= 0 && ::setns(spec.netns_fd, CLONE_NEWNET) != 0) {
    return Fail("enter the network namespace", errno);
  }
  if (spec.netns_fd >= 0) ::close(spec.netns_fd);
  if (!spec.enter_mount_ns.empty()) {
    int fd = ::open(spec.enter_mount_ns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNS) != 0) {
      return Fail("enter the mount namespace " + spec.enter_mount_ns, errno);
    }
    ::close(fd);
  }
  // A Lambda environment starts with stdin, stdout and stderr only: whatever
  // anysnap-local itself inherited (a test runner's log, a terminal's extra
  // descriptors) stays out of it, and out of a checkpoint.
  ::close_range(3, ~0U, 0);
  if (!spec.pid_namespace) {
    // A mount namespace without a PID namespace: for a command (criu restore)
    // whose processes find the code and the layer where the sandbox has them.
    if (spec.mount_namespace) {
      if (::unshare(CLONE_NEWNS) != 0) return Fail("unshare a mount namespace", errno);
      Status s = SetUpMounts(spec, /*own_proc=*/false);
      if (!s.ok()) return Fail(s.message(), 0);
    }
    ExecRuntime(spec);
  }

  if (!spec.namespaces_made) {
    int flags = CLONE_NEWPID | (spec.mount_namespace ? CLONE_NEWNS : 0);
    if (::unshare(flags) != 0) return Fail("unshare", errno);
    if (spec.mount_namespace && spec.host_proc) {
      // criu dumps this tree from inside its mount namespace, where a file
      // mapped through a mount of the host's (as this program is, and the
      // init forked from it would be) cannot be found. So this program
      // starts again from in here, its namespaces made: the PID namespace
      // for children stays across an exec.
      Status s = SetUpMounts(spec, /*own_proc=*/false);
      if (!s.ok()) return Fail(s.message(), 0);
      SandboxSpec again = spec;
      again.cgroup_procs.clear();
      again.netns_fd = -1;
      again.enter_mount_ns.clear();
      again.namespaces_made = true;
      // Likewise stdin, /dev/null, is opened again from in here.
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0) return Fail("open /dev/null", errno);
      if (null_fd != STDIN_FILENO) ::close(null_fd);
      // By its path, looked up in here: /proc/self/exe would lead to the
      // host's mount again.
      char self[PATH_MAX] = {};
      if (::readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0) {
        return Fail("readlink /proc/self/exe", errno);
      }
      std::vector<std::string> args = SandboxInitCommand(self, again);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self, argv.data());
      return Fail(std::string("exec ") + self, errno);
    }
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return Fail("pipe", errno);
  pid_t init = ::fork();
  if (init < 0) return Fail("fork", errno);
  if (init == 0) {
    ::close(status_pipe[0]);
    InnerInit(spec, status_pipe[1]);
  }
  ::close(status_pipe[1]);
  InstallForwarding(init);
  int raw = 0;
  while (::waitpid(init, &raw, 0) < 0) {
    if (errno != EINTR) return Fail("waitpid", errno);
  }
  int runtime_raw = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &runtime_raw, sizeof(runtime_raw));
  } while (n < 0 && errno == EINTR);
  Mirror(n == sizeof(runtime_raw) ? runtime_raw : raw);
}

Status ProbeNamespaces() {
  pid_t pid = ::fork();
  if (pid < 0) return PosixError("fork", errno);
  if (pid == 0) {
    int step = 1;
    if (::unshare(CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS) == 0) {
      step = 2;
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) ::_exit(0);
    }
    ::_exit(step * 100 + (errno & 0x3f));
  }
  int raw = 0;
  while (::waitpid(pid, &raw, 0) < 0) {
    if (errno != EINTR) return PosixError("waitpid", errno);
  }
  if (WIFEXITED(raw) && WEXITSTATUS(raw) == 0) return Status::Ok();
  int code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 0;
  int err = code % 100;
  return PosixError(code >= 200 ? "mount --make-rprivate / in a new mount namespace"
                                : "unshare network, PID and mount namespaces",
                    err);
}

Result<NetworkNamespace> NetworkNamespace::Create() {
  NetworkNamespace ns;
  Status status;
  // unshare(CLONE_NEWNET) moves only the calling thread: a thread of its own
  // does it, and ends there.
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      status = PosixError("unshare a network namespace", errno);
      return;
    }
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (!sock.valid() || ::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) {
      status = PosixError("read the flags of lo", errno);
      return;
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) {
      status = PosixError("bring lo up", errno);
      return;
    }
    ns.fd_.Reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!ns.fd_.valid()) status = PosixError("open /proc/thread-self/ns/net", errno);
  }).join();
  if (!status.ok()) return status;
  return ns;
}

Status NetworkNamespace::RunInside(const std::function<Status()>& fn) const {
  Status status;
  std::thread([&] {
    if (::setns(fd_.get(), CLONE_NEWNET) != 0) {
      status = PosixError("enter the network namespace", errno);
      return;
    }
    status = fn();
  }).join();
  return status;
}

unsigned long NetworkNamespace::inode() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return 0;
  return static_cast<unsigned long>(st.st_ino);
}

}  // namespace anysnap
