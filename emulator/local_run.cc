#include "local_run.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <random>

#include "anysnap/child_process.h"
#include "anysnap/http.h"
#include "anysnap/log.h"
#include "anysnap/runtime_api.h"
#include "anysnap/uuid.h"
#include "process_tree.h"
#include "runtime_api_server.h"

namespace anysnap {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// How often the wait for an outcome looks at the runtime process, the stop
// flag and the clock. The timings reported come from the server's call log,
// so this only bounds how late a dead runtime or a timeout is noticed.
constexpr milliseconds kPollInterval{5};
// How often the process tree's memory is sampled while an invoke runs.
constexpr milliseconds kMemorySampleInterval{100};
// After the runtime exits: how long its last answer may still take to reach
// the invocation's future (the server answers the POST before it fulfils the
// promise, so a runtime can exit in between).
constexpr milliseconds kLastAnswerGrace{200};

// Lambda's request ids: random UUIDs (version 4).
class RequestIdGenerator {
 public:
  RequestIdGenerator() {
    std::random_device seed;
    rng_.seed((static_cast<uint64_t>(seed()) << 32) ^ seed());
  }
  std::string Next() {
    uint64_t hi = rng_();
    return FormatUuidV4(hi, rng_());
  }

 private:
  std::mt19937_64 rng_;
};

// One execution environment: the Runtime API server and the runtime process
// tree started against it. The child is declared after the server, so it is
// stopped first when an environment is destroyed without Shutdown().
struct ExecutionEnvironment {
  std::unique_ptr<RuntimeApiServer> server;
  ChildProcess runtime;
  Clock::time_point started;
  bool init_reported = false;  // its first REPORT (with Init Duration) is out
  uint64_t peak_rss = 0;       // the largest process-tree VmHWM sum seen

  void SampleMemory(const std::string& proc_root) {
    if (runtime.running())
      peak_rss = std::max(peak_rss, ProcessTreePeakRss(runtime.pid(), proc_root));
  }
};

// How waiting for one invocation ended.
struct WaitOutcome {
  enum class Kind { kAnswered, kInitError, kRuntimeExited, kTimedOut, kInterrupted };
  Kind kind = Kind::kAnswered;
  InvocationResult result;  // kAnswered, kInitError
  ExitStatus exit;          // kRuntimeExited
  bool delivered = false;   // kRuntimeExited: the runtime took the event
  bool in_init = false;     // kTimedOut: before the event was delivered
  Clock::time_point at;     // when it was noticed
};

class LocalRun {
 public:
  explicit LocalRun(const LocalRunOptions& options) : o_(options) {}

  Result<LocalRunResult> Run() {
    if (!o_.exec_wrapper.empty() && !FileExists(o_.exec_wrapper)) {
      return Status::NotFound("the exec wrapper " + o_.exec_wrapper + " does not exist");
    }
    // A bad configuration fails every environment alike: report it once, now.
    auto plan = PlanLaunch(o_.function, HostPort{"127.0.0.1", 9001}, o_.exec_wrapper, o_.read_file,
                           o_.file_exists);
    if (!plan.ok()) return plan.status();

    for (const std::string& event : o_.events) {
      if (StopRequested()) {
        result_.interrupted = true;
        break;
      }
      auto outcome = Invoke(event);
      if (!outcome.ok()) {
        ShutDown();
        return outcome.status();
      }
      result_.invokes.push_back(std::move(*outcome));
      if (o_.on_outcome) o_.on_outcome(result_.invokes.back());
      if (result_.interrupted) break;
    }
    ShutDown();
    return std::move(result_);
  }

 private:
  bool StopRequested() const {
    return o_.stop_requested != nullptr && o_.stop_requested->load(std::memory_order_relaxed);
  }
  void Log(const std::string& line) {
    if (o_.on_log) o_.on_log(line);
  }

  // Starts an environment. An error Status when no server can listen (fatal);
  // a spawn failure is returned through `spawn_error` with the environment
  // left unset.
  Status StartEnvironment(Status* spawn_error) {
    auto env = std::make_unique<ExecutionEnvironment>();
    RuntimeApiServer::Options server_options;
    server_options.function_arn = "arn:aws:lambda:" + o_.function.region +
                                  ":123456789012:function:" + o_.function.function_name;
    env->server = std::make_unique<RuntimeApiServer>(server_options);
    ANYSNAP_RETURN_IF_ERROR(
        env->server->Start(HostPort{"127.0.0.1", 0}).WithContext("start the Runtime API server"));
    auto plan = PlanLaunch(o_.function, env->server->address(), o_.exec_wrapper, o_.read_file,
                           o_.file_exists);
    if (!plan.ok()) return plan.status();
    SpawnOptions spawn;
    spawn.argv = std::move(plan->argv);
    spawn.env = std::move(plan->env);
    spawn.cwd = std::move(plan->cwd);
    spawn.stdout_fd = o_.function_output_fd;
    spawn.stderr_fd = o_.function_output_fd;
    env->started = Clock::now();
    auto child = ChildProcess::Spawn(spawn);
    if (!child.ok()) {
      *spawn_error = child.status();
      return Status::Ok();
    }
    ++result_.environments;
    env->runtime = std::move(*child);
    env_ = std::move(env);
    return Status::Ok();
  }

