// LoadConfig on any environment values and any JSON file: the input is split
// at NUL bytes into the values of the settings, in order, and the rest is the
// ANYSNAP_CONFIG file. A Config or one one-line error naming a variable.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anysnap/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  anysnap::EnvMap env = {{"LAMBDA_TASK_ROOT", "/var/task"}, {"ANYSNAP_CONFIG", "/c.json"}};
  size_t i = 0;
  for (std::string_view name : anysnap::kConfigVariables) {
    if (name == "ANYSNAP_CONFIG") continue;
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    if (nul > 0) env[std::string(name)] = std::string(input.substr(0, nul));
    input.remove_prefix(nul + 1);
    ++i;
  }
  const std::string file(input);
  auto read = [&](const std::string& path) -> anysnap::Result<std::string> {
    if (path == "/c.json") return file;
    return anysnap::Status::NotFound(path);
  };
  auto exists = [](const std::string& path) { return path == "/c.json"; };
  auto config = anysnap::LoadConfig(env, read, exists);
  if (!config.ok()) {
    const std::string& m = config.status().message();
    if (m.empty() || m.find('\n') != std::string::npos) std::abort();  // one line
  }
  return 0;
}
