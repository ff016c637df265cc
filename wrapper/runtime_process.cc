#include "runtime_process.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "anysnap/unique_fd.h"

namespace anysnap {

namespace {

// Everything the child needs, prepared before it starts: it may make only
// async-signal-safe calls.
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

namespace {

// What the child of Start() gets; `error` is written back through the shared
// memory.
struct ChildArgs {
  const ExecPlan* plan;
  ChildPreExec* pre_exec;
  pid_t parent;
  int error;
};

// The child until exec. It runs on a stack of its own in the wrapper's memory,
// with every signal blocked: async-signal-safe calls only, and nothing
// written but `error`.
int ChildMain(void* p) {
  auto* args = static_cast<ChildArgs*>(p);
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != args->parent) ::_exit(127);  // The wrapper died before prctl.
  // Dispositions pass as they would to a direct exec (a signal the wrapper's
  // parent ignored stays ignored), except SIGPIPE, which the wrapper ignores
  // for itself. The wrapper installs no handlers (it takes signals with
  // sigwaitinfo), so none can run on its memory before exec; the mask opens
  // last (the runtime host starts with a clean one).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (args->pre_exec != nullptr) args->pre_exec->Run();
  int err = ENOENT;
  for (const auto& candidate : args->plan->candidates) {
    ::execve(candidate.c_str(), args->plan->argv.data(), args->plan->envp.data());
    // Like execvp: remember EACCES, keep looking for another match.
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
    if (err != ENOENT && errno != EACCES) break;
  }
  args->error = err;
  ::_exit(127);
}

// The child's stack: what the pre-exec hook and exec need, with room to spare.
constexpr size_t kChildStackBytes = 128 * 1024;

}  // namespace

Status RuntimeProcess::Start(const std::vector<std::string>& argv, const EnvMap& env,
                             ChildPreExec* pre_exec) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty runtime command");
  ExecPlan plan = PlanExec(argv, env);
  ChildArgs args{&plan, pre_exec, ::getpid(), 0};
  // Like posix_spawn: CLONE_VM | CLONE_VFORK borrows the wrapper's memory until
  // the child has exec'd (or given up), so no page tables are copied as a fork
  // would, and the exec's outcome comes back in `args`.
  std::unique_ptr<char[]> stack(new char[kChildStackBytes]);
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(&ChildMain, stack.get() + kChildStackBytes, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      &args);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return PosixError("clone", clone_errno);
  if (args.error != 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return PosixError("cannot run " + argv[0], args.error);
  }
  // The child has its own process group already: it was made before exec,
  // and the wrapper resumed only after exec.
  pid_ = pid;
  reaped_ = false;
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
