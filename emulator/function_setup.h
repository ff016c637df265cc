// FunctionSetup turns what a user gives anysnap-local serve, compare and run (a
// task root, a layer zip or folder, variables from --env, env files and a
// SAM template, the init type and snapshot backend) into LocalFunctionOptions,
// after checking what this machine permits: namespaces, cgroup v2, a working
// criu. Every choice it makes on the user's behalf is said in `notes`.
//
// It owns what it made for the function (an unpacked layer, the cgroup
// parent), and removes it when destroyed.
//
// Thread-compatible.
#ifndef ANYSNAP_EMULATOR_FUNCTION_SETUP_H_
#define ANYSNAP_EMULATOR_FUNCTION_SETUP_H_

#include <optional>
#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"
#include "layer_stack.h"
#include "local_function.h"

namespace anysnap {

struct FunctionFlags {
  std::string task_root;
  // Zips or folders merged into /opt in order (layer_stack.h); none: the
  // template's Layers, else the layer this program sits in, else none.
  std::vector<std::string> layers;
  std::string init_type = "on-demand";
  std::string snapshot;  // "criu", "freeze", or empty: criu when it works, else freeze
  std::string criu = "criu";
  std::vector<std::string> env;        // KEY=VALUE
  std::vector<std::string> env_files;  // paths
  std::string template_file;
  std::string template_function;
  bool no_wrapper = false;
  bool no_namespaces = false;
  bool eager_init = false;
  std::string function_name;
  std::string handler;
  std::optional<int> memory_mb;
  std::string region = "us-east-1";
  std::optional<double> timeout_s;
  double init_timeout_s = 10;
};

class FunctionSetup {
 public:
  FunctionSetup() = default;
  ~FunctionSetup();
  FunctionSetup(const FunctionSetup&) = delete;
  FunctionSetup& operator=(const FunctionSetup&) = delete;

  // `own_env` is anysnap-local's environment (AWS_LAMBDA_FUNCTION_TIMEOUT and
  // AWS_LAMBDA_MAX_CONCURRENCY are read there too, as the emulator does);
  // `program_dir` the folder of the anysnap-local binary.
  Status Build(const FunctionFlags& flags, const EnvMap& own_env, const std::string& program_dir);

  LocalFunctionOptions& options() { return options_; }
  // One line each: what runs how, and why (isolation, backend, wrapper).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  LocalFunctionOptions options_;
  std::vector<std::string> notes_;
  LayerStack layers_;
  std::string cgroup_parent_;  // to remove
};

// The text of `value` as seconds, "1" to "900" (Lambda's limits), or an error
// naming `what`.
Result<double> ParseTimeoutSeconds(const std::string& value, const std::string& what);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_FUNCTION_SETUP_H_