  // Stops the current environment's runtime (SIGTERM, then SIGKILL after the
  // grace period) and its server.
  void ShutDown() {
    if (!env_) return;
    env_->runtime.Stop(o_.stop_grace);
    env_->server->Stop();
    env_.reset();
  }

  WaitOutcome Wait(std::future<InvocationResult>& future, Clock::time_point queued,
                   bool first_in_environment) {
    ExecutionEnvironment& env = *env_;
    std::optional<Clock::time_point> delivered;
    Clock::time_point last_sample = Clock::now();
    WaitOutcome w;
    while (true) {
      // An init/error also fulfils the future (with its document): look at it
      // first, so that it is told apart from a function error.
      if (auto init_error = env.server->init_error()) {
        w.kind = WaitOutcome::Kind::kInitError;
        w.result = std::move(*init_error);
        break;
      }
      if (future.wait_for(kPollInterval) == std::future_status::ready) {
        if (auto init_error = env.server->init_error()) {
          w.kind = WaitOutcome::Kind::kInitError;
          w.result = std::move(*init_error);
        } else {
          w.kind = WaitOutcome::Kind::kAnswered;
          w.result = future.get();
          // The server enforces the same timeout from the same delivery.
          if (w.result.error_type == "Sandbox.Timedout") w.kind = WaitOutcome::Kind::kTimedOut;
        }
        break;
      }
      Clock::time_point now = Clock::now();
      if (auto exit = env.runtime.Poll()) {
        if (future.wait_for(kLastAnswerGrace) == std::future_status::ready) {
          w.kind = WaitOutcome::Kind::kAnswered;
          w.result = future.get();
        } else if (auto init_error = env.server->init_error()) {
          w.kind = WaitOutcome::Kind::kInitError;
          w.result = std::move(*init_error);
        } else {
          w.kind = WaitOutcome::Kind::kRuntimeExited;
          w.exit = *exit;
          w.delivered = delivered.has_value() || env.server->queued() == 0;
        }
        break;
      }
      if (StopRequested()) {
        w.kind = WaitOutcome::Kind::kInterrupted;
        break;
      }
      // Only this invocation is ever queued, so an empty queue means it went out.
      if (!delivered && env.server->queued() == 0) delivered = now;
      bool in_init = first_in_environment && !delivered;
      auto deadline =
          in_init ? env.started + o_.init_timeout : delivered.value_or(queued) + o_.timeout;
      if (now >= deadline) {
        w.kind = WaitOutcome::Kind::kTimedOut;
        w.in_init = in_init;
        break;
      }
      if (now - last_sample >= kMemorySampleInterval) {
        env.SampleMemory(o_.proc_root);
        last_sample = now;
      }
    }
    w.at = Clock::now();
    return w;
  }

  void NoteExitBetweenInvokes(const ExitStatus& exit) {
    Log("anysnap-local: the runtime exited between invokes (" + exit.Describe() +
        "); starting a new environment\n");
    ShutDown();
  }

