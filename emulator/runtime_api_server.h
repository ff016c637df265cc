// RuntimeApiServer is the Lambda side of the Runtime API
// (/2018-06-01/runtime/...): what a runtime talks to through
// AWS_LAMBDA_RUNTIME_API. It is the heart of anysnap-local and the upstream
// that the delegator's and wrapper's tests run real runtimes against.
//
// The owner queues events with Invoke() and gets each outcome through a
// future; the runtime pulls them with invocation/next and answers with
// invocation/{id}/response or /error. init/error, restore/next and
// restore/error follow the platform's state rules (runtime-api.md §2), and
// every request that arrives, on any path, is kept in a call log.
//
// Invocation states: queued -> delivered (a next answered with it) ->
// answering (a response or error POST claimed it) -> finished (its future is
// ready). With max_concurrency 1 a next that arrives while an invocation is
// delivered but not yet answered gets that same invocation again (as the
// Runtime Interface Emulator does); with more, every next takes a distinct
// queued event while fewer than max_concurrency are unfinished.
//
// Deadlines: an invocation still delivered but unanswered when its timeout
// has passed is finished as "Sandbox.Timedout"; a response or error that
// comes after that gets 410 InvokeTimeout. An accepted init/error fails every
// queued invocation, and every later one, with the runtime's document: the
// environment will not serve. Abandon() does the same for an environment the
// owner knows is gone (its runtime died).
//
// SnapStart: restore/next is admitted once before the first next; after a
// restore (Restore() with restore/next answered before) it is admitted once
// more, so that each copy restored from one snapshot may call it.
//
// Threading: all public methods are thread-safe. Requests are served on the
// connection threads of an HttpServer; a next or restore/next waits on a
// condition variable, never holding the lock during socket I/O. Stop() wakes
// every waiting request before it closes connections, so it never hangs.
#ifndef ANYSNAP_EMULATOR_RUNTIME_API_SERVER_H_
#define ANYSNAP_EMULATOR_RUNTIME_API_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/net.h"
#include "anysnap/status.h"

namespace anysnap {

// One event to deliver through invocation/next.
struct Invocation {
  std::string event;  // body of the next answer, byte for byte
  std::string content_type = "application/json";
  std::string request_id;  // generated (UUID v4 form) when empty
  // Lambda-Runtime-Deadline-Ms is the wall clock at the first delivery plus this.
  std::chrono::milliseconds timeout{300000};
  std::string client_context;    // Lambda-Runtime-Client-Context when non-empty
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity when non-empty
  // Lambda-Runtime-Trace-Id; generated ("Root=1-xxxxxxxx-...;Sampled=0") when empty.
  std::string trace_id;
  std::string tenant_id;  // Lambda-Runtime-Aws-Tenant-Id when non-empty
  // Called on a server thread with each piece of a streamed response body as
  // it arrives, before the piece is counted or stored. Must not call back into
  // the server's Stop().
  std::function<void(std::string_view)> on_stream_data;
  // Called on a server thread when a streamed response begins, with the
  // headers of the runtime's POST, before any on_stream_data call. Same rules.
  std::function<void(const HttpHeaders&)> on_stream_begin;
};

// The outcome of one invocation.
struct InvocationResult {
  enum class Kind { kResponse, kError };
  Kind kind = Kind::kResponse;
  std::string request_id;
  // The response body, or the error document (for a streamed error: the
  // base64-decoded Error-Body trailer; for a platform error: a document made
  // here with errorType = error_type).
  std::string body;
  HttpHeaders headers;   // every header of the runtime's response/error POST as received
  HttpHeaders trailers;  // of a streamed response
  bool streamed = false;
  uint64_t body_bytes = 0;  // bytes received (body stays empty when Options.keep_bodies is false)
  // Lambda-Runtime-Function-Error-Type (header or trailer), or a platform type:
  // "Function.ResponseSizeTooLarge", "Runtime.TruncatedResponse",
  // "Sandbox.Timedout" past the invocation's timeout, the init/error or
  // Abandon() type, or "Runtime.ServerStopped" for an invocation still
  // unfinished at Stop().
  std::string error_type;
  // The event went out on a next answer. False when the platform failed the
  // invocation while it was still queued: no runtime ever saw it.
  bool delivered = false;
};

// One request the server received.
struct RuntimeApiCall {
  std::string method;
  std::string path;  // target as received
  HttpHeaders headers;
  std::string body;  // first 64 KiB only
  uint64_t body_bytes = 0;
  int status = 0;  // status answered (0 while still pending, e.g. a waiting next)
  std::chrono::steady_clock::time_point received;  // arrival
  // When the answer was sent: recorded just before it is written, so a client
  // that has read an answer always finds it logged.
  std::chrono::steady_clock::time_point answered;
};

class RuntimeApiServer {
 public:
  struct Options {
    bool snap_start = false;   // restore/next and restore/error exist (else 404)
    bool auto_restore = true;  // answer restore/next at once; else wait for Restore()
    // >1: managed instances; concurrent next calls each take a distinct event.
    int max_concurrency = 1;
    std::string function_arn = "arn:aws:lambda:us-east-1:123456789012:function:anysnap-test";
    bool keep_bodies = true;                 // false: count response bytes without storing them
    size_t max_buffered_response = 6291556;  // 6 MiB + 100
    uint64_t max_streamed_response = 200ull * 1024 * 1024;
    // The wall clock that deadlines are computed from; empty means
    // std::chrono::system_clock::now.
    std::function<std::chrono::system_clock::time_point()> wall_clock;
  };

  explicit RuntimeApiServer(Options options);
  ~RuntimeApiServer();  // Stop()
  RuntimeApiServer(const RuntimeApiServer&) = delete;
  RuntimeApiServer& operator=(const RuntimeApiServer&) = delete;

  // Binds `listen` (port 0 picks a free port) and serves on background threads.
  Status Start(const HostPort& listen);
  // The bound address; valid after a successful Start.
  const HostPort& address() const;
  // "http://host:port", handy for clients.
  std::string base_url() const;
  // Wakes every waiting next/restore-next (they get 500, or their connection
  // closes), closes every connection, joins the server threads and finishes
  // every unfinished invocation with "Runtime.ServerStopped". Idempotent.
  void Stop();

  // Queues an event. The future becomes ready when the runtime has answered
  // (or the platform failed the invocation). A request_id that is queued or
  // unfinished already gives a ready error result ("InvalidRequestID").
  std::future<InvocationResult> Invoke(Invocation invocation);
  // Answers a pending (or else the next) restore/next when auto_restore is false.
  // After a restore/next was answered, admits one more (a new restored copy).
  void Restore();
  // Finishes every queued and delivered invocation, and every later Invoke(),
  // with an error of `error_type` and `message` (the runtime is gone). A
  // response being received when this is called still completes.
  void Abandon(std::string_view error_type, std::string_view message);

  // A snapshot of the call log, in arrival order.
  std::vector<RuntimeApiCall> calls() const;
  // Waits until `pred(calls())` holds or `timeout` passes; returns whether it
  // held. `pred` runs without the server's lock held.
  bool WaitFor(const std::function<bool(const std::vector<RuntimeApiCall>&)>& pred,
               std::chrono::milliseconds timeout);

  // What init/error received (kind kError), if it was called with success.
  std::optional<InvocationResult> init_error() const;
  // What restore/error received (kind kError), if it was called with success.
  std::optional<InvocationResult> restore_error() const;
  // Number of events queued and not yet delivered.
  size_t queued() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_RUNTIME_API_SERVER_H_
