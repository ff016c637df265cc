// Lifecycle is the SnapStart lifecycle in the delegator (design.md §3): what
// happens between the end of the runtime's init and its first invocation,
// decided by AWS_LAMBDA_INITIALIZATION_TYPE.
//
//  - on-demand (and anything but the two below): nothing is held.
//  - snap-start, a runtime that calls restore/next itself: anysnap's hooks run
//    around it (before-snapshot hooks and preload before it goes upstream,
//    after-restore hooks after it returns, before the runtime gets its answer).
//  - snap-start, any other runtime: its first invocation/next ends its init.
//    With nothing to do (no hooks configured or registered, no priming, no
//    preload) it goes upstream and the platform snapshots there. Otherwise it
//    is held while a driver thread runs: priming rounds, before-snapshot hooks,
//    preload, GET restore/next upstream (the snapshot is taken while it waits),
//    dropping every pooled upstream connection, the reseed (reseed clients of
//    the hook channel refresh the runtime's random state), after-restore
//    hooks; then the held next goes upstream. A registered reseed client is
//    work: it makes the next held.
//  - provisioned-concurrency: as snap-start with a held next, without
//    restore/next and after-restore hooks; ANYSNAP_PROVISIONED picks the steps.
//
// Failures: before the snapshot, init/error Runtime.BeforeSnapshotError and
// on_fatal(64); after restore, restore/error Runtime.AfterRestoreError and
// on_fatal(65).
//
// Clocks: durations that span the snapshot (the restore/next wait) are wall
// clock; every deadline and duration after restore starts from a reading
// taken after restore. Nothing random made before the snapshot is used after.
//
// Seams: the clock and the runner of configured hooks are injected (tests run
// fakes of both, and a scripted Runtime API as the upstream).
//
// Thread-safe: Intercept() is called from the delegator's connection threads.
#ifndef ANYSNAP_DELEGATOR_LIFECYCLE_H_
#define ANYSNAP_DELEGATOR_LIFECYCLE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/config.h"
#include "anysnap/environment.h"
#include "anysnap/http.h"
#include "anysnap/runtime_api.h"
#include "anysnap/time_source.h"
#include "anysnap/upstream_client.h"
#include "hook_channel.h"
#include "hook_runner.h"
#include "priming.h"

namespace anysnap {

enum class InitType { kOnDemand, kSnapStart, kProvisioned };

// AWS_LAMBDA_INITIALIZATION_TYPE: "snap-start", "provisioned-concurrency";
// anything else (on-demand, lambda-managed-instances, unset) is kOnDemand.
InitType ParseInitType(std::string_view value);

// Exit statuses after a lifecycle failure, as AWS's Python runtime uses them.
inline constexpr int kExitBeforeSnapshotError = 64;
inline constexpr int kExitAfterRestoreError = 65;

struct LifecycleOptions {
  InitType init_type = InitType::kOnDemand;
  std::vector<HookSpec> before_snapshot;
  std::vector<HookSpec> after_restore;
  std::chrono::milliseconds before_timeout{60000};  // whole phase; also per priming event
  std::chrono::milliseconds after_timeout{10000};   // whole phase
  // ANYSNAP_RESEED: what a source that reseed clients could not reseed does
  // after restore (a warning, or with kStrict a failed restore).
  ReseedMode reseed = ReseedMode::kAuto;
  std::vector<PrimeEvent> prime_events;
  int prime_rounds = 1;
  std::vector<std::string> preload;
  // provisioned-concurrency steps (ANYSNAP_PROVISIONED).
  bool provisioned_prime = true;
  bool provisioned_before_snapshot = false;
  bool provisioned_preload = false;
  // Environment of hook commands (ANYSNAP_PHASE is added).
  EnvMap hook_env;
  // Lambda-Runtime-Invoked-Function-Arn of priming events.
  std::string function_arn;
  // When the wrapper started (on the lifecycle's clock): the first line says
  // how long init took.
  TimeSource::SteadyTime start = std::chrono::steady_clock::now();
  // Called once where init ends, just before the snapshot is taken (after
  // priming, hooks and preload), with where that is ("restore/next", "the
  // first invocation/next"). A non-OK status fails the init as a
  // before-snapshot step, if `snapshot_point_may_fail` (the runtime's first
  // next is then always held, so that it can).
  std::function<Status(std::string_view point)> at_snapshot_point;
  bool snapshot_point_may_fail = false;
  // Called once, from a delegator thread, after a failure has been reported
  // upstream: stop the runtime and exit with `exit_status`.
  std::function<void(int exit_status)> on_fatal;
};

// Where the lifecycle stands, for a runtime that dies.
struct LifecycleState {
  bool init_ended = false;  // restore/next went upstream (by the lifecycle)
  bool restoring = false;   // restored, the runtime's first next not forwarded yet
  std::string stage;        // "while priming (round 1 of 2, event 1 of 3)", ...
};

class Lifecycle {
 public:
  // `upstream`, `clock` and `hooks` must outlive the lifecycle.
  Lifecycle(LifecycleOptions options, UpstreamClient* upstream,
            TimeSource* clock = &SystemTimeSource(), HookRunner* hooks = &ConfiguredHookRunner());
  ~Lifecycle();  // Stop() + Join()
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Looks at a request before it is forwarded. Returns true when the
  // lifecycle answered it (a priming event, a priming answer, a restore/next
  // it ran its hooks around); false when it must be forwarded as usual (after
  // waiting, for a held next).
  bool Intercept(const RuntimeTarget& target, HttpRequest& request, RequestBody& body,
                 ResponseWriter& out);

