#include "local_function.h"

#include <algorithm>
#include <cstdio>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

// The errorMessage of an error document; the document itself when it has none.
std::string ErrorMessageOf(const std::string& document) {
  auto fields = ParseRuntimeErrorDocument(document);
  return fields.ok() && !fields->message.empty() ? std::move(fields->message) : document;
}

// Arrival of the first invocation/next at or after `from`.
std::optional<Clock::time_point> FirstNextSince(const std::vector<RuntimeApiCall>& calls,
                                                Clock::time_point from) {
  for (const RuntimeApiCall& c : calls) {
    if (c.method == "GET" && c.received >= from &&
        ClassifyRuntimeTarget(c.path).endpoint == RuntimeEndpoint::kNext)
      return c.received;
  }
  return std::nullopt;
}

}  // namespace

LocalFunction::LocalFunction(LocalFunctionOptions options) : o_(std::move(options)) {
  if (o_.environment.max_concurrency < 1) o_.environment.max_concurrency = 1;
  if (o_.snap_start) {
    auto factory = [this] { return NewEnvironment("snap-start"); };
    if (o_.snapshot == SnapshotKind::kCriu) {
      EnvironmentSpec spec = o_.environment;
      spec.function.initialization_type = "snap-start";
      backend_ = MakeCriuBackend(factory, spec, o_.criu, o_.snapshot_init_timeout);
    } else {
      backend_ = MakeFreezeBackend(factory, o_.snapshot_init_timeout, o_.prepare_ahead);
    }
  }
}

LocalFunction::~LocalFunction() { Stop(); }

void LocalFunction::Log(const std::string& line) {
  if (o_.on_log) o_.on_log(line);
}

std::string LocalFunction::NewRequestId() { return request_ids_.Next(); }

Result<std::shared_ptr<FunctionEnvironment>> LocalFunction::NewEnvironment(
    const std::string& init_type, const EnvMap& extra) {
  EnvironmentSpec spec = o_.environment;
  spec.function.initialization_type = init_type;
  for (const auto& [name, value] : extra) spec.function.overrides[name] = value;
  // The audited init is never checkpointed: it gets a /proc of its PID
  // namespace, where the audit looks up the processes it watches (a criu
  // environment has the host's).
  if (!extra.empty()) spec.host_proc = false;
  int id;
  {
    std::lock_guard<std::mutex> lock(environment_ids_mu_);
    id = ++next_environment_id_;
  }
  return FunctionEnvironment::Start(spec, id);
}

Status LocalFunction::RunAuditPass(InitFailure* failure) {
  Log("anysnap-local: audited init (its snapshot is not taken)\n");
  SnapshotTaken taken;
  auto env = InitToSnapshotPoint([this] { return NewEnvironment("snap-start", o_.audit_pass); },
                                 o_.snapshot_init_timeout, failure, &taken);
  if (!env.ok()) return env.status().WithContext("the audited init");
  (*env)->Kill();
  Log("anysnap-local: audited init ended at its snapshot point; now the init to checkpoint\n");
  return Status::Ok();
}

Status LocalFunction::Start(InitFailure* failure) {
  if (backend_) {
    if (!o_.audit_pass.empty()) ANYSNAP_RETURN_IF_ERROR(RunAuditPass(failure));
    auto taken = backend_->TakeSnapshot(failure);
    if (!taken.ok()) return taken.status();
    char line[256];
    std::snprintf(line, sizeof(line),
                  "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: success\n",
                  MillisecondsBetween(taken->init_started, taken->init_ended));
    Log(line);
    std::snprintf(line, sizeof(line), "anysnap-local: snapshot taken in %.2f ms (",
                  taken->snapshot_ms);
    Log(std::string(line) + std::string(backend_->caveat()) + ")\n");
    return Status::Ok();
  }
  if (!o_.eager_init) return Status::Ok();
  std::lock_guard<std::mutex> lock(env_mu_);
  auto env = NewEnvironment("on-demand");
  if (!env.ok()) return env.status();
  FunctionEnvironment::InitEnd end = (*env)->WaitForInitEnd(o_.init_timeout);
  if (end != FunctionEnvironment::InitEnd::kReady) {
    *failure = DescribeInitFailure(**env, end, o_.init_timeout);
    (*env)->Kill();
    return Status::Aborted("the function's init failed: " + failure->error_type);
  }
  current_ = std::move(*env);
  current_fresh_ = true;
  ++environments_;
  return Status::Ok();
}

