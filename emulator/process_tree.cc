#include "process_tree.h"

#include <dirent.h>

#include <charconv>
#include <map>
#include <memory>
#include <string_view>

#include "anysnap/environment.h"

namespace anysnap {

namespace {

std::optional<pid_t> ParsePid(std::string_view text) {
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// Every numeric entry of `proc_root` with its parent pid.
std::map<pid_t, pid_t> ParentLinks(const std::string& proc_root) {
  std::map<pid_t, pid_t> parents;
  std::unique_ptr<DIR, DirCloser> dir(::opendir(proc_root.c_str()));
  if (!dir) return parents;
  while (dirent* entry = ::readdir(dir.get())) {
    std::optional<pid_t> pid = ParsePid(entry->d_name);
    if (!pid) continue;
    // A process may end between readdir and the read: then it is skipped.
    auto stat = ReadWholeFile(proc_root + "/" + entry->d_name + "/stat");
    if (!stat.ok()) continue;
    if (auto parent = ParentPidFromStat(*stat)) parents[*pid] = *parent;
  }
  return parents;
}

}  // namespace

std::optional<pid_t> ParentPidFromStat(const std::string& stat) {
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(stat).substr(close + 1);
  // " S 1234 ..."
  size_t state = rest.find_first_not_of(' ');
  if (state == std::string_view::npos) return std::nullopt;
  size_t start = rest.find_first_not_of(' ', state + 1);
  if (start == std::string_view::npos) return std::nullopt;
  size_t end = rest.find(' ', start);
  std::string_view field = rest.substr(start, end == std::string_view::npos ? end : end - start);
  pid_t ppid = 0;
  auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), ppid);
  if (ec != std::errc() || p != field.data() + field.size() || ppid < 0) return std::nullopt;
  return ppid;
}

std::optional<uint64_t> PeakRssFromStatus(const std::string& status) {
  constexpr std::string_view kKey = "\nVmHWM:";
  size_t at = status.find(kKey);
  if (at == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(status).substr(at + kKey.size());
  size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(start);
  uint64_t kib = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc()) return std::nullopt;
  // The kernel always prints this field in kB (KiB).
  return kib * 1024;
}

std::vector<pid_t> ProcessTreePids(pid_t root, const std::string& proc_root) {
  std::map<pid_t, pid_t> parents = ParentLinks(proc_root);
  if (!parents.count(root)) return {};
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, parent] : parents) children.emplace(parent, pid);
  std::vector<pid_t> tree{root};
  // Breadth first; parent links form a tree, so every pid is met once.
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [first, last] = children.equal_range(tree[i]);
    for (auto it = first; it != last; ++it) tree.push_back(it->second);
  }
  return tree;
}

uint64_t ProcessTreePeakRss(pid_t root, const std::string& proc_root) {
  uint64_t total = 0;
  for (pid_t pid : ProcessTreePids(root, proc_root)) {
    auto status = ReadWholeFile(proc_root + "/" + std::to_string(pid) + "/status");
    if (!status.ok()) continue;
    total += PeakRssFromStatus(*status).value_or(0);
  }
  return total;
}

}  // namespace anysnap
