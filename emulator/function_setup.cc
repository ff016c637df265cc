#include "function_setup.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <filesystem>

#include "cgroup.h"
#include "function_config.h"
#include "layer/layer_unpack.h"
#include "sandbox.h"

namespace anysnap {

namespace {

namespace fs = std::filesystem;

Result<std::string> ExistingDirectory(const std::string& path, const std::string& flag) {
  std::error_code ec;
  fs::path canonical = fs::canonical(path, ec);
  if (ec) return Status::NotFound(flag + " " + path + ": " + ec.message());
  if (!fs::is_directory(canonical))
    return Status::InvalidArgument(flag + " " + path + ": not a folder");
  return canonical.string();
}

Result<int> ParsePositive(const std::string& text, const std::string& what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
    return Status::InvalidArgument(what + "=" + text + ": expected a whole number of 1 or more");
  }
  return value;
}

// A variable of the function's environment, else of anysnap-local's own.
std::optional<std::string> Lookup(const EnvMap& function, const EnvMap& own,
                                  const std::string& key) {
  if (auto it = function.find(key); it != function.end() && !it->second.empty()) return it->second;
  if (auto it = own.find(key); it != own.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

}  // namespace

Result<double> ParseTimeoutSeconds(const std::string& value, const std::string& what) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 900) {
    return Status::InvalidArgument(what + "=" + value + ": expected seconds from 1 to 900");
  }
  return seconds;
}

FunctionSetup::~FunctionSetup() {
  // With whatever is still below it.
  if (!cgroup_parent_.empty()) (void)Cgroup::RemoveTree(cgroup_parent_);
}

