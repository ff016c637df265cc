#include "reseed_preload.h"

#include "anysnap/ascii.h"

namespace anysnap {

ReseedFiles ReseedFilesIn(std::string_view dir) {
  std::string base(dir);
  return {base + "/nodejs/anysnap-reseed.js", base + "/python"};
}

std::string ReseedDirBeside(std::string_view program_dir) {
  size_t slash = program_dir.rfind('/');
  std::string_view parent =
      slash == std::string_view::npos ? std::string_view(".") : program_dir.substr(0, slash);
  return std::string(parent) + "/reseed";
}

std::string QuoteNodeOption(std::string_view path) {
  std::string out = "\"";
  for (char c : path) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

void InstallReseedPreloads(EnvMap& env, const ReseedFiles& files) {
  if (!files.node_preload.empty()) {
    std::string& options = env["NODE_OPTIONS"];
    options += (options.empty() ? "" : " ") + std::string("--require ") +
               QuoteNodeOption(files.node_preload);
  }
  if (!files.python_dir.empty()) {
    std::string& path = env["PYTHONPATH"];
    std::vector<std::string_view> items = SplitOn(path, ':');
    if (items.empty() || items.front() != files.python_dir)
      path = path.empty() ? files.python_dir : files.python_dir + ":" + path;
  }
}

std::vector<std::string> MissingReseedFiles(const ReseedFiles& files,
                                            const std::function<bool(const std::string&)>& exists) {
  std::vector<std::string> missing;
  if (!exists(files.node_preload))
    missing.push_back("the Node.js reseed " + files.node_preload + " is missing");
  if (!exists(files.python_dir + "/sitecustomize.py"))
    missing.push_back("the Python reseed " + files.python_dir + "/sitecustomize.py is missing");
  return missing;
}

std::string UnreseededRuntime(const std::vector<std::string>& command) {
  for (const std::string& word : command) {
    std::string_view name = std::string_view(word).substr(word.rfind('/') + 1);
    if (name == "bun" || name == "deno") {
      return std::string(name) +
             ": crypto.randomUUID, crypto.getRandomValues, Math.random (the reseed does not load "
             "into " +
             (name == "bun" ? "Bun" : "Deno") + ")";
    }
  }
  return "";
}

}  // namespace anysnap
