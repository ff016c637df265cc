// Where a served function's settings come from besides the command line: a
// SAM template.yaml (one function's Environment.Variables, Timeout,
// MemorySize and Handler, over the template's Globals.Function) and env
// files (KEY=VALUE lines, as docker's --env-file takes them).
//
// Pure functions of their text; thread-safe.
#ifndef ANYSNAP_EMULATOR_FUNCTION_CONFIG_H_
#define ANYSNAP_EMULATOR_FUNCTION_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"

namespace anysnap {

// One entry of a function's Layers: a layer of the same template, read from
// its ContentUri (a path relative to the template), or why it cannot be read
// locally (a published layer's ARN, a layer that `sam build` still has to
// build, content in S3).
struct TemplateLayer {
  std::string name;     // the logical id, or the entry's text
  std::string path;     // ContentUri; empty when `problem` is set
  std::string problem;  // empty when the layer can be read
};

struct TemplateFunction {
  EnvMap variables;  // Environment.Variables
  std::optional<double> timeout_s;
  std::optional<int> memory_mb;
  std::optional<std::string> handler;
  std::vector<TemplateLayer> layers;  // Layers, in order
};

// Reads function `name` (a logical id under Resources, of type
// AWS::Serverless::Function or AWS::Lambda::Function) from the text of a SAM
// template, with its Layers (a problem with one of them is kept in its
// TemplateLayer, for the caller to report when it uses them). Globals.Function gives defaults; the
// function's own values win. InvalidArgument naming the key for what cannot be used: YAML errors, a
// missing function, a value set with an intrinsic function (!Ref, !Sub, ...),
// which only CloudFormation can resolve.
Result<TemplateFunction> ParseTemplateFunction(const std::string& yaml, const std::string& name);

// Parses an env file: KEY=VALUE per line; blank lines and lines starting
// with '#' are skipped, an "export " prefix is allowed, and a value wholly in
// single or double quotes loses them. InvalidArgument naming the line number
// otherwise.
Result<EnvMap> ParseEnvFile(const std::string& text);

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_FUNCTION_CONFIG_H_