Status FunctionSetup::Build(const FunctionFlags& f, const EnvMap& own_env,
                            const std::string& program_dir) {
  LocalFunctionOptions& o = options_;
  EnvironmentSpec& spec = o.environment;
  FunctionSettings& fn = spec.function;

  auto task_root = ExistingDirectory(f.task_root, "--task-root");
  if (!task_root.ok()) return task_root.status();
  fn.task_root = *task_root;
  fn.function_name =
      f.function_name.empty() ? fs::path(*task_root).filename().string() : f.function_name;

  // Variables: the template's, then env files, then --env (the last one wins).
  TemplateFunction from_template;
  if (!f.template_file.empty()) {
    if (f.template_function.empty()) {
      return Status::InvalidArgument(
          "--template needs --function NAME (the function's logical id)");
    }
    auto text = ReadWholeFile(f.template_file);
    if (!text.ok()) return text.status().WithContext("--template");
    auto parsed = ParseTemplateFunction(*text, f.template_function);
    if (!parsed.ok()) return parsed.status().WithContext("--template " + f.template_file);
    from_template = std::move(*parsed);
    fn.overrides = from_template.variables;
  } else if (!f.template_function.empty()) {
    return Status::InvalidArgument("--function needs --template FILE");
  }
  for (const std::string& path : f.env_files) {
    auto text = ReadWholeFile(path);
    if (!text.ok()) return text.status().WithContext("--env-file");
    auto vars = ParseEnvFile(*text);
    if (!vars.ok()) return vars.status().WithContext("--env-file " + path);
    for (auto& [k, v] : *vars) fn.overrides[k] = v;
  }
  for (const std::string& kv : f.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--env " + kv + ": expected KEY=VALUE");
    }
    fn.overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  fn.handler = !f.handler.empty() ? f.handler : from_template.handler.value_or("index.handler");
  fn.region = f.region;
  if (f.memory_mb) {
    fn.memory_mb = *f.memory_mb;
  } else if (auto memory = Lookup(fn.overrides, own_env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")) {
    auto mb = ParsePositive(*memory, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    if (!mb.ok()) return mb.status();
    fn.memory_mb = *mb;
  } else {
    fn.memory_mb = from_template.memory_mb.value_or(128);
  }
  double timeout_s = 300;  // the emulator's default, and Lambda's longest is 900
  if (f.timeout_s) {
    timeout_s = *f.timeout_s;
  } else if (auto t = Lookup(fn.overrides, own_env, "AWS_LAMBDA_FUNCTION_TIMEOUT")) {
    auto parsed = ParseTimeoutSeconds(*t, "AWS_LAMBDA_FUNCTION_TIMEOUT");
    if (!parsed.ok()) return parsed.status();
    timeout_s = *parsed;
  } else if (from_template.timeout_s) {
    timeout_s = *from_template.timeout_s;
  }
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  o.init_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.init_timeout_s * 1000));
  if (auto c = Lookup(fn.overrides, own_env, "AWS_LAMBDA_MAX_CONCURRENCY")) {
    auto n = ParsePositive(*c, "AWS_LAMBDA_MAX_CONCURRENCY");
    if (!n.ok()) return n.status();
    spec.max_concurrency = *n;
    fn.overrides["AWS_LAMBDA_MAX_CONCURRENCY"] = *c;
    notes_.push_back("managed instances: up to " + *c + " invokes at once in one environment");
  }
  spec.function_arn = "arn:aws:lambda:" + fn.region + ":123456789012:function:" + fn.function_name;

  // The layers: given, else the template's, else the layer this program sits in.
  std::vector<std::string> layers = f.layers;
  if (layers.empty() && !from_template.layers.empty()) {
    fs::path base = fs::path(f.template_file).parent_path();
    for (const TemplateLayer& layer : from_template.layers) {
      if (!layer.problem.empty()) {
        return Status::InvalidArgument("--template " + f.template_file + ": " + layer.problem);
      }
      layers.push_back((base / layer.path).string());
    }
    notes_.push_back("layers from the template: " + std::to_string(layers.size()));
  }
  fs::path program_path(program_dir);
  if (layers.empty() && program_path.filename() == "bin" &&
      program_path.parent_path().filename() == "anysnap") {
    layers.push_back(program_path.parent_path().parent_path().string());  // running from a layer
  }
  ANYSNAP_RETURN_IF_ERROR(layers_.Build(layers, layer::kMaxUnzippedLayerBytes));
  fn.layer_dir = layers_.dir();
  if (!f.no_wrapper) {
    spec.exec_wrapper = fn.layer_dir.empty() ? program_dir + "/anysnap-wrapper"
                                             : fn.layer_dir + "/anysnap/bin/anysnap-wrapper";
    if (!FileExists(spec.exec_wrapper)) {
      return Status::NotFound("the exec wrapper " + spec.exec_wrapper +
                              " does not exist (build anysnap-wrapper, pass --layer with one, or "
                              "use --no-wrapper)");
    }
  }
  spec.self_exe = program_dir + "/anysnap-local";
  {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) spec.self_exe = self.string();
  }

  // Isolation.
  if (f.no_namespaces) {
    notes_.push_back(
        "no namespaces (--no-namespaces): the function runs in this machine's "
        "namespaces; its code and layer keep their host paths");
  } else if (Status ns = ProbeNamespaces(); ns.ok()) {
    spec.namespaces = true;
    notes_.push_back("sandbox: network, PID and mount namespaces of its own; code at /var/task" +
                     std::string(fn.layer_dir.empty() ? "" : ", layer at /opt") +
                     ", Runtime API at 127.0.0.1:9001");
  } else {
    notes_.push_back("no namespaces (" + ns.message() +
                     "): the function runs in this machine's namespaces; its code and layer keep "
                     "their host paths and the Runtime API listens on a free loopback port");
  }
  auto hierarchy = FindCgroupV2Hierarchy();
  if (hierarchy.ok()) {
    if (int stale = RemoveStaleParents(*hierarchy); stale > 0) {
      notes_.push_back("removed the cgroups of " + std::to_string(stale) +
                       " anysnap-local process(es) killed before they could");
    }
    cgroup_parent_ = CgroupParentOf(*hierarchy, ::getpid());
    spec.cgroup_parent = cgroup_parent_;
  }

  // Init type and snapshot backend.
  if (f.init_type != "on-demand" && f.init_type != "snap-start") {
    return Status::InvalidArgument("--init-type " + f.init_type +
                                   ": expected on-demand or snap-start");
  }
  o.snap_start = f.init_type == "snap-start";
  o.eager_init = f.eager_init;
  o.criu.criu = f.criu;
  if (!f.snapshot.empty() && f.snapshot != "criu" && f.snapshot != "freeze") {
    return Status::InvalidArgument("--snapshot " + f.snapshot + ": expected criu or freeze");
  }
  if (!o.snap_start) {
    if (!f.snapshot.empty()) notes_.push_back("--snapshot is ignored: the init type is on-demand");
    return Status::Ok();
  }
  Status criu_usable = CheckCriu(f.criu);
  if (criu_usable.ok() && !spec.namespaces) {
    criu_usable = Status::Unavailable("criu restores need namespaces, which are not available");
  }
  if (f.snapshot == "criu" && !criu_usable.ok()) return criu_usable.WithContext("--snapshot criu");
  if (criu_usable.ok() && f.snapshot != "freeze") {
    o.snapshot = SnapshotKind::kCriu;
    spec.host_proc = true;
    std::string images =
        (fs::temp_directory_path() / ("anysnap-criu-" + std::to_string(::getpid()))).string();
    o.criu.image_dir = images;
    notes_.push_back("snapshot: criu (" + f.criu + "), image in " + images +
                     " (removed at the end unless criu fails); code at /var/task and layer at "
                     "/opt as under every backend, but the function sees this machine's /proc "
                     "(criu checkpoints the tree from inside its mount namespace)");
    // Nor an io_uring, which libuv (Node.js 22 and later) makes at start
    // whatever UV_USE_IO_URING says; on Lambda the whole VM is the snapshot.
    spec.deny_io_uring = true;
    notes_.push_back(
        "criu cannot checkpoint an io_uring: io_uring_setup fails with ENOSYS in the function's "
        "sandbox, so runtimes that would make one (libuv: Node.js 22 and later) use epoll");
    // CRIU cannot checkpoint a seccomp user-notification listener, which the
    // audit keeps open in the wrapper: the audit runs in an init of its own,
    // ended at its snapshot point, and the checkpointed init runs without it.
    if (!spec.exec_wrapper.empty()) {
      auto asked = fn.overrides.find("ANYSNAP_AUDIT");
      std::string mode =
          asked == fn.overrides.end() || asked->second.empty() ? "log" : asked->second;
      std::transform(mode.begin(), mode.end(), mode.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (mode != "off") {
        o.audit_pass["ANYSNAP_AUDIT"] = mode;
        fn.overrides["ANYSNAP_AUDIT"] = "off";
        notes_.push_back(
            "the snapshot-safety audit (ANYSNAP_AUDIT=" + mode +
            ") runs in an init of its own before the checkpointed one, which runs unaudited "
            "(criu cannot checkpoint the audit's seccomp listener): one more init at start, "
            "its report in the function's log (and in the file ANYSNAP_AUDIT_REPORT names, "
            "when set); --env ANYSNAP_AUDIT=off leaves it out");
      }
    }
    return Status::Ok();
  }
  if (!hierarchy.ok()) {
    return hierarchy.status().WithContext("the freeze backend needs cgroup v2");
  }
  o.snapshot = SnapshotKind::kFreeze;
  notes_.push_back(std::string("snapshot: freeze") +
                   (f.snapshot.empty() ? " (criu unusable: " + criu_usable.message() + ")" : "") +
                   ". It models the lifecycle, not memory restore: each restore thaws a tree "
                   "frozen at its snapshot point, and another is initialised and frozen for the "
                   "next restore");
  return Status::Ok();
}

}  // namespace anysnap
