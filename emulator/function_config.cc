#include "function_config.h"

#include <yaml-cpp/yaml.h>

#include <sstream>

#include "anysnap/ascii.h"

namespace anysnap {

namespace {

// Returns the scalar text of `node` at `where`, refusing CloudFormation's
// intrinsic functions (a tag like !Ref, or a map like {"Ref": ...}).
Result<std::string> PlainScalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) {
    return Status::InvalidArgument(where +
                                   ": not a plain value (intrinsic functions such as Ref or "
                                   "Fn::Sub are not resolved locally; set it with --env)");
  }
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!" && tag.rfind("tag:yaml.org", 0) != 0) {
    return Status::InvalidArgument(where + ": " + tag +
                                   " is not resolved locally (set the value with --env)");
  }
  return node.Scalar();
}

// The logical id that a Layers entry refers to (!Ref X, or {Ref: X}), or empty.
std::string RefTarget(const YAML::Node& entry) {
  if (entry.IsScalar() && entry.Tag() == "!Ref") return entry.Scalar();
  if (entry.IsMap() && entry["Ref"] && entry["Ref"].IsScalar()) return entry["Ref"].Scalar();
  return "";
}

TemplateLayer ReadLayer(const YAML::Node& resources, const YAML::Node& entry) {
  TemplateLayer layer;
  std::string ref = RefTarget(entry);
  if (ref.empty()) {
    layer.name = entry.IsScalar() ? entry.Scalar() : "a Layers entry";
    layer.problem = layer.name + " is a published layer: give its zip or folder with --layer";
    return layer;
  }
  layer.name = ref;
  YAML::Node resource = resources[ref];
  std::string type = resource && resource["Type"] ? resource["Type"].as<std::string>("") : "";
  YAML::Node uri =
      resource && resource["Properties"] ? resource["Properties"]["ContentUri"] : YAML::Node();
  if (type != "AWS::Serverless::LayerVersion" || !uri || !uri.IsScalar() ||
      uri.Scalar().starts_with("s3://")) {
    layer.problem = "Layers: " + ref + " is not an AWS::Serverless::LayerVersion with a local " +
                    "ContentUri: give the layer with --layer";
  } else if (resource["Metadata"] && resource["Metadata"]["BuildMethod"]) {
    layer.problem = "Layers: " + ref + " is built by `sam build` (BuildMethod " +
                    resource["Metadata"]["BuildMethod"].as<std::string>("") +
                    "): run it and pass --template .aws-sam/build/template.yaml, or give the "
                    "layer with --layer";
  } else {
    layer.path = uri.Scalar();
  }
  return layer;
}

Status Merge(const YAML::Node& resources, const YAML::Node& function, const std::string& where,
             TemplateFunction* into) {
  if (!function || !function.IsMap()) return Status::Ok();
  try {
    YAML::Node environment = function["Environment"];
    YAML::Node vars;
    if (environment && environment.IsMap()) vars = environment["Variables"];
    if (vars && !vars.IsNull()) {
      if (!vars.IsMap()) {
        return Status::InvalidArgument(where + ".Environment.Variables: expected a map");
      }
      for (const auto& kv : vars) {
        std::string key = kv.first.as<std::string>();
        auto value = PlainScalar(kv.second, where + ".Environment.Variables." + key);
        if (!value.ok()) return value.status();
        into->variables[key] = *value;
      }
    }
    if (YAML::Node timeout = function["Timeout"]) {
      auto text = PlainScalar(timeout, where + ".Timeout");
      if (!text.ok()) return text.status();
      into->timeout_s = timeout.as<double>();
    }
    if (YAML::Node memory = function["MemorySize"]) {
      auto text = PlainScalar(memory, where + ".MemorySize");
      if (!text.ok()) return text.status();
      into->memory_mb = memory.as<int>();
    }
    if (YAML::Node handler = function["Handler"]) {
      auto text = PlainScalar(handler, where + ".Handler");
      if (!text.ok()) return text.status();
      into->handler = *text;
    }
    if (YAML::Node layers = function["Layers"]; layers && layers.IsSequence()) {
      into->layers.clear();  // the function's own list replaces the Globals' one
      for (const YAML::Node& entry : layers) into->layers.push_back(ReadLayer(resources, entry));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(where + ": " + e.msg);
  }
  return Status::Ok();
}

}  // namespace

Result<TemplateFunction> ParseTemplateFunction(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("not valid YAML: " + std::string(e.what()));
  }
  if (!root.IsMap() || !root["Resources"] || !root["Resources"].IsMap()) {
    return Status::InvalidArgument("no Resources map: not a SAM or CloudFormation template");
  }
  YAML::Node resource = root["Resources"][name];
  if (!resource) {
    std::string known;
    for (const auto& kv : root["Resources"]) {
      std::string type = kv.second["Type"] ? kv.second["Type"].as<std::string>("") : "";
      if (type == "AWS::Serverless::Function" || type == "AWS::Lambda::Function") {
        known += (known.empty() ? "" : ", ") + kv.first.as<std::string>();
      }
    }
    return Status::NotFound("no resource " + name +
                            " in Resources (functions: " + (known.empty() ? "none" : known) + ")");
  }
  std::string type = resource["Type"] ? resource["Type"].as<std::string>("") : "";
  if (type != "AWS::Serverless::Function" && type != "AWS::Lambda::Function") {
    return Status::InvalidArgument("Resources." + name + " is a " +
                                   (type.empty() ? std::string("resource without a Type") : type) +
                                   ", not a function");
  }
  TemplateFunction f;
  if (root["Globals"]) {
    ANYSNAP_RETURN_IF_ERROR(
        Merge(root["Resources"], root["Globals"]["Function"], "Globals.Function", &f));
  }
  ANYSNAP_RETURN_IF_ERROR(
      Merge(root["Resources"], resource["Properties"], "Resources." + name + ".Properties", &f));
  return f;
}

Result<EnvMap> ParseEnvFile(const std::string& text) {
  EnvMap env;
  std::istringstream lines(text);
  int number = 0;
  for (std::string raw; std::getline(lines, raw);) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string_view line = TrimBlanks(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export ") line = TrimBlanks(line.substr(7));
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("line " + std::to_string(number) + ": expected KEY=VALUE");
    }
    std::string_view key = TrimBlanks(line.substr(0, eq));
    std::string_view value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    env[std::string(key)] = std::string(value);
  }
  return env;
}

}  // namespace anysnap
