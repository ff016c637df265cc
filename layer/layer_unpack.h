// Unpacking a layer zip into a folder, as Lambda unpacks each layer under
// /opt: every entry name and every symlink must stay inside the folder
// (layer_path.h), file modes and symlinks are kept, and the unzipped size is
// held to Lambda's limit.
//
// Thread-compatible: a free function; two calls must not share a folder.
#ifndef ANYSNAP_LAYER_LAYER_UNPACK_H_
#define ANYSNAP_LAYER_LAYER_UNPACK_H_

#include <cstdint>
#include <string>

#include "anysnap/status.h"

namespace anysnap::layer {

// Lambda's largest unzipped size of a function's layers.
inline constexpr uint64_t kMaxUnzippedLayerBytes = 250ull * 1024 * 1024;

// Unpacks layer zip `zip` into the existing folder `dir`, refusing entries
// that would land outside it, and files beyond `max_bytes` unzipped in all
// (kTooLarge). Every error names the zip. What was unpacked before an error
// stays: the caller owns `dir`.
Status UnpackLayerZip(const std::string& zip, const std::string& dir,
                      uint64_t max_bytes = kMaxUnzippedLayerBytes);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAYER_UNPACK_H_
