// Delegator is anysnap's Runtime API proxy: an HTTP/1.1 server on loopback
// that the runtime host talks to instead of the real Runtime API, forwarding
// every request (all API families, unknown paths too) to the real one and the
// answer back, byte for byte apart from hop-by-hop headers.
//
// Around the end of the runtime's init it runs the SnapStart lifecycle
// (lifecycle.h: hooks, priming, preload, restore/next), and beside the Runtime
// API it serves the hook channel under /anysnap/v1/ (hook_channel.h).
//
// While it forwards, it follows the runtime's progress through the Runtime
// API (has init ended with a first next? which invocations are unanswered?) so
// that the wrapper can report a runtime that dies with the right call.
//
// The same class runs inside anysnap-wrapper and as anysnap-delegator.
// Thread-safe.
#ifndef ANYSNAP_DELEGATOR_DELEGATOR_H_
#define ANYSNAP_DELEGATOR_DELEGATOR_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "anysnap/http_server.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/upstream_client.h"
#include "lifecycle.h"

namespace anysnap {

struct DelegatorOptions {
  HostPort listen{"127.0.0.1", 0};
  HostPort upstream;
  // A non-loopback listen address exposes the Runtime API: refused unless set.
  bool allow_non_loopback = false;
  HttpServerOptions http;
  // The SnapStart lifecycle; the default (on-demand) holds nothing.
  LifecycleOptions lifecycle;
};

// What the runtime has done so far, as seen through the Runtime API.
struct RuntimeProgress {
  bool next_called = false;             // init ended: a next or restore/next went upstream
  bool init_error_reported = false;     // the runtime posted init/error itself
  bool restoring = false;               // restored; the runtime's first next not forwarded yet
  std::string stage;                    // where init stands, when it has not ended (lifecycle.h)
  std::vector<std::string> unanswered;  // request ids delivered but not answered
};

class Delegator {
 public:
  // Listens, starts serving, and returns the running delegator.
  static Result<std::unique_ptr<Delegator>> Start(const DelegatorOptions& options);
  // Listens but does not serve yet: clients' connections wait in the listen
  // backlog until Serve(). The wrapper starts the runtime host in between, so
  // that the delegator's threads are not made on the way to its exec.
  static Result<std::unique_ptr<Delegator>> Bind(const DelegatorOptions& options);
  // Starts serving a delegator made by Bind(). Call once.
  void Serve();
  ~Delegator();
  Delegator(const Delegator&) = delete;
  Delegator& operator=(const Delegator&) = delete;

  // The address the runtime must use as AWS_LAMBDA_RUNTIME_API.
  const HostPort& address() const { return server_->address(); }
  // The runtime-facing server: its connection counts, for tests and stats.
  const HttpServer& server() const { return *server_; }
  UpstreamClient& upstream() { return *upstream_; }
  Lifecycle& lifecycle() { return *lifecycle_; }
  RuntimeProgress progress() const;
  // Stops serving; transfers in progress are aborted. Idempotent.
  void Stop();

 private:
  class Proxy;
  Delegator() = default;

  std::unique_ptr<UpstreamClient> upstream_;
  std::unique_ptr<Lifecycle> lifecycle_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_DELEGATOR_H_
