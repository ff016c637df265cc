#include "layer/npm_installer.h"

#include <fcntl.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "anysnap/child_process.h"
#include "anysnap/unique_fd.h"
#include "layer/temp_dir.h"

namespace anysnap::layer {

namespace {

namespace fs = std::filesystem;

// npm's lines that only frame the answer.
bool IsFramingLine(const std::string& line) {
  static const char* const kFraming[] = {"code ",     "syscall ",      "errno ", "path ",
                                         "workdir ",  "    at ",       "404 ",   "404",
                                         "Log files", "A complete log"};
  for (const char* prefix : kFraming) {
    if (line.starts_with(prefix)) return true;
  }
  return line.empty();
}

}  // namespace

Result<CapturedOutput> RunAndCapture(const std::vector<std::string>& argv, const EnvMap& env) {
  auto scratch = TempDir::Create("anysnap-npm-", "");
  if (!scratch.ok()) return scratch.status();
  std::string log = scratch->path() + "/output";
  UniqueFd fd(::open(log.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return PosixError("open " + log, errno);
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.stdout_fd = fd.get();
  spawn.stderr_fd = fd.get();
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok()) return child.status();
  std::optional<ExitStatus> status;
  while (!(status = child->WaitFor(std::chrono::hours(1)))) {
  }
  auto text = ReadWholeFile(log);
  if (!text.ok()) return text.status();
  return CapturedOutput{status->exited() ? status->code : -1, std::move(*text)};
}

namespace {

// npm's error lines without their "npm error" (or older "npm ERR!") prefix.
std::vector<std::string> NpmErrorLines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("npm error") && !line.starts_with("npm ERR!")) continue;
    std::string rest = line.substr(line.starts_with("npm error") ? 9 : 8);
    while (rest.starts_with(' ')) rest.erase(0, 1);
    out.push_back(std::move(rest));
  }
  return out;
}

// An install script that failed: npm says "command failed", then the command
// ("command sh -c ./scripts/preinstall.sh"), then what the script printed.
// Returns the command and the script's last line; "" for other failures.
std::string ScriptFailure(const std::vector<std::string>& errors) {
  auto failed = std::find(errors.begin(), errors.end(), "command failed");
  if (failed == errors.end()) return "";
  std::string command;
  std::string last;
  for (auto it = failed + 1; it != errors.end(); ++it) {
    if (command.empty() && it->starts_with("command ")) {
      command = it->substr(8);
    } else if (!IsFramingLine(*it) && !it->starts_with("signal ")) {
      last = *it;
    }
  }
  if (command.empty()) command = "an install script";
  return "`" + command + "` failed" + (last.empty() ? "" : ": " + last);
}

}  // namespace

std::string NpmAnswer(const std::string& output) {
  std::vector<std::string> errors = NpmErrorLines(output);
  if (std::string script = ScriptFailure(errors); !script.empty()) return script;
  std::string last;
  std::string not_found;
  for (std::string& rest : errors) {
    // A 404's own words come after the code: "404 Not Found - GET https://...".
    if (rest.starts_with("404 ") && rest.size() > 4 && not_found.empty()) {
      std::string words = rest.substr(4);
      while (words.starts_with(' ')) words.erase(0, 1);
      if (!words.empty() && !words.starts_with("Note that") && !words.starts_with("tarball,")) {
        not_found = words;
      }
    }
    if (IsFramingLine(rest)) continue;
    return rest;
  }
  if (!not_found.empty()) return not_found;
  std::istringstream again(output);
  for (std::string line; std::getline(again, line);) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? "(no output)" : last;
}

Status CheckInstalledIntegrity(const std::string& prefix, const PinnedPackage& package) {
  std::string lockfile = prefix + "/node_modules/.package-lock.json";
  auto text = ReadWholeFile(lockfile);
  if (!text.ok()) return text.status().WithContext(package.Spec());
  rapidjson::Document doc;
  doc.Parse(text->data(), text->size());
  std::string key = "node_modules/" + package.name;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("packages") ||
      !doc["packages"].IsObject() || !doc["packages"].HasMember(key.c_str())) {
    return Status::NotFound(package.Spec() + ": not recorded in " + lockfile);
  }
  const rapidjson::Value& entry = doc["packages"][key.c_str()];
  std::string version =
      entry.HasMember("version") && entry["version"].IsString() ? entry["version"].GetString() : "";
  std::string integrity = entry.HasMember("integrity") && entry["integrity"].IsString()
                              ? entry["integrity"].GetString()
                              : "";
  if (version != package.version) {
    return Status::InvalidArgument(package.Spec() + ": npm installed version " + version);
  }
  // An unpinned version (--runtime-version) has only the registry's integrity,
  // which npm checked.
  if (!package.integrity.empty() && integrity != package.integrity) {
    return Status::InvalidArgument(package.Spec() + ": integrity " + integrity +
                                   " is not the pinned " + package.integrity);
  }
  return Status::Ok();
}

Result<std::string> NpmInstaller::Install(const NpmInstall& install) {
  const PinnedPackage& package = install.package;
  std::string installed = install.prefix + "/node_modules/" + package.name;
  std::error_code ec;
  last_was_cached_ = fs::is_directory(install.prefix, ec);
  if (!last_was_cached_) {
    // Its own name per process: two builds sharing a cache never share a partial install.
    std::string partial = install.prefix + ".partial-" + std::to_string(::getpid());
    fs::remove_all(partial, ec);
    fs::create_directories(partial, ec);
    if (ec) return Status::IoError("create " + partial + ": " + ec.message());
    std::vector<std::string> argv = {"npm",       "install",          "--prefix",
                                     partial,     "--no-save",        "--no-audit",
                                     "--no-fund", "--loglevel=error", "--no-update-notifier"};
    if (!install.run_scripts) argv.push_back("--ignore-scripts");
    if (!install.os.empty()) argv.push_back("--os=" + install.os);
    if (!install.cpu.empty()) argv.push_back("--cpu=" + install.cpu);
    argv.push_back(package.Spec());
    auto ran = run_(argv, install.env);
    if (!ran.ok()) {
      fs::remove_all(partial, ec);
      return Status::Unavailable(package.Spec() + " from the npm registry: " +
                                 ran.status().message() + " (is npm installed?)");
    }
    if (ran->exit_code != 0) {
      fs::remove_all(partial, ec);
      // npm's whole answer stays beside the cache (its own log is in a
      // folder of its choosing, and the script's output may be long).
      std::string log = install.prefix + ".npm-error.log";
      std::string where;
      std::ofstream out(log, std::ios::binary | std::ios::trunc);
      if (out << ran->output) where = " (npm's whole output: " + log + ")";
      return Status::Unavailable(package.Spec() + " from the npm registry: npm says \"" +
                                 NpmAnswer(ran->output) + "\"" + where);
    }
    if (Status s = CheckInstalledIntegrity(partial, package); !s.ok()) {
      fs::remove_all(partial, ec);
      return s;
    }
    fs::rename(partial, install.prefix, ec);
    if (ec && !fs::is_directory(install.prefix)) {
      return Status::IoError("rename " + partial + ": " + ec.message());
    }
    fs::remove_all(partial, ec);
  }
  ANYSNAP_RETURN_IF_ERROR(CheckInstalledIntegrity(install.prefix, package));
  if (!fs::is_directory(installed, ec)) {
    return Status::NotFound(package.Spec() + ": npm installed no " + installed);
  }
  return installed;
}

}  // namespace anysnap::layer
