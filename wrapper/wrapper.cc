#include "wrapper.h"

#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "anysnap/ascii.h"
#include "anysnap/child_process.h"
#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "anysnap/upstream_client.h"
#include "audit.h"
#include "delegator.h"
#include "reseed_preload.h"
#include "runtime_preset.h"
#include "runtime_process.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string TodayUtc() {
  UtcTime t = ToUtc(std::chrono::system_clock::now());
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d/%02d/%02d", t.year % 10000, t.month % 100, t.day % 100);
  return buf;
}

// A configuration error: one line in the log, init/error when the Runtime API
// is known, then the exit status.
int FailConfiguration(const EnvMap& env, const std::string& message) {
  Log().Error(message);
  auto api = env.find("AWS_LAMBDA_RUNTIME_API");
  if (api != env.end()) {
    if (auto hp = ParseHostPort(api->second); hp.ok()) {
      UpstreamClient upstream(*hp);
      ReportRuntimeError(upstream, kInitErrorPath, kInvalidConfigurationErrorType, message);
    }
  }
  return kExitConfigError;
}

// Replaces the wrapper with the original command, environment untouched.
int ExecOriginal(const std::vector<std::string>& argv, char** envp) {
  if (argv.size() < 2) {
    Log().Error("ANYSNAP_DISABLE is set but there is no original command to run");
    return kExitNotFound;
  }
  std::vector<char*> args;
  for (size_t i = 1; i < argv.size(); ++i) args.push_back(const_cast<char*>(argv[i].c_str()));
  args.push_back(nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execvpe(args[0], args.data(), envp);
  int err = errno;
  Log().Error("ANYSNAP_DISABLE: cannot run " + argv[1] + ": " + std::strerror(err));
  return err == ENOENT ? kExitNotFound : kExitNotExecutable;
}

// This program's own path, for the files the layer puts beside it.
// Under snap-start, loads the reseed into the runtime host (reseed_preload.h).
// A reseed file missing from the layer is a warning, or with
// ANYSNAP_RESEED=strict an error: the message to fail the init with.
Status InstallReseed(const Config& config, InitType init_type,
                     const std::vector<std::string>& command, EnvMap& runtime_env) {
  if (init_type != InitType::kSnapStart || config.reseed == ReseedMode::kOff) return Status::Ok();
  if (std::string runtime = UnreseededRuntime(command); !runtime.empty()) {
    std::string message = "not reseeded after restore: " + runtime;
    if (config.reseed == ReseedMode::kStrict)
      return Status::InvalidArgument("ANYSNAP_RESEED=strict: " + message);
    Log().Warn(message + " (every environment restored from this snapshot shares their values)");
  }
  ReseedFiles files = ReseedFilesIn(ReseedDirBeside(ProgramDirectory()));
  std::vector<std::string> missing = MissingReseedFiles(files, FileExists);
  if (!missing.empty()) {
    std::string message = "ANYSNAP_RESEED=" + std::string(ReseedModeName(config.reseed)) + ": ";
    for (size_t i = 0; i < missing.size(); ++i) message += (i ? "; " : "") + missing[i];
    if (config.reseed == ReseedMode::kStrict) return Status::InvalidArgument(message);
    Log().Warn(message + ": its runtime's random state is not reseeded after restore");
    if (!FileExists(files.node_preload)) files.node_preload.clear();
    if (!FileExists(files.python_dir + "/sitecustomize.py")) files.python_dir.clear();
  }
  InstallReseedPreloads(runtime_env, files);
  return Status::Ok();
}

// What to tell the Runtime API when the runtime host has ended. Only what the
// platform cannot know: that it died while anysnap held it (priming, hooks,
// with the step), or after a restore before its first invocation. Any other
// end (during init, during an invocation) the platform sees as the runtime's
// own, because the wrapper ends the same way (EndAsTheRuntimeEnded), and
// reports in its own words (`RequestId: <id> Error: Runtime exited with
// error: exit status 3`), exactly as without the wrapper.
void ReportRuntimeEnd(Delegator& delegator, int wait_status) {
  RuntimeProgress progress = delegator.progress();
  const std::string reason = ExitStatus::FromWaitStatus(wait_status).RuntimeExitReason();
  auto post = [&](std::string_view path, const std::string& message) {
    ReportRuntimeError(delegator.upstream(), path, kExitErrorType, message);
  };
  if (!progress.next_called) {
    if (!progress.init_error_reported && !progress.stage.empty()) {
      post(kInitErrorPath, reason + " " + progress.stage);
    }
    return;
  }
  if (progress.restoring) post(kRestoreErrorPath, reason);
}

// Ends the wrapper as the runtime host ended: killed by the same signal (its
// disposition reset, no core of the wrapper's), else with its exit status.
int EndAsTheRuntimeEnded(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(sig);
  }
  return ShellExitStatus(wait_status);
}

}  // namespace

