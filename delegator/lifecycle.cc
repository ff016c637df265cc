#include "lifecycle.h"

#include <algorithm>
#include <cstdio>

#include "anysnap/ascii.h"
#include "anysnap/base64.h"
#include "anysnap/log.h"
#include "preload.h"

namespace anysnap {

namespace {

using std::chrono::milliseconds;

// How much of a priming error's body is read for its message.
constexpr size_t kMaxErrorBody = 64 * 1024;

std::string Plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// "Error: message" from a Runtime API error document and its type header.
std::string DescribeFunctionError(std::string_view type_header, std::string_view document) {
  std::string type(type_header);
  std::string message;
  if (auto fields = ParseRuntimeErrorDocument(document); fields.ok()) {
    if (type.empty()) type = std::move(fields->type);
    message = std::move(fields->message);
  } else {
    message = std::string(document.substr(0, 200));
  }
  if (type.empty()) type = "Unhandled";
  return message.empty() ? type : type + ": " + message;
}

// The answer's headers as a runtime may receive them again: framing and
// hop-by-hop fields are the server's business.
HttpHeaders EndToEndHeaders(const HttpHeaders& headers) {
  HttpHeaders out;
  for (const HttpHeader& h : headers) {
    if (IsHopByHop(h.name, headers) || EqualsIgnoreCase(h.name, "Content-Length")) continue;
    out.push_back(h);
  }
  return out;
}

}  // namespace

InitType ParseInitType(std::string_view value) {
  if (value == "snap-start") return InitType::kSnapStart;
  if (value == "provisioned-concurrency") return InitType::kProvisioned;
  return InitType::kOnDemand;
}

struct Lifecycle::Pending {
  std::string id;
  const PrimeEvent* event = nullptr;
  int64_t deadline_ms = 0;  // wall clock, for the Deadline header
  std::string stage;
  bool delivered = false;
  bool answered = false;
  Status outcome;  // Failed when the function answered with an error
};

Lifecycle::Lifecycle(LifecycleOptions options, UpstreamClient* upstream, TimeSource* clock,
                     HookRunner* hooks)
    : options_(std::move(options)),
      upstream_(upstream),
      clock_(clock),
      hooks_(hooks),
      channel_([&]() -> std::vector<std::string> {
        switch (options_.init_type) {
          case InitType::kSnapStart:
            return {std::string(kBeforeSnapshotPhase), std::string(kAfterRestorePhase)};
          case InitType::kProvisioned:
            if (options_.provisioned_before_snapshot) return {std::string(kBeforeSnapshotPhase)};
            return {};
          case InitType::kOnDemand:
            break;
        }
        return {};
      }()) {}

Lifecycle::~Lifecycle() {
  Stop();
  Join();
}

void Lifecycle::SetHookEnvironment(EnvMap env) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_env_ = std::move(env);
}

LifecycleState Lifecycle::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void Lifecycle::Stop() {
  cancel_.store(true);
  channel_.Stop();
  std::lock_guard<std::mutex> lock(mu_);
  changed_.notify_all();
}

void Lifecycle::Join() {
  if (driver_.joinable()) driver_.join();
}

bool Lifecycle::HasWork() const {
  const bool hooks = !options_.before_snapshot.empty() || channel_.hook_client_count() > 0;
  switch (options_.init_type) {
    case InitType::kSnapStart:
      return hooks || channel_.reseed_client_count() > 0 || !options_.after_restore.empty() ||
             !options_.prime_events.empty() || !options_.preload.empty() ||
             options_.snapshot_point_may_fail;
    case InitType::kProvisioned:
      return options_.snapshot_point_may_fail ||
             (options_.provisioned_prime && !options_.prime_events.empty()) ||
             (options_.provisioned_before_snapshot && hooks) ||
             (options_.provisioned_preload && !options_.preload.empty());
    case InitType::kOnDemand:
      break;
  }
  return false;
}

bool Lifecycle::Intercept(const RuntimeTarget& target, HttpRequest& request, RequestBody& body,
                          ResponseWriter& out) {
  if (passthrough_.load(std::memory_order_acquire)) return false;
  switch (target.endpoint) {
    case RuntimeEndpoint::kNext:
      return InterceptNext(out);
    case RuntimeEndpoint::kRestoreNext:
      return InterceptRestoreNext(out);
    case RuntimeEndpoint::kResponse:
    case RuntimeEndpoint::kInvocationError:
      return InterceptPrimingAnswer(target, request, body, out);
    default:
      return false;
  }
}

