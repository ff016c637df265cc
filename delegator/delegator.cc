#include "delegator.h"

#include <chrono>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

// The request handler: forwards and keeps the RuntimeProgress up to date.
class Delegator::Proxy final : public HttpHandler {
 public:
  Proxy(UpstreamClient* upstream, Lifecycle* lifecycle)
      : upstream_(upstream), lifecycle_(lifecycle) {}

  void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) override {
    auto start = std::chrono::steady_clock::now();
    if (request.target.compare(0, kHookChannelPrefix.size(), kHookChannelPrefix) == 0) {
      lifecycle_->channel().Handle(request, body, out);
      return;
    }
    RuntimeTarget target = ClassifyRuntimeTarget(request.target);
    if (lifecycle_->Intercept(target, request, body, out)) return;
    bool long_poll = target.endpoint == RuntimeEndpoint::kNext ||
                     target.endpoint == RuntimeEndpoint::kRestoreNext;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (long_poll) progress_.next_called = true;
      // The runtime answered this id; the answer is on its way upstream even
      // if the runtime dies before the upstream acknowledges it.
      if (target.endpoint == RuntimeEndpoint::kResponse ||
          target.endpoint == RuntimeEndpoint::kInvocationError)
        unanswered_.erase(target.request_id);
    }
    ForwardOutcome outcome;
    if (target.endpoint == RuntimeEndpoint::kNext) {
      // The event's id is recorded before a byte of it reaches the runtime: a
      // runtime that dies the moment it has its event still has it reported.
      DeliveryRecorder recorder(&out, this);
      outcome = upstream_->Forward(request, body, recorder, long_poll);
    } else {
      outcome = upstream_->Forward(request, body, out, long_poll);
    }
    Observe(target, outcome);
    if (!outcome.error.ok()) {
      Log().Warn(request.method + " " + request.target + ": " + outcome.error.message());
    }
    if (Log().Enabled(LogLevel::kDebug)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      Log().Debug(request.method + " " + request.target + " -> " + std::to_string(outcome.status) +
                  (outcome.retried ? " (retried)" : "") + " in " + std::to_string(us) + " us");
    }
  }

  RuntimeProgress progress() const {
    std::lock_guard<std::mutex> lock(mu_);
    RuntimeProgress p = progress_;
    p.unanswered.assign(unanswered_.begin(), unanswered_.end());
    return p;
  }

 private:
  // Passes a next's answer through, noting the request id it delivers.
  class DeliveryRecorder final : public ResponseWriter {
   public:
    DeliveryRecorder(ResponseWriter* out, Proxy* proxy) : out_(out), proxy_(proxy) {}
    Status Begin(int status, const HttpHeaders& headers, std::optional<uint64_t> length) override {
      if (status == 200) {
        if (const std::string* id = FindHeader(headers, kRequestIdHeader)) {
          std::lock_guard<std::mutex> lock(proxy_->mu_);
          proxy_->unanswered_.insert(*id);
        }
      }
      return out_->Begin(status, headers, length);
    }
    Status Write(std::string_view data) override { return out_->Write(data); }
    Status End(const HttpHeaders& trailers) override { return out_->End(trailers); }
    bool started() const override { return out_->started(); }
    void CloseAfterResponse() override { out_->CloseAfterResponse(); }

   private:
    ResponseWriter* const out_;
    Proxy* const proxy_;
  };

  void Observe(const RuntimeTarget& target, const ForwardOutcome& outcome) {
    if (!outcome.answered_by_upstream) return;
    std::lock_guard<std::mutex> lock(mu_);
    switch (target.endpoint) {
      case RuntimeEndpoint::kInitError:
        if (outcome.status == 202) progress_.init_error_reported = true;
        break;
      default:
        break;
    }
  }

  UpstreamClient* const upstream_;
  Lifecycle* const lifecycle_;
  mutable std::mutex mu_;
  RuntimeProgress progress_;          // guarded by mu_ (unanswered kept apart)
  std::set<std::string> unanswered_;  // guarded by mu_
};

Result<std::unique_ptr<Delegator>> Delegator::Start(const DelegatorOptions& options) {
  auto d = Bind(options);
  if (d.ok()) (*d)->Serve();
  return d;
}

void Delegator::Serve() { server_->Start(); }

Result<std::unique_ptr<Delegator>> Delegator::Bind(const DelegatorOptions& options) {
  if (!IsLoopback(options.listen) && !options.allow_non_loopback) {
    return Status::InvalidArgument("refusing to listen on non-loopback address " +
                                   options.listen.ToString() +
                                   ": it would expose the Runtime API (force it explicitly)");
  }
  std::unique_ptr<Delegator> d(new Delegator());
  d->upstream_ = std::make_unique<UpstreamClient>(options.upstream);
  d->lifecycle_ = std::make_unique<Lifecycle>(options.lifecycle, d->upstream_.get());
  d->proxy_ = std::make_unique<Proxy>(d->upstream_.get(), d->lifecycle_.get());
  d->server_ = std::make_unique<HttpServer>(d->proxy_.get(), options.http);
  ANYSNAP_RETURN_IF_ERROR(d->server_->Listen(options.listen));
  return d;
}

Delegator::~Delegator() { Stop(); }

RuntimeProgress Delegator::progress() const {
  RuntimeProgress p = proxy_->progress();
  LifecycleState s = lifecycle_->state();
  p.next_called = p.next_called || s.init_ended;
  p.restoring = s.restoring;
  if (!p.next_called) p.stage = s.stage;
  return p;
}

void Delegator::Stop() {
  if (lifecycle_) lifecycle_->Stop();
  if (upstream_) upstream_->Abort();
  if (server_) server_->Stop();
  if (lifecycle_) lifecycle_->Join();
}

}  // namespace anysnap