  // The environment hook commands run with (ANYSNAP_PHASE is added): the
  // runtime's. Set before the runtime starts.
  void SetHookEnvironment(EnvMap env);

  HookChannel& channel() { return channel_; }
  LifecycleState state() const;

  // Cancels whatever runs (hooks are killed, parked requests answered) so that
  // shutdown is prompt. Idempotent.
  void Stop();
  // Waits for the driver thread; call after Stop() and after the upstream
  // client has been aborted.
  void Join();

 private:
  enum class Phase {
    kInit,     // before the runtime's first next / restore/next
    kHolding,  // a next is held; the driver runs
    kRunning,  // init is over: everything is forwarded
    kFailed,   // a lifecycle step failed; the runtime is being stopped
  };
  struct Pending;  // the priming event on offer
  // The steps between the runtime's end of init and its first invocation, in
  // the order they run; which of them run depends on the init type and on
  // whether the runtime calls restore/next itself.
  struct Steps {
    bool prime = false;
    bool before_snapshot_hooks = false;
    bool preload = false;
    std::string_view snapshot_point;  // what at_snapshot_point is told
    bool restore = false;             // restore/next upstream, then after-restore hooks
    // restore/next's answer goes to the runtime, whatever its status; without
    // this, an answer other than 200 fails the init.
    bool relay_restore_answer = false;
  };
  // Where the steps stopped.
  enum class StepFailure { kNone, kBeforeSnapshot, kRestoreNext, kAfterRestore };
  struct StepsOutcome {
    StepFailure failure = StepFailure::kNone;  // already reported upstream (Fail())
    std::string message;                       // why, when failed
    std::optional<UpstreamResponse> restore_answer;
  };

  bool HasWork() const;  // requires mu_
  void EnterRunning();   // requires mu_
  bool InterceptNext(ResponseWriter& out);
  bool InterceptRestoreNext(ResponseWriter& out);
  bool InterceptPrimingAnswer(const RuntimeTarget& target, HttpRequest& request, RequestBody& body,
                              ResponseWriter& out);
  void Drive();
  StepsOutcome RunSteps(const Steps& steps);
  void Release();
  Status Prime();
  Status RunHooks(std::string_view phase, const std::vector<HookSpec>& configured,
                  std::chrono::milliseconds timeout);
  Status BeforeSnapshot(bool with_preload, bool with_hooks);
  Result<UpstreamResponse> RestoreNext();
  Status AfterRestore();
  Status Reseed();
  Status AtSnapshotPoint(std::string_view point);
  void Fail(bool after_restore, const Status& why);
  void SetStage(std::string stage);

  const LifecycleOptions options_;
  UpstreamClient* const upstream_;
  TimeSource* const clock_;
  HookRunner* const hooks_;
  HookChannel channel_;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> passthrough_{false};  // init is over: Intercept() takes nothing

  mutable std::mutex mu_;
  std::condition_variable changed_;
  Phase phase_ = Phase::kInit;          // guarded by mu_
  bool failing_ = false;                // guarded by mu_
  LifecycleState state_;                // guarded by mu_
  std::unique_ptr<Pending> pending_;    // guarded by mu_
  std::set<std::string> priming_ids_;   // guarded by mu_
  EnvMap hook_env_;                     // guarded by mu_
  TimeSource::SteadyTime restored_at_;  // guarded by mu_
  std::thread driver_;
};

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_LIFECYCLE_H_
