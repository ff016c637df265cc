#include "snapshot_backend.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "anysnap/http.h"
#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point from) {
  return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
}

// The freeze backend: one frozen environment per restore.
class FreezeBackend final : public SnapshotBackend {
 public:
  FreezeBackend(EnvironmentFactory factory, std::chrono::milliseconds init_limit,
                bool prepare_ahead)
      : factory_(std::move(factory)), init_limit_(init_limit), prepare_ahead_(prepare_ahead) {}
  ~FreezeBackend() override {
    if (preparer_.joinable()) preparer_.join();
  }

  SnapshotKind kind() const override { return SnapshotKind::kFreeze; }
  std::string_view caveat() const override {
    return "freeze backend: the process tree is frozen in place and thawed at restore; this "
           "models the SnapStart lifecycle, not the restoring of memory (use --snapshot criu "
           "for real restore timings)";
  }

  Result<SnapshotTaken> TakeSnapshot(InitFailure* failure) override {
    SnapshotTaken taken;
    auto env = InitToSnapshotPoint(factory_, init_limit_, failure, &taken);
    if (!env.ok()) return env.status();
    Clock::time_point t0 = Clock::now();
    Status frozen = (*env)->Freeze();
    if (!frozen.ok()) {
      (*env)->Kill();
      return frozen.WithContext("freeze the environment");
    }
    taken.snapshot_ms = MillisecondsSince(t0);
    std::lock_guard<std::mutex> lock(mu_);
    template_ = std::move(*env);
    return taken;
  }

  void AwaitPrepared() override {
    if (preparer_.joinable()) preparer_.join();
  }

  Result<RestoredEnvironment> Restore(InitFailure* failure) override {
    if (preparer_.joinable()) preparer_.join();
    std::shared_ptr<FunctionEnvironment> env;
    {
      std::lock_guard<std::mutex> lock(mu_);
      env = std::move(template_);
      if (!env && !prepared_.ok()) {
        *failure = prepared_failure_;
        Status s = prepared_;
        prepared_ = Status::Ok();
        return s;
      }
    }
    if (!env) {
      // Made when the restore asks for it: init runs now, before the clock.
      auto taken = TakeSnapshot(failure);
      if (!taken.ok()) return taken.status();
      std::lock_guard<std::mutex> lock(mu_);
      env = std::move(template_);
    }
    RestoredEnvironment restored;
    restored.restore_started = Clock::now();
    Status thawed = env->Thaw();
    if (!thawed.ok()) {
      env->Kill();
      return thawed.WithContext("thaw the environment");
    }
    restored.resumed = Clock::now();
    restored.env = std::move(env);
    if (prepare_ahead_) {
      preparer_ = std::thread([this] {
        InitFailure f;
        auto taken = TakeSnapshot(&f);
        std::lock_guard<std::mutex> lock(mu_);
        if (!taken.ok()) {
          prepared_ = taken.status();
          prepared_failure_ = f;
        }
      });
    }
    return restored;
  }

 private:
  const EnvironmentFactory factory_;
  const std::chrono::milliseconds init_limit_;
  const bool prepare_ahead_;
  std::mutex mu_;
  std::shared_ptr<FunctionEnvironment> template_;  // frozen, guarded by mu_
  Status prepared_;                                // the background preparation's failure
  InitFailure prepared_failure_;
  std::thread preparer_;
};

}  // namespace

Result<std::shared_ptr<FunctionEnvironment>> InitToSnapshotPoint(
    const SnapshotBackend::EnvironmentFactory& factory, std::chrono::milliseconds init_limit,
    InitFailure* failure, SnapshotTaken* taken) {
  auto env = factory();
  if (!env.ok()) return env.status();
  FunctionEnvironment::InitEnd end = (*env)->WaitForInitEnd(init_limit);
  if (end != FunctionEnvironment::InitEnd::kReady) {
    *failure = DescribeInitFailure(**env, end, init_limit);
    (*env)->Kill();
    return Status::Aborted("the function's init failed: " + failure->error_type);
  }
  taken->init_started = (*env)->started();
  taken->init_ended = *(*env)->init_ended_at();
  return env;
}

InitFailure DescribeInitFailure(FunctionEnvironment& env, FunctionEnvironment::InitEnd end,
                                std::chrono::milliseconds limit) {
  InitFailure f;
  switch (end) {
    case FunctionEnvironment::InitEnd::kInitError: {
      auto error = env.server().init_error();
      f.error_type = error->error_type;
      f.body = error->body;
      break;
    }
    case FunctionEnvironment::InitEnd::kExited: {
      // An init/error may have come just before the exit.
      if (auto error = env.server().init_error()) {
        f.error_type = error->error_type;
        f.body = error->body;
        break;
      }
      auto exit = env.exit_status();
      f.error_type = kExitErrorType;
      f.body = RuntimeErrorDocument(
          f.error_type, exit && !exit->success() ? "Runtime exited with error: " + exit->Describe()
                                                 : "Runtime exited without providing a reason");
      break;
    }
    case FunctionEnvironment::InitEnd::kTimedOut:
      f.error_type = "Sandbox.Timedout";
      f.body = RuntimeErrorDocument(f.error_type,
                                    "Init timed out after " + FormatSeconds(limit) + " seconds");
      break;
    case FunctionEnvironment::InitEnd::kReady:
      break;
  }
  return f;
}

std::unique_ptr<SnapshotBackend> MakeFreezeBackend(SnapshotBackend::EnvironmentFactory factory,
                                                   std::chrono::milliseconds init_limit,
                                                   bool prepare_ahead) {
  return std::make_unique<FreezeBackend>(std::move(factory), init_limit, prepare_ahead);
}

}  // namespace anysnap
