// ParsePrimeEvents (the ANYSNAP_PRIME_EVENTS file) on any bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "priming.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto events =
      anysnap::ParsePrimeEvents(std::string_view(reinterpret_cast<const char*>(data), size));
  if (events.ok() && events->empty()) std::abort();  // an empty array is an error
  return 0;
}
