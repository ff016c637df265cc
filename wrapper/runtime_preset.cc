#include "runtime_preset.h"

namespace anysnap {

namespace {

std::string Get(const EnvMap& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

// What nodejs22.x's bootstrap sets NODE_PATH to when the function sets none.
std::string ManagedNodePath(const std::string& root) {
  return root + "/nodejs/node22/node_modules:" + root +
         "/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task";
}

// nodejs22.x's heap flags for a memory size in MB: a tenth is the new space,
// half of it a semi-space, the rest the old space.
std::vector<std::string> NodeMemoryFlags(const EnvMap& env) {
  std::string text = Get(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
  long memory = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || memory > 1'000'000) return {};
    memory = memory * 10 + (c - '0');
  }
  if (memory <= 0) return {};
  long new_space = memory / 10;
  long semi_space = new_space / 2;
  long old_space = memory - new_space;
  return {"--max-semi-space-size=" + std::to_string(semi_space),
          "--max-old-space-size=" + std::to_string(old_space)};
}

}  // namespace

std::string RuntimePresetNames() { return "nodejs, bun, deno, python"; }

std::string LayerRootOf(const std::string& program_dir) {
  std::string dir = program_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  constexpr std::string_view kTail = "/anysnap/bin";
  if (dir.size() > kTail.size() && dir.ends_with(kTail)) {
    return dir.substr(0, dir.size() - kTail.size());
  }
  return "/opt";
}

std::optional<RuntimePreset> FindRuntimePreset(const std::vector<std::string>& runtime,
                                               const EnvMap& env, const std::string& root) {
  if (runtime.size() != 1) return std::nullopt;
  const std::string& name = runtime[0];
  RuntimePreset p;
  p.name = name;
  p.env = env;
  const std::string handler = Get(env, "_HANDLER");
  const std::string ric = root + "/nodejs/node_modules/aws-lambda-ric/index.mjs";
  if (name == "nodejs") {
    if (Get(env, "NODE_PATH").empty()) p.env["NODE_PATH"] = ManagedNodePath(root);
    p.env["AWS_EXECUTION_ENV"] = "AWS_Lambda_nodejs22.x";
    p.argv = {root + "/bin/node", "--expose-gc", "--max-http-header-size", "81920"};
    for (std::string& flag : NodeMemoryFlags(env)) p.argv.push_back(std::move(flag));
    p.argv.push_back(ric);
    p.argv.push_back(handler);
    p.required = {root + "/bin/node", ric};
  } else if (name == "bun") {
    if (Get(env, "NODE_PATH").empty()) p.env["NODE_PATH"] = ManagedNodePath(root);
    p.argv = {root + "/bin/bun", ric, handler};
    p.required = {root + "/bin/bun", ric};
  } else if (name == "deno") {
    if (Get(env, "NODE_PATH").empty()) p.env["NODE_PATH"] = ManagedNodePath(root);
    p.argv = {root + "/bin/deno", "run", "--allow-all", ric, handler};
    p.required = {root + "/bin/deno", ric};
  } else if (name == "python") {
    p.argv = {root + "/bin/python3", "-m", "awslambdaric", handler};
    p.required = {root + "/bin/python3"};
  } else {
    return std::nullopt;
  }
  return p;
}

std::optional<std::string> MissingPresetFile(
    const RuntimePreset& preset, const std::function<bool(const std::string&)>& exists) {
  for (const std::string& path : preset.required) {
    if (exists(path)) continue;
    std::string fix = preset.name == "python"
                          ? "add a layer with Python in bin/ and awslambdaric in python/"
                      : preset.name == "nodejs"
                          ? "add the runtime layer of `anysnap-layer build --runtime nodejs22`"
                          : "add the runtime layer of `anysnap-layer build --runtime " +
                                preset.name + "` and aws-lambda-ric in nodejs/node_modules/";
    return "ANYSNAP_RUNTIME=" + preset.name + ": " + path + " does not exist; " + fix;
  }
  return std::nullopt;
}

}  // namespace anysnap
