#include "lambda_launch.h"

#include <gtest/gtest.h>

#include <map>

namespace anysnap {
namespace {

FunctionSettings Function() {
  FunctionSettings f;
  f.task_root = "/work/fn";
  f.function_name = "hello";
  f.handler = "index.handler";
  f.memory_mb = 512;
  f.region = "eu-west-1";
  return f;
}

const HostPort kApi{"127.0.0.1", 40123};

ReadFileFn NoFiles() {
  return [](const std::string& path) -> Result<std::string> {
    return Status::NotFound("open " + path + ": No such file or directory");
  };
}
bool NothingExists(const std::string&) { return false; }

TEST(LambdaLaunchTest, EnvironmentIsLambdasJava21One) {
  EnvMap env = LambdaEnvironment(Function(), kApi, "/opt/anysnap/bin/anysnap-wrapper");
  EXPECT_EQ(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:40123");
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], "/work/fn");
  EXPECT_EQ(env["LAMBDA_RUNTIME_DIR"], "/var/runtime");
  EXPECT_EQ(env["_HANDLER"], "index.handler");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "hello");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
  EXPECT_EQ(env["AWS_REGION"], "eu-west-1");
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "eu-west-1");
  EXPECT_EQ(env["AWS_EXECUTION_ENV"], "AWS_Lambda_java21");
  EXPECT_EQ(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_EQ(env["LANG"], "en_US.UTF-8");
  EXPECT_EQ(env["PATH"], "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(env["LD_LIBRARY_PATH"], "/work/fn:/work/fn/lib");
  EXPECT_EQ(env["AWS_LAMBDA_EXEC_WRAPPER"], "/opt/anysnap/bin/anysnap-wrapper");
  EXPECT_EQ(env.size(), 16u) << "nothing of the caller's own environment";
}

TEST(LambdaLaunchTest, LayerStandsInForOpt) {
  FunctionSettings f = Function();
  f.layer_dir = "/tmp/layer";
  EnvMap env = LambdaEnvironment(f, kApi, "");
  EXPECT_EQ(env["PATH"], "/usr/local/bin:/usr/bin:/bin:/tmp/layer/bin");
  EXPECT_EQ(env["LD_LIBRARY_PATH"], "/work/fn:/work/fn/lib:/tmp/layer/lib");
  EXPECT_EQ(env["NODE_PATH"], "/tmp/layer/nodejs/node_modules");
  EXPECT_EQ(env["PYTHONPATH"], "/tmp/layer/python");
  EXPECT_EQ(env.count("AWS_LAMBDA_EXEC_WRAPPER"), 0u);
}

TEST(LambdaLaunchTest, SnapStartIsAuditedUnlessTheFunctionSaysOtherwise) {
  FunctionSettings f = Function();
  EXPECT_EQ(LambdaEnvironment(f, kApi, "/w").count("ANYSNAP_AUDIT"), 0u);
  f.initialization_type = "snap-start";
  EXPECT_EQ(LambdaEnvironment(f, kApi, "/w")["ANYSNAP_AUDIT"], "log");
  EXPECT_EQ(LambdaEnvironment(f, kApi, "").count("ANYSNAP_AUDIT"), 0u) << "no wrapper, no audit";
  f.overrides["ANYSNAP_AUDIT"] = "off";
  EXPECT_EQ(LambdaEnvironment(f, kApi, "/w")["ANYSNAP_AUDIT"], "off");
}

TEST(LambdaLaunchTest, OverridesComeLast) {
  FunctionSettings f = Function();
  f.overrides = {{"ANYSNAP_RUNTIME", "node index.js"}, {"TZ", "Europe/Paris"}};
  EnvMap env = LambdaEnvironment(f, kApi, "/w");
  EXPECT_EQ(env["ANYSNAP_RUNTIME"], "node index.js");
  EXPECT_EQ(env["TZ"], "Europe/Paris");
}

TEST(LambdaLaunchTest, JavaArgvEndsWithTheMainClassAndHandler) {
  std::vector<std::string> argv = JavaRuntimeArgv(Function());
  ASSERT_GE(argv.size(), 4u);
  EXPECT_EQ(argv[0], "/var/lang/bin/java");
  EXPECT_EQ(argv[1], "-XX:+TieredCompilation");
  EXPECT_EQ(argv[argv.size() - 2], kJavaMainClass);
  EXPECT_EQ(argv.back(), "index.handler");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-XX:MaxHeapSize=435m"), argv.end());
}

TEST(LambdaLaunchTest, WithAWrapperTheWrapperGetsJavasArgv) {
  auto plan =
      PlanLaunch(Function(), kApi, "/layer/anysnap/bin/anysnap-wrapper", NoFiles(), NothingExists);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_GE(plan->argv.size(), 2u);
  EXPECT_EQ(plan->argv[0], "/layer/anysnap/bin/anysnap-wrapper");
  std::vector<std::string> java = JavaRuntimeArgv(Function());
  EXPECT_EQ(std::vector<std::string>(plan->argv.begin() + 1, plan->argv.end()), java);
  EXPECT_EQ(plan->cwd, "/work/fn");
  EXPECT_EQ(plan->env["AWS_LAMBDA_EXEC_WRAPPER"], "/layer/anysnap/bin/anysnap-wrapper");
}

TEST(LambdaLaunchTest, WithoutAWrapperTheBootstrapRunsDirectly) {
  auto plan = PlanLaunch(Function(), kApi, "", NoFiles(), NothingExists);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv, (std::vector<std::string>{"/work/fn/bootstrap"}));
  EXPECT_EQ(plan->env.count("AWS_LAMBDA_EXEC_WRAPPER"), 0u);
}

