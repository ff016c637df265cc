#include "layer/runtime_layer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "layer/elf_file.h"
#include "layer/layer_inspector.h"
#include "layer/layer_plan.h"
#include "layer/library_closure.h"
#include "layer/mapped_file.h"

namespace anysnap::layer {

namespace {

namespace fs = std::filesystem;

// A cache folder name for a package spec: "@oven/bun-linux-x64@1.4.5" ->
// "oven+bun-linux-x64@1.4.5".
std::string CacheName(const std::string& spec) {
  std::string name = spec;
  if (name.starts_with("@")) name.erase(0, 1);
  for (char& c : name) {
    if (c == '/') c = '+';
  }
  return name;
}

bool IsElf(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  return mapped.ok() && ElfFile::HasElfMagic(mapped->bytes());
}

// The ELF files of a tree (`.node` modules and any other), sorted.
std::vector<std::string> ElfFilesUnder(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && IsElf(it->path().string())) {
      found.push_back(it->path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::string NpmCpu(Arch arch) { return arch == Arch::kArm64 ? "arm64" : "x64"; }

Result<BuildResult> BuildRuntimeLayer(const RuntimeLayerOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.output.empty()) return Status::InvalidArgument("no output zip given");
  auto spec = FindRuntime(o.runtime, o.target.arch);
  if (!spec.ok()) return spec.status();
  if (!o.runtime_version.empty() && o.runtime_version != spec->runtime.version) {
    spec->runtime.version = o.runtime_version;
    spec->runtime.integrity.clear();
  }
  if (!spec->client.name.empty() && o.target.arch != o.machine) {
    return Status::InvalidArgument(
        "--runtime " + spec->name + " --arch " + std::string(ArchName(o.target.arch)) + ": " +
        spec->client.name + "'s native part compiles for the build machine (" +
        std::string(ArchName(o.machine)) + "); build this layer on " +
        std::string(ArchName(o.target.arch)) + " (templates/Dockerfile on that platform)");
  }
  std::error_code ec;
  fs::create_directories(o.cache_dir, ec);
  if (ec) return Status::IoError("create cache " + o.cache_dir + ": " + ec.message());
  // npm runs install scripts in each package's own folder: every path handed
  // to them must be absolute.
  const std::string cache_dir = fs::absolute(o.cache_dir, ec).lexically_normal().string();
  if (ec) return Status::IoError("cache " + o.cache_dir + ": " + ec.message());

  NpmInstaller npm(o.run);
  NpmInstall runtime_install;
  runtime_install.package = spec->runtime;
  runtime_install.prefix = cache_dir + "/" + CacheName(spec->runtime.Spec());
  runtime_install.os = "linux";
  runtime_install.cpu = NpmCpu(o.target.arch);
  runtime_install.env = o.env;
  auto runtime_dir = npm.Install(runtime_install);
  if (!runtime_dir.ok()) return runtime_dir.status();
  std::string program = *runtime_dir + "/" + spec->program;
  if (!fs::is_regular_file(program, ec)) {
    return Status::NotFound(spec->runtime.Spec() + " holds no " + spec->program);
  }

  LayerPlan plan;
  ANYSNAP_RETURN_IF_ERROR(plan.AddFile(spec->layer_program, program));
  std::vector<std::string> elf_files = {program};

  if (!spec->client.name.empty()) {
    // The client's install scripts compile its native part with node-gyp:
    // against this Node.js (its headers ship in the package), run by it.
    NpmInstall client_install;
    client_install.package = spec->client;
    client_install.prefix = cache_dir + "/" + CacheName(spec->client.Spec()) + "-for-" +
                            CacheName(spec->runtime.Spec());
    client_install.run_scripts = true;
    client_install.env = o.env;
    std::string path = o.env.count("PATH") ? o.env.at("PATH") : "/usr/bin:/bin";
    client_install.env["PATH"] = *runtime_dir + "/bin:" + path;
    client_install.env["npm_config_nodedir"] = *runtime_dir;
    auto client_dir = npm.Install(client_install);
    if (!client_dir.ok()) return client_dir.status();
    std::string modules = client_install.prefix + "/node_modules";
    ANYSNAP_RETURN_IF_ERROR(plan.AddTree(modules, "nodejs/node_modules"));
    for (std::string& elf : ElfFilesUnder(modules)) elf_files.push_back(std::move(elf));
  }

  // What the runtime and its native modules load besides glibc comes along.
  LibraryClosureOptions closure;
  closure.arch = o.target.arch;
  closure.system_dirs = o.library_dirs.empty() ? SystemLibraryDirs(o.target.arch) : o.library_dirs;
  std::vector<std::string> dynamic;
  for (const std::string& path : elf_files) {
    auto mapped = MappedFile::Open(path);
    if (!mapped.ok()) return mapped.status();
    auto elf = ElfFile::Parse(mapped->bytes());
    if (elf.ok() && elf->machine() == ArchElfMachine(o.target.arch) && elf->is_dynamic()) {
      dynamic.push_back(path);
    }
  }
  auto libraries = ResolveLibraryClosure(dynamic, closure);
  if (!libraries.ok()) return libraries.status();
  for (const ResolvedLibrary& lib : *libraries) {
    ANYSNAP_RETURN_IF_ERROR(plan.AddFile("lib/" + lib.name, lib.path));
  }

  if (plan.total_bytes() > kLambdaMaxUnzippedBytes) {
    return Status::TooLarge("the " + spec->name + " layer would hold " +
                            FormatBytes(plan.total_bytes()) + " unzipped: over Lambda's " +
                            FormatBytes(kLambdaMaxUnzippedBytes) +
                            " for a function and its layers; nothing written");
  }

  // Written beside the output, and renamed only once it passes its checks.
  std::string partial = o.output + ".partial";
  {
    auto writer = ZipWriter::Create(partial, {o.level, DosTimestampFromEpoch(o.source_date_epoch)});
    if (!writer.ok()) return writer.status();
    Status written = plan.WriteTo(**writer);
    if (written.ok()) written = (*writer)->Close(o.progress);
    if (!written.ok()) {
      ::unlink(partial.c_str());
      return written;
    }
  }
  auto report = InspectLayer(partial, {o.target, o.temp_parent});
  if (!report.ok()) {
    ::unlink(partial.c_str());
    return report.status();
  }
  BuildResult result;
  result.report = std::move(*report);
  result.report.archive = o.output;
  result.entries = result.report.entries.size();
  result.unzipped_bytes = result.report.unzipped_bytes;
  result.zipped_bytes = result.report.zipped_bytes;
  result.kept = !result.report.HasErrors();
  if (!result.kept) {
    ::unlink(partial.c_str());
  } else if (::rename(partial.c_str(), o.output.c_str()) != 0) {
    Status s = PosixError("rename " + partial, errno);
    ::unlink(partial.c_str());
    return s;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace anysnap::layer
