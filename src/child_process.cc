#include "anysnap/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "anysnap/unique_fd.h"

namespace anysnap {

namespace {

// The search path execvp(3) uses when PATH is unset.
constexpr const char* kDefaultPath = "/bin:/usr/bin";
// Descriptors the child's stdio are copied from are first duplicated to at
// least this number, so that the dup2 calls cannot clobber one another (say,
// stdout_fd = 2 and stderr_fd = 1).
constexpr int kFirstScratchFd = 10;

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// RAII for the two posix_spawn attribute objects.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnAttributes() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

Result<UniqueFd> ScratchCopy(int fd, const char* what) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstScratchFd);
  if (copy < 0) return PosixError(std::string("duplicate the child's ") + what, errno);
  return UniqueFd(copy);
}

// pidfd_open(2) when the kernel has it (Linux 5.3+), else an invalid fd.
UniqueFd OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  (void)pid;
  return UniqueFd();
#endif
}

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  ExitStatus s;
  if (WIFSIGNALED(wait_status)) {
    s.signal = WTERMSIG(wait_status);
  } else {
    s.code = WEXITSTATUS(wait_status);
  }
  return s;
}

std::string ExitStatus::Describe() const {
  if (signal == 0) return "exit status " + std::to_string(code);
  // Go's syscall.Signal.String() on Linux, which differs from strsignal(3)
  // in case ("CPU time limit exceeded", "I/O possible").
  static constexpr std::array<std::string_view, 32> kGoNames = {
      "",
      "hangup",
      "interrupt",
      "quit",
      "illegal instruction",
      "trace/breakpoint trap",
      "aborted",
      "bus error",
      "floating point exception",
      "killed",
      "user defined signal 1",
      "segmentation fault",
      "user defined signal 2",
      "broken pipe",
      "alarm clock",
      "terminated",
      "stack fault",
      "child exited",
      "continued",
      "stopped (signal)",
      "stopped",
      "stopped (tty input)",
      "stopped (tty output)",
      "urgent I/O condition",
      "CPU time limit exceeded",
      "file size limit exceeded",
      "virtual timer expired",
      "profiling timer expired",
      "window changed",
      "I/O possible",
      "power failure",
      "bad system call",
  };
  if (signal > 0 && static_cast<size_t>(signal) < kGoNames.size()) {
    return "signal: " + std::string(kGoNames[static_cast<size_t>(signal)]);
  }
  return "signal: signal " + std::to_string(signal);
}

std::string ExitStatus::RuntimeExitReason() const {
  if (success()) return "Runtime exited without providing a reason";
  return "Runtime exited with error: " + Describe();
}

std::optional<std::string> SearchPath(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  if (name.empty()) return std::nullopt;
  size_t start = 0;
  while (true) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string candidate = dir.empty() ? name : dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    if (colon == std::string::npos) return std::nullopt;
    start = colon + 1;
  }
}

Result<ChildProcess> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("spawn: empty argv");
  auto path_it = options.env.find("PATH");
  const std::string search_path = path_it != options.env.end() ? path_it->second : kDefaultPath;
  std::optional<std::string> program = SearchPath(options.argv[0], search_path);
  if (!program) {
    return Status::NotFound("exec " + options.argv[0] + ": not found on PATH " + search_path);
  }

  SpawnAttributes spawn;
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  ::posix_spawnattr_setflags(spawn.attr(), flags);
  ::posix_spawnattr_setpgroup(spawn.attr(), 0);  // a group of its own, led by the child
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(spawn.attr(), &none);
  // Every catchable signal back to its default: anysnap-local ignores SIGPIPE,
  // and a runtime must not inherit that.
  sigset_t all;
  sigemptyset(&all);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&all, sig);  // glibc-internal ones fail: fine
  }
  ::posix_spawnattr_setsigdefault(spawn.attr(), &all);

  // Scratch copies live until posix_spawn returns; they are close-on-exec, the
  // dup2 targets are not.
  UniqueFd in_copy, out_copy, err_copy;
  if (options.stdin_fd >= 0) {
    auto copy = ScratchCopy(options.stdin_fd, "stdin");
    if (!copy.ok()) return copy.status();
    in_copy = std::move(*copy);
    ::posix_spawn_file_actions_adddup2(spawn.actions(), in_copy.get(), STDIN_FILENO);
  } else {
    ::posix_spawn_file_actions_addopen(spawn.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  auto out = ScratchCopy(options.stdout_fd, "stdout");
  if (!out.ok()) return out.status();
  out_copy = std::move(*out);
  auto err = ScratchCopy(options.stderr_fd, "stderr");
  if (!err.ok()) return err.status();
  err_copy = std::move(*err);
  ::posix_spawn_file_actions_adddup2(spawn.actions(), out_copy.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(spawn.actions(), err_copy.get(), STDERR_FILENO);
  if (!options.cwd.empty()) {
    // Checked here too, so that a missing directory is not reported as a
    // failed exec.
    struct stat st {};
    if (::stat(options.cwd.c_str(), &st) != 0) return PosixError("chdir " + options.cwd, errno);
    ::posix_spawn_file_actions_addchdir_np(spawn.actions(), options.cwd.c_str());
  }

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ToEnvironStrings(options.env);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  // glibc's posix_spawn reports a failed chdir or exec as its return value.
  int rc = ::posix_spawn(&pid, program->c_str(), spawn.actions(), spawn.attr(), argv.data(),
                         envp.data());
  if (rc != 0) return PosixError("exec " + *program, rc);
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (running()) Kill();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) Kill();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ExitStatus ChildProcess::Reap() {
  ::kill(-pid_, SIGKILL);  // the rest of the group; ESRCH when there is none
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  ExitStatus s = ExitStatus::FromWaitStatus(raw);
  status_ = s;
  return s;
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (!running()) return status_;
  siginfo_t info{};
  // WNOWAIT leaves the zombie in place: Reap() kills the group while the id
  // is still held.
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || info.si_pid == 0) return std::nullopt;
  return Reap();
}

std::optional<ExitStatus> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  if (auto s = Poll()) return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  UniqueFd pidfd = OpenPidFd(pid_);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Poll();
    if (pidfd.valid()) {
      // The pidfd becomes readable when the child ends.
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
    }
    if (auto s = Poll()) return s;
  }
}

Status ChildProcess::Signal(int sig) {
  if (!running()) return Status::Ok();
  if (::kill(pid_, sig) != 0) return PosixError("kill " + std::to_string(pid_), errno);
  return Status::Ok();
}

ExitStatus ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(ExitStatus{});
  (void)Signal(SIGTERM);
  if (auto s = WaitFor(grace)) return *s;
  return Kill();
}

ExitStatus ChildProcess::Kill() {
  if (!running()) return status_.value_or(ExitStatus{});
  ::kill(-pid_, SIGKILL);
  return Reap();
}

}  // namespace anysnap
