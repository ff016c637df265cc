#include "local_run.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace anysnap {

namespace {

// Calls `stop` once `*flag` turns true, until destroyed. The flag is set from
// a signal handler, which can wake nothing: it is looked at every few ms.
class StopWatcher {
 public:
  StopWatcher(const std::atomic<bool>* flag, std::function<void()> stop) {
    if (flag == nullptr) return;
    thread_ = std::thread([this, flag, stop = std::move(stop)] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!done_) {
        if (flag->load(std::memory_order_relaxed)) {
          fired_ = true;
          lock.unlock();
          stop();
          return;
        }
        cv_.wait_for(lock, std::chrono::milliseconds(10));
      }
    });
  }
  ~StopWatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

}  // namespace

bool LocalRunResult::all_succeeded(size_t events) const {
  if (interrupted || invokes.size() != events) return false;
  return std::all_of(invokes.begin(), invokes.end(), [](const InvokeResult& o) { return o.ok; });
}

Result<LocalRunResult> RunLocally(const LocalRunOptions& options) {
  // A bad configuration fails every environment alike: said once, now.
  ANYSNAP_RETURN_IF_ERROR(FunctionEnvironment::CheckLaunch(options.function.environment));
  LocalFunction function(options.function);
  LocalRunResult result;
  StopWatcher watcher(options.stop_requested, [&function] { function.Stop(); });
  InitFailure failure;
  Status started = function.Start(&failure);
  if (!started.ok()) {
    return failure.body.empty() ? started
                                : Status::Aborted(started.message() + ": " + failure.body);
  }
  for (const std::string& event : options.events) {
    if (watcher.fired()) break;
    InvokeRequest request;
    request.event = event;
    request.content_type = options.content_type;
    result.invokes.push_back(function.Invoke(std::move(request)));
    if (options.on_outcome) options.on_outcome(result.invokes.back());
  }
  result.interrupted = watcher.fired();
  function.Stop();
  result.environments = function.environments();
  return result;
}

}  // namespace anysnap
