#include "wrapper.h"

#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "anysnap/upstream_client.h"
#include "delegator.h"
#include "runtime_process.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

std::string Millis(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

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
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d/%02d/%02d", (tm.tm_year + 1900) % 10000,
                (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
  return buf;
}

// Posts an error document to a Runtime API error endpoint and logs the outcome.
void ReportError(UpstreamClient& upstream, std::string_view path, std::string_view error_type,
                 std::string_view message) {
  auto r = upstream.Call("POST", path,
                         {{std::string(kErrorTypeHeader), std::string(error_type)},
                          {"Content-Type", "application/json"}},
                         RuntimeErrorDocument(error_type, message));
  if (!r.ok()) {
    Log().Error("could not report " + std::string(error_type) + " to " + std::string(path) + ": " +
                r.status().message());
  } else if (r->status != 202) {
    Log().Warn("reporting " + std::string(error_type) + " to " + std::string(path) + " got " +
               std::to_string(r->status) + ": " + r->body);
  }
}

// A configuration error: one line in the log, init/error when the Runtime API
// is known, then the exit status.
int FailConfiguration(const EnvMap& env, const std::string& message) {
  Log().Error(message);
  auto api = env.find("AWS_LAMBDA_RUNTIME_API");
  if (api != env.end()) {
    if (auto hp = ParseHostPort(api->second); hp.ok()) {
      UpstreamClient upstream(*hp);
      ReportError(upstream, kInitErrorPath, "Runtime.InvalidConfiguration", message);
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

// What to tell the Runtime API when the runtime host has ended.
void ReportRuntimeEnd(Delegator& delegator, int wait_status) {
  RuntimeProgress progress = delegator.progress();
  std::string how = "runtime host " + DescribeWaitStatus(wait_status);
  if (!progress.next_called) {
    if (!progress.init_error_reported) {
      ReportError(delegator.upstream(), kInitErrorPath, "Runtime.ExitError",
                  how + " before its first invocation/next");
    }
    return;
  }
  for (const std::string& id : progress.unanswered) {
    ReportError(delegator.upstream(), "/2018-06-01/runtime/invocation/" + id + "/error",
                "Runtime.ExitError", how + " during invocation " + id);
  }
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
  return out;
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

  DelegatorOptions options;
  options.upstream = *upstream;
  auto delegator = Delegator::Start(options);
  if (!delegator.ok()) {
    Log().Error("cannot start the delegator: " + delegator.status().message());
    UpstreamClient direct(*upstream);
    ReportError(direct, kInitErrorPath, "Runtime.Unknown",
                "anysnap cannot start its delegator: " + delegator.status().message());
    return kExitInternalError;
  }
  Delegator& d = **delegator;

  std::vector<std::string> command = RuntimeCommand(*config);
  EnvMap runtime_env = RuntimeEnvironment(env, d.address(), TodayUtc(), RandomHex(16));
  RuntimeProcess runtime;
  Status started = runtime.Start(command, runtime_env);
  if (!started.ok()) {
    bool missing = started.code() == Status::Code::kNotFound;
    std::string message = (missing ? "runtime host not found: " : "runtime host not executable: ") +
                          started.message();
    Log().Error(message);
    ReportError(d.upstream(), kInitErrorPath, "Runtime.InvalidEntrypoint", message);
    d.Stop();
    return missing ? kExitNotFound : kExitNotExecutable;
  }
  Log().Info("runtime host " + command[0] + " started (pid " + std::to_string(runtime.pid()) +
             ") " + Millis(Clock::now() - start) + " ms after wrapper start; Runtime API via " +
             d.address().ToString());

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
  Log().Info("runtime host " + DescribeWaitStatus(wait_status));
  runtime.KillGroup();
  ReportRuntimeEnd(d, wait_status);
  d.Stop();
  return ShellExitStatus(wait_status);
}

}  // namespace anysnap
