// RunCommand runs a program as a child process for tests and collects what it
// printed: the black-box tests drive anysnap-layer, unzip and the C compiler
// through it. Test-only.
#ifndef ANYSNAP_LAYER_TEST_COMMAND_H_
#define ANYSNAP_LAYER_TEST_COMMAND_H_

#include <string>
#include <vector>

#include "anysnap/status.h"

namespace anysnap::layer {

struct CommandOutput {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (searched on PATH) with `argv` and extra environment `env`
// ("NAME=value", added to the test's own), waits for it, and returns its output.
// An error only when it could not be started.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env = {});

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_TEST_COMMAND_H_