void LocalFunction::Stop() {
  std::shared_ptr<FunctionEnvironment> env;
  {
    std::lock_guard<std::mutex> lock(env_mu_);
    env = std::move(current_);
  }
  if (env) env->Terminate(o_.stop_grace, kServerStoppedErrorType, "anysnap-local is stopping");
}

int LocalFunction::environments() const {
  std::lock_guard<std::mutex> lock(env_mu_);
  return environments_;
}

void LocalFunction::NoteExitBetweenInvokes(const FunctionEnvironment& env) {
  Log("anysnap-local: the runtime exited between invokes (" +
      env.exit_status().value_or(ExitStatus{}).Describe() + "); " +
      (backend_ ? "restoring" : "starting") + " a new environment\n");
}

void LocalFunction::Admit() {
  std::unique_lock<std::mutex> lock(admit_mu_);
  uint64_t ticket = next_ticket_++;
  admit_cv_.wait(
      lock, [&] { return ticket == serving_ticket_ && running_ < o_.environment.max_concurrency; });
  ++serving_ticket_;
  ++running_;
  admit_cv_.notify_all();
}

void LocalFunction::Release() {
  {
    std::lock_guard<std::mutex> lock(admit_mu_);
    --running_;
  }
  admit_cv_.notify_all();
}

LocalFunction::Acquired LocalFunction::Acquire(const std::string& request_id) {
  Acquired a;
  std::lock_guard<std::mutex> lock(env_mu_);
  if (current_ && current_->alive()) {
    a.env = current_;
    if (current_fresh_) {
      // The first invoke of an eagerly initialised environment reports its init.
      a.start = InvokeResult::Start::kCold;
      current_fresh_ = false;
    }
    return a;
  }
  if (current_) NoteExitBetweenInvokes(*current_);
  current_.reset();
  a.failure.request_id = request_id;
  if (backend_) {
    InitFailure failure;
    auto restored = backend_->Restore(&failure);
    if (!restored.ok()) {
      a.failure.error_type = failure.error_type.empty() ? "SnapStartException" : failure.error_type;
      a.failure.body = failure.body.empty()
                           ? RuntimeErrorDocument("SnapStartException", restored.status().message())
                           : failure.body;
      return a;
    }
    a.env = restored->env;
    a.start = InvokeResult::Start::kRestored;
    a.restored = std::move(*restored);
    // Said before the runtime hears of it, so the log reads in order.
    Log("anysnap-local: restored a new execution environment (" + std::string(backend_->caveat()) +
        ")\n");
    a.env->server().Restore();
  } else {
    auto env = NewEnvironment("on-demand");
    if (!env.ok()) {
      // Lambda: "Error: fork/exec /var/task/bootstrap: no such file or directory".
      a.failure.error_type = kInvalidEntrypointErrorType;
      a.failure.body = RuntimeErrorDocument(
          a.failure.error_type, "RequestId: " + request_id + " Error: " + env.status().message());
      return a;
    }
    a.env = std::move(*env);
    a.start = InvokeResult::Start::kCold;
  }
  current_ = a.env;
  current_fresh_ = false;
  ++environments_;
  return a;
}

void LocalFunction::Discard(const std::shared_ptr<FunctionEnvironment>& env) {
  {
    std::lock_guard<std::mutex> lock(env_mu_);
    if (current_ == env) current_.reset();
  }
  env->Kill();
}

