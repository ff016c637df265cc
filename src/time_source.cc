#include "anysnap/time_source.h"

namespace anysnap {

namespace {

class OsTimeSource final : public TimeSource {
 public:
  SteadyTime Now() override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() override { return std::chrono::system_clock::now(); }
  bool WaitUntil(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline, const std::function<bool()>& done) override {
    return changed.wait_until(lock, deadline, done);
  }
};

}  // namespace

TimeSource& SystemTimeSource() {
  static OsTimeSource clock;
  return clock;
}

}  // namespace anysnap
