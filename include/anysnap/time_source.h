// TimeSource is the seam between anysnap's timing and the OS clocks: the steady
// clock that deadlines and durations are measured on, the wall clock that
// spans a snapshot (a restored environment's steady clock may have stood
// still while it was frozen), and waiting on a condition variable until a
// deadline of that steady clock. SystemTimeSource() is the real one; tests use a
// fake that they advance themselves, so a timeout is an event they cause
// rather than a wait.
//
// Thread-safe: every member may be called from any thread.
#ifndef ANYSNAP_TIME_SOURCE_H_
#define ANYSNAP_TIME_SOURCE_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace anysnap {

class TimeSource {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~TimeSource() = default;

  // The steady clock: deadlines and durations.
  virtual SteadyTime Now() = 0;
  // The wall clock: Lambda's Deadline header, durations across a snapshot.
  virtual WallTime WallNow() = 0;
  // Waits on `changed` (whose mutex `lock` holds) until `done()` is true or
  // `deadline` has passed on this clock. Returns done(), read with the lock
  // held, as condition_variable::wait_until does.
  virtual bool WaitUntil(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                         SteadyTime deadline, const std::function<bool()>& done) = 0;
};

// The OS clocks (std::chrono::steady_clock and system_clock).
TimeSource& SystemTimeSource();

}  // namespace anysnap

#endif  // ANYSNAP_TIME_SOURCE_H_
