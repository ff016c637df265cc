// InspectLayer checks a layer zip — ours or anyone's — against what Lambda needs
// to unpack and run it, and lists what it holds:
//   - paths: relative, no "..", no duplicates (layer_path.h);
//   - modes: Lambda runs functions as a user that owns none of the layer, so files
//     must be readable by all, directories searchable by all, and programs (ELF
//     programs anywhere, ELF files and "#!" scripts in a bin/ directory, anything
//     with an execute bit) executable by all;
//   - symlinks: relative and resolving inside the layer;
//   - ELF files: parse, match the target machine, need no newer glibc than the
//     target has (naming the symbol that needs it);
//   - sizes: over Lambda's 250 MiB unzipped is an error, over its 50 MiB direct
//     upload limit a warning (the zip still deploys through S3).
//
// ELF files are copied out one at a time into a temporary file and mapped, so
// memory stays bounded by the largest ELF file's page cache, not the zip's size.
//
// Thread-compatible.
#ifndef ANYSNAP_LAYER_LAYER_INSPECTOR_H_
#define ANYSNAP_LAYER_LAYER_INSPECTOR_H_

#include <string>

#include "anysnap/status.h"
#include "layer/inspect_report.h"
#include "layer/lambda_target.h"

namespace anysnap::layer {

struct InspectOptions {
  LambdaTarget target;
  std::string temp_parent;  // where ELF files are copied out; empty: $TMPDIR or /tmp
};

// Inspects the zip at `path`. An error Status only when the archive cannot be read
// at all; everything wrong inside it is a finding of the report.
Result<InspectReport> InspectLayer(const std::string& path, const InspectOptions& options);

// Inspects a layer or a function package given as a zip or as a folder (a
// folder is read as the zip its files would make: same names, same modes), so a
// function's node_modules is checked before it is packed.
Result<InspectReport> InspectPackage(const std::string& path, const InspectOptions& options);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAYER_INSPECTOR_H_
