// BuildLayer makes anysnap's layer zip in one pass:
//   anysnap/bin/   the anysnap-* programs of the build's bin directory that run
//                  in a Lambda environment (not anysnap-layer, anysnap-local or
//                  the benchmarks, which run where layers are built);
//   anysnap/lib/   their shared-library closure (library_closure.h), without glibc,
//                  which the programs find through a DT_RPATH of $ORIGIN/../lib
//                  written into their copies (elf_search_path.h);
//   nodejs/node_modules/anysnap-hooks/, python/anysnap_hooks.py
//                  the hook client libraries (samples/hooks/), where Node.js and
//                  Python look for a layer's modules (NODE_PATH, PYTHONPATH);
//                  none when the hooks directory does not exist;
//   anysnap/reseed/ the reseed the wrapper loads into a snap-start runtime
//                  (kReseedFiles, from the build's reseed folder beside its
//                  bin folder); none when that folder does not exist;
//   anything added with `adds` (a source path and where it goes in the layer).
// The plan is written with ZipWriter (same inputs, same bytes), then the zip is
// inspected exactly as `anysnap-layer inspect` would; when that finds an error the
// zip is removed.
//
// Thread-compatible; progress is reported on the calling thread.
#ifndef ANYSNAP_LAYER_LAYER_BUILDER_H_
#define ANYSNAP_LAYER_LAYER_BUILDER_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "anysnap/status.h"
#include "layer/inspect_report.h"
#include "layer/lambda_target.h"
#include "layer/zip_writer.h"

namespace anysnap::layer {

struct BuildOptions {
  std::string output;
  std::string bin_dir;  // where the anysnap-* programs are (anysnap-layer: its own folder)
  std::string hooks_dir = "samples/hooks";  // empty: no hooks
  std::string reseed_dir;  // the build's reseed/ folder; empty: <bin_dir>/../reseed
  std::vector<std::pair<std::string, std::string>> adds;  // source path, layer path
  LambdaTarget target;
  int level = 6;                  // deflate level; 0 stores
  int64_t source_date_epoch = 0;  // entry timestamp (clamped to 1980-01-01)
  // Where libraries are searched after the programs' own paths; empty: the
  // system's (SystemLibraryDirs).
  std::vector<std::string> library_dirs;
  std::string temp_parent;  // for patched copies; empty: $TMPDIR or /tmp
  ZipWriter::ProgressFn progress;
};

struct BuildResult {
  InspectReport report;  // the checks run on the written zip
  bool kept = false;     // false when the checks found errors and the zip was removed
  uint64_t entries = 0;
  uint64_t unzipped_bytes = 0;
  uint64_t zipped_bytes = 0;
  double seconds = 0;
};

// Builds the layer described by `options`. An error Status when it could not be
// built (a missing input, a library not found, an I/O failure); a result whose
// report has errors when it was built but fails the checks.
Result<BuildResult> BuildLayer(const BuildOptions& options);

// The layer paths of the hook client libraries, relative to the hooks directory
// and inside the layer.
inline constexpr std::pair<const char*, const char*> kNodeHooks = {
    "nodejs/anysnap-hooks", "nodejs/node_modules/anysnap-hooks"};
inline constexpr std::pair<const char*, const char*> kPythonHooks = {"python/anysnap_hooks.py",
                                                                     "python/anysnap_hooks.py"};

// The reseed's files, relative to the reseed folder and to anysnap/reseed/ in
// the layer (where anysnap-wrapper looks for them: wrapper/reseed_preload.h).
inline constexpr std::array<const char*, 4> kReseedFiles = {
    "nodejs/anysnap-reseed.js", "nodejs/channel.js", "nodejs/anysnap_reseed.node",
    "python/sitecustomize.py"};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAYER_BUILDER_H_
