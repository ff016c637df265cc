#include "runtime_api_server.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "anysnap/base64.h"
#include "anysnap/http_server.h"
#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

constexpr size_t kLoggedBodyBytes = 64 * 1024;
constexpr size_t kReadChunkBytes = 64 * 1024;

// The Runtime API endpoint a request addresses, the one method it takes and
// its request id. restore/next and restore/error exist only under SnapStart;
// anything else on the listener is kOther (404).
struct MatchedTarget {
  RuntimeEndpoint route = RuntimeEndpoint::kOther;
  std::string_view method;
  std::string request_id;  // of kResponse / kInvocationError
};

MatchedTarget MatchTarget(std::string_view target, bool snap_start) {
  RuntimeTarget t = ClassifyRuntimeTarget(target);
  if (!snap_start && (t.endpoint == RuntimeEndpoint::kRestoreNext ||
                      t.endpoint == RuntimeEndpoint::kRestoreError)) {
    return {};
  }
  return {t.endpoint, RuntimeEndpointMethod(t.endpoint), std::move(t.request_id)};
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of header `name`, trimmed; empty when absent.
std::string HeaderValue(const HttpHeaders& headers, std::string_view name) {
  const std::string* v = FindHeader(headers, name);
  return v ? std::string(TrimSpaces(*v)) : std::string();
}

const std::string& StatusOkDocument() {
  static const std::string doc = [] {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("status");
    writer.String("OK");
    writer.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }();
  return doc;
}

// The "errorType" of a JSON error document, or empty.
std::string ErrorTypeOf(std::string_view document) {
  auto fields = ParseRuntimeErrorDocument(document);
  return fields.ok() ? std::move(fields->type) : std::string();
}

InvocationResult PlatformError(std::string request_id, std::string_view type,
                               std::string_view message) {
  InvocationResult r;
  r.kind = InvocationResult::Kind::kError;
  r.request_id = std::move(request_id);
  r.error_type = std::string(type);
  r.body = RuntimeErrorDocument(type, message);
  return r;
}

// Lambda's words for a timed-out invoke: "Task timed out after 3.00 seconds".
std::string TimedOutMessage(const std::string& request_id, std::chrono::milliseconds timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.2f", static_cast<double>(timeout.count()) / 1000.0);
  return "RequestId: " + request_id + " Error: Task timed out after " + seconds + " seconds";
}

std::string TooLargeMessage(uint64_t limit) {
  return "Exceeded maximum allowed payload size (" + std::to_string(limit) + " bytes).";
}

}  // namespace

class RuntimeApiServer::Impl final : public HttpHandler {
 public:
  explicit Impl(Options options) : options_(std::move(options)), http_(this) {
    if (options_.max_concurrency < 1) options_.max_concurrency = 1;
    if (!options_.wall_clock) options_.wall_clock = [] { return std::chrono::system_clock::now(); };
    std::random_device seed;
    rng_.seed((static_cast<uint64_t>(seed()) << 32) ^ seed());
  }
  ~Impl() override { Stop(); }

  Status Start(const HostPort& listen) {
    ANYSNAP_RETURN_IF_ERROR(http_.Listen(listen));
    http_.Start();
    timer_ = std::thread([this] { ExpireLoop(); });
    return Status::Ok();
  }
  const HostPort& address() const { return http_.address(); }
  void Stop();

  std::future<InvocationResult> Invoke(Invocation invocation);
  void Restore();
  void Abandon(std::string_view error_type, std::string_view message);
  std::vector<RuntimeApiCall> calls() const;
  bool WaitFor(const std::function<bool(const std::vector<RuntimeApiCall>&)>& pred,
               std::chrono::milliseconds timeout);
  std::optional<InvocationResult> init_error() const;
  std::optional<InvocationResult> restore_error() const;
  size_t queued() const;

