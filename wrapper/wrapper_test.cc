#include "wrapper.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

TEST(RuntimeEnvironmentTest, PointsTheRuntimeAtTheDelegatorAndKeepsTheRest) {
  EnvMap env{{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"},
             {"_LAMBDA_TELEMETRY_LOG_FD", "3"},
             {"AWS_LAMBDA_FUNCTION_NAME", "fn"},
             {"AWS_LAMBDA_FUNCTION_VERSION", "7"}};
  EnvMap out = RuntimeEnvironment(env, {"127.0.0.1", 4242}, "2026/11/22", "abc");
  EXPECT_EQ(out["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4242");
  EXPECT_EQ(out["_LAMBDA_TELEMETRY_LOG_FD"], "3");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/fn");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_STREAM_NAME"], "2026/11/22/[7]abc");
}

TEST(RuntimeEnvironmentTest, KeepsLogNamesThePlatformGave) {
  EnvMap env{{"AWS_LAMBDA_LOG_GROUP_NAME", "/g"}, {"AWS_LAMBDA_LOG_STREAM_NAME", "s"}};
  EnvMap out = RuntimeEnvironment(env, {"127.0.0.1", 1}, "2026/11/22", "abc");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_GROUP_NAME"], "/g");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_STREAM_NAME"], "s");
}

TEST(RuntimeEnvironmentTest, DefaultsWhenTheFunctionIsUnnamed) {
  EnvMap out = RuntimeEnvironment({}, {"127.0.0.1", 1}, "2026/11/22", "ff");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/function");
  EXPECT_EQ(out["AWS_LAMBDA_LOG_STREAM_NAME"], "2026/11/22/[$LATEST]ff");
}

TEST(RuntimeEnvironmentTest, LayerHookClientsAreFindable) {
  EnvMap out = RuntimeEnvironment({}, {"127.0.0.1", 1}, "2026/11/22", "ff");
  EXPECT_EQ(out["NODE_PATH"], "/opt/nodejs/node_modules");
  EXPECT_EQ(out["PYTHONPATH"], "/opt/python");
  out = RuntimeEnvironment({{"NODE_PATH", "/var/task/lib"}, {"PYTHONPATH", "/x:/opt/python:/y"}},
                           {"127.0.0.1", 1}, "2026/11/22", "ff");
  EXPECT_EQ(out["NODE_PATH"], "/var/task/lib:/opt/nodejs/node_modules");
  EXPECT_EQ(out["PYTHONPATH"], "/x:/opt/python:/y");
}

TEST(RuntimeCommandTest, ChainComesFirst) {
  Config c;
  c.chain = {"/opt/otel-instrument"};
  c.runtime = {"node", "index.js"};
  EXPECT_EQ(RuntimeCommand(c),
            (std::vector<std::string>{"/opt/otel-instrument", "node", "index.js"}));
}

}  // namespace
}  // namespace anysnap
