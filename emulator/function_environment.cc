#include "function_environment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "process_tree.h"

namespace anysnap {

namespace {

using namespace std::chrono_literals;

// Lambda's Runtime API address, used inside a network namespace of its own.
const HostPort kLambdaRuntimeApi{"127.0.0.1", 9001};

// Maps a path as the sandbox sees it (/var/task/..., /opt/...) to the host.
std::string HostPath(const std::string& path, const FunctionSettings& host) {
  auto under = [&](std::string_view root) {
    return path.compare(0, root.size(), root) == 0 &&
           (path.size() == root.size() || path[root.size()] == '/');
  };
  if (under(kLambdaTaskRoot)) return host.task_root + path.substr(std::strlen(kLambdaTaskRoot));
  if (!host.layer_dir.empty() && under(kLambdaLayerRoot)) {
    return host.layer_dir + path.substr(std::strlen(kLambdaLayerRoot));
  }
  return path;
}

// The launch as the sandbox sees it: under a mount namespace the code is at
// /var/task and the layer (with the wrapper in it) at /opt; anysnap.json is
// read from the host all the same.
Result<LaunchPlan> PlanSandboxLaunch(const EnvironmentSpec& spec, const HostPort& runtime_api) {
  FunctionSettings seen = spec.function;
  std::string wrapper = spec.exec_wrapper;
  if (spec.namespaces) {
    seen.task_root = kLambdaTaskRoot;
    if (!seen.layer_dir.empty()) {
      seen.layer_dir = kLambdaLayerRoot;
      const std::string& host_layer = spec.function.layer_dir;
      if (wrapper.compare(0, host_layer.size() + 1, host_layer + "/") == 0) {
        wrapper = std::string(kLambdaLayerRoot) + wrapper.substr(host_layer.size());
      }
    }
  }
  return PlanLaunch(
      seen, runtime_api, wrapper,
      [&](const std::string& path) { return ReadWholeFile(HostPath(path, spec.function)); },
      [&](const std::string& path) { return FileExists(HostPath(path, spec.function)); });
}

// OK iff the program `plan` starts is an executable file, looked for as the
// sandbox's exec looks for it (on the plan's PATH, from its working folder);
// else the exec's error.
Status CheckEntrypoint(const LaunchPlan& plan, const FunctionSettings& host) {
  // errno of access(2) on `path` as the sandbox sees it; 0 when executable.
  auto executable = [&](std::string path) {
    if (!path.empty() && path[0] != '/') path = plan.cwd + "/" + path;
    std::string on_host = HostPath(path, host);
    if (::access(on_host.c_str(), X_OK) != 0) return errno;
    return std::filesystem::is_directory(on_host) ? EACCES : 0;
  };
  const std::string& program = plan.argv.at(0);
  if (program.find('/') != std::string::npos) {
    int err = executable(program);
    return err == 0 ? Status::Ok() : PosixError("exec " + program, err);
  }
  auto path = plan.env.find("PATH");
  const std::string dirs = path == plan.env.end() ? std::string() : path->second;
  for (size_t start = 0;;) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    if (executable((dir.empty() ? "." : dir) + "/" + program) == 0) return Status::Ok();
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return Status::NotFound("exec " + program + ": not found on PATH " + dirs);
}

}  // namespace

Result<std::shared_ptr<FunctionEnvironment>> FunctionEnvironment::Prepare(
    const EnvironmentSpec& spec, int id) {
  std::shared_ptr<FunctionEnvironment> env(new FunctionEnvironment());
  env->output_fd_ = spec.output_fd;
  env->isolated_ = spec.namespaces;
  const bool snap_start = spec.function.initialization_type == "snap-start";

  RuntimeApiServer::Options options;
  options.snap_start = snap_start;
  options.auto_restore = !snap_start;
  options.max_concurrency = spec.max_concurrency;
  options.function_arn = spec.function_arn;
  env->server_ = std::make_unique<RuntimeApiServer>(options);
  if (spec.namespaces) {
    auto netns = NetworkNamespace::Create();
    if (!netns.ok()) return netns.status();
    env->netns_ = std::move(*netns);
    ANYSNAP_RETURN_IF_ERROR(
        env->netns_.RunInside([&] { return env->server_->Start(kLambdaRuntimeApi); })
            .WithContext("start the Runtime API server"));
  } else {
    ANYSNAP_RETURN_IF_ERROR(
        env->server_->Start(HostPort{"127.0.0.1", 0}).WithContext("start the Runtime API server"));
  }
  if (!spec.cgroup_parent.empty()) {
    auto cgroup = Cgroup::Create(spec.cgroup_parent, "env-" + std::to_string(id));
    if (!cgroup.ok()) return cgroup.status();
    env->cgroup_ = std::move(*cgroup);
  }
  return env;
}

Status FunctionEnvironment::Launch(SpawnOptions spawn) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return PosixError("pipe", errno);
  output_read_.Reset(pipe_fds[0]);
  UniqueFd output_write(pipe_fds[1]);
  spawn.stdout_fd = output_write.get();
  spawn.stderr_fd = output_write.get();
  started_ = std::chrono::steady_clock::now();
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok()) return child.status();
  output_write.Reset();
  pid_ = child->pid();
  runtime_ = std::move(*child);
  output_copier_ = std::thread([this] {
    char buf[16 * 1024];
    for (;;) {
      ssize_t n = ::read(output_read_.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      // write(2), not SendAll: the output may be a pipe, a file or a terminal.
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(output_fd_, buf + done, static_cast<size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;  // nobody reads: the function's output is dropped
        done += w;
      }
    }
  });
  watcher_ = std::thread([this] { Watch(); });
  return Status::Ok();
}

