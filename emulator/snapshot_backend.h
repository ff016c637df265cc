// A SnapshotBackend takes the SnapStart snapshot of a function once its init
// has ended, and gives back a fresh execution environment resumed from it on
// each Restore().
//
// The snapshot point is Lambda's: the runtime's GET restore/next (a runtime
// that runs its own hooks), or else its first GET invocation/next. The
// runtime is left waiting on that call; after a restore, restore/next is
// answered (RuntimeApiServer::Restore) and a waiting next gets the event.
//
// Two backends:
//   - criu: a real checkpoint of the whole process tree (`criu dump`) once,
//     and `criu restore` of that one image for every restore, each into a
//     fresh network namespace with a Runtime API server of its own. Needs a
//     `criu` that passes `criu check`, and namespaces. criu runs inside the
//     tree's mount namespace, which is then not its to dump, and each restore
//     runs in a new one with the same binds: code at /var/task and layer at
//     /opt as under every backend; the tree sees the host's /proc (criu reads
//     it by host pids from in there). TCP connections open at the dump
//     come back closed: a Runtime API client must reconnect after restore
//     (the delegator retries a request whose connection died unanswered).
//   - freeze: the tree is frozen in place (cgroup v2 freezer) at the snapshot
//     point and thawed at the restore. It models the lifecycle (restore/next,
//     hooks, timings of everything after the restore), not the restoring of
//     memory: a frozen tree resumes with no cost to pay. One frozen tree
//     serves one restore only, so after each restore another environment is
//     initialised and frozen in the background for the next one ("a frozen
//     template"); each restore is a fresh process tree, but unlike a real
//     snapshot it ran its own init, so it does not share the RNG state and
//     ids of the others.
//
// Threading: TakeSnapshot once, then Restore from any one thread at a time.
#ifndef ANYSNAP_EMULATOR_SNAPSHOT_BACKEND_H_
#define ANYSNAP_EMULATOR_SNAPSHOT_BACKEND_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "anysnap/status.h"
#include "function_environment.h"

namespace anysnap {

enum class SnapshotKind { kCriu, kFreeze };

// What a failed init left: the runtime's init/error document, or the
// platform's words for its exit or timeout.
struct InitFailure {
  std::string error_type;
  std::string body;  // a JSON error document
};

struct SnapshotTaken {
  std::chrono::steady_clock::time_point init_started;
  std::chrono::steady_clock::time_point init_ended;  // the snapshot point
  double snapshot_ms = 0;                            // freezing or dumping
};

struct RestoredEnvironment {
  std::shared_ptr<FunctionEnvironment> env;
  std::chrono::steady_clock::time_point restore_started;
  // The tree runs again. Its restore/next is not answered yet: the caller
  // does that (RuntimeApiServer::Restore) once it has said so.
  std::chrono::steady_clock::time_point resumed;
};

class SnapshotBackend {
 public:
  // Starts a new environment initialising for a snapshot (init type snap-start).
  using EnvironmentFactory = std::function<Result<std::shared_ptr<FunctionEnvironment>>()>;

  virtual ~SnapshotBackend() = default;
  virtual SnapshotKind kind() const = 0;
  // "criu" or "freeze".
  std::string_view name() const { return kind() == SnapshotKind::kCriu ? "criu" : "freeze"; }
  // One sentence on what this backend does and does not model; said with
  // every snapshot, restore and comparison.
  virtual std::string_view caveat() const = 0;

  // Runs init and takes the snapshot at its end. An error Status (with
  // *failure filled when init itself failed) when no snapshot was taken.
  virtual Result<SnapshotTaken> TakeSnapshot(InitFailure* failure) = 0;
  // A fresh environment resumed from the snapshot, restore/next unanswered.
  virtual Result<RestoredEnvironment> Restore(InitFailure* failure) = 0;
  // Returns once whatever the next Restore() needs made beforehand (a freeze
  // template) is ready, so that a measured restore does not include it.
  virtual void AwaitPrepared() {}
};

// `init_limit` bounds each init (Lambda: 15 minutes for a SnapStart init).
// `prepare_ahead`: freeze the next template in the background right after a
// restore (serve), or only when the next restore asks for it (compare).
std::unique_ptr<SnapshotBackend> MakeFreezeBackend(SnapshotBackend::EnvironmentFactory factory,
                                                   std::chrono::milliseconds init_limit,
                                                   bool prepare_ahead);

struct CriuSettings {
  std::string criu = "criu";  // the binary
  std::string image_dir;      // where the image goes (made when missing)
};

// Returns OK iff `criu check` passes; else its complaint.
Status CheckCriu(const std::string& criu);

// `environment_spec` is the spec of every restored environment (its
// namespaces, cgroup, output). `factory` must start environments of that
// spec: namespaces, and the host's /proc (EnvironmentSpec::host_proc).
std::unique_ptr<SnapshotBackend> MakeCriuBackend(SnapshotBackend::EnvironmentFactory factory,
                                                 EnvironmentSpec environment_spec,
                                                 CriuSettings settings,
                                                 std::chrono::milliseconds init_limit);

// Starts an environment with `factory` and waits (up to `init_limit`) for its
// init to end at the snapshot point; fills `taken`'s init times. When init
// fails the environment is killed, `failure` says why, and the result is
// Aborted.
Result<std::shared_ptr<FunctionEnvironment>> InitToSnapshotPoint(
    const SnapshotBackend::EnvironmentFactory& factory, std::chrono::milliseconds init_limit,
    InitFailure* failure, SnapshotTaken* taken);

// The InitFailure of an environment whose init did not end well.
InitFailure DescribeInitFailure(FunctionEnvironment& env, FunctionEnvironment::InitEnd end,
                                std::chrono::milliseconds limit);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_SNAPSHOT_BACKEND_H_
