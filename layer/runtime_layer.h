// BuildRuntimeLayer makes a runtime layer: a runtime that Lambda's java21 does
// not have (Node.js, Bun, Deno; runtime_catalog.h), for functions that anysnap
// starts in its place. The layer holds
//   bin/node | bin/bun | bin/deno   the runtime's official Linux build, from its
//                                   npm package (/opt/bin is on Lambda's PATH);
//   nodejs/node_modules/            for Node.js: AWS's aws-lambda-ric as npm
//                                   installs it, its native part compiled by npm
//                                   against that same Node.js (where Lambda's
//                                   Node.js runtimes look for a layer's modules);
//   lib/                            the runtime's shared-library closure without
//                                   glibc (/opt/lib is on Lambda's
//                                   LD_LIBRARY_PATH, after the OS's own folders).
// Packages come through NpmInstaller (pinned, integrity-checked, cached in
// `cache_dir`). The plan is refused before anything is written when it is over
// Lambda's 250 MB unzipped; the zip is written beside `output` and inspected as
// `anysnap-layer inspect` would (every ELF file, `.node` modules included,
// against the target's architecture and glibc), and takes the name `output`
// only when it passes: a failed build leaves no zip behind.
//
// Thread-compatible.
#ifndef ANYSNAP_LAYER_RUNTIME_LAYER_H_
#define ANYSNAP_LAYER_RUNTIME_LAYER_H_

#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"
#include "layer/layer_builder.h"
#include "layer/npm_installer.h"

namespace anysnap::layer {

struct RuntimeLayerOptions {
  std::string runtime;  // a RuntimeCatalog name: "nodejs22", ...
  // Another version of the runtime's package than the pinned one (its
  // integrity is then the registry's, which npm checks); empty: the pinned one.
  std::string runtime_version;
  std::string output;
  LambdaTarget target;
  std::string cache_dir;  // where installed packages are kept between builds
  EnvMap env;             // npm's environment
  int level = 6;
  int64_t source_date_epoch = 0;
  std::vector<std::string> library_dirs;  // empty: the system's
  std::string temp_parent;
  ZipWriter::ProgressFn progress;
  RunCommandFn run = RunAndCapture;  // how npm is run
  // The build machine's architecture: a native part compiles only for it.
  Arch machine = Arch::kX86_64;
};

// Builds the runtime layer; BuildLayer's contract for the result. The error
// Status names the package and quotes npm for a failed install.
Result<BuildResult> BuildRuntimeLayer(const RuntimeLayerOptions& options);

// npm's name of `arch` for --cpu: "x64" or "arm64".
std::string NpmCpu(Arch arch);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_RUNTIME_LAYER_H_
