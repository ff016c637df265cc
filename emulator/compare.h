// Compare is `anysnap-local compare`: the same function N times cold
// (on-demand: a new execution environment, init, then the invoke) and N times
// restored (snap-start: a new environment restored from the one snapshot,
// then the invoke), measuring each time to first response: from the moment
// the invoke is sent until its response is complete, as a caller sees it,
// and keeping each response. Preparing what a restore needs beforehand (the
// freeze backend's next frozen template) happens off the clock, as
// SnapStart's snapshot does.
//
// Thread-compatible.
#ifndef ANYSNAP_EMULATOR_COMPARE_H_
#define ANYSNAP_EMULATOR_COMPARE_H_

#include <string>
#include <vector>

#include "anysnap/status.h"
#include "local_function.h"

namespace anysnap {

struct CompareResult {
  std::vector<double> cold_ms;
  std::vector<double> restored_ms;
  // Each run's response, in run order (what `anysnap-local check` compares).
  std::vector<std::string> cold_bodies;
  std::vector<std::string> restored_bodies;
  std::string backend;  // "criu" or "freeze"
  std::string caveat;   // the backend's own words
};

struct Summary {
  double median = 0;
  double p90 = 0;
};
// Median and 90th percentile (nearest rank) of `values`, which must not be empty.
Summary Summarise(std::vector<double> values);

// Runs the comparison; an error when a run fails (its error document said).
// `options` is the on-demand function; its snap-start twin is derived here.
Result<CompareResult> RunCompare(const LocalFunctionOptions& options, int runs,
                                 const std::string& event);

// The table printed on stdout: cold and restored median and p90, speed-up.
std::string CompareTable(const CompareResult& result);

// A self-contained SVG: every run's time on a log scale, cold and restored
// side by side, medians marked, the backend named (and its caveat).
std::string CompareChart(const CompareResult& result, const std::string& function_name);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_COMPARE_H_