// Init is over and nothing is held any more: from now on every request is
// forwarded without a look. Requires mu_.
void Lifecycle::EnterRunning() {
  phase_ = Phase::kRunning;
  state_.restoring = false;
  state_.stage.clear();
  priming_ids_.clear();
  passthrough_.store(true, std::memory_order_release);
  changed_.notify_all();
}

bool Lifecycle::InterceptNext(ResponseWriter& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (phase_ == Phase::kInit) {
    const std::string since = FormatMillis(clock_->Now() - options_.start);
    channel_.CloseRegistration();
    if (!HasWork()) {
      EnterRunning();
      lock.unlock();
      channel_.Finish();
      Status audit = AtSnapshotPoint("the first invocation/next");
      if (!audit.ok()) Log().Warn(audit.message() + " (no snapshot in this init: not failed)");
      Log().Info("init ended with the runtime's first invocation/next, " + since +
                 " ms after start" +
                 (options_.init_type == InitType::kSnapStart
                      ? ": nothing to run around the snapshot, so it is taken there"
                      : ""));
      return false;
    }
    phase_ = Phase::kHolding;
    Log().Info("runtime's first invocation/next " + since +
               " ms after start: held while anysnap runs its init steps");
    driver_ = std::thread(&Lifecycle::Drive, this);
  }
  if (phase_ == Phase::kRunning) return false;

  changed_.wait(lock, [&] {
    return phase_ != Phase::kHolding || cancel_.load() || (pending_ && !pending_->delivered);
  });
  if (phase_ == Phase::kRunning) return false;
  if (phase_ == Phase::kHolding && !cancel_.load() && pending_ && !pending_->delivered) {
    pending_->delivered = true;
    state_.stage = pending_->stage;
    const PrimeEvent& event = *pending_->event;
    HttpHeaders headers = {{std::string(kRequestIdHeader), pending_->id},
                           {std::string(kDeadlineHeader), std::to_string(pending_->deadline_ms)},
                           {std::string(kFunctionArnHeader), options_.function_arn},
                           {"Content-Type", "application/json"}};
    for (const HttpHeader& h : event.headers) {
      auto same = [&](const HttpHeader& mine) { return EqualsIgnoreCase(mine.name, h.name); };
      headers.erase(std::remove_if(headers.begin(), headers.end(), same), headers.end());
      headers.push_back(h);
    }
    lock.unlock();
    out.Respond(200, headers, event.body);
    return true;
  }
  lock.unlock();
  out.RespondError(503, "Anysnap.InitStopped", "anysnap stopped this init");
  out.CloseAfterResponse();
  return true;
}

bool Lifecycle::InterceptRestoreNext(ResponseWriter& out) {
  if (options_.init_type != InitType::kSnapStart) return false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (phase_ != Phase::kInit) return false;
    channel_.CloseRegistration();
    if (!HasWork()) {
      EnterRunning();
      lock.unlock();
      channel_.Finish();
      (void)AtSnapshotPoint("restore/next");  // cannot fail here: HasWork() says so
      Log().Info("the runtime called restore/next itself " +
                 FormatMillis(clock_->Now() - options_.start) +
                 " ms after start: forwarded, the snapshot is taken there");
      return false;
    }
    phase_ = Phase::kHolding;
  }
  Log().Info("the runtime called restore/next itself " +
             FormatMillis(clock_->Now() - options_.start) +
             " ms after start: anysnap's hooks run around it");
  if (!options_.prime_events.empty()) {
    Log().Warn(
        "ANYSNAP_PRIME_EVENTS skipped: this runtime calls restore/next itself and takes no event "
        "before the snapshot");
  }
  StepsOutcome done = RunSteps({.prime = false,
                                .before_snapshot_hooks = true,
                                .preload = true,
                                .snapshot_point = "restore/next",
                                .restore = true,
                                .relay_restore_answer = true});
  switch (done.failure) {
    case StepFailure::kNone:
      break;
    case StepFailure::kBeforeSnapshot:
      out.RespondError(503, "Anysnap.InitStopped", "anysnap stopped this init");
      out.CloseAfterResponse();
      return true;
    case StepFailure::kRestoreNext:
      out.RespondError(502, "Anysnap.UpstreamError", done.message);
      out.CloseAfterResponse();
      return true;
    case StepFailure::kAfterRestore:
      out.RespondError(503, "Anysnap.InitStopped", "anysnap stopped this restore");
      out.CloseAfterResponse();
      return true;
  }
  Release();
  const UpstreamResponse& answer = *done.restore_answer;
  out.Respond(answer.status, EndToEndHeaders(answer.headers), answer.body);
  return true;
}