  void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) override;

 private:
  class Exchange;

  // One invocation from Invoke() to its result. `invocation` is immutable once
  // queued, so connection threads read it without the lock.
  struct Pending {
    enum class State { kQueued, kDelivered, kAnswering, kFinished };
    Invocation invocation;
    std::promise<InvocationResult> promise;
    State state = State::kQueued;                   // guarded by mu_
    int64_t deadline_ms = 0;                        // guarded by mu_; set at the first delivery
    std::chrono::steady_clock::time_point expires;  // guarded by mu_; likewise
  };

  enum class RestorePhase { kNone, kWaiting, kRestored };

  void HandleNext(Exchange& ex);
  void HandleResult(Exchange& ex, const std::string& request_id, bool is_error);
  void HandleInitError(Exchange& ex);
  void HandleRestoreNext(Exchange& ex, bool admitted);
  void HandleRestoreError(Exchange& ex);

  // The timer thread: finishes delivered invocations past their timeout.
  void ExpireLoop();
  // Finishes every queued and delivered invocation with a copy of `failure`
  // (its request_id replaced). Requires mu_; returns them with their results
  // for the caller to fulfil after unlocking.
  std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> FailAllLocked(
      const InvocationResult& failure);
  static void Fulfil(std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> done);

  // The invocation a next should get now, or nullptr. Requires mu_.
  std::shared_ptr<Pending> PickForNext();
  // Reads an error document (init/error, restore/error) into a kError result.
  // Returns false after answering the failure itself.
  bool ReadErrorDocument(Exchange& ex, InvocationResult* result);

  // Logs a request's arrival and, in the same step, what its arrival alone
  // changes: a next or restore/next ends Init, and a restore/next is admitted
  // (*restore_admitted) only as the first one, before any next.
  size_t LogArrival(const HttpRequest& request, const MatchedTarget& target,
                    bool* restore_admitted);
  void LogAnswer(size_t index, int status, std::string body, uint64_t body_bytes);

  std::string NewTraceId();  // requires mu_

  Options options_;
  HttpServer http_;
  std::mutex stop_mu_;  // serialises Stop()

  mutable std::mutex mu_;
  // Signalled when queue_, unfinished_, restore_permits_ or stopping_ change.
  std::condition_variable work_cv_;
  // Signalled when calls_ changes.
  std::condition_variable calls_cv_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Pending>> queue_;
  // Delivered or answering invocations by request id.
  std::unordered_map<std::string, std::shared_ptr<Pending>> unfinished_;
  std::unordered_set<std::string> finished_ids_;
  std::unordered_set<std::string> timed_out_ids_;
  // Set by an accepted init/error or Abandon(): every invocation fails so.
  std::optional<InvocationResult> failure_;
  std::thread timer_;
  std::condition_variable timer_cv_;   // a delivery or stopping_
  bool init_ended_ = false;            // a next or restore/next has arrived
  bool invocation_next_seen_ = false;  // an invocation/next has arrived
  bool init_error_claimed_ = false;    // an init/error is being read or was accepted
  std::optional<InvocationResult> init_error_;
  RestorePhase restore_phase_ = RestorePhase::kNone;
  int restore_permits_ = 0;
  int restore_admissions_ = 1;       // restore/next calls still admitted
  bool next_since_restore_ = false;  // a next arrived since the last restore/next
  bool restore_error_claimed_ = false;
  std::optional<InvocationResult> restore_error_;
  std::vector<RuntimeApiCall> calls_;
  uint64_t calls_version_ = 0;
  std::mt19937_64 rng_;  // trace ids
  RequestIdGenerator request_ids_;
};

// Exchange is one request being handled: it reads the body (keeping the
// first 64 KiB for the call log) and sends the answer, recording it in the
// call log just before it goes out, so a client that has read an answer
// always finds it logged.
class RuntimeApiServer::Impl::Exchange {
 public:
  Exchange(Impl* impl, size_t index, HttpRequest& request, RequestBody& body, ResponseWriter& out)
      : impl_(impl), index_(index), request_(request), body_(body), out_(out) {}

  const HttpRequest& request() const { return request_; }

