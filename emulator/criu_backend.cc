// The criu snapshot backend (snapshot_backend.h): `criu dump` of the
// environment's PID namespace once init has ended, then one `criu restore`
// of that image per restore, each into a fresh network namespace where a new
// Runtime API server listens at the address the image was made against.
#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "anysnap/child_process.h"
#include "anysnap/environment.h"
#include "anysnap/unique_fd.h"
#include "snapshot_backend.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The label the dumped tree's (external) network namespace goes by.
constexpr const char* kNetLabel = "anysnap-net";

// Runs `what` (a criu command, perhaps started through the sandbox init) to
// its end; its output goes to `log`.
Status RunCriu(const std::string& what, std::vector<std::string> argv, const std::string& log,
               const EnvMap& env) {
  SpawnOptions spawn;
  spawn.argv = std::move(argv);
  spawn.env = env;
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok()) return child.status();
  auto exit = child->WaitFor(std::chrono::minutes(10));
  if (!exit) {
    child->Kill();
    return Status::TimedOut(what + " took over 10 minutes");
  }
  if (!exit->success()) {
    return Status::Internal(what + " failed (" + exit->Describe() + "); see " + log);
  }
  return Status::Ok();
}

// Detaches every mount under `dir`, deepest first. criu mounts a cgroup
// "yard" (a tmpfs with one cgroup hierarchy per controller) inside the image
// folder and, in the host's mount namespace, does not always take it down.
void UnmountUnder(const std::string& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::vector<std::string> under;
  const std::string prefix = dir + "/";
  for (std::string line; std::getline(mountinfo, line);) {
    // "ID PARENT MAJ:MIN ROOT MOUNT-POINT ...": the fifth field.
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (fields >> id >> parent >> device >> root >> point && point.rfind(prefix, 0) == 0) {
      under.push_back(point);
    }
  }
  std::sort(under.begin(), under.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& point : under) ::umount2(point.c_str(), MNT_DETACH);
}

// Removes the tree at `root`, never crossing into another filesystem: a criu
// killed halfway leaves its cgroup "yard" mounted inside the image folder, and
// removing what is under a cgroup mount would remove the machine's cgroups.
// What sits on another filesystem stays, with the folders above it.
void RemoveWithinFilesystem(const std::string& root) {
  ::nftw(
      root.c_str(),
      [](const char* path, const struct stat*, int type, FTW*) {
        if (type == FTW_DP) {
          ::rmdir(path);
        } else if (type == FTW_F || type == FTW_SL || type == FTW_SLN) {
          ::unlink(path);
        }
        return 0;  // go on whatever failed: remove as much as can be
      },
      16, FTW_DEPTH | FTW_MOUNT | FTW_PHYS);
}

