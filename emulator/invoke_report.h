// The platform's log lines for one invoke, as Lambda writes them to a
// function's log stream:
//   START RequestId: <id> Version: $LATEST
//   END RequestId: <id>
//   REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\t
//       Memory Size: 128 MB\tMax Memory Used: 40 MB[\tInit Duration: 2031.55 ms |
//       \tRestore Duration: 35.10 ms]
//       [\tStatus: error\tError Type: Runtime.ExitError | \tStatus: timeout]
// (one line, tab-separated like Lambda's), and the timings behind them,
// measured from the Runtime API server's call log rather than from the
// outside, so that anysnap-local's own scheduling does not count:
//   - Init Duration: from the runtime process's start to the arrival of its
//     first invocation/next (the first invoke of an environment only);
//   - Duration: from the moment the event went out on a next answer to the
//     moment the response or error was answered;
//   - Billed Duration: Duration rounded up to the millisecond (java21 is a
//     managed runtime: init is not billed on-demand).
//
// Thread-compatible: pure functions.
#ifndef ANYSNAP_EMULATOR_INVOKE_REPORT_H_
#define ANYSNAP_EMULATOR_INVOKE_REPORT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime_api_server.h"

namespace anysnap {

using SteadyTime = std::chrono::steady_clock::time_point;

// When the runtime took and answered one invocation.
struct InvokeSpan {
  std::optional<SteadyTime> delivered;  // the next answer that carried the event
  std::optional<SteadyTime> answered;   // the 202 to its response or error POST
};

// Finds the span of invocation `request_id`, queued at `queued`, in `calls`.
// Invocations run one at a time, so its event went out on the first next
// answered with 200 at or after `queued`.
InvokeSpan FindInvokeSpan(const std::vector<RuntimeApiCall>& calls, const std::string& request_id,
                          SteadyTime queued);

// Arrival of the first invocation/next in `calls`, if any.
std::optional<SteadyTime> FirstNextArrival(const std::vector<RuntimeApiCall>& calls);

// Milliseconds from `from` to `to`, with microsecond resolution.
double MillisecondsBetween(SteadyTime from, SteadyTime to);

// How the invoke ended, for the REPORT line.
struct InvokeStatus {
  enum class Kind { kSuccess, kError, kTimeout };
  Kind kind = Kind::kSuccess;
  std::string error_type;  // kError
};

struct ReportFigures {
  double duration_ms = 0;
  int memory_size_mb = 128;
  uint64_t max_memory_used_bytes = 0;
  std::optional<double> init_duration_ms;
  std::optional<double> restore_duration_ms;  // the first invoke after a SnapStart restore
  InvokeStatus status;
};

// Each line ends with '\n'.
std::string StartLine(const std::string& request_id);
std::string EndLine(const std::string& request_id);
std::string ReportLine(const std::string& request_id, const ReportFigures& figures);

// Duration rounded up to whole milliseconds.
uint64_t BilledMilliseconds(double duration_ms);
// Bytes as Lambda's MB figure: mebibytes, rounded up.
uint64_t MemoryMegabytes(uint64_t bytes);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_INVOKE_REPORT_H_
