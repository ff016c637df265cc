#include "runtime_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "anysnap/unique_fd.h"

namespace anysnap {

namespace {

// Everything the child needs, prepared before fork: after fork in a threaded
// process only async-signal-safe calls are allowed.
struct ExecPlan {
  std::vector<std::string> storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<std::string> candidates;  // paths to try, in PATH order
};

ExecPlan PlanExec(const std::vector<std::string>& argv, const EnvMap& env) {
  ExecPlan plan;
  plan.storage = ToEnvironStrings(env);
  for (auto& s : plan.storage) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  for (const auto& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  const std::string& file = argv[0];
  if (file.find('/') != std::string::npos) {
    plan.candidates.push_back(file);
  } else {
    auto path = env.find("PATH");
    std::string dirs = path != env.end() ? path->second : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    for (;;) {
      size_t colon = dirs.find(':', start);
      std::string dir =
          dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      plan.candidates.push_back((dir.empty() ? "." : dir) + "/" + file);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return plan;
}

}  // namespace

RuntimeProcess::~RuntimeProcess() {
  if (running()) {
    KillGroup();
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

Status RuntimeProcess::Start(const std::vector<std::string>& argv, const EnvMap& env,
                             ChildPreExec* pre_exec) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty runtime command");
  ExecPlan plan = PlanExec(argv, env);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError("pipe2", errno);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return PosixError("fork", errno);
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // The wrapper died before prctl.
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (pre_exec != nullptr) pre_exec->Run();
    int err = ENOENT;
    for (const auto& candidate : plan.candidates) {
      ::execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
      // Like execvp: remember EACCES, keep looking for another match.
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
      if (err != ENOENT && errno != EACCES) break;
    }
    ssize_t ignored = ::write(write_end.get(), &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  pid_ = pid;
  reaped_ = false;
  ::setpgid(pid, pid);  // Also from the parent: no race with Signal/KillGroup.
  write_end.Reset();
  int err = 0;
  ssize_t n;
  do {
    n = ::read(read_end.get(), &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    pid_ = -1;
    return PosixError("cannot run " + argv[0], err);
  }
  return Status::Ok();
}

void RuntimeProcess::Signal(int signo) {
  if (running()) ::kill(pid_, signo);
}

bool RuntimeProcess::TryReap(int* wait_status) {
  if (!running()) return false;
  pid_t r;
  do {
    r = ::waitpid(pid_, wait_status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    return true;
  }
  return false;
}

void RuntimeProcess::KillGroup() {
  if (pid_ > 0) ::kill(-pid_, SIGKILL);
}

int ShellExitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status))
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    return "was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "ended with wait status " + std::to_string(wait_status);
}

}  // namespace anysnap