Result<std::shared_ptr<FunctionEnvironment>> FunctionEnvironment::Start(const EnvironmentSpec& spec,
                                                                        int id) {
  // Checked before anything is made: a runtime that cannot be started is
  // Lambda's Runtime.InvalidEntrypoint, not a runtime that exited.
  auto planned = PlanSandboxLaunch(spec, kLambdaRuntimeApi);
  if (!planned.ok()) return planned.status();
  ANYSNAP_RETURN_IF_ERROR(CheckEntrypoint(*planned, spec.function));

  auto prepared = Prepare(spec, id);
  if (!prepared.ok()) return prepared.status();
  std::shared_ptr<FunctionEnvironment> env = std::move(*prepared);
  auto plan = PlanSandboxLaunch(spec, env->server_->address());
  if (!plan.ok()) return plan.status();

  SandboxSpec sandbox;
  if (env->cgroup_) sandbox.cgroup_procs = env->cgroup_->procs_file();
  if (spec.namespaces) {
    sandbox.netns_fd = env->netns_.fd();
    sandbox.pid_namespace = true;
    sandbox.mount_namespace = true;
    sandbox.host_proc = spec.host_proc;
    sandbox.deny_io_uring = spec.deny_io_uring;
    sandbox.task_root = spec.function.task_root;
    sandbox.layer_dir = spec.function.layer_dir;
  }
  sandbox.cwd = plan->cwd;
  sandbox.argv = std::move(plan->argv);

  SpawnOptions spawn;
  spawn.argv = SandboxInitCommand(spec.self_exe, sandbox);
  spawn.env = std::move(plan->env);
  ANYSNAP_RETURN_IF_ERROR(env->Launch(std::move(spawn)));
  return env;
}

Status FunctionEnvironment::CheckLaunch(const EnvironmentSpec& spec) {
  if (!spec.exec_wrapper.empty() && !FileExists(spec.exec_wrapper)) {
    return Status::NotFound("the exec wrapper " + spec.exec_wrapper + " does not exist");
  }
  return PlanSandboxLaunch(spec, kLambdaRuntimeApi).status();
}

Result<std::shared_ptr<FunctionEnvironment>> FunctionEnvironment::StartRestored(
    const EnvironmentSpec& spec, int id, const RestoreCommand& command) {
  auto prepared = Prepare(spec, id);
  if (!prepared.ok()) return prepared.status();
  std::shared_ptr<FunctionEnvironment> env = std::move(*prepared);
  RestoreContext context;
  if (spec.namespaces) context.netns = &env->netns_;
  if (env->cgroup_) context.cgroup_procs = env->cgroup_->procs_file();
  auto spawn = command(context);
  if (!spawn.ok()) return spawn.status();
  ANYSNAP_RETURN_IF_ERROR(env->Launch(std::move(*spawn)));
  return env;
}

pid_t FunctionEnvironment::namespace_init_pid() const {
  if (!isolated_) return pid_;
  auto children = ReadWholeFile("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) +
                                "/children");
  if (!children.ok()) return -1;
  pid_t pid = -1;
  std::sscanf(children->c_str(), "%d", &pid);
  return pid;
}

