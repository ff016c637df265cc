// anysnap-layer inspect's reader and checks on any bytes as a zip file: a
// report or an error, never a crash, a hang or a file written outside the
// scratch folder.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "layer/layer_inspector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/anysnap-fuzz-zip-" + std::to_string(::getpid()) + ".zip";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  anysnap::layer::InspectOptions options;
  auto report = anysnap::layer::InspectLayer(path, options);
  (void)report;
  ::unlink(path.c_str());
  return 0;
}
