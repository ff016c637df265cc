#include "cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "anysnap/environment.h"
#include "anysnap/unique_fd.h"

namespace anysnap {

namespace {

using namespace std::chrono_literals;

Status WriteControl(const std::string& file, std::string_view value) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("open " + file, errno);
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return PosixError("write " + file, errno);
  return Status::Ok();
}

Status MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return PosixError("mkdir " + path, errno);
  return Status::Ok();
}

constexpr std::string_view kParentPrefix = "anysnap-local-";

// Removes the empty cgroups at and below `path`, deepest first; returns true
// iff `path` is gone. A cgroup with a process in it stays, with those above.
bool RemoveEmptyTree(const std::string& path) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) RemoveEmptyTree(entry.path().string());
  }
  return ::rmdir(path.c_str()) == 0;
}

}  // namespace

Result<std::string> FindCgroupV2Hierarchy() {
  for (const char* candidate : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    std::string dir = candidate;
    if (!FileExists(dir + "/cgroup.procs") || !FileExists(dir + "/cgroup.subtree_control") ||
        FileExists(dir + "/unified")) {
      continue;  // not a v2 root (a v1 root has no cgroup.subtree_control)
    }
    if (::access(dir.c_str(), W_OK) != 0) {
      return PosixError("the cgroup v2 hierarchy at " + dir + " is not writable", errno);
    }
    return dir;
  }
  return Status::NotFound("no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup");
}

std::string CgroupParentOf(const std::string& hierarchy, pid_t pid) {
  return hierarchy + "/" + std::string(kParentPrefix) + std::to_string(pid);
}

int RemoveStaleParents(const std::string& hierarchy) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(hierarchy, ec)) {
    std::string name = entry.path().filename().string();
    if (name.compare(0, kParentPrefix.size(), kParentPrefix) != 0) continue;
    pid_t pid = 0;
    std::string_view digits = std::string_view(name).substr(kParentPrefix.size());
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (err != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // it lives (or is not ours to ask)
    if (RemoveEmptyTree(entry.path().string())) ++removed;
  }
  return removed;
}

Result<Cgroup> Cgroup::Create(const std::string& parent, const std::string& name) {
  ANYSNAP_RETURN_IF_ERROR(MakeDirectory(parent));
  std::string path = parent + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) return PosixError("mkdir " + path, errno);
  if (!FileExists(path + "/cgroup.freeze")) {
    ::rmdir(path.c_str());
    return Status::NotFound(path + " has no cgroup.freeze (cgroup v2 freezer: Linux 5.2+)");
  }
  return Cgroup(std::move(path));
}

Cgroup::~Cgroup() { Remove(); }

Cgroup::Cgroup(Cgroup&& other) noexcept : path_(std::exchange(other.path_, {})) {}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

Status Cgroup::WaitForEvent(const std::string& key, const std::string& value,
                            std::chrono::milliseconds patience) const {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  const std::string wanted = key + " " + value;
  for (;;) {
    auto events = ReadWholeFile(path_ + "/cgroup.events");
    if (!events.ok()) return events.status();
    std::istringstream lines(*events);
    for (std::string line; std::getline(lines, line);) {
      if (line == wanted) return Status::Ok();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::TimedOut(path_ + ": cgroup.events never said \"" + wanted + "\"");
    }
    std::this_thread::sleep_for(200us);
  }
}

Status Cgroup::Freeze(std::chrono::milliseconds patience) {
  ANYSNAP_RETURN_IF_ERROR(WriteControl(path_ + "/cgroup.freeze", "1"));
  return WaitForEvent("frozen", "1", patience);
}

Status Cgroup::Thaw() {
  ANYSNAP_RETURN_IF_ERROR(WriteControl(path_ + "/cgroup.freeze", "0"));
  return WaitForEvent("frozen", "0", 10s);
}

bool Cgroup::populated() const {
  auto events = ReadWholeFile(path_ + "/cgroup.events");
  return events.ok() && events->find("populated 1") != std::string::npos;
}

Status Cgroup::Kill(std::chrono::milliseconds patience) {
  if (path_.empty()) return Status::Ok();
  if (!WriteControl(path_ + "/cgroup.kill", "1").ok()) {
    // Before Linux 5.14: one SIGKILL per process (SIGKILL reaches frozen ones).
    auto procs = ReadWholeFile(procs_file());
    if (procs.ok()) {
      std::istringstream pids(*procs);
      for (pid_t pid; pids >> pid;) ::kill(pid, SIGKILL);
    }
  }
  return WaitForEvent("populated", "0", patience);
}

Status Cgroup::RemoveTree(const std::string& path) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) (void)RemoveTree(entry.path().string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::IoError("list " + path + ": " + ec.message());
  }
  Cgroup cgroup(path);
  cgroup.Remove();
  if (::access(path.c_str(), F_OK) == 0) return Status::IoError("rmdir " + path + ": still there");
  return Status::Ok();
}

void Cgroup::Remove() {
  if (path_.empty()) return;
  (void)Kill();
  // rmdir fails with EBUSY for a moment while the last processes are reaped.
  for (int i = 0; i < 500 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(2ms);
  }
  path_.clear();
}

}  // namespace anysnap