EnvMap RuntimeEnvironment(const EnvMap& env, const HostPort& delegator, std::string_view today,
                          std::string_view stream_suffix) {
  EnvMap out = env;
  out["AWS_LAMBDA_RUNTIME_API"] = delegator.ToString();
  auto get = [&](const char* key, const char* fallback) {
    auto it = env.find(key);
    return it != env.end() && !it->second.empty() ? it->second : std::string(fallback);
  };
  auto group = env.find("AWS_LAMBDA_LOG_GROUP_NAME");
  if (group == env.end() || group->second.empty())
    out["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + get("AWS_LAMBDA_FUNCTION_NAME", "function");
  auto stream = env.find("AWS_LAMBDA_LOG_STREAM_NAME");
  if (stream == env.end() || stream->second.empty()) {
    out["AWS_LAMBDA_LOG_STREAM_NAME"] = std::string(today) + "/[" +
                                        get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST") + "]" +
                                        std::string(stream_suffix);
  }
  // The hook clients sit where Lambda's Node.js and Python runtimes look in a
  // layer; a java21 function's runtime host is told so too, after whatever
  // the function set.
  auto append = [&](const char* key, const std::string& dir) {
    std::string list = out.count(key) ? out[key] : "";
    for (std::string_view item : SplitOn(list, ':'))
      if (item == dir) return;
    out[key] = list.empty() ? dir : list + ":" + dir;
  };
  append("NODE_PATH", std::string(kLayerRoot) + "/nodejs/node_modules");
  append("PYTHONPATH", std::string(kLayerRoot) + "/python");
  return out;
}