  // Reads the rest of the body, handing each piece to `sink` (when set). An
  // error means the body was cut off or malformed.
  Status ReadBody(const std::function<void(std::string_view)>& sink) {
    if (body_done_) return body_status_;
    std::vector<char> buf(kReadChunkBytes);
    for (;;) {
      auto n = body_.Read(buf.data(), buf.size());
      if (!n.ok()) {
        body_status_ = n.status();
        break;
      }
      if (*n == 0) break;
      std::string_view piece(buf.data(), *n);
      body_bytes_ += piece.size();
      if (logged_body_.size() < kLoggedBodyBytes)
        logged_body_.append(piece.substr(0, kLoggedBodyBytes - logged_body_.size()));
      if (sink) sink(piece);
    }
    body_done_ = true;
    return body_status_;
  }
  Status Drain() { return ReadBody(nullptr); }
  const HttpHeaders& trailers() const { return body_.trailers(); }
  bool peer_gone() { return out_.peer_gone(); }

  void Answer(int status, const HttpHeaders& headers, std::string_view body) {
    if (!body_done_ || !body_status_.ok()) out_.CloseAfterResponse();
    impl_->LogAnswer(index_, status, std::move(logged_body_), body_bytes_);
    Status sent = out_.Respond(status, headers, body);
    if (!sent.ok()) {
      Log().Debug("runtime api: answer to " + request_.method + " " + request_.target +
                  " not delivered: " + sent.ToString());
    }
  }
  void AnswerError(int status, std::string_view type, std::string_view message) {
    Answer(status, {{"Content-Type", "application/json"}}, RuntimeErrorDocument(type, message));
  }
  void AnswerAccepted() { Answer(202, {{"Content-Type", "application/json"}}, StatusOkDocument()); }

 private:
  Impl* const impl_;
  const size_t index_;
  HttpRequest& request_;
  RequestBody& body_;
  ResponseWriter& out_;
  bool body_done_ = false;
  Status body_status_;
  uint64_t body_bytes_ = 0;
  std::string logged_body_;
};

void RuntimeApiServer::Impl::Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) {
  MatchedTarget target = MatchTarget(request.target, options_.snap_start);
  bool restore_admitted = false;
  Exchange ex(this, LogArrival(request, target, &restore_admitted), request, body, out);
  if (target.route == RuntimeEndpoint::kOther) {
    ex.Drain();
    ex.Answer(404, {{"Content-Type", "text/plain; charset=utf-8"}}, "404 page not found\n");
    return;
  }
  if (request.method != target.method) {
    ex.Drain();
    ex.Answer(405, {{"Allow", std::string(target.method)}}, "");
    return;
  }
  switch (target.route) {
    case RuntimeEndpoint::kNext:
      return HandleNext(ex);
    case RuntimeEndpoint::kResponse:
      return HandleResult(ex, target.request_id, /*is_error=*/false);
    case RuntimeEndpoint::kInvocationError:
      return HandleResult(ex, target.request_id, /*is_error=*/true);
    case RuntimeEndpoint::kInitError:
      return HandleInitError(ex);
    case RuntimeEndpoint::kRestoreNext:
      return HandleRestoreNext(ex, restore_admitted);
    case RuntimeEndpoint::kRestoreError:
      return HandleRestoreError(ex);
    case RuntimeEndpoint::kOther:
      break;
  }
  assert(false && "every route is handled above");
}

std::shared_ptr<RuntimeApiServer::Impl::Pending> RuntimeApiServer::Impl::PickForNext() {
  if (options_.max_concurrency == 1) {
    // At most one invocation is unfinished; one delivered but unanswered is
    // delivered again (the runtime lost it, or restarted).
    for (auto& [id, p] : unfinished_) {
      if (p->state == Pending::State::kDelivered) return p;
    }
  }
  if (queue_.empty() || unfinished_.size() >= static_cast<size_t>(options_.max_concurrency))
    return nullptr;
  std::shared_ptr<Pending> p = std::move(queue_.front());
  queue_.pop_front();
  p->state = Pending::State::kDelivered;
  auto now = options_.wall_clock().time_since_epoch();
  p->deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count() +
                   p->invocation.timeout.count();
  p->expires = std::chrono::steady_clock::now() + p->invocation.timeout;
  unfinished_[p->invocation.request_id] = p;
  timer_cv_.notify_all();
  return p;
}