unsigned long FunctionEnvironment::output_pipe_inode() const {
  struct stat st {};
  if (::fstat(output_read_.get(), &st) != 0) return 0;
  return static_cast<unsigned long>(st.st_ino);
}

FunctionEnvironment::~FunctionEnvironment() {
  Kill();
  server_->Stop();
  if (output_copier_.joinable()) output_copier_.join();
}

void FunctionEnvironment::Watch() {
  for (int round = 0;; ++round) {
    // Sampled while the tree lives: a tree that died leaves no VmHWM behind.
    if (round % 4 == 0) SamplePeakRss();
    std::optional<ExitStatus> exit;
    {
      std::lock_guard<std::mutex> lock(mu_);
      exit = runtime_.WaitFor(50ms);
      if (exit) {
        exit_status_ = exit;
        exited_ = true;
      }
    }
    if (exit) exited_cv_.notify_all();
    if (exit) {
      if (!killing_) {
        server_->Abandon(kExitErrorType, exit->success()
                                             ? "Runtime exited without providing a reason"
                                             : "Runtime exited with error: " + exit->Describe());
      }
      // What the runtime left behind goes with it, as on Lambda.
      if (cgroup_) (void)cgroup_->Kill();
      return;
    }
  }
}

FunctionEnvironment::InitEnd FunctionEnvironment::WaitForInitEnd(
    std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    if (init_ended_at()) return InitEnd::kReady;
    if (server_->init_error()) return InitEnd::kInitError;
    if (!alive()) return InitEnd::kExited;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return InitEnd::kTimedOut;
    auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, 50ms);
    server_->WaitFor(
        [](const std::vector<RuntimeApiCall>& calls) {
          for (const RuntimeApiCall& c : calls) {
            RuntimeEndpoint e = ClassifyRuntimeTarget(c.path).endpoint;
            if (e == RuntimeEndpoint::kNext || e == RuntimeEndpoint::kRestoreNext ||
                e == RuntimeEndpoint::kInitError)
              return true;
          }
          return false;
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(slice));
  }
}

std::optional<std::chrono::steady_clock::time_point> FunctionEnvironment::init_ended_at() const {
  for (const RuntimeApiCall& c : server_->calls()) {
    RuntimeEndpoint e = ClassifyRuntimeTarget(c.path).endpoint;
    if (c.method == "GET" && (e == RuntimeEndpoint::kNext || e == RuntimeEndpoint::kRestoreNext))
      return c.received;
  }
  return std::nullopt;
}

std::optional<ExitStatus> FunctionEnvironment::exit_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exit_status_;
}

Status FunctionEnvironment::Freeze() {
  if (!cgroup_) return Status::Unavailable("no cgroup v2 to freeze the environment with");
  return cgroup_->Freeze();
}

Status FunctionEnvironment::Thaw() {
  if (!cgroup_) return Status::Unavailable("no cgroup v2 to thaw the environment with");
  return cgroup_->Thaw();
}

void FunctionEnvironment::Kill(std::string_view error_type, std::string_view message) {
  if (!killing_.exchange(true)) {
    server_->Abandon(error_type, message);
    if (cgroup_) (void)cgroup_->Kill();
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Not yet reaped, so the group id is still this tree's.
      if (!exit_status_ && pid_ > 0) ::kill(-pid_, SIGKILL);
    }
  }
  std::lock_guard<std::mutex> lock(join_mu_);
  if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
}

void FunctionEnvironment::Terminate(std::chrono::milliseconds grace, std::string_view error_type,
                                    std::string_view message) {
  if (grace.count() > 0 && !killing_) {
    // Failed first, so that the runtime's end is not taken for an exit.
    server_->Abandon(error_type, message);
    std::unique_lock<std::mutex> lock(mu_);
    // Not yet reaped, so the pid is still this tree's. The sandbox init
    // passes the signal on to the runtime.
    if (!exit_status_ && pid_ > 0) ::kill(pid_, SIGTERM);
    exited_cv_.wait_for(lock, grace, [&] { return exited_.load(); });
  }
  Kill(error_type, message);
}

void FunctionEnvironment::SamplePeakRss() {
  if (!alive() || pid_ <= 0) return;
  uint64_t now = ProcessTreePeakRss(pid_);
  uint64_t seen = peak_rss_.load();
  while (now > seen && !peak_rss_.compare_exchange_weak(seen, now)) {
  }
}

uint64_t FunctionEnvironment::PeakRss() {
  SamplePeakRss();
  return peak_rss_.load();
}

}  // namespace anysnap
