#include "runtime_process.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
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

// What the child of Start() gets. `error` (exec's errno) is on a shared page,
// so that it comes back whether or not the child shares the wrapper's memory.
struct ChildArgs {
  const ExecPlan* plan;
  ChildPreExec* pre_exec;
  pid_t parent;
  int* error;
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
  *args->error = err;
  ::_exit(127);
}

// The child's stack: what the pre-exec hook and exec need, with room to spare.
constexpr size_t kChildStackBytes = 128 * 1024;

// ThreadSanitizer keeps its state in the process's memory: a child that shares
// it (CLONE_VM) and runs instrumented code corrupts it, and the wrapper is then
// taken for a forked child. Under it the child gets a copy, as with fork.
#if defined(__SANITIZE_THREAD__)
constexpr int kShareMemory = 0;
#else
constexpr int kShareMemory = CLONE_VM;
#endif

}  // namespace

Status RuntimeProcess::Start(const std::vector<std::string>& argv, const EnvMap& env,
                             ChildPreExec* pre_exec) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty runtime command");
  ExecPlan plan = PlanExec(argv, env);
  void* page =
      ::mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return PosixError("mmap", errno);
  int* error = static_cast<int*>(page);
  *error = 0;
  ChildArgs args{&plan, pre_exec, ::getpid(), error};
  // Like posix_spawn: CLONE_VM | CLONE_VFORK borrows the wrapper's memory until
  // the child has exec'd (or given up), so no page tables are copied as a fork
  // would.
  std::unique_ptr<char[]> stack(new char[kChildStackBytes]);
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(&ChildMain, stack.get() + kChildStackBytes,
                      kShareMemory | CLONE_VFORK | SIGCHLD, &args);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  const int exec_errno = *error;
  ::munmap(page, sizeof(int));
  if (pid < 0) return PosixError("clone", clone_errno);
  if (exec_errno != 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return PosixError("cannot run " + argv[0], exec_errno);
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