void RuntimeApiServer::Impl::HandleNext(Exchange& ex) {
  ex.Drain();
  std::shared_ptr<Pending> p;
  int64_t deadline_ms = 0;
  bool gone = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [&] {
      if (stopping_) return true;
      // A runtime that gave up this next (it died, or reconnected) must not
      // take an event with it: with several in flight (managed instances)
      // it would sit delivered to no one until its timeout.
      if (ex.peer_gone()) {
        gone = true;
        return true;
      }
      p = PickForNext();
      return p != nullptr;
    });
    if (p) deadline_ms = p->deadline_ms;
  }
  if (gone) {
    Log().Debug("runtime api: a waiting next's connection closed; no event given to it");
    ex.AnswerError(500, "ClientGone", "The connection closed before an event came");
    return;
  }
  if (!p) {
    ex.AnswerError(500, "ServerStopping", "The Runtime API server is stopping");
    return;
  }
  const Invocation& inv = p->invocation;
  HttpHeaders headers;
  headers.push_back({std::string(kRequestIdHeader), inv.request_id});
  headers.push_back({std::string(kDeadlineHeader), std::to_string(deadline_ms)});
  auto add = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) headers.push_back({std::string(name), value});
  };
  add(kFunctionArnHeader, options_.function_arn);
  add(kTraceIdHeader, inv.trace_id);
  add(kClientContextHeader, inv.client_context);
  add(kCognitoIdentityHeader, inv.cognito_identity);
  add(kTenantIdHeader, inv.tenant_id);
  add("Content-Type", inv.content_type);
  ex.Answer(200, headers, inv.event);
}