TEST(LambdaLaunchTest, WithoutAWrapperAnysnapRuntimeIsHonoured) {
  FunctionSettings f = Function();
  f.overrides["ANYSNAP_RUNTIME"] = "node --max-old-space-size=100 \"$LAMBDA_TASK_ROOT/index.js\"";
  auto plan = PlanLaunch(f, kApi, "", NoFiles(), NothingExists);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv,
            (std::vector<std::string>{"node", "--max-old-space-size=100", "/work/fn/index.js"}));
}

TEST(LambdaLaunchTest, WithoutAWrapperTheFunctionsAnysnapJsonIsRead) {
  ReadFileFn read = [](const std::string& path) -> Result<std::string> {
    if (path == "/work/fn/anysnap.json")
      return std::string(R"({"ANYSNAP_RUNTIME": ["python3", "app.py"]})");
    return Status::NotFound(path);
  };
  auto exists = [](const std::string& path) { return path == "/work/fn/anysnap.json"; };
  auto plan = PlanLaunch(Function(), kApi, "", read, exists);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv, (std::vector<std::string>{"python3", "app.py"}));
}

TEST(LambdaLaunchTest, WithoutAWrapperABadConfigurationIsAnError) {
  FunctionSettings f = Function();
  f.overrides["ANYSNAP_RUNTIME"] = "node index.js | tee log";
  auto plan = PlanLaunch(f, kApi, "", NoFiles(), NothingExists);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("ANYSNAP_RUNTIME"), std::string::npos);

  f.overrides = {{"ANYSNAP_DISABLE", "1"}};
  plan = PlanLaunch(f, kApi, "", NoFiles(), NothingExists);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("ANYSNAP_DISABLE"), std::string::npos);
  // With the wrapper the configuration is the wrapper's business.
  EXPECT_TRUE(PlanLaunch(f, kApi, "/w", NoFiles(), NothingExists).ok());
}

TEST(LambdaLaunchTest, TheTemplatesExampleAnysnapJsonIsAValidConfiguration) {
  FunctionSettings f = Function();
  f.task_root = std::string(ANYSNAP_SOURCE_DIR) + "/templates";
  auto plan = PlanLaunch(f, kApi, "", ReadWholeFile, FileExists);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv, (std::vector<std::string>{"/var/task/bootstrap"}));
}

}  // namespace
}  // namespace anysnap
