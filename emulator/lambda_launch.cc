#include "lambda_launch.h"

#include "anysnap/config.h"

namespace anysnap {

namespace {

// Lambda's java21 bootstrap puts its runtime client jars on this path.
constexpr const char* kRuntimeDir = "/var/runtime";
constexpr const char* kJavaClassPath =
    "/var/runtime/lib/aws-lambda-java-core-1.2.3.jar:"
    "/var/runtime/lib/aws-lambda-java-runtime-interface-client-2.6.0-linux-x86_64.jar:"
    "/var/runtime/lib/aws-lambda-java-serialization-1.1.5.jar";
// The system part of Lambda's PATH; /var/lang/bin (java's) is left out, as
// nothing local lives there.
constexpr const char* kSystemPath = "/usr/local/bin:/usr/bin:/bin";

}  // namespace

std::vector<std::string> JavaRuntimeArgv(const FunctionSettings& function) {
  // The managed bootstrap sizes the heap to most of the function's memory.
  const int heap_mb = function.memory_mb * 85 / 100;
  return {
      kJavaPath,
      "-XX:+TieredCompilation",
      "-XX:TieredStopAtLevel=1",
      "-XX:+UseSerialGC",
      "-Xshare:auto",
      "-XX:MaxHeapSize=" + std::to_string(heap_mb > 0 ? heap_mb : 1) + "m",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "-Dorg.crac.Core.Compat=com.amazonaws.services.lambda.crac",
      "-XX:-UsePerfData",
      "-Djava.net.preferIPv4Stack=true",
      "-classpath",
      kJavaClassPath,
      kJavaMainClass,
      function.handler,
  };
}

EnvMap LambdaEnvironment(const FunctionSettings& function, const HostPort& runtime_api,
                         const std::string& exec_wrapper) {
  EnvMap env;
  env["AWS_LAMBDA_RUNTIME_API"] = runtime_api.ToString();
  env["LAMBDA_TASK_ROOT"] = function.task_root;
  env["LAMBDA_RUNTIME_DIR"] = kRuntimeDir;
  env["_HANDLER"] = function.handler;
  env["AWS_LAMBDA_FUNCTION_NAME"] = function.function_name;
  env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
  env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(function.memory_mb);
  env["AWS_REGION"] = function.region;
  env["AWS_DEFAULT_REGION"] = function.region;
  env["AWS_EXECUTION_ENV"] = "AWS_Lambda_java21";
  env["AWS_LAMBDA_INITIALIZATION_TYPE"] = function.initialization_type;
  env["TZ"] = ":UTC";
  env["LANG"] = "en_US.UTF-8";
  // Lambda: PATH ends with /opt/bin, LD_LIBRARY_PATH holds /var/task,
  // /var/task/lib and ends with /opt/lib.
  std::string path = kSystemPath;
  std::string libraries = function.task_root + ":" + function.task_root + "/lib";
  if (!function.layer_dir.empty()) {
    path += ":" + function.layer_dir + "/bin";
    libraries += ":" + function.layer_dir + "/lib";
    // The wrapper points runtimes at /opt's hook clients; a layer that stays
    // at its host path (no mount namespace) is pointed at here.
    if (function.layer_dir != "/opt") {
      env["NODE_PATH"] = function.layer_dir + "/nodejs/node_modules";
      env["PYTHONPATH"] = function.layer_dir + "/python";
    }
  }
  env["PATH"] = path;
  env["LD_LIBRARY_PATH"] = libraries;
  if (!exec_wrapper.empty()) env["AWS_LAMBDA_EXEC_WRAPPER"] = exec_wrapper;
  // Locally, a snap-start function is audited for snapshot hazards unless told
  // otherwise (--env ANYSNAP_AUDIT=off): the report is in the function's log.
  if (function.initialization_type == "snap-start" && !exec_wrapper.empty())
    env["ANYSNAP_AUDIT"] = "log";
  for (const auto& [name, value] : function.overrides) env[name] = value;
  return env;
}

Result<LaunchPlan> PlanLaunch(const FunctionSettings& function, const HostPort& runtime_api,
                              const std::string& exec_wrapper, const ReadFileFn& read_file,
                              const std::function<bool(const std::string&)>& file_exists) {
  LaunchPlan plan;
  plan.cwd = function.task_root;
  plan.env = LambdaEnvironment(function, runtime_api, exec_wrapper);
  if (!exec_wrapper.empty()) {
    plan.argv.push_back(exec_wrapper);
    for (std::string& arg : JavaRuntimeArgv(function)) plan.argv.push_back(std::move(arg));
    return plan;
  }
  auto config = LoadConfig(plan.env, read_file, file_exists);
  if (!config.ok()) return config.status();
  if (config->disable) {
    return Status::InvalidArgument(
        "ANYSNAP_DISABLE is on: without the wrapper there is no runtime host to start "
        "(the original argv is java's)");
  }
  plan.argv = config->runtime;
  return plan;
}

}  // namespace anysnap
