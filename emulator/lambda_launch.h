// How anysnap-local starts a function's runtime the way Lambda's java21
// managed runtime does (runtime-api.md §4): the environment Lambda gives the
// process, and the argv its bootstrap execs —
//   $AWS_LAMBDA_EXEC_WRAPPER /var/lang/bin/java <flags> ... AWSLambda <handler>
// — so that anysnap-wrapper sees locally exactly what it sees on Lambda. With
// no wrapper (a baseline to compare against) the runtime host that
// ANYSNAP_RUNTIME names is started directly instead, resolved as the wrapper
// resolves it (config.h).
//
// Nothing is mounted: the function's folder and the layer keep their host
// paths, which stand in for /var/task and /opt in LAMBDA_TASK_ROOT, PATH and
// LD_LIBRARY_PATH. The environment is Lambda's alone, not anysnap-local's.
//
// Thread-compatible: pure functions of their arguments.
#ifndef ANYSNAP_EMULATOR_LAMBDA_LAUNCH_H_
#define ANYSNAP_EMULATOR_LAMBDA_LAUNCH_H_

#include <functional>
#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/net.h"
#include "anysnap/status.h"

namespace anysnap {

// The function as Lambda would be configured with it.
struct FunctionSettings {
  std::string task_root;  // the function's folder (LAMBDA_TASK_ROOT); absolute
  std::string layer_dir;  // an unpacked layer standing in for /opt; empty: none
  std::string function_name = "anysnap-function";
  std::string handler = "index.handler";  // _HANDLER
  int memory_mb = 128;
  std::string region = "us-east-1";
  std::string initialization_type = "on-demand";
  // --env: set last, so they may replace any of Lambda's own.
  EnvMap overrides;
};

// The Lambda runtime image's fixed argv prefix: where java lives in it.
inline constexpr const char* kJavaPath = "/var/lang/bin/java";
inline constexpr const char* kJavaMainClass =
    "com.amazonaws.services.lambda.runtime.api.client.AWSLambda";

// What java21's bootstrap execs after the wrapper: java, its flags (the heap
// sized from the memory setting), the runtime client's main class and the
// handler last.
std::vector<std::string> JavaRuntimeArgv(const FunctionSettings& function);

// The environment Lambda gives a java21 function's runtime process:
// AWS_LAMBDA_RUNTIME_API, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, _HANDLER,
// AWS_LAMBDA_FUNCTION_NAME/_VERSION/_MEMORY_SIZE, AWS_REGION,
// AWS_DEFAULT_REGION, AWS_EXECUTION_ENV, AWS_LAMBDA_INITIALIZATION_TYPE, TZ,
// LANG, PATH and LD_LIBRARY_PATH (with the layer's bin/ and lib/ when there is
// a layer), AWS_LAMBDA_EXEC_WRAPPER when `exec_wrapper` is not empty; then
// the overrides.
EnvMap LambdaEnvironment(const FunctionSettings& function, const HostPort& runtime_api,
                         const std::string& exec_wrapper);

// A process to start: see ChildProcess.
struct LaunchPlan {
  std::vector<std::string> argv;
  EnvMap env;
  std::string cwd;  // the task root, as on Lambda
};

// With an exec wrapper: [wrapper, JavaRuntimeArgv...] in LambdaEnvironment.
// Without (`exec_wrapper` empty): the runtime host command that the wrapper
// would run — ANYSNAP_RUNTIME from that environment or the anysnap.json it
// names, default $LAMBDA_TASK_ROOT/bootstrap — with AWS_LAMBDA_EXEC_WRAPPER
// absent. InvalidArgument when that configuration is bad, or when
// ANYSNAP_DISABLE leaves no runtime host to start.
Result<LaunchPlan> PlanLaunch(const FunctionSettings& function, const HostPort& runtime_api,
                              const std::string& exec_wrapper, const ReadFileFn& read_file,
                              const std::function<bool(const std::string&)>& file_exists);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_LAMBDA_LAUNCH_H_
