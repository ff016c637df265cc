// HookChannel is the delegator's side of the hook channel (docs/hook-channel.md):
// in-process hook clients (the anysnap-hooks libraries in function code)
// register, long-poll for a phase, run their hooks and report. The lifecycle
// asks each client in turn to run a phase and waits for its report.
//
// A client may register as a reseed client ("reseed": true): the runtime's
// own reseed (design.md §3), loaded by the wrapper, not function code. It is
// asked for after-restore only, before every hook (RunReseed), and reports
// which random sources it reseeded and which it could not; RunPhase leaves it
// out.
//
// Requests under kHookChannelPrefix reach Handle() from the delegator's
// connection threads; RunPhase() runs on the lifecycle's thread. A parked poll
// holds its connection thread until a phase is due, the client is done, or
// Stop(). Thread-safe.
#ifndef ANYSNAP_DELEGATOR_HOOK_CHANNEL_H_
#define ANYSNAP_DELEGATOR_HOOK_CHANNEL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/status.h"

namespace anysnap {

inline constexpr std::string_view kHookChannelPrefix = "/anysnap/v1/";

// What the reseed clients did after a restore, one entry per client:
// "nodejs pid 42: OpenSSL, Math.random" / "nodejs pid 42: OpenSSL (why)".
struct ReseedOutcome {
  std::vector<std::string> reseeded;
  std::vector<std::string> not_reseeded;
};

class HookChannel {
 public:
  // `phases` are the phases announced to registering clients, in order
  // (empty: no hook will ever run in this environment).
  explicit HookChannel(std::vector<std::string> phases);
  ~HookChannel();
  HookChannel(const HookChannel&) = delete;
  HookChannel& operator=(const HookChannel&) = delete;

  // Answers one request under kHookChannelPrefix.
  void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out);

  // Ends registration: init is over, later clients get 409 Anysnap.TooLate.
  // Returns the number of clients registered.
  size_t CloseRegistration();
  size_t client_count() const;         // every client
  size_t hook_client_count() const;    // those with function hooks
  size_t reseed_client_count() const;  // reseed clients

  // Asks every hook client (not the reseed clients) to run `phase`, one after the other (in
  // registration order, or backwards when `reverse`), each waiting for the previous one's report;
  // stops at the first failure. The deadline covers all of them. Failed names the client and hook;
  // TimedOut ("... timed out") the client that did not report in time; Aborted after Stop().
  Status RunPhase(std::string_view phase, bool reverse,
                  std::chrono::steady_clock::time_point deadline);

  // Asks every reseed client to reseed (its after-restore phase), one after
  // the other, within `deadline`, and gathers what they report. A client that
  // fails or does not report in time is a source not reseeded, never an
  // error; the Status is Aborted only after Stop().
  Status RunReseed(std::chrono::steady_clock::time_point deadline, ReseedOutcome* outcome);

  // Tells every client that no phase is left: their polls answer "done".
  void Finish();
  // Wakes every parked poll and RunPhase (shutdown). Idempotent.
  void Stop();

 private:
  struct Client;
  void Register(RequestBody& body, ResponseWriter& out);
  void Poll(Client& client, ResponseWriter& out);
  void Report(Client& client, std::string_view phase, RequestBody& body, ResponseWriter& out);
  Status RunClient(Client& client, std::string_view phase,
                   std::chrono::steady_clock::time_point deadline);
  Client* Find(std::string_view id);  // requires mu_

  const std::vector<std::string> phases_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Client>> clients_;  // guarded by mu_
  bool open_ = true;                              // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
};

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_HOOK_CHANNEL_H_
