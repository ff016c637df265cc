// LayerStack is what a function's layers make of /opt, as Lambda builds it: up to
// five layers, each a zip or an unpacked folder, merged into one folder in the
// order given, a later layer's file replacing an earlier one's at the same path
// (folders merge). Zips are unpacked with UnpackLayerZip's checks; the files of
// all layers together are held to Lambda's 250 MB unzipped limit.
//
// The merged folder is made under a temporary folder of its own and removed
// when the LayerStack is destroyed. A single folder layer is used in place,
// without a copy.
//
// Thread-compatible.
#ifndef ANYSNAP_EMULATOR_LAYER_STACK_H_
#define ANYSNAP_EMULATOR_LAYER_STACK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "anysnap/status.h"

namespace anysnap {

// Lambda's limit on a function's layers.
inline constexpr size_t kMaxFunctionLayers = 5;

class LayerStack {
 public:
  LayerStack() = default;
  ~LayerStack();
  LayerStack(const LayerStack&) = delete;
  LayerStack& operator=(const LayerStack&) = delete;

  // Builds /opt from `layers` (zips or folders, in order). InvalidArgument for
  // more than kMaxFunctionLayers, NotFound for a missing one, TooLarge past
  // Lambda's unzipped limit; every error names the layer.
  Status Build(const std::vector<std::string>& layers, uint64_t max_bytes);

  // The folder standing in for /opt; empty when there are no layers.
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string owned_;  // a temporary folder to remove
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_LAYER_STACK_H_
