// CloneCheck is `anysnap-local check`: it proves by restoring whether a
// function's responses carry values the snapshot cloned. It runs the
// function N times cold and N times restored from one snapshot with the same
// event (RunCompare's runs, compare.h) and compares the responses field by
// field (cloned_fields.h): a field that differs between cold starts but is
// the same in every restored environment was made before the snapshot, or
// drawn from a generator whose state the snapshot carried, and repeats in
// every environment SnapStart restores.
//
// Only a backend that restores memory can show that. The freeze backend
// resumes, for each restore, a process tree that ran its own init (a
// template frozen in place): its random state is its own, never a copy, so
// every cloned value would pass unseen. CheckCanSeeClones refuses it.
//
// Thread-compatible.
#ifndef ANYSNAP_EMULATOR_CLONE_CHECK_H_
#define ANYSNAP_EMULATOR_CLONE_CHECK_H_

#include <string>
#include <vector>

#include "anysnap/status.h"
#include "cloned_fields.h"
#include "local_function.h"

namespace anysnap {

struct CloneCheckResult {
  int runs = 0;  // of each kind
  std::string backend;
  FieldComparison fields;
  std::vector<ClonedField> allowed;  // cloned, but named by the caller as expected
  std::vector<std::string> cold_bodies, restored_bodies;  // each run's response
};

// OK for the criu backend; for freeze, Unavailable saying why it cannot.
Status CheckCanSeeClones(SnapshotKind backend);

// Runs the check (runs >= 2). `allow` lists paths expected to be cloned (an id
// made during init on purpose): they are moved from fields.cloned to allowed.
// An error when the backend cannot see clones (CheckCanSeeClones) or a run
// failed.
Result<CloneCheckResult> RunCloneCheck(const LocalFunctionOptions& options, int runs,
                                       const std::string& event,
                                       const std::vector<std::string>& allow);

// What stdout shows: each cloned field with its path and value, or that
// there is none; the allowed ones, and the paths not judged.
std::string CloneCheckReport(const CloneCheckResult& result);

// Every response, one JSON object per line, cold runs first:
// {"run":"cold","n":1,"body":"<the response, as a string>"}.
std::string CloneCheckResponses(const CloneCheckResult& result);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_CLONE_CHECK_H_
