// UpstreamClient talks HTTP/1.1 to one fixed upstream (the real Runtime API),
// keeping connections alive in pools.
//
// Forward() is the proxy path: it streams the answer back to a ResponseWriter
// as it arrives, so memory stays bounded for any body size. It never sets a
// transfer timeout: invocation/next and restore/next may legitimately wait for
// days while the environment is frozen. It takes one of two paths:
//
//  - Direct: a request without a body or with a Content-Length body of at most
//    kReplayLimit (every next, every buffered response) goes over a pooled
//    plain socket: the request head and body leave in one sendmsg(2), and the
//    answer is framed by the http_parser library (Content-Length, chunked with
//    trailers, close-delimited; 1xx interim answers skipped).
//  - libcurl: a chunked request body (a streaming response, relayed chunk by
//    chunk with its trailers) or a larger one, and Call().
//
// Why not libcurl for everything, given the rule of libraries over hand-written
// code: measured, libcurl spends about 90k instructions per request (URL
// parsing, request formatting, connection lookup, setopt and reset) and sends
// a head and its body in two writes, which made the delegator add more latency
// than nginx at 1 KB. With the direct path the delegator's whole cost per
// request fell from about 102k instructions to about 23k, nginx's level
// (bench/RESULTS.md). The parsing stays in a library (the same http_parser as
// HttpServer's); what is written here is only the socket handling.
//
// Both paths keep the same rules. Hop-by-hop headers (RFC 9110 §7.6.1) are
// dropped both ways. A request whose pooled connection turns out dead before
// any byte of the answer arrived (typical after a snapshot restore) is sent
// again once on a fresh connection, provided every body byte sent so far can
// be replayed (bodies up to kReplayLimit); a request whose answer had started
// is never retried, and the runtime's connection is closed to tell it the
// answer is incomplete.
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
#include <string>
#include <thread>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/http_server.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"

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
  // Request bodies are replayable for a retry up to this many bytes; bodies
  // with a Content-Length up to this take the direct path.
  static constexpr size_t kReplayLimit = 1024 * 1024;
  // The most header bytes (status line, fields, trailers) of one answer the
  // direct path accepts.
  static constexpr size_t kMaxAnswerHeaderBytes = 2 * 1024 * 1024;

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
  // Long polls forwarded afterwards get 503, other requests too once the grace
  // is over.
  void Abort(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  class Handle;
  // A connected socket of the direct path, registered as in use.
  struct Lease {
    UniqueFd fd;
    uint64_t generation = 0;
  };
  struct InUse {
    int fd;
    bool long_poll;
  };

  ForwardOutcome ForwardDirect(const HttpRequest& request, RequestBody& body, ResponseWriter& out,
                               bool long_poll);
  ForwardOutcome ForwardCurl(const HttpRequest& request, RequestBody& body, ResponseWriter& out,
                             bool long_poll);

  std::unique_ptr<Handle> Checkout();
  void Checkin(std::unique_ptr<Handle> handle);

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
  const std::string base_url_;
  const std::string host_header_;
  std::atomic<bool> aborting_{false};
  std::atomic<int64_t> abort_deadline_ns_{0};  // steady clock, valid once aborting_

  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_
  uint64_t generation_ = 0;                    // guarded by mu_
  std::vector<Lease> idle_sockets_;            // guarded by mu_
  std::vector<InUse> sockets_in_use_;          // guarded by mu_
  bool destroying_ = false;                    // guarded by mu_
  std::condition_variable abort_changed_;
  std::thread grace_timer_;
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