void RuntimeApiServer::Impl::HandleResult(Exchange& ex, const std::string& request_id,
                                          bool is_error) {
  const HttpRequest& req = ex.request();
  bool streaming = false;
  if (!is_error) {
    std::string mode = HeaderValue(req.headers, kResponseModeHeader);
    if (EqualsIgnoreCase(mode, "streaming")) {
      streaming = true;
    } else if (!mode.empty()) {
      ex.Drain();
      ex.AnswerError(400, "InvalidFunctionResponseMode", "Invalid function response mode: " + mode);
      return;
    }
  }

  std::shared_ptr<Pending> p;
  int reject = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = unfinished_.find(request_id);
    if (it == unfinished_.end()) {
      reject = timed_out_ids_.count(request_id) ? 410 : finished_ids_.count(request_id) ? 403 : 400;
    } else if (it->second->state != Pending::State::kDelivered) {
      reject = 403;  // another response or error is being received for it
    } else {
      p = it->second;
      p->state = Pending::State::kAnswering;
    }
  }
  if (reject == 400) {
    ex.Drain();
    ex.AnswerError(400, "InvalidRequestID", "Invalid request ID");
    return;
  }
  if (reject == 410) {
    ex.Drain();
    ex.AnswerError(410, "InvokeTimeout",
                   "Invocation " + request_id + " has timed out; its answer is no longer wanted");
    return;
  }
  if (reject == 403) {
    ex.Drain();
    ex.AnswerError(403, "InvalidStateTransition",
                   "Invocation " + request_id + " has already been answered");
    return;
  }

  // From here this thread alone owns `p` until it is finished.
  InvocationResult r;
  r.kind = is_error ? InvocationResult::Kind::kError : InvocationResult::Kind::kResponse;
  r.request_id = request_id;
  r.headers = req.headers;
  r.streamed = streaming;
  r.delivered = true;
  if (is_error) r.error_type = HeaderValue(req.headers, kErrorTypeHeader);
  const uint64_t limit =
      streaming ? options_.max_streamed_response : uint64_t{options_.max_buffered_response};
  const bool keep = options_.keep_bodies || is_error;
  const auto& on_stream_data = p->invocation.on_stream_data;
  if (streaming && p->invocation.on_stream_begin) p->invocation.on_stream_begin(req.headers);
  uint64_t accepted = 0;
  bool too_large = false;
  Status read = ex.ReadBody([&](std::string_view piece) {
    r.body_bytes += piece.size();
    if (too_large) return;
    if (accepted + piece.size() > limit) {
      piece = piece.substr(0, limit - accepted);
      too_large = true;
    }
    accepted += piece.size();
    if (piece.empty()) return;
    if (streaming && on_stream_data) on_stream_data(piece);
    if (keep) r.body.append(piece);
  });

  int status = 202;
  std::string answer_type, answer_message;
  // The invocation fails with the platform's error `type`, keeping what was
  // received of the runtime's answer.
  auto fail = [&](const char* type, const std::string& message) {
    InvocationResult failed = PlatformError(request_id, type, message);
    failed.headers = std::move(r.headers);
    failed.streamed = r.streamed;
    failed.body_bytes = r.body_bytes;
    failed.trailers = ex.trailers();
    failed.delivered = true;
    r = std::move(failed);
  };
  if (!read.ok()) {
    Log().Warn("runtime api: " + std::string(is_error ? "error" : "response") + " for " +
               request_id + " cut off after " + std::to_string(r.body_bytes) +
               " bytes: " + read.ToString());
    fail("Runtime.TruncatedResponse",
         "The runtime's " + std::string(is_error ? "error" : "response") +
             " for this invocation was cut off after " + std::to_string(r.body_bytes) + " bytes");
    status = 400;
    answer_type = "TruncatedHTTPRequest";
    answer_message = "The HTTP request body was cut off: " + read.ToString();
  } else if (too_large) {
    fail("Function.ResponseSizeTooLarge", "Response payload size (" + std::to_string(r.body_bytes) +
                                              " bytes) exceeded maximum allowed payload size (" +
                                              std::to_string(limit) + " bytes).");
    status = 413;
    answer_type = "RequestEntityTooLarge";
    answer_message = TooLargeMessage(limit);
  } else if (streaming) {
    r.trailers = ex.trailers();
    std::string type = HeaderValue(r.trailers, kErrorTypeHeader);
    std::string encoded = HeaderValue(r.trailers, kErrorBodyTrailer);
    if (!type.empty() || !encoded.empty()) {
      r.kind = InvocationResult::Kind::kError;
      auto decoded = Base64Decode(encoded);
      if (decoded.ok()) {
        r.body = std::move(decoded.value());
      } else {
        Log().Warn("runtime api: " + std::string(kErrorBodyTrailer) + " of " + request_id +
                   " is not base64 (" + decoded.status().ToString() + "); kept as received");
        r.body = encoded;
      }
      r.error_type = !type.empty() ? type : ErrorTypeOf(r.body);
    }
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    p->state = Pending::State::kFinished;
    unfinished_.erase(request_id);
    finished_ids_.insert(request_id);
  }
  work_cv_.notify_all();
  if (status == 202) {
    ex.AnswerAccepted();
  } else {
    ex.AnswerError(status, answer_type, answer_message);
  }
  p->promise.set_value(std::move(r));
}

bool RuntimeApiServer::Impl::ReadErrorDocument(Exchange& ex, InvocationResult* result) {
  result->kind = InvocationResult::Kind::kError;
  result->headers = ex.request().headers;
  result->error_type = HeaderValue(result->headers, kErrorTypeHeader);
  const uint64_t limit = options_.max_buffered_response;
  bool too_large = false;
  Status read = ex.ReadBody([&](std::string_view piece) {
    result->body_bytes += piece.size();
    if (too_large || result->body.size() + piece.size() > limit) {
      too_large = true;
      return;
    }
    result->body.append(piece);
  });
  if (!read.ok()) {
    ex.AnswerError(400, "TruncatedHTTPRequest",
                   "The HTTP request body was cut off: " + read.ToString());
    return false;
  }
  if (too_large) {
    ex.AnswerError(413, "RequestEntityTooLarge", TooLargeMessage(limit));
    return false;
  }
  return true;
}

