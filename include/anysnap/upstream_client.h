// UpstreamClient talks HTTP/1.1 to one fixed upstream (the real Runtime API)
// through libcurl, keeping connections alive in a pool of easy handles.
//
// Forward() is the proxy path: it streams a request body from a RequestBody to
// the upstream as it arrives (chunked stays chunked, trailers included) and the
// answer back to a ResponseWriter as it arrives, so memory stays bounded for
// any body size. It never sets a transfer timeout: invocation/next and
// restore/next may legitimately wait for days while the environment is frozen.
//
// A request whose pooled connection turns out dead before any byte of the
// answer arrived (typical after a snapshot restore) is sent again once on a
// fresh connection, provided every body byte sent so far can be replayed
// (bodies up to kReplayLimit); a request whose answer had started is never
// retried.
//
// Call() is for anysnap's own small requests (init/error and the like).
//
// Thread-safe: any number of threads may forward at once, each on its own
// pooled handle, so concurrent long polls never wait for each other.
#ifndef ANYSNAP_UPSTREAM_CLIENT_H_
#define ANYSNAP_UPSTREAM_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/http_server.h"
#include "anysnap/net.h"
#include "anysnap/status.h"

typedef void CURL;

namespace anysnap {

// What Forward() did, for the caller's bookkeeping and logs.
struct ForwardOutcome {
  int status = 0;  // upstream status, or the one anysnap answered itself
  bool answered_by_upstream = false;
  bool retried = false;          // sent twice because the first connection was dead
  HttpHeaders response_headers;  // the upstream's, when answered_by_upstream
  Status error;                  // why the exchange failed, if it did
};

// A complete answer to a Call().
struct UpstreamResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

class UpstreamClient {
 public:
  // Request bodies are replayable for a retry up to this many bytes.
  static constexpr size_t kReplayLimit = 1024 * 1024;

  explicit UpstreamClient(HostPort upstream);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  const HostPort& upstream() const { return upstream_; }

  // Sends `request` (its headers minus hop-by-hop ones, its body pulled from
  // `body`) upstream and relays the answer to `out`. When the upstream cannot
  // be reached, answers 502 itself; when the client's body is malformed,
  // answers 400. Never throws; the outcome says what happened.
  // `long_poll` marks a request that may wait indefinitely (next,
  // restore/next): Abort() ends those at once and others after its grace.
  ForwardOutcome Forward(const HttpRequest& request, RequestBody& body, ResponseWriter& out,
                         bool long_poll = false);

  // Sends a request with a complete body and returns the complete answer.
  // `long_poll` as for Forward (restore/next).
  Result<UpstreamResponse> Call(std::string_view method, std::string_view target,
                                const HttpHeaders& headers, std::string_view body,
                                bool long_poll = false);

  // Closes every pooled connection; those in use close when their request
  // ends. After a snapshot restore no connection made before it is reused.
  void DropConnections();

  // Shutdown: long polls in progress fail promptly; other transfers get
  // `grace` to finish (a response the runtime already sent still lands).
  void Abort(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  class Handle;
  std::unique_ptr<Handle> Checkout();
  void Checkin(std::unique_ptr<Handle> handle);

  const HostPort upstream_;
  const std::string base_url_;
  std::atomic<bool> aborting_{false};
  std::atomic<int64_t> abort_deadline_ns_{0};  // steady clock, valid once aborting_

  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_
  uint64_t generation_ = 0;                    // guarded by mu_
};

// Posts a Runtime API error document (errorType `error_type`, errorMessage
// `message`) to `path` (init/error, restore/error, invocation/{id}/error) and
// logs when the upstream does not take it with 202. Returns true iff it did.
bool ReportRuntimeError(UpstreamClient& upstream, std::string_view path,
                        std::string_view error_type, std::string_view message);

// Initialises libcurl once for the process; call from main before threads.
void InitCurlOnce();

}  // namespace anysnap

#endif  // ANYSNAP_UPSTREAM_CLIENT_H_