class CriuBackend final : public SnapshotBackend {
 public:
  CriuBackend(EnvironmentFactory factory, EnvironmentSpec spec, CriuSettings settings,
              std::chrono::milliseconds init_limit)
      : factory_(std::move(factory)),
        spec_(std::move(spec)),
        settings_(std::move(settings)),
        init_limit_(init_limit) {
    host_env_["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  }
  // The image (the whole tree's memory: tens to hundreds of MB) goes with the
  // backend, unless a criu command failed: then it stays, with the logs the
  // error named.
  ~CriuBackend() override {
    if (settings_.image_dir.empty()) return;
    UnmountUnder(settings_.image_dir);
    if (!keep_image_) RemoveWithinFilesystem(settings_.image_dir);
  }

  SnapshotKind kind() const override { return SnapshotKind::kCriu; }
  std::string_view caveat() const override {
    return "criu backend: one checkpoint of the whole process tree, restored into a fresh "
           "process tree for each restore";
  }

  Result<SnapshotTaken> TakeSnapshot(InitFailure* failure) override {
    std::error_code ec;
    std::filesystem::create_directories(settings_.image_dir, ec);
    if (ec) return Status::IoError("mkdir " + settings_.image_dir + ": " + ec.message());
    SnapshotTaken taken;
    auto env = InitToSnapshotPoint(factory_, init_limit_, failure, &taken);
    if (!env.ok()) return env.status();
    pid_t root = (*env)->namespace_init_pid();
    if (root <= 0) return Status::Internal("the environment's PID namespace init is gone");
    output_inode_ = (*env)->output_pipe_inode();
    Clock::time_point t0 = Clock::now();
    const std::string log = settings_.image_dir + "/dump.log";
    // criu runs inside the tree's mount namespace: one that is criu's own is
    // not dumped, so the binds at /var/task and /opt are not its business,
    // and every path it records is the sandbox's. The restore makes the same
    // binds in a new namespace before criu runs there.
    SandboxSpec in_tree;
    in_tree.enter_mount_ns = "/proc/" + std::to_string((*env)->pid()) + "/ns/mnt";
    in_tree.argv = {settings_.criu, "dump", "-t", std::to_string(root), "-D", settings_.image_dir,
                    "-o", log, "-v2", "--tcp-established",
                    // The environment's network namespace is its own and the tree is
                    // frozen while it is dumped: nothing to lock (and no iptables needed).
                    "--network-lock", "skip", "--external",
                    "net[" + std::to_string((*env)->netns().inode()) + "]:" + kNetLabel,
                    // The environment's cgroup is anysnap-local's business (see Restore).
                    "--manage-cgroups=ignore"};
    Status dumped = RunCriu(settings_.criu + " dump", SandboxInitCommand(spec_.self_exe, in_tree),
                            log, host_env_);
    taken.snapshot_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    (*env)->Kill();  // the dump ended the tree; this ends the rest
    if (!dumped.ok()) {
      keep_image_ = true;
      return dumped;
    }
    return taken;
  }

  Result<RestoredEnvironment> Restore(InitFailure*) override {
    RestoredEnvironment restored;
    restored.restore_started = Clock::now();
    const std::string log =
        settings_.image_dir + "/restore-" + std::to_string(++restores_) + ".log";
    // criu writes the restored tree's root pid here once the restore worked.
    const std::string pidfile =
        settings_.image_dir + "/restore-" + std::to_string(restores_) + ".pid";
    auto command = [&](const FunctionEnvironment::RestoreContext& context) -> Result<SpawnOptions> {
      if (context.netns == nullptr) {
        return Status::Unavailable("criu restores need a network namespace per environment");
      }
      // Joins the cgroup and makes the mount namespace, then becomes criu.
      SandboxSpec sandbox;
      sandbox.cgroup_procs = context.cgroup_procs;
      sandbox.mount_namespace = true;
      sandbox.task_root = spec_.function.task_root;
      sandbox.layer_dir = spec_.function.layer_dir;
      sandbox.argv = {settings_.criu, "restore", "-D", settings_.image_dir, "-o", log, "-v2",
                      "--pidfile", pidfile, "--tcp-established",
                      // criu's stdout (the new output pipe) replaces the dumped one.
                      "--inherit-fd", "fd[1]:pipe:[" + std::to_string(output_inode_) + "]",
                      // criu's stdin is the new network namespace.
                      "--inherit-fd", std::string("fd[0]:") + kNetLabel,
                      // The restored tree stays in the cgroup criu runs in, this
                      // environment's, rather than in one criu would make again
                      // where the dumped tree was (and leave behind).
                      "--manage-cgroups=ignore"};
      SpawnOptions spawn;
      spawn.argv = SandboxInitCommand(spec_.self_exe, sandbox);
      spawn.env = host_env_;
      spawn.stdin_fd = context.netns->fd();
      return spawn;
    };
    auto env = FunctionEnvironment::StartRestored(spec_, 1000 + restores_, command);
    if (!env.ok()) return env.status();
    // Restored when the tree talks to its new server again, or has died.
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline && (*env)->alive() && (*env)->server().calls().empty()) {
      (*env)->server().WaitFor([](const auto& calls) { return !calls.empty(); }, 50ms);
    }
    if (!(*env)->alive()) {
      keep_image_ = true;
      const std::string how = (*env)->exit_status().value_or(ExitStatus{}).Describe();
      // criu waits for the tree it restored and ends as it did: with its
      // pidfile written, the restore worked and the function's process ended
      // before it called the Runtime API again.
      std::error_code ec;
      if (std::filesystem::exists(pidfile, ec)) {
        return Status::Internal("the restored process tree ended (" + how +
                                ") before it called the Runtime API; criu's log: " + log);
      }
      return Status::Internal("criu restore failed (" + how + "); see " + log);
    }
    restored.resumed = Clock::now();
    restored.env = std::move(*env);
    return restored;
  }

 private:
  const EnvironmentFactory factory_;
  const EnvironmentSpec spec_;
  const CriuSettings settings_;
  const std::chrono::milliseconds init_limit_;
  EnvMap host_env_;
  unsigned long output_inode_ = 0;
  int restores_ = 0;
  bool keep_image_ = false;  // a criu command failed: its logs are in the image folder
};

}  // namespace

Status CheckCriu(const std::string& criu) {
  SpawnOptions spawn;
  spawn.argv = {criu, "check"};
  spawn.env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  // Its complaint goes to a pipe read here, not to the user's terminal.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError("pipe", errno);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  spawn.stdout_fd = spawn.stderr_fd = write_end.get();
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok())
    return Status::NotFound(criu + " is not installed (" + child.status().message() + ")");
  write_end.Reset();
  std::string said;
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof(buf))) > 0;) said.append(buf, n);
  auto exit = child->WaitFor(std::chrono::minutes(1));
  if (!exit) child->Kill();
  if (exit && exit->success()) return Status::Ok();
  // The last non-empty line is criu's verdict.
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  size_t nl = said.rfind('\n');
  std::string last = nl == std::string::npos ? said : said.substr(nl + 1);
  return Status::Unavailable("`" + criu + " check` failed" + (last.empty() ? "" : ": " + last));
}

std::unique_ptr<SnapshotBackend> MakeCriuBackend(SnapshotBackend::EnvironmentFactory factory,
                                                 EnvironmentSpec environment_spec,
                                                 CriuSettings settings,
                                                 std::chrono::milliseconds init_limit) {
  return std::make_unique<CriuBackend>(std::move(factory), std::move(environment_spec),
                                       std::move(settings), init_limit);
}

}  // namespace anysnap