  Result<InvokeOutcome> Invoke(const std::string& event) {
    if (env_) {
      if (auto exit = env_->runtime.Poll()) NoteExitBetweenInvokes(*exit);
    }
    InvokeOutcome outcome;
    outcome.request_id = ids_.Next();
    const std::string& id = outcome.request_id;
    outcome.figures.memory_size_mb = o_.function.memory_mb;
    Log(StartLine(id));

    bool first_in_environment = false;
    Clock::time_point queued;
    WaitOutcome w;
    // At most twice: a runtime that ends between invokes without ever taking
    // this event is replaced, and the event goes to the new one (as Lambda
    // does: the event was never delivered, so it is not lost).
    while (true) {
      Status spawn_error;
      if (!env_) ANYSNAP_RETURN_IF_ERROR(StartEnvironment(&spawn_error));
      if (!env_) {
        // Lambda: "Error: fork/exec /var/task/bootstrap: no such file or directory".
        outcome.error_type = "Runtime.InvalidEntrypoint";
        outcome.body = ErrorDocument(outcome.error_type,
                                     "RequestId: " + id + " Error: " + spawn_error.message());
        Log("RequestId: " + id + " Error: " + spawn_error.message() + "\n" + outcome.error_type +
            "\n");
        outcome.figures.status = {InvokeStatus::Kind::kError, outcome.error_type};
        Log(EndLine(id));
        Log(ReportLine(id, outcome.figures));
        return outcome;
      }
      first_in_environment = !env_->init_reported;
      Invocation invocation;
      invocation.event = event;
      invocation.content_type = o_.content_type;
      invocation.request_id = id;
      invocation.timeout = o_.timeout;
      queued = Clock::now();
      std::future<InvocationResult> future = env_->server->Invoke(std::move(invocation));
      w = Wait(future, queued, first_in_environment);
      if (w.kind == WaitOutcome::Kind::kRuntimeExited && !w.delivered && !first_in_environment) {
        NoteExitBetweenInvokes(w.exit);
        continue;
      }
      break;
    }
    ExecutionEnvironment& env = *env_;

    bool keep_environment = false;
    switch (w.kind) {
      case WaitOutcome::Kind::kAnswered:
        outcome.ok = w.result.kind == InvocationResult::Kind::kResponse;
        outcome.body = std::move(w.result.body);
        if (!outcome.ok) {
          outcome.error_type =
              w.result.error_type.empty() ? "Runtime.UnknownReason" : w.result.error_type;
        }
        keep_environment = w.result.error_type != "Runtime.ServerStopped";
        break;
      case WaitOutcome::Kind::kInitError:
        outcome.error_type = w.result.error_type.empty() ? "Runtime.Unknown" : w.result.error_type;
        outcome.body = std::move(w.result.body);
        Log("RequestId: " + id + " Error: the runtime failed to initialise (init/error)\n" +
            outcome.error_type + "\n");
        break;
      case WaitOutcome::Kind::kRuntimeExited: {
        outcome.error_type = kExitErrorType;
        std::string message =
            "RequestId: " + id + " Error: Runtime exited with error: " + w.exit.Describe();
        outcome.body = ErrorDocument(outcome.error_type, message);
        Log(message + "\n" + outcome.error_type + "\n");
        break;
      }
      case WaitOutcome::Kind::kTimedOut: {
        outcome.error_type = "Sandbox.Timedout";
        std::string message = w.in_init ? "RequestId: " + id + " Error: Init timed out after " +
                                              FormatSeconds(o_.init_timeout) + " seconds"
                                        : "RequestId: " + id + " Error: Task timed out after " +
                                              FormatSeconds(o_.timeout) + " seconds";
        outcome.body = ErrorDocument(outcome.error_type, message);
        Log(message + "\n");
        break;
      }
      case WaitOutcome::Kind::kInterrupted:
        outcome.error_type = "Interrupted";
        outcome.body = ErrorDocument(outcome.error_type, "anysnap-local was interrupted");
        result_.interrupted = true;
        break;
    }

    env.SampleMemory(o_.proc_root);
    std::vector<RuntimeApiCall> calls = env.server->calls();
    InvokeSpan span = FindInvokeSpan(calls, id, queued);
    outcome.figures.duration_ms =
        MillisecondsBetween(span.delivered.value_or(queued), span.answered.value_or(w.at));
    if (first_in_environment) {
      env.init_reported = true;
      // Up to the first next; a runtime that never got there ran until now.
      outcome.figures.init_duration_ms =
          MillisecondsBetween(env.started, FirstNextArrival(calls).value_or(w.at));
    }
    outcome.figures.max_memory_used_bytes = env.peak_rss;
    if (!outcome.ok) {
      outcome.figures.status.kind = w.kind == WaitOutcome::Kind::kTimedOut
                                        ? InvokeStatus::Kind::kTimeout
                                        : InvokeStatus::Kind::kError;
      outcome.figures.status.error_type = outcome.error_type;
    }
    Log(EndLine(id));
    Log(ReportLine(id, outcome.figures));
    if (!keep_environment) ShutDown();
    return outcome;
  }

  const LocalRunOptions& o_;
  LocalRunResult result_;
  std::unique_ptr<ExecutionEnvironment> env_;
  RequestIdGenerator ids_;
};

}  // namespace

bool LocalRunResult::all_succeeded(size_t events) const {
  if (interrupted || invokes.size() != events) return false;
  return std::all_of(invokes.begin(), invokes.end(), [](const InvokeOutcome& o) { return o.ok; });
}

Result<LocalRunResult> RunLocally(const LocalRunOptions& options) {
  return LocalRun(options).Run();
}

}  // namespace anysnap