InvokeResult LocalFunction::Invoke(InvokeRequest request) {
  Admit();
  InvokeResult result;
  result.request_id = request.request_id.empty() ? NewRequestId() : request.request_id;
  const std::string& id = result.request_id;
  result.figures.memory_size_mb = o_.environment.function.memory_mb;
  Log(StartLine(id));

  Acquired a;
  Clock::time_point queued;
  InvocationResult answer;
  // At most twice: the second time to a new environment, when the first one's
  // runtime ended without ever taking the event.
  for (;;) {
    a = Acquire(id);
    queued = Clock::now();
    if (!a.env) break;
    Invocation inv;
    inv.event = request.event;
    inv.content_type = request.content_type;
    inv.client_context = request.client_context;
    inv.request_id = id;
    inv.timeout = o_.timeout;
    inv.on_stream_begin = request.on_stream_begin;
    inv.on_stream_data = request.on_stream_data;
    std::future<InvocationResult> future = a.env->server().Invoke(std::move(inv));
    if (a.start == InvokeResult::Start::kCold) {
      FunctionEnvironment::InitEnd end = a.env->WaitForInitEnd(o_.init_timeout);
      if (end == FunctionEnvironment::InitEnd::kTimedOut) {
        a.env->Kill("Sandbox.Timedout", "RequestId: " + id + " Error: Init timed out after " +
                                            FormatSeconds(o_.init_timeout) + " seconds");
      }
    }
    answer = future.get();
    // A warm environment whose runtime died idle: the event was never its.
    bool never_taken = a.start == InvokeResult::Start::kWarm && !answer.delivered &&
                       answer.error_type == kExitErrorType && answer.headers.empty();
    if (!never_taken) break;
    NoteExitBetweenInvokes(*a.env);
    Discard(a.env);
  }
  if (!a.env) {
    result.error_type = a.failure.error_type;
    result.body = a.failure.body;
    std::string message = ErrorMessageOf(result.body);
    if (message.rfind("RequestId: ", 0) != 0) message = "RequestId: " + id + " Error: " + message;
    Log(message + "\n" + result.error_type + "\n");
  } else {
    result.ok = answer.kind == InvocationResult::Kind::kResponse;
    result.body = std::move(answer.body);
    result.streamed = answer.streamed;
    if (const std::string* type = FindHeader(answer.headers, "Content-Type")) {
      result.content_type = *type;
    }
    if (!result.ok) {
      result.error_type = answer.error_type.empty() ? kUnknownReasonErrorType : answer.error_type;
      // A platform error about the runtime's exit names the invoke, as Lambda's does.
      if (result.error_type == kExitErrorType && answer.headers.empty()) {
        result.body = RuntimeErrorDocument(
            result.error_type, "RequestId: " + id + " Error: " + ErrorMessageOf(result.body));
      }
      if (answer.headers.empty()) {
        Log(ErrorMessageOf(result.body) + "\n" + result.error_type + "\n");
      }
    }
  }
  Clock::time_point done = Clock::now();

  if (a.env) {
    std::vector<RuntimeApiCall> calls = a.env->server().calls();
    InvokeSpan span = FindInvokeSpan(calls, id, queued);
    result.figures.duration_ms =
        MillisecondsBetween(span.delivered.value_or(queued), span.answered.value_or(done));
    result.figures.max_memory_used_bytes = a.env->PeakRss();
    if (a.start == InvokeResult::Start::kCold) {
      result.figures.init_duration_ms =
          MillisecondsBetween(a.env->started(), a.env->init_ended_at().value_or(done));
    }
    if (a.restored) {
      Clock::time_point ready = std::max(
          a.restored->resumed,
          FirstNextSince(calls, a.restored->restore_started).value_or(a.restored->resumed));
      result.figures.restore_duration_ms = MillisecondsBetween(a.restored->restore_started, ready);
    }
  }
  result.start = a.start;
  if (!result.ok) {
    result.figures.status.kind = result.error_type == "Sandbox.Timedout"
                                     ? InvokeStatus::Kind::kTimeout
                                     : InvokeStatus::Kind::kError;
    result.figures.status.error_type = result.error_type;
  }
  Log(EndLine(id));
  Log(ReportLine(id, result.figures));

  if (a.env) {
    // A function error keeps the environment; a platform error ends it, and
    // so does Runtime.ExitError however it came (anysnap-wrapper reports it
    // itself, then exits: the environment may not have died yet).
    bool platform_error = !result.ok && answer.headers.empty();
    bool runtime_exited = !result.ok && result.error_type == kExitErrorType;
    bool init_failed = a.env->server().init_error().has_value();
    if (platform_error || runtime_exited || init_failed || !a.env->alive()) {
      // Its runtime answered, then ended: before the next invoke.
      if (!platform_error && !runtime_exited && !init_failed) NoteExitBetweenInvokes(*a.env);
      if (result.error_type == "Sandbox.Timedout") {
        a.env->Kill("Sandbox.Timedout", "The execution environment was reset after a timeout");
      }
      Discard(a.env);
    }
  }
  Release();
  return result;
}

}  // namespace anysnap
