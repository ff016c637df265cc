// RunLocally is `anysnap-local run`: it sends a fixed list of events, one at a
// time, to a LocalFunction (local_function.h) — the engine that `serve` and
// `compare` run on — and says what Lambda would say about each invoke.
//
// For each event: START, the function's own output, END and REPORT (through
// the function's on_log and output_fd), then the outcome. Everything else is
// LocalFunction's: how environments start (on-demand, or restored from a
// snapshot), when one is thrown away and the next event gets a new one, the
// event that a runtime which ended between invokes never took going to a new
// environment. At the end the runtime is stopped (stop_grace: SIGTERM first).
//
// Thread-compatible: one run at a time per options object; the callbacks are
// called on the calling thread, or on_log on LocalFunction's.
#ifndef ANYSNAP_EMULATOR_LOCAL_RUN_H_
#define ANYSNAP_EMULATOR_LOCAL_RUN_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "anysnap/status.h"
#include "local_function.h"

namespace anysnap {

struct LocalRunOptions {
  LocalFunctionOptions function;    // as FunctionSetup makes it
  std::vector<std::string> events;  // bodies, in the order they are sent
  std::string content_type = "application/json";
  // Each outcome, after its REPORT line.
  std::function<void(const InvokeResult&)> on_outcome;
  // Watched while the run lasts: once true, the runtime is stopped, the
  // invoke under way fails (Runtime.ServerStopped) and the run ends.
  const std::atomic<bool>* stop_requested = nullptr;
};

struct LocalRunResult {
  std::vector<InvokeResult> invokes;  // one per event sent
  int environments = 0;               // execution environments invokes went to
  bool interrupted = false;           // stop_requested ended the run early

  // Returns true iff every event was sent and answered with a response.
  bool all_succeeded(size_t events) const;
};

// Runs the events through the function. An error Status only when nothing can
// run: the exec wrapper does not exist, or the launch's configuration is bad
// (FunctionEnvironment::CheckLaunch), or a snapshot could not be taken.
Result<LocalRunResult> RunLocally(const LocalRunOptions& options);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_LOCAL_RUN_H_