void RuntimeApiServer::Impl::HandleInitError(Exchange& ex) {
  bool allowed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    allowed = !init_ended_ && !init_error_claimed_;
    if (allowed) init_error_claimed_ = true;
  }
  if (!allowed) {
    ex.Drain();
    ex.AnswerError(403, "InvalidStateTransition",
                   "init/error is only allowed once, before the first next or restore/next");
    return;
  }
  InvocationResult r;
  bool ok = ReadErrorDocument(ex, &r);
  std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      if (r.error_type.empty()) r.error_type = ErrorTypeOf(r.body);
      if (r.error_type.empty()) r.error_type = kUnknownErrorType;
      init_error_ = r;
      // The error is returned to the invoke that waits for this init, and
      // to every later one: this environment will not serve.
      if (!failure_) failure_ = std::move(r);
      failed = FailAllLocked(*failure_);
    } else {
      init_error_claimed_ = false;
    }
  }
  if (ok) ex.AnswerAccepted();
  Fulfil(std::move(failed));
}

void RuntimeApiServer::Impl::HandleRestoreNext(Exchange& ex, bool admitted) {
  ex.Drain();
  enum { kRestored, kRejected, kStopped } outcome;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!admitted) {
      outcome = kRejected;
    } else {
      if (!options_.auto_restore) {
        work_cv_.wait(lock, [&] { return stopping_ || restore_permits_ > 0; });
      }
      if (stopping_) {
        outcome = kStopped;
      } else {
        if (!options_.auto_restore) --restore_permits_;
        restore_phase_ = RestorePhase::kRestored;
        outcome = kRestored;
      }
    }
  }
  switch (outcome) {
    case kRestored:
      return ex.Answer(200, {}, "");
    case kRejected:
      return ex.AnswerError(403, "InvalidStateTransition",
                            "restore/next is only allowed once per restore, before the first next");
    case kStopped:
      return ex.AnswerError(500, "ServerStopping", "The Runtime API server is stopping");
  }
}

void RuntimeApiServer::Impl::HandleRestoreError(Exchange& ex) {
  bool allowed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    allowed =
        restore_phase_ != RestorePhase::kNone && !next_since_restore_ && !restore_error_claimed_;
    if (allowed) restore_error_claimed_ = true;
  }
  if (!allowed) {
    ex.Drain();
    ex.AnswerError(403, "InvalidStateTransition",
                   "restore/error is only allowed once, after restore/next and before the "
                   "first next");
    return;
  }
  InvocationResult r;
  bool ok = ReadErrorDocument(ex, &r);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      restore_error_ = std::move(r);
    } else {
      restore_error_claimed_ = false;
    }
  }
  if (ok) ex.AnswerAccepted();
}

size_t RuntimeApiServer::Impl::LogArrival(const HttpRequest& request, const MatchedTarget& target,
                                          bool* restore_admitted) {
  RuntimeApiCall call;
  call.method = request.method;
  call.path = request.target;
  call.headers = request.headers;
  call.received = std::chrono::steady_clock::now();
  size_t index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = calls_.size();
    calls_.push_back(std::move(call));
    if (request.method == target.method) {
      if (target.route == RuntimeEndpoint::kNext) {
        init_ended_ = invocation_next_seen_ = next_since_restore_ = true;
        restore_admissions_ = 0;
      }
      if (target.route == RuntimeEndpoint::kRestoreNext) {
        *restore_admitted = restore_admissions_ > 0 && restore_phase_ != RestorePhase::kWaiting;
        if (*restore_admitted) {
          --restore_admissions_;
          restore_phase_ = RestorePhase::kWaiting;
          next_since_restore_ = false;
          restore_error_claimed_ = false;
        }
        init_ended_ = true;
      }
    }
    ++calls_version_;
  }
  calls_cv_.notify_all();
  return index;
}

