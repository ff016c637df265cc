// UpstreamClient talks HTTP/1.1 to one fixed upstream (the real Runtime API),
// keeping connections alive in a pool.
//
// Forward() is the proxy path: it streams the answer back to a ResponseWriter
// as it arrives, so memory stays bounded for any body size. It never sets a
// transfer timeout: invocation/next and restore/next may legitimately wait for
// days while the environment is frozen. A request goes over a pooled plain
// socket; its answer is framed by the http_parser library (Content-Length,
// chunked with trailers, close-delimited; 1xx interim answers skipped). The
// request body leaves one of two ways:
//
//  - Whole: no body, or a Content-Length body of at most kReplayLimit (every
//    next, every buffered response up to 1 MiB). The head and the body leave
//    in one sendmsg(2).
//  - Streamed: a chunked body (a streaming response, relayed chunk by chunk as
//    it arrives, then its trailers) or a larger one, 64 KB at a time. While it
//    is being sent the socket is watched for an early answer (a 413 before
//    the end of a 7 MB body), which is relayed at once and ends the sending.
//
// Why no libcurl, given the rule of libraries over hand-written code: the
// Runtime API is HTTP/1.1 over loopback to one address, and what libcurl
// brings for it costs more than the budgets allow (bench/RESULTS.md). Per
// request it spent ~90k instructions (URL parsing, request formatting,
// connection lookup, setopt and reset) and sent head and body in two writes:
// the delegator added more latency than nginx at 1 KB. Linked in, its library
// tree (OpenSSL, GnuTLS, Kerberos, LDAP: 30 shared objects) added 5 to 9 ms
// to the wrapper's start and 7.6 MiB to its idle RSS, against budgets of a
// shell wrapper's 0.6 ms and 4 MB. The parsing stays in a library (the same
// http_parser as HttpServer's); what is written here is the socket handling
// and the request framing (a head, and chunk-size lines around the pieces).
//
// Rules. Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both ways. A
// request whose pooled connection turns out dead before any byte of the
// answer arrived (typical after a snapshot restore) is sent again once on a
// fresh connection, provided every body byte sent so far can be replayed
// (bodies up to kReplayLimit); a request whose answer had started is never
// retried, and the runtime's connection is closed to tell it the answer is
// incomplete.
//
// Thread-safe: any number of threads may forward at once, each on its own
// connection, so concurrent long polls never wait for each other.
#ifndef ANYSNAP_UPSTREAM_CLIENT_H_
#define ANYSNAP_UPSTREAM_CLIENT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"

namespace anysnap {

// What Forward() did, for the caller's bookkeeping and logs.
struct ForwardOutcome {
  int status = 0;  // upstream status, or the one anysnap answered itself
  bool answered_by_upstream = false;
  bool retried = false;          // sent twice because the first connection was dead
  HttpHeaders response_headers;  // the upstream's, when answered_by_upstream
  Status error;                  // why the exchange failed, if it did
};

// How long a Call() may take, beyond the proxy's defaults.
struct CallOptions {
  // May wait indefinitely (restore/next): Abort() ends it at once.
  bool long_poll = false;
  // When set, the call fails with TimedOut ("timed out") once it passes.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // When set, the call fails with Aborted ("cancelled") soon after it turns
  // true (it is looked at every 50 ms).
  const std::atomic<bool>* cancel = nullptr;
};

// The options of a call that may wait indefinitely.
inline constexpr CallOptions kLongPoll{
    .long_poll = true, .deadline = std::nullopt, .cancel = nullptr};

// A complete answer to a Call().
struct UpstreamResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

class UpstreamClient {
 public:
  // Request bodies are replayable for a retry up to this many bytes; bodies
  // with a Content-Length up to this take the direct path.
  static constexpr size_t kReplayLimit = 1024 * 1024;
  // The most header bytes (status line, fields, trailers) of one answer the
  // direct path accepts.
  static constexpr size_t kMaxAnswerHeaderBytes = 2 * 1024 * 1024;

  // `peer` names the other side in error messages ("upstream: connect ...");
  // empty, the messages name none (a caller that says what it called).
  explicit UpstreamClient(HostPort upstream, std::string_view peer = "upstream");
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

  // Sends a request with a complete body and returns the complete answer
  // (at most 16 MiB of body).
  Result<UpstreamResponse> Call(std::string_view method, std::string_view target,
                                const HttpHeaders& headers, std::string_view body,
                                const CallOptions& options = {});

  // Closes every pooled connection; those in use close when their request
  // ends. After a snapshot restore no connection made before it is reused.
  void DropConnections();

  // Shutdown: long polls in progress fail promptly; other transfers get
  // `grace` to finish (a response the runtime already sent still lands).
  // Long polls forwarded afterwards get 503, other requests too once the grace
  // is over.
  void Abort(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  // A connected socket of the direct path, registered as in use.
  struct Lease {
    UniqueFd fd;
    uint64_t generation = 0;
  };
  struct InUse {
    int fd;
    bool long_poll;
  };

  ForwardOutcome Exchange(const HttpRequest& request, RequestBody& body, ResponseWriter& out,
                          const CallOptions& options);

  // A pooled socket unless `fresh`, else a new connection; Aborted once
  // Abort() refuses new requests of this kind.
  Result<Lease> Acquire(bool fresh, bool long_poll);
  // Ends the lease: the socket goes back to the pool iff `reusable` and no
  // DropConnections() or Abort() came in between; otherwise it is closed.
  void Release(Lease lease, bool reusable);
  // True iff Abort() refuses a new request now. Requires mu_.
  bool RefusesLocked(bool long_poll) const;
  // Abort()'s background half: shuts down the sockets still in use when the
  // grace ends.
  void ShutDownAfterGrace();

  const HostPort upstream_;
  const std::string host_header_;
  const std::string error_prefix_;  // "peer: ", or empty
  std::atomic<bool> aborting_{false};
  std::atomic<int64_t> abort_deadline_ns_{0};  // steady clock, valid once aborting_

  std::mutex mu_;
  uint64_t generation_ = 0;            // guarded by mu_
  std::vector<Lease> idle_sockets_;    // guarded by mu_
  std::vector<InUse> sockets_in_use_;  // guarded by mu_
  bool destroying_ = false;            // guarded by mu_
  std::condition_variable abort_changed_;
  std::thread grace_timer_;
};

// Posts a Runtime API error document (errorType `error_type`, errorMessage
// `message`) to `path` (init/error, restore/error, invocation/{id}/error) and
// logs when the upstream does not take it with 202. Returns true iff it did.
bool ReportRuntimeError(UpstreamClient& upstream, std::string_view path,
                        std::string_view error_type, std::string_view message);

}  // namespace anysnap

#endif  // ANYSNAP_UPSTREAM_CLIENT_H_