bool Lifecycle::InterceptPrimingAnswer(const RuntimeTarget& target, HttpRequest& request,
                                       RequestBody& body, ResponseWriter& out) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (priming_ids_.count(target.request_id) == 0) return false;
  }
  // Consumed here, whatever its size: it never goes upstream.
  Status outcome;
  if (target.endpoint == RuntimeEndpoint::kInvocationError) {
    auto document = body.ReadAll(kMaxErrorBody);
    const std::string* type = FindHeader(request.headers, kErrorTypeHeader);
    outcome = Status::Failed(
        DescribeFunctionError(type ? *type : "", document.ok() ? *document : std::string()));
  } else {
    char buf[64 * 1024];
    for (;;) {
      auto n = body.Read(buf, sizeof(buf));
      if (!n.ok()) {
        outcome = Status::Failed("the response broke off: " + n.status().message());
        break;
      }
      if (*n == 0) break;
    }
    if (outcome.ok()) {
      if (const std::string* type = FindHeader(body.trailers(), kErrorTypeHeader)) {
        std::string document;
        if (const std::string* encoded = FindHeader(body.trailers(), kErrorBodyTrailer)) {
          if (auto decoded = Base64Decode(*encoded); decoded.ok()) document = *decoded;
        }
        outcome = Status::Failed(DescribeFunctionError(*type, document));
      }
    }
  }
  bool taken = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ && pending_->id == target.request_id && !pending_->answered) {
      pending_->answered = true;
      pending_->outcome = outcome;
      changed_.notify_all();
      taken = true;
    }
  }
  if (!taken) {
    out.RespondError(400, "InvalidRequestID",
                     "priming event " + target.request_id + " is not waiting for an answer");
    return true;
  }
  out.Respond(202, {{"Content-Type", "application/json"}}, "{\"status\":\"OK\"}");
  return true;
}

void Lifecycle::SetStage(std::string stage) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.stage = std::move(stage);
}

void Lifecycle::Drive() {
  const bool provisioned = options_.init_type == InitType::kProvisioned;
  Steps steps;
  if (provisioned) {
    steps = {.prime = options_.provisioned_prime && !options_.prime_events.empty(),
             .before_snapshot_hooks = options_.provisioned_before_snapshot,
             .preload = options_.provisioned_preload,
             .snapshot_point = "the first invocation/next",
             .restore = false};
  } else {
    steps = {.prime = !options_.prime_events.empty(),
             .before_snapshot_hooks = true,
             .preload = true,
             .snapshot_point = "restore/next",
             .restore = true};
  }
  if (RunSteps(steps).failure == StepFailure::kNone) Release();
}

Lifecycle::StepsOutcome Lifecycle::RunSteps(const Steps& steps) {
  StepsOutcome outcome;
  auto fail = [&](StepFailure where, const Status& why) {
    Fail(/*after_restore=*/where == StepFailure::kAfterRestore, why);
    outcome.failure = where;
    outcome.message = why.message();
    return outcome;
  };
  if (steps.prime) {
    if (Status s = Prime(); !s.ok()) return fail(StepFailure::kBeforeSnapshot, s);
  }
  if (Status s = BeforeSnapshot(steps.preload, steps.before_snapshot_hooks); !s.ok()) {
    return fail(StepFailure::kBeforeSnapshot, s);
  }
  if (Status s = AtSnapshotPoint(steps.snapshot_point); !s.ok()) {
    return fail(StepFailure::kBeforeSnapshot, s);
  }
  if (!steps.restore) return outcome;
  auto answer = RestoreNext();
  if (!answer.ok()) {
    return fail(StepFailure::kRestoreNext, answer.status().WithPrefix("restore/next failed: "));
  }
  if (answer->status != 200 && !steps.relay_restore_answer) {
    std::string body = answer->body.substr(0, 200);
    return fail(StepFailure::kRestoreNext,
                Status::Failed("restore/next answered " + std::to_string(answer->status) +
                               (body.empty() ? "" : ": " + body)));
  }
  if (answer->status == 200) {
    if (Status s = AfterRestore(); !s.ok()) return fail(StepFailure::kAfterRestore, s);
  }
  outcome.restore_answer = std::move(*answer);
  return outcome;
}

void Lifecycle::Release() {
  channel_.Finish();
  // Logged before the held next goes: a line written after it could come after
  // the first invocation's.
  std::lock_guard<std::mutex> lock(mu_);
  if (state_.restoring) {
    Log().Info("restore to the runtime's first invocation/next forwarded: " +
               FormatMillis(clock_->Now() - restored_at_) + " ms");
  } else {
    Log().Info("init steps done: the runtime's invocation/next is forwarded");
  }
  EnterRunning();
}

