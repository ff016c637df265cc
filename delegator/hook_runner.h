// Runs one configured before-snapshot / after-restore hook (a HookSpec from
// ANYSNAP_BEFORE_SNAPSHOT or ANYSNAP_AFTER_RESTORE) to completion or deadline.
//
// A command hook runs without a shell, in a process group of its own, with the
// function's environment plus ANYSNAP_PHASE; its stdout and stderr go to the
// log line by line, each line prefixed with the hook's name. Exit status 0 is
// success. At the deadline (or on cancellation) the whole group is killed.
//
// A URL hook is POSTed {"phase": "..."} on a fresh loopback connection; any 2xx
// answer is success.
//
// HookRunner is the seam the lifecycle runs configured hooks through (as
// Ninja's CommandRunner is its builder's); ConfiguredHookRunner() runs them
// for real, tests run fakes that record and script them.
//
// Thread-compatible: independent calls may run concurrently.
#ifndef ANYSNAP_DELEGATOR_HOOK_RUNNER_H_
#define ANYSNAP_DELEGATOR_HOOK_RUNNER_H_

#include <atomic>
#include <chrono>
#include <string_view>

#include "anysnap/config.h"
#include "anysnap/environment.h"
#include "anysnap/status.h"
#include "anysnap/time_source.h"

namespace anysnap {

// Before-snapshot or after-restore, as ANYSNAP_PHASE and the hook channel name
// them.
inline constexpr std::string_view kBeforeSnapshotPhase = "before-snapshot";
inline constexpr std::string_view kAfterRestorePhase = "after-restore";

// Runs `hook` for `phase`. Returns OK on success; Failed (non-zero exit, a
// non-2xx answer, or a command that cannot be started), TimedOut when
// `deadline` passed first ("timed out"), Aborted when `cancel` became true.
// The message says what happened without naming the hook (the caller does).
Status RunConfiguredHook(const HookSpec& hook, std::string_view phase, const EnvMap& env,
                         std::chrono::steady_clock::time_point deadline,
                         const std::atomic<bool>& cancel);

class HookRunner {
 public:
  virtual ~HookRunner() = default;
  // Runs `hook` for `phase` with RunConfiguredHook()'s contract.
  virtual Status Run(const HookSpec& hook, std::string_view phase, const EnvMap& env,
                     TimeSource::SteadyTime deadline, const std::atomic<bool>& cancel) = 0;
};

// Runs hooks with RunConfiguredHook().
HookRunner& ConfiguredHookRunner();

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_HOOK_RUNNER_H_