Result<LifecycleOptions> LifecycleFromConfig(const Config& config, const EnvMap& env,
                                             const ReadFileFn& read_file) {
  auto get = [&](const char* key, const char* fallback) {
    auto it = env.find(key);
    return it != env.end() && !it->second.empty() ? it->second : std::string(fallback);
  };
  LifecycleOptions options;
  options.init_type = ParseInitType(get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"));
  options.before_snapshot = config.before_snapshot;
  options.after_restore = config.after_restore;
  options.before_timeout = config.before_hook_timeout;
  options.after_timeout = config.after_hook_timeout;
  options.reseed = config.reseed;
  options.prime_rounds = config.prime_rounds;
  options.preload = config.preload;
  options.provisioned_prime = config.provisioned_prime;
  options.provisioned_before_snapshot = config.provisioned_before_snapshot;
  options.provisioned_preload = config.provisioned_preload;
  if (!config.prime_events.empty()) {
    const std::string name = "ANYSNAP_PRIME_EVENTS=" + QuoteForMessage(config.prime_events) + ": ";
    auto text = read_file(config.prime_events);
    if (!text.ok()) return text.status().WithPrefix(name);
    auto events = ParsePrimeEvents(*text);
    if (!events.ok()) return events.status().WithPrefix(name);
    options.prime_events = std::move(*events);
  }
  options.function_arn = "arn:aws:lambda:" + get("AWS_REGION", "us-east-1") +
                         ":000000000000:function:" + get("AWS_LAMBDA_FUNCTION_NAME", "function") +
                         ":" + get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
  return options;
}

std::vector<std::string> RuntimeCommand(const Config& config) {
  std::vector<std::string> argv = config.chain;
  argv.insert(argv.end(), config.runtime.begin(), config.runtime.end());
  return argv;
}

int RunWrapper(const std::vector<std::string>& argv, char** envp) {
  const Clock::time_point start = Clock::now();
  EnvMap env = EnvFromEnviron(envp);

  auto config = LoadConfig(env, ReadWholeFile, FileExists);
  if (!config.ok()) {
    Log().Configure("anysnap-wrapper", LogLevel::kInfo, LogFormat::kText);
    return FailConfiguration(env, config.status().message());
  }
  Log().Configure("anysnap-wrapper", config->log_level, config->log_format);
  for (const auto& w : config->warnings) Log().Warn(w);
  if (config->disable) return ExecOriginal(argv, envp);

  auto api = env.find("AWS_LAMBDA_RUNTIME_API");
  if (api == env.end() || api->second.empty())
    return FailConfiguration(env, "AWS_LAMBDA_RUNTIME_API is not set: nothing to delegate to");
  auto upstream = ParseHostPort(api->second);
  if (!upstream.ok())
    return FailConfiguration(env, "AWS_LAMBDA_RUNTIME_API=" + QuoteForMessage(api->second) + ": " +
                                      upstream.status().message());

  auto lifecycle = LifecycleFromConfig(*config, env, ReadWholeFile);
  if (!lifecycle.ok()) return FailConfiguration(env, lifecycle.status().message());
  // A lifecycle failure has been reported upstream when on_fatal runs: the
  // runtime host is stopped and the wrapper exits with the lifecycle's status.
  std::atomic<int> fatal_exit{0};
  std::atomic<pid_t> runtime_group{0};
  lifecycle->start = start;
  // The audit is prepared once the delegator's address is known; the
  // lifecycle reports it at the snapshot point.
  std::unique_ptr<Audit> audit_owner;
  std::atomic<Audit*> audit{nullptr};
  lifecycle->at_snapshot_point = [&audit](std::string_view point) {
    Audit* a = audit.load();
    return a != nullptr ? a->Report(point) : Status::Ok();
  };
  lifecycle->snapshot_point_may_fail = config->audit == AuditMode::kStrict;
  lifecycle->on_fatal = [&fatal_exit, &runtime_group](int exit_status) {
    fatal_exit.store(exit_status);
    pid_t group = runtime_group.load();
    if (group > 0) ::kill(-group, SIGKILL);
  };

  DelegatorOptions options;
  options.upstream = *upstream;
  options.lifecycle = std::move(*lifecycle);
  auto delegator = Delegator::Bind(options);
  if (!delegator.ok()) {
    Log().Error("cannot start the delegator: " + delegator.status().message());
    UpstreamClient direct(*upstream);
    ReportRuntimeError(direct, kInitErrorPath, kUnknownErrorType,
                       "anysnap cannot start its delegator: " + delegator.status().message());
    return kExitInternalError;
  }
  Delegator& d = **delegator;

  // A preset name starts the runtime as Lambda's managed runtime would.
  EnvMap host_env = env;
  Config runtime_config = *config;
  std::optional<std::string> missing_preset_file;
  if (auto preset = FindRuntimePreset(config->runtime, env, LayerRootOf(ProgramDirectory()))) {
    missing_preset_file = MissingPresetFile(*preset, FileExists);
    runtime_config.runtime = preset->argv;
    host_env = std::move(preset->env);
    Log().Info("ANYSNAP_RUNTIME=" + preset->name + ": " + preset->argv[0]);
  }
  if (missing_preset_file) {
    Log().Error(*missing_preset_file);
    ReportRuntimeError(d.upstream(), kInitErrorPath, "Runtime.InvalidEntrypoint",
                       *missing_preset_file);
    d.Stop();
    return kExitNotFound;
  }
  std::vector<std::string> command = RuntimeCommand(runtime_config);
  EnvMap runtime_env = RuntimeEnvironment(host_env, d.address(), TodayUtc(), RandomHex(16));
  // Hook commands run without the reseed: they are not restored.
  d.lifecycle().SetHookEnvironment(runtime_env);
  if (Status reseed = InstallReseed(*config, options.lifecycle.init_type, command, runtime_env);
      !reseed.ok()) {
    d.Stop();
    return FailConfiguration(env, reseed.message());
  }
  if (config->audit != AuditMode::kOff) {
    auto prepared =
        Audit::Prepare({config->audit, config->audit_fail_on, config->audit_report, d.address(),
                        options.lifecycle.init_type == InitType::kSnapStart &&
                            config->reseed != ReseedMode::kOff});
    if (prepared.ok()) {
      audit_owner = std::move(*prepared);
    } else {
      Log().Warn("ANYSNAP_AUDIT=" + std::string(AuditModeName(config->audit)) +
                 ": the function runs unaudited: " + prepared.status().message());
    }
  }
  RuntimeProcess runtime;
  Status started =
      runtime.Start(command, runtime_env, audit_owner ? &audit_owner->pre_exec() : nullptr);
  if (!started.ok()) {
    bool missing = started.code() == Status::Code::kNotFound;
    std::string message = (missing ? "runtime host not found: " : "runtime host not executable: ") +
                          started.message();
    Log().Error(message);
    ReportRuntimeError(d.upstream(), kInitErrorPath, kInvalidEntrypointErrorType, message);
    d.Stop();
    return missing ? kExitNotFound : kExitNotExecutable;
  }
  runtime_group.store(runtime.pid());
  d.Serve();
  if (audit_owner) {
    if (Status attached = audit_owner->Attach(runtime.pid()); attached.ok()) {
      audit.store(audit_owner.get());
    } else {
      Log().Warn("ANYSNAP_AUDIT=" + std::string(AuditModeName(config->audit)) +
                 ": the function runs unaudited: " + attached.message());
    }
  }
  Log().Info("runtime host " + command[0] + " started (pid " + std::to_string(runtime.pid()) +
             ") " + FormatMillis(Clock::now() - start) +
             " ms after wrapper start; Runtime API via " + d.address().ToString());

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD})
    sigaddset(&signals, s);
  int wait_status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&signals, &info);
    if (sig < 0) continue;  // EINTR
    if (sig == SIGCHLD) {
      if (runtime.TryReap(&wait_status)) break;
      continue;
    }
    Log().Debug(std::string("forwarding ") + strsignal(sig) + " to the runtime host");
    runtime.Signal(sig);
  }
  runtime_group.store(0);
  runtime.KillGroup();
  if (int status = fatal_exit.load(); status != 0) {
    Log().Info("runtime host stopped after the lifecycle failure; exit status " +
               std::to_string(status));
    d.Stop();
    return status;
  }
  Log().Info("runtime host " + DescribeWaitStatus(wait_status));
  ReportRuntimeEnd(d, wait_status);
  d.Stop();
  return EndAsTheRuntimeEnded(wait_status);
}

}  // namespace anysnap
