// The SAM templates in templates/: what SAM and Lambda need for SnapStart
// through anysnap is in them, and the Makefile has a target for every
// resource that `sam build` builds with it.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "anysnap/environment.h"
#include "function_config.h"

namespace anysnap {
namespace {

const std::string kTemplates = std::string(ANYSNAP_SOURCE_DIR) + "/templates";

// A YAML loader that keeps CloudFormation's !Ref as a tagged scalar.
YAML::Node Load(const std::string& name) {
  auto text = ReadWholeFile(kTemplates + "/" + name);
  EXPECT_TRUE(text.ok()) << name;
  return YAML::Load(text.ok() ? *text : "");
}

TEST(TemplatesTest, NodejsTemplateIsJava21WithSnapStartAndBothLayers) {
  YAML::Node root = Load("nodejs-template.yaml");
  YAML::Node resources = root["Resources"];
  YAML::Node fn = resources["NodeFunction"];
  ASSERT_TRUE(fn) << "NodeFunction";
  EXPECT_EQ(fn["Type"].as<std::string>(), "AWS::Serverless::Function");
  YAML::Node p = fn["Properties"];
  EXPECT_EQ(p["Runtime"].as<std::string>(), "java21");
  EXPECT_EQ(p["SnapStart"]["ApplyOn"].as<std::string>(), "PublishedVersions");
  EXPECT_FALSE(p["AutoPublishAlias"].as<std::string>("").empty());
  EXPECT_EQ(p["Handler"].as<std::string>(), "index.handler");
  YAML::Node vars = p["Environment"]["Variables"];
  EXPECT_EQ(vars["AWS_LAMBDA_EXEC_WRAPPER"].as<std::string>(), "/opt/anysnap/bin/anysnap-wrapper");
  EXPECT_EQ(vars["ANYSNAP_RUNTIME"].as<std::string>(), "nodejs");

  // Both layers, anysnap's first, each a LayerVersion of this template that
  // the Makefile builds.
  YAML::Node layers = p["Layers"];
  ASSERT_TRUE(layers.IsSequence());
  ASSERT_EQ(layers.size(), 2u);
  auto makefile = ReadWholeFile(kTemplates + "/Makefile");
  ASSERT_TRUE(makefile.ok());
  std::vector<std::string> names;
  for (const YAML::Node& layer : layers) {
    EXPECT_EQ(layer.Tag(), "!Ref");
    std::string name = layer.Scalar();
    names.push_back(name);
    YAML::Node resource = resources[name];
    ASSERT_TRUE(resource) << name;
    EXPECT_EQ(resource["Type"].as<std::string>(), "AWS::Serverless::LayerVersion");
    EXPECT_EQ(resource["Properties"]["CompatibleRuntimes"][0].as<std::string>(), "java21");
    EXPECT_EQ(resource["Metadata"]["BuildMethod"].as<std::string>(), "makefile");
    EXPECT_NE(makefile->find("\nbuild-" + name + ":"), std::string::npos) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"AnysnapLayer", "NodejsLayer"}));
  EXPECT_NE(makefile->find("--runtime nodejs22"), std::string::npos);
  // The function's package is built by the Makefile too, after its check.
  EXPECT_EQ(fn["Metadata"]["BuildMethod"].as<std::string>(), "makefile");
  size_t target = makefile->find("\nbuild-NodeFunction:");
  ASSERT_NE(target, std::string::npos);
  size_t inspect = makefile->find("anysnap-layer\" inspect", target);
  size_t copy = makefile->find("cp -R", target);
  EXPECT_LT(inspect, copy) << "inspect runs before the package is copied";

  // anysnap-local reads the same function, and says why it cannot take the
  // layers before `sam build` has built them.
  auto text = ReadWholeFile(kTemplates + "/nodejs-template.yaml");
  auto parsed = ParseTemplateFunction(*text, "NodeFunction");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->layers.size(), 2u);
  EXPECT_NE(parsed->layers[0].problem.find("sam build"), std::string::npos);
}

TEST(TemplatesTest, BashTemplateStaysTheMinimalExample) {
  YAML::Node root = Load("template.yaml");
  YAML::Node p = root["Resources"]["PrimesFunction"]["Properties"];
  EXPECT_EQ(p["Runtime"].as<std::string>(), "java21");
  EXPECT_EQ(p["Layers"].size(), 1u);
}

}  // namespace
}  // namespace anysnap