Status Lifecycle::Prime() {
  const size_t count = options_.prime_events.size();
  const int rounds = options_.prime_rounds;
  std::string curve;
  for (int round = 1; round <= rounds; ++round) {
    const TimeSource::SteadyTime round_start = clock_->Now();
    for (size_t i = 0; i < count; ++i) {
      const std::string where = "priming round " + std::to_string(round) + " of " +
                                std::to_string(rounds) + ", event " + std::to_string(i + 1) +
                                " of " + std::to_string(count);
      const TimeSource::SteadyTime deadline = clock_->Now() + options_.before_timeout;
      std::unique_lock<std::mutex> lock(mu_);
      pending_ = std::make_unique<Pending>();
      pending_->id = "anysnap-prime-r" + std::to_string(round) + "-e" + std::to_string(i + 1);
      pending_->event = &options_.prime_events[i];
      pending_->deadline_ms =
          std::chrono::duration_cast<milliseconds>(clock_->WallNow().time_since_epoch()).count() +
          options_.before_timeout.count();
      pending_->stage = "while " + where;
      priming_ids_.insert(pending_->id);
      changed_.notify_all();
      bool answered = clock_->WaitUntil(changed_, lock, deadline,
                                        [&] { return cancel_.load() || pending_->answered; });
      if (cancel_.load()) return Status::Aborted("stopped");
      if (!answered) {
        return Status::TimedOut(where + " (request id " + pending_->id + "): no answer within " +
                                std::to_string(options_.before_timeout.count()) + " ms");
      }
      if (!pending_->outcome.ok()) {
        return Status::Failed(where + ": the function failed: " + pending_->outcome.message());
      }
    }
    std::string took = FormatMillis(clock_->Now() - round_start);
    curve += (curve.empty() ? "" : ", ") + took;
    Log().Info("priming round " + std::to_string(round) + " of " + std::to_string(rounds) + ": " +
               Plural(count, "event") + " in " + took + " ms");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.reset();
  }
  if (rounds > 1) Log().Info("priming done; ms per round: " + curve);
  return Status::Ok();
}

Status Lifecycle::RunHooks(std::string_view phase, const std::vector<HookSpec>& configured,
                           milliseconds timeout) {
  const bool before = phase == kBeforeSnapshotPhase;
  const TimeSource::SteadyTime deadline = clock_->Now() + timeout;
  EnvMap env;
  {
    std::lock_guard<std::mutex> lock(mu_);
    env = hook_env_;
  }
  auto with_budget = [&](const Status& s) {
    if (s.code() != Status::Code::kTimedOut) return s;
    return Status::TimedOut(s.message() + " after " + std::to_string(timeout.count()) + " ms");
  };
  auto run_configured = [&]() -> Status {
    std::vector<const HookSpec*> order;
    for (const HookSpec& hook : configured) order.push_back(&hook);
    if (before) std::reverse(order.begin(), order.end());
    for (const HookSpec* hook : order) {
      const TimeSource::SteadyTime start = clock_->Now();
      Status s = hooks_->Run(*hook, phase, env, deadline, cancel_);
      s = with_budget(s);
      const std::string name = QuoteForMessage(hook->text, 120);
      if (!s.ok()) return s.WithPrefix("hook " + name + " ");
      Log().Info(std::string(phase) + ": hook " + name + " succeeded in " +
                 FormatMillis(clock_->Now() - start) + " ms");
    }
    return Status::Ok();
  };
  // Registration order is configured hooks first, then in-process clients;
  // before-snapshot runs it backwards.
  if (before) {
    ANYSNAP_RETURN_IF_ERROR(with_budget(channel_.RunPhase(phase, /*reverse=*/true, deadline)));
    return run_configured();
  }
  ANYSNAP_RETURN_IF_ERROR(run_configured());
  return with_budget(channel_.RunPhase(phase, /*reverse=*/false, deadline));
}

Status Lifecycle::BeforeSnapshot(bool with_preload, bool with_hooks) {
  if (with_hooks && (!options_.before_snapshot.empty() || channel_.hook_client_count() > 0)) {
    SetStage("while before-snapshot hooks ran");
    const TimeSource::SteadyTime start = clock_->Now();
    Status s = RunHooks(kBeforeSnapshotPhase, options_.before_snapshot, options_.before_timeout);
    if (!s.ok()) return s.WithPrefix("before-snapshot ");
    Log().Info("before-snapshot hooks done in " + FormatMillis(clock_->Now() - start) + " ms");
  }
  if (with_preload && !options_.preload.empty()) {
    SetStage("while preloading");
    const TimeSource::SteadyTime start = clock_->Now();
    PreloadStats stats = Preload(options_.preload, cancel_);
    if (cancel_.load()) return Status::Aborted("stopped");
    size_t shown = 0;
    for (const std::string& problem : stats.problems) {
      if (++shown > 10) break;
      Log().Warn("ANYSNAP_PRELOAD: cannot read " + problem);
    }
    Log().Info("preload: " + Plural(stats.files, "file") + ", " + std::to_string(stats.bytes) +
               " bytes in " + FormatMillis(clock_->Now() - start) + " ms" +
               (stats.problems.empty()
                    ? ""
                    : "; " + Plural(stats.problems.size(), "path") + " could not be read"));
  }
  return Status::Ok();
}

