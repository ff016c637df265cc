// LocalFunction is one function served by anysnap-local: it owns the current
// execution environment and answers invokes the way Lambda does.
//
// on-demand: the first invoke starts an environment and waits for its init
// (lazily, as the Runtime Interface Emulator does; or at Start() with
// eager_init). snap-start: Start() runs init once and takes the snapshot
// (snapshot_backend.h); the first invoke, and the first after an environment
// was lost, restores one.
//
// Invokes go one at a time to the environment, in arrival order, unless
// max_concurrency > 1 (managed instances: that many at once). An environment
// is thrown away when its runtime dies (Runtime.ExitError), its init fails,
// or an invoke times out (Sandbox.Timedout, the tree is killed); the next
// invoke gets a new one. A function error (invocation/{id}/error) keeps it.
// As on Lambda, an event goes only to a runtime that asks for it: one whose
// runtime ends between invokes without ever taking it (a crash while idle, an
// OOM kill) is not failed but sent to a new environment (a new restore under
// SnapStart).
//
// The platform's lines (START, END, REPORT with Init Duration or Restore
// Duration, errors) go to on_log, one call per line.
//
// Threading: Invoke is thread-safe and blocks until the outcome is known.
#ifndef ANYSNAP_EMULATOR_LOCAL_FUNCTION_H_
#define ANYSNAP_EMULATOR_LOCAL_FUNCTION_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "anysnap/http.h"
#include "anysnap/runtime_api.h"
#include "function_environment.h"
#include "invoke_report.h"
#include "snapshot_backend.h"

namespace anysnap {

struct LocalFunctionOptions {
  EnvironmentSpec environment;  // initialization_type is set from snap_start
  bool snap_start = false;
  SnapshotKind snapshot = SnapshotKind::kFreeze;
  CriuSettings criu;
  bool eager_init = false;    // on-demand: init at Start() rather than at the first invoke
  bool prepare_ahead = true;  // freeze: freeze the next template right after a restore
  std::chrono::milliseconds timeout{300000};                // per invoke, from delivery
  std::chrono::milliseconds init_timeout{10000};            // on-demand init
  std::chrono::milliseconds snapshot_init_timeout{900000};  // SnapStart init: 15 minutes
  // Stop(): SIGTERM, then SIGKILL for what is left after this long; zero:
  // SIGKILL at once.
  std::chrono::milliseconds stop_grace{0};
  std::function<void(std::string_view)> on_log;
  // snap-start: when not empty, Start() first runs one init with these
  // variables added (the snapshot-safety audit's, which criu cannot
  // checkpoint) up to its snapshot point and ends it; the snapshot is then
  // taken of an init without them.
  EnvMap audit_pass;
};

struct InvokeRequest {
  std::string request_id;  // generated when empty
  std::string event;
  std::string content_type = "application/json";
  std::string client_context;  // Lambda-Runtime-Client-Context, when not empty
  // A streamed response, as it arrives (see Invocation).
  std::function<void(const HttpHeaders&)> on_stream_begin;
  std::function<void(std::string_view)> on_stream_data;
};

struct InvokeResult {
  enum class Start { kWarm, kCold, kRestored };
  std::string request_id;
  bool ok = false;
  std::string error_type;    // when !ok
  std::string body;          // the response, or the error document
  std::string content_type;  // of the runtime's response
  bool streamed = false;     // the body went out through on_stream_data
  Start start = Start::kWarm;
  ReportFigures figures;
};

class LocalFunction {
 public:
  explicit LocalFunction(LocalFunctionOptions options);
  ~LocalFunction();  // Stop()
  LocalFunction(const LocalFunction&) = delete;
  LocalFunction& operator=(const LocalFunction&) = delete;

  // snap-start: init and snapshot. on-demand: init when eager_init, else
  // nothing. When init fails, *failure says how.
  Status Start(InitFailure* failure);
  InvokeResult Invoke(InvokeRequest request);
  // Ends the current environment (see stop_grace). Invokes still running
  // fail with Runtime.ServerStopped.
  void Stop();
  // A fresh request id (UUID v4), for a caller that must know it up front.
  std::string NewRequestId();

  // snap-start: returns once the next restore needs nothing made first.
  void AwaitPrepared() {
    if (backend_) backend_->AwaitPrepared();
  }
  // The backend of a snap-start function (null for on-demand).
  const SnapshotBackend* backend() const { return backend_.get(); }
  // How many execution environments invokes went to: cold starts and restores.
  int environments() const;

 private:
  struct Acquired {
    std::shared_ptr<FunctionEnvironment> env;
    InvokeResult::Start start = InvokeResult::Start::kWarm;
    std::optional<RestoredEnvironment> restored;
    InvokeResult failure;  // when !env
  };

  Result<std::shared_ptr<FunctionEnvironment>> NewEnvironment(const std::string& init_type,
                                                              const EnvMap& extra = {});
  Status RunAuditPass(InitFailure* failure);
  Acquired Acquire(const std::string& request_id);
  void Discard(const std::shared_ptr<FunctionEnvironment>& env);
  void NoteExitBetweenInvokes(const FunctionEnvironment& env);
  void Admit();
  void Release();
  void Log(const std::string& line);

  LocalFunctionOptions o_;
  std::unique_ptr<SnapshotBackend> backend_;

  mutable std::mutex env_mu_;  // serialises environment creation
  std::shared_ptr<FunctionEnvironment> current_;
  bool current_fresh_ = false;  // its first invoke has not been reported yet
  int environments_ = 0;        // guarded by env_mu_
  int next_environment_id_ = 0;

  std::mutex admit_mu_;
  std::condition_variable admit_cv_;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ticket_ = 0;  // tickets below it have been admitted
  int running_ = 0;

  std::mutex environment_ids_mu_;  // guards next_environment_id_
  RequestIdGenerator request_ids_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_LOCAL_FUNCTION_H_
