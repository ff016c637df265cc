#include "runtime_preset.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

TEST(RuntimePresetTest, NodejsStartsAwsClientAsNodejs22xDoes) {
  EnvMap env = {{"_HANDLER", "index.handler"}, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"}};
  auto p = FindRuntimePreset({"nodejs"}, env, "/opt");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->argv, (std::vector<std::string>{
                         "/opt/bin/node", "--expose-gc", "--max-http-header-size", "81920",
                         "--max-semi-space-size=51", "--max-old-space-size=922",
                         "/opt/nodejs/node_modules/aws-lambda-ric/index.mjs", "index.handler"}));
  EXPECT_EQ(p->env["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs22.x");
  EXPECT_EQ(p->env["NODE_PATH"],
            "/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
            "/var/runtime:/var/task");
  EXPECT_EQ(p->env["_HANDLER"], "index.handler");
}

TEST(RuntimePresetTest, FunctionsOwnNodePathStaysAndNoMemoryMeansNoHeapFlags) {
  auto p = FindRuntimePreset({"nodejs"}, {{"NODE_PATH", "/var/task/lib"}}, "/x");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->env["NODE_PATH"], "/var/task/lib");
  EXPECT_EQ(p->argv.size(), 6u);
  EXPECT_EQ(p->argv[0], "/x/bin/node");
}

TEST(RuntimePresetTest, OtherRuntimes) {
  EnvMap env = {{"_HANDLER", "app.main"}};
  EXPECT_EQ(FindRuntimePreset({"bun"}, env, "/opt")->argv[0], "/opt/bin/bun");
  EXPECT_EQ(FindRuntimePreset({"deno"}, env, "/opt")->argv[1], "run");
  EXPECT_EQ(FindRuntimePreset({"python"}, env, "/opt")->argv,
            (std::vector<std::string>{"/opt/bin/python3", "-m", "awslambdaric", "app.main"}));
}

TEST(RuntimePresetTest, CommandLinesAreNoPresets) {
  EXPECT_FALSE(FindRuntimePreset({"/opt/bin/node", "index.js"}, {}, "/opt").has_value());
  EXPECT_FALSE(FindRuntimePreset({"nodejs", "x"}, {}, "/opt").has_value());
  EXPECT_FALSE(FindRuntimePreset({"ruby"}, {}, "/opt").has_value());
}

TEST(RuntimePresetTest, LayerRootIsWhereTheWrapperSits) {
  EXPECT_EQ(LayerRootOf("/opt/anysnap/bin"), "/opt");
  EXPECT_EQ(LayerRootOf("/tmp/l/anysnap/bin/"), "/tmp/l");
  EXPECT_EQ(LayerRootOf("/work/build/bin"), "/opt");
}

TEST(RuntimePresetTest, MissingRuntimeNamesPresetAndPath) {
  auto p = FindRuntimePreset({"nodejs"}, {}, "/opt");
  auto missing =
      MissingPresetFile(*p, [](const std::string& path) { return path != "/opt/bin/node"; });
  ASSERT_TRUE(missing.has_value());
  EXPECT_NE(missing->find("ANYSNAP_RUNTIME=nodejs: /opt/bin/node does not exist"),
            std::string::npos)
      << *missing;
  EXPECT_FALSE(MissingPresetFile(*p, [](const std::string&) { return true; }).has_value());
}

}  // namespace
}  // namespace anysnap
