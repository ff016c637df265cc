// Audit is the snapshot-safety audit (ANYSNAP_AUDIT): a seccomp filter,
// built with libseccomp, that the runtime host gets just before its exec and
// that turns the system calls revealing snapshot hazards into user
// notifications; a supervisor thread in the wrapper reads them, records who
// made which call with what argument, and lets every call continue unchanged.
//
// Watched: getrandom (but glibc's 8-byte nonblocking draw of its malloc
// tcache key, made by every process) and opening /dev/random, /dev/urandom
// (random state);
// opening /proc/sys/kernel/random/uuid (ids); connect to anything but the
// delegator (connections dead after restore); listen; timer_create,
// timerfd_create, setitimer, alarm (timers); fork, vfork and clone/clone3
// without CLONE_THREAD (child processes; reported only when some are alive at
// the snapshot point). Clock readings go through the vDSO and never reach
// seccomp: the "clock" kind cannot be seen this way.
//
// A random draw is the runtime's own or the function's (random_draws.h): the
// runtime's start-up draws seed its generators, which anysnap's reseed
// refreshes after every restore ("reseeded", reported for information) or,
// where it cannot or is off, are one runtime-level hazard per source with
// its remedy ("runtime"); every other finding is the function's ("yours").
// A system-call audit sees draws from the kernel only: an id made during init
// from a generator already seeded in user space is found by restoring
// (`anysnap-local check`).
//
// At the snapshot point, Report() stops the recording, writes the report to
// the log (text) and to a JSON file, and in strict mode fails when a hazard
// of a kind in ANYSNAP_AUDIT_FAIL_ON was seen that is not reseeded and has a
// remedy. After it, each watched call
// costs one notification round trip answered at once, without decoding.
//
// Sequence: Prepare() (before fork) -> RuntimeProcess::Start(..., &pre_exec())
// -> Attach() -> Report() -> destructor. A kernel or platform that refuses the
// filter makes Prepare() or Attach() fail: the caller warns once and the
// runtime runs unaudited. Thread-safe after Attach().
#ifndef ANYSNAP_WRAPPER_AUDIT_H_
#define ANYSNAP_WRAPPER_AUDIT_H_

#include <linux/filter.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "anysnap/config.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"
#include "random_draws.h"
#include "runtime_process.h"

namespace anysnap {

struct AuditOptions {
  AuditMode mode = AuditMode::kLog;
  std::vector<std::string> fail_on;  // kinds of kAuditHazardKinds (strict mode)
  std::string report_path;           // the JSON report
  HostPort exempt;                   // connect() here is expected (the delegator)
  bool reseed = false;               // anysnap's reseed runs after every restore
};

// One recorded call.
struct AuditCall {
  int tid = 0;
  std::string process;  // its comm
  std::string call;     // "getrandom", "openat", "connect", ...
  std::string detail;   // "16 bytes", "/dev/urandom", "127.0.0.1:5432", ...
};

// The calls of one kind with one owner: for random draws, one hazard per
// verdict and runtime source.
struct AuditHazard {
  std::string kind;  // of kAuditHazardKinds
  DrawVerdict verdict = DrawVerdict::kYours;
  std::string source;  // what a runtime's draw seeds; "" for the function's
  std::string advice;  // what to do (the remedy), or what anysnap does
  bool fixable = true;
  uint64_t count = 0;
  std::vector<AuditCall> examples;  // the first few
};

class Audit {
 public:
  static constexpr size_t kExamplesPerKind = 5;

  // Builds the filter. Fails when libseccomp or the kernel cannot do user
  // notifications.
  static Result<std::unique_ptr<Audit>> Prepare(AuditOptions options);
  ~Audit();
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  // The step that installs the filter in the runtime host's process.
  ChildPreExec& pre_exec();
  // After the runtime host (`runtime`) started: takes the listener from it
  // and starts supervising. Fails when the kernel refused the filter there.
  Status Attach(pid_t runtime);

  // The snapshot point: stops recording, logs and writes the report. In
  // strict mode, Failed naming the hazards of the kinds that fail the init.
  // Later calls do nothing and return OK.
  Status Report(std::string_view snapshot_point);

  // The hazards recorded so far, in kAuditHazardKinds order, the function's
  // first, then runtime-level ones, then the reseeded.
  std::vector<AuditHazard> hazards() const;

 private:
  class Installer;
  explicit Audit(AuditOptions options);
  void Supervise();
  void Record(int tid, int nr, const uint64_t* args, uint64_t id);
  std::vector<std::pair<int, std::string>> LiveChildren() const;

  const AuditOptions options_;
  std::vector<sock_filter> program_;
  std::map<int, std::string> names_;  // syscall number -> name, for watched calls
  std::unique_ptr<Installer> installer_;
  pid_t runtime_ = -1;
  UniqueFd parent_socket_;  // receives the listener from the child
  UniqueFd child_socket_;   // the child's end; closed by Attach
  UniqueFd listener_;
  UniqueFd stop_event_;
  std::thread supervisor_;
  std::atomic<bool> recording_{true};
  std::atomic<bool> reported_{false};

  mutable std::mutex mu_;
  // (kind's index, verdict, source) -> hazard; guarded by mu_, as is draws_.
  std::map<std::tuple<size_t, DrawVerdict, std::string>, AuditHazard> hazards_;
  RandomDraws draws_;
};

// The advice the report gives for a hazard kind.
std::string_view AuditAdvice(std::string_view kind);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_AUDIT_H_