Result<UpstreamResponse> Lifecycle::RestoreNext() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.init_ended = true;
    state_.stage = "while waiting for restore/next";
  }
  Log().Info("calling restore/next: the snapshot is taken while it waits");
  const TimeSource::WallTime called = clock_->WallNow();
  auto answer = upstream_->Call("GET", kRestoreNextPath, {}, "", kLongPoll);
  // The first reading after restore: every later duration starts here.
  const TimeSource::SteadyTime restored = clock_->Now();
  const auto waited = std::chrono::duration_cast<milliseconds>(clock_->WallNow() - called);
  if (!answer.ok()) return answer.status();
  Log().Info("restore/next answered " + std::to_string(answer->status) + " after " +
             std::to_string(waited.count()) + " ms of wall-clock time (init end to restore)");
  if (answer->status == 200) {
    // Connections made before the snapshot may be dead after it.
    upstream_->DropConnections();
    std::lock_guard<std::mutex> lock(mu_);
    state_.restoring = true;
    state_.stage = "after restore";
    restored_at_ = restored;
  }
  return answer;
}

Status Lifecycle::AtSnapshotPoint(std::string_view point) {
  if (!options_.at_snapshot_point) return Status::Ok();
  Status s = options_.at_snapshot_point(point);
  return options_.snapshot_point_may_fail ? s : Status::Ok();
}

Status Lifecycle::AfterRestore() {
  ANYSNAP_RETURN_IF_ERROR(Reseed());
  if (options_.after_restore.empty() && channel_.hook_client_count() == 0) return Status::Ok();
  SetStage("while after-restore hooks ran");
  const TimeSource::SteadyTime start = clock_->Now();
  Status s = RunHooks(kAfterRestorePhase, options_.after_restore, options_.after_timeout);
  if (!s.ok()) return s.WithPrefix("after-restore ");
  Log().Info("after-restore hooks done in " + FormatMillis(clock_->Now() - start) + " ms");
  return Status::Ok();
}

// Before any hook: a hook may draw from the generators the reseed refreshes.
Status Lifecycle::Reseed() {
  if (channel_.reseed_client_count() == 0) return Status::Ok();
  SetStage("while reseeding");
  const TimeSource::SteadyTime start = clock_->Now();
  ReseedOutcome outcome;
  ANYSNAP_RETURN_IF_ERROR(channel_.RunReseed(start + options_.after_timeout, &outcome));
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : "; ") + item;
    return out;
  };
  Log().Info("reseeded after restore in " + FormatMillis(clock_->Now() - start) + " ms: " +
             (outcome.reseeded.empty() ? std::string("nothing") : join(outcome.reseeded)));
  if (outcome.not_reseeded.empty()) return Status::Ok();
  const std::string what = "not reseeded after restore: " + join(outcome.not_reseeded);
  if (options_.reseed == ReseedMode::kStrict)
    return Status::Failed("ANYSNAP_RESEED=strict: " + what);
  Log().Warn(what + " (every environment restored from this snapshot shares their values)");
  return Status::Ok();
}

void Lifecycle::Fail(bool after_restore, const Status& why) {
  if (cancel_.load() || why.code() == Status::Code::kAborted) return;  // shutting down
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failing_) return;
    failing_ = true;
  }
  const std::string_view type = after_restore ? kAfterRestoreErrorType : kBeforeSnapshotErrorType;
  Log().Error(std::string(type) + ": " + why.message());
  ReportRuntimeError(*upstream_, after_restore ? kRestoreErrorPath : kInitErrorPath, type,
                     why.message());
  if (options_.on_fatal)
    options_.on_fatal(after_restore ? kExitAfterRestoreError : kExitBeforeSnapshotError);
  // Only now are held requests answered: a runtime that exits on that answer
  // must not be taken for one that died on its own.
  channel_.Stop();
  std::lock_guard<std::mutex> lock(mu_);
  phase_ = Phase::kFailed;
  changed_.notify_all();
}

}  // namespace anysnap