void RuntimeApiServer::Impl::LogAnswer(size_t index, int status, std::string body,
                                       uint64_t body_bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RuntimeApiCall& call = calls_[index];
    call.status = status;
    call.body = std::move(body);
    call.body_bytes = body_bytes;
    call.answered = std::chrono::steady_clock::now();
    ++calls_version_;
    if (Log().Enabled(LogLevel::kDebug)) {
      Log().Debug("runtime api: " + call.method + " " + call.path + " -> " +
                  std::to_string(status));
    }
  }
  calls_cv_.notify_all();
}

std::string RuntimeApiServer::Impl::NewTraceId() {
  // X-Ray: "1-" + epoch seconds (8 hex digits) + "-" + 96 random bits.
  auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(options_.wall_clock().time_since_epoch())
          .count();
  uint64_t a = rng_(), b = rng_();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "Root=1-%08x-%08x%016llx;Sampled=0", static_cast<unsigned>(secs),
                static_cast<unsigned>(a >> 32), static_cast<unsigned long long>(b));
  return buf;
}

std::future<InvocationResult> RuntimeApiServer::Impl::Invoke(Invocation invocation) {
  auto p = std::make_shared<Pending>();
  std::future<InvocationResult> future = p->promise.get_future();
  std::lock_guard<std::mutex> lock(mu_);
  if (invocation.request_id.empty()) invocation.request_id = request_ids_.Next();
  if (invocation.trace_id.empty()) invocation.trace_id = NewTraceId();
  const std::string& id = invocation.request_id;
  if (stopping_) {
    p->promise.set_value(
        PlatformError(id, kServerStoppedErrorType, "The Runtime API server has stopped"));
    return future;
  }
  if (failure_) {
    InvocationResult r = *failure_;
    r.request_id = id;
    p->promise.set_value(std::move(r));
    return future;
  }
  bool duplicate = unfinished_.count(id) > 0;
  for (const auto& q : queue_) duplicate = duplicate || q->invocation.request_id == id;
  if (duplicate) {
    p->promise.set_value(
        PlatformError(id, "InvalidRequestID", "Request ID " + id + " is already in use"));
    return future;
  }
  finished_ids_.erase(id);
  p->invocation = std::move(invocation);
  queue_.push_back(std::move(p));
  work_cv_.notify_all();
  return future;
}

void RuntimeApiServer::Impl::Restore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++restore_permits_;
    // A restored copy of an environment whose restore/next was answered
    // already calls it again.
    if (restore_phase_ == RestorePhase::kRestored) restore_admissions_ = 1;
  }
  work_cv_.notify_all();
}

void RuntimeApiServer::Impl::Abandon(std::string_view error_type, std::string_view message) {
  std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_) failure_ = PlatformError("", error_type, message);
    failed = FailAllLocked(*failure_);
  }
  work_cv_.notify_all();
  Fulfil(std::move(failed));
}

