// SplitShellWords (ANYSNAP_RUNTIME, ANYSNAP_CHAIN, hook commands) on any text:
// an argv or one clear error, never a crash, and no word from nowhere.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "anysnap/shell_words.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const anysnap::EnvMap env = {{"LAMBDA_TASK_ROOT", "/var/task"},
                                      {"_HANDLER", "index.handler"},
                                      {"EMPTY", ""},
                                      {"SPACED", "a b  c"}};
  auto words = anysnap::SplitShellWords(text, env);
  if (words.ok()) {
    size_t total = 0;
    for (const auto& w : *words) total += w.size();
    // Expansion only adds the values above, each at most 13 bytes, per '$'.
    if (total > size * 14 + 14) std::abort();
  } else if (words.status().message().empty()) {
    std::abort();
  }
  return 0;
}
