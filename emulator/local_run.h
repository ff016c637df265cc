// RunLocally is `anysnap-local run`: it runs a function on this machine the
// way Lambda runs it on-demand, for a fixed list of events, and says what
// Lambda would say about each invoke.
//
// An execution environment is one RuntimeApiServer (on 127.0.0.1, a free
// port) and one runtime process tree started against it as Lambda's java21
// managed runtime starts it (lambda_launch.h): through the exec wrapper, or
// with none, the runtime host directly. Events go one at a time. For each:
// START, the function's own output (its stdout and stderr go straight to
// `function_output_fd`), END and REPORT (invoke_report.h), then the outcome.
//
// Failures end the environment, and the next event starts a fresh one, as on
// Lambda:
//   - the runtime process ends before answering: Runtime.ExitError, "RequestId:
//     <id> Error: Runtime exited with error: exit status N" (or the document it
//     posted to init/error, when it did);
//   - the runtime posts init/error: that document;
//   - no answer within the timeout (from delivery; before the first delivery
//     of an environment, the init timeout from its start): Sandbox.Timedout;
//   - the runtime cannot be started at all: Runtime.InvalidEntrypoint.
// A function error (invocation/{id}/error) fails the invoke but keeps the
// environment. At the end the runtime gets SIGTERM, then SIGKILL for its
// whole process group after `stop_grace`.
//
// Not yet: SnapStart (snapshot and restore), the invoke endpoint, mount
// namespaces (/var/task and /opt keep their host paths).
//
// Thread-compatible: one run at a time per options object; the callbacks are
// called on the calling thread.
#ifndef ANYSNAP_EMULATOR_LOCAL_RUN_H_
#define ANYSNAP_EMULATOR_LOCAL_RUN_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"
#include "invoke_report.h"
#include "lambda_launch.h"

namespace anysnap {

// What became of one event.
struct InvokeOutcome {
  std::string request_id;
  bool ok = false;         // a response (not an error) came back
  std::string error_type;  // when !ok
  std::string body;        // the response, or the error document
  ReportFigures figures;   // as printed on the REPORT line
};

struct LocalRunOptions {
  FunctionSettings function;
  // The exec wrapper (AWS_LAMBDA_EXEC_WRAPPER). Empty: start the runtime host
  // that ANYSNAP_RUNTIME names directly, with no wrapper.
  std::string exec_wrapper;
  std::vector<std::string> events;  // bodies, in the order they are sent
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{300000};      // function timeout, from delivery
  std::chrono::milliseconds init_timeout{10000};  // Lambda's on-demand init limit
  std::chrono::milliseconds stop_grace{2000};     // SIGTERM to SIGKILL
  int function_output_fd = 2;                     // the runtime's stdout and stderr
  std::string proc_root = "/proc";                // where peak memory is read
  // Seams for the anysnap.json lookup of a run without the wrapper.
  ReadFileFn read_file = ReadWholeFile;
  std::function<bool(const std::string&)> file_exists = FileExists;
  // START/END/REPORT and the platform's other lines, one call per line (with
  // its '\n').
  std::function<void(std::string_view)> on_log;
  // Each outcome, after its REPORT line.
  std::function<void(const InvokeOutcome&)> on_outcome;
  // Polled while waiting: once true, the current invoke is abandoned and the
  // run ends (the runtime is stopped as usual).
  const std::atomic<bool>* stop_requested = nullptr;
};

struct LocalRunResult {
  std::vector<InvokeOutcome> invokes;  // one per event sent
  int environments = 0;                // execution environments started
  bool interrupted = false;            // stop_requested ended the run early

  // Returns true iff every event was sent and answered with a response.
  bool all_succeeded(size_t events) const;
};

// Runs the events through the function. An error Status only when nothing can
// run: the exec wrapper does not exist, the configuration of a wrapperless run
// is bad, or no Runtime API server can listen.
Result<LocalRunResult> RunLocally(const LocalRunOptions& options);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_LOCAL_RUN_H_