std::vector<std::pair<std::shared_ptr<RuntimeApiServer::Impl::Pending>, InvocationResult>>
RuntimeApiServer::Impl::FailAllLocked(const InvocationResult& failure) {
  std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> done;
  auto fail = [&](std::shared_ptr<Pending> p) {
    InvocationResult r = failure;
    r.request_id = p->invocation.request_id;
    r.delivered = p->state != Pending::State::kQueued;
    finished_ids_.insert(r.request_id);
    p->state = Pending::State::kFinished;
    done.emplace_back(std::move(p), std::move(r));
  };
  for (auto& p : queue_) fail(std::move(p));
  queue_.clear();
  for (auto it = unfinished_.begin(); it != unfinished_.end();) {
    if (it->second->state == Pending::State::kDelivered) {
      fail(std::move(it->second));
      it = unfinished_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

void RuntimeApiServer::Impl::Fulfil(
    std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> done) {
  for (auto& [p, r] : done) p->promise.set_value(std::move(r));
}

void RuntimeApiServer::Impl::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> earliest;
    std::vector<std::pair<std::shared_ptr<Pending>, InvocationResult>> expired;
    for (auto it = unfinished_.begin(); it != unfinished_.end();) {
      std::shared_ptr<Pending>& p = it->second;
      // One whose answer is being received is left to finish.
      if (p->state == Pending::State::kDelivered && p->expires <= now) {
        std::string id = p->invocation.request_id;
        InvocationResult r =
            PlatformError(id, "Sandbox.Timedout", TimedOutMessage(id, p->invocation.timeout));
        r.delivered = true;
        timed_out_ids_.insert(id);
        p->state = Pending::State::kFinished;
        expired.emplace_back(std::move(p), std::move(r));
        it = unfinished_.erase(it);
        continue;
      }
      if (p->state == Pending::State::kDelivered && (!earliest || p->expires < *earliest))
        earliest = p->expires;
      ++it;
    }
    if (!expired.empty()) {
      lock.unlock();
      work_cv_.notify_all();
      Fulfil(std::move(expired));
      lock.lock();
      continue;
    }
    if (earliest) {
      timer_cv_.wait_until(lock, *earliest);
    } else {
      timer_cv_.wait(lock);
    }
  }
}

void RuntimeApiServer::Impl::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  // Joins every connection thread: no handler runs after this, so whatever is
  // still unfinished below has no other owner.
  http_.Stop();
  std::vector<std::pair<std::shared_ptr<Pending>, bool>> left;  // with whether it was delivered
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : queue_) left.emplace_back(std::move(p), false);
    queue_.clear();
    for (auto& [id, p] : unfinished_) left.emplace_back(std::move(p), true);
    unfinished_.clear();
    for (auto& [p, delivered] : left) p->state = Pending::State::kFinished;
  }
  for (auto& [p, delivered] : left) {
    InvocationResult r =
        PlatformError(p->invocation.request_id, kServerStoppedErrorType,
                      "The Runtime API server stopped before the invocation finished");
    r.delivered = delivered;
    p->promise.set_value(std::move(r));
  }
}

std::vector<RuntimeApiCall> RuntimeApiServer::Impl::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

bool RuntimeApiServer::Impl::WaitFor(
    const std::function<bool(const std::vector<RuntimeApiCall>&)>& pred,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<RuntimeApiCall> snapshot;
    uint64_t version;
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot = calls_;
      version = calls_version_;
    }
    if (pred(snapshot)) return true;
    std::unique_lock<std::mutex> lock(mu_);
    if (!calls_cv_.wait_until(lock, deadline, [&] { return calls_version_ != version; }))
      return false;
  }
}

std::optional<InvocationResult> RuntimeApiServer::Impl::init_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return init_error_;
}

std::optional<InvocationResult> RuntimeApiServer::Impl::restore_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return restore_error_;
}

size_t RuntimeApiServer::Impl::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

RuntimeApiServer::RuntimeApiServer(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
RuntimeApiServer::~RuntimeApiServer() { Stop(); }
Status RuntimeApiServer::Start(const HostPort& listen) { return impl_->Start(listen); }
const HostPort& RuntimeApiServer::address() const { return impl_->address(); }
std::string RuntimeApiServer::base_url() const { return "http://" + address().ToString(); }
void RuntimeApiServer::Stop() { impl_->Stop(); }
std::future<InvocationResult> RuntimeApiServer::Invoke(Invocation invocation) {
  return impl_->Invoke(std::move(invocation));
}
void RuntimeApiServer::Restore() { impl_->Restore(); }
void RuntimeApiServer::Abandon(std::string_view error_type, std::string_view message) {
  impl_->Abandon(error_type, message);
}
std::vector<RuntimeApiCall> RuntimeApiServer::calls() const { return impl_->calls(); }
bool RuntimeApiServer::WaitFor(const std::function<bool(const std::vector<RuntimeApiCall>&)>& pred,
                               std::chrono::milliseconds timeout) {
  return impl_->WaitFor(pred, timeout);
}
std::optional<InvocationResult> RuntimeApiServer::init_error() const { return impl_->init_error(); }
std::optional<InvocationResult> RuntimeApiServer::restore_error() const {
  return impl_->restore_error();
}
size_t RuntimeApiServer::queued() const { return impl_->queued(); }

}  // namespace anysnap
