// A runtime preset is a name that ANYSNAP_RUNTIME may hold instead of a
// command line: `nodejs`, `bun`, `deno` or `python`. The wrapper then starts
// the runtime host the way Lambda's managed runtime starts it, from the
// runtime layer under /opt (anysnap-layer build --runtime):
//   nodejs  /opt/bin/node --expose-gc --max-http-header-size 81920
//           --max-semi-space-size=S --max-old-space-size=O
//           /opt/nodejs/node_modules/aws-lambda-ric/index.mjs $_HANDLER
//           with the heap sizes nodejs22.x derives from
//           AWS_LAMBDA_FUNCTION_MEMORY_SIZE (a tenth of it is the new space,
//           half of that a semi-space, the rest the old space), NODE_PATH as
//           nodejs22.x sets it when the function sets none, and
//           AWS_EXECUTION_ENV=AWS_Lambda_nodejs22.x;
//   bun     /opt/bin/bun  running the same aws-lambda-ric, $_HANDLER;
//   deno    /opt/bin/deno run --allow-all, the same aws-lambda-ric, $_HANDLER;
//   python  /opt/bin/python3 -m awslambdaric $_HANDLER (AWS's Python client,
//           from /opt/python on PYTHONPATH, or the function's own folder).
// The layer root is where the wrapper itself sits (ROOT/anysnap/bin/), which
// is /opt on Lambda and a layer's own folder where anysnap-local cannot mount
// one at /opt; /opt otherwise.
//
// Pure functions of their inputs; thread-safe.
#ifndef ANYSNAP_WRAPPER_RUNTIME_PRESET_H_
#define ANYSNAP_WRAPPER_RUNTIME_PRESET_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

struct RuntimePreset {
  std::string name;               // "nodejs"
  std::vector<std::string> argv;  // the runtime host's command line
  EnvMap env;                     // the runtime host's environment, preset applied
  // The files the preset needs (the runtime, its client's entry point); the
  // wrapper reports Runtime.InvalidEntrypoint naming the first missing one.
  std::vector<std::string> required;
};

// The names ANYSNAP_RUNTIME may hold as a preset: "nodejs, bun, deno, python".
std::string RuntimePresetNames();

// The preset that `runtime` (ANYSNAP_RUNTIME split into words) names, for a
// runtime host with environment `env` and layer root `layer_root`; nullopt when
// it names none (a command line with several words, or any other word).
std::optional<RuntimePreset> FindRuntimePreset(const std::vector<std::string>& runtime,
                                               const EnvMap& env, const std::string& layer_root);

// The layer root for a wrapper whose program sits in `program_dir`: its
// grandparent when that is .../anysnap/bin, else /opt.
std::string LayerRootOf(const std::string& program_dir);

// The first of `preset.required` that `exists` says is missing, as the
// init error's message ("ANYSNAP_RUNTIME=nodejs: /opt/bin/node does not
// exist; ..."); nullopt when all are there.
std::optional<std::string> MissingPresetFile(const RuntimePreset& preset,
                                             const std::function<bool(const std::string&)>& exists);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_RUNTIME_PRESET_H_
