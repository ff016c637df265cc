#include "layer/layer_builder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>

#include "layer/elf_file.h"
#include "layer/elf_search_path.h"
#include "layer/layer_inspector.h"
#include "layer/layer_plan.h"
#include "layer/library_closure.h"
#include "layer/mapped_file.h"
#include "layer/temp_dir.h"

namespace anysnap::layer {

namespace {

constexpr char kProgramSearchPath[] = "$ORIGIN/../lib";
constexpr char kLibrarySearchPath[] = "$ORIGIN";

// One anysnap-* program of the bin directory.
struct Program {
  std::string name;
  std::string path;
  std::optional<ElfFile> elf;    // none for scripts
  bool needs_libraries = false;  // needs something besides glibc
};

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

Result<std::vector<Program>> FindPrograms(const std::string& bin_dir, const LambdaTarget& target) {
  std::error_code ec;
  std::vector<Program> programs;
  for (const auto& entry : std::filesystem::directory_iterator(bin_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("anysnap-") || !IsExecutableFile(entry.path().string())) continue;
    // Tools that run on a developer's machine or a build host, never in a
    // Lambda environment: the layer carries what its functions run.
    if (name == "anysnap-local" || name == "anysnap-layer" || name.starts_with("anysnap-bench-"))
      continue;
    programs.push_back({name, entry.path().string(), std::nullopt, false});
  }
  if (ec) return Status::NotFound("bin directory " + bin_dir + ": " + ec.message());
  if (programs.empty()) return Status::NotFound("no anysnap-* programs in " + bin_dir);
  std::sort(programs.begin(), programs.end(),
            [](const Program& a, const Program& b) { return a.name < b.name; });

  for (Program& p : programs) {
    auto mapped = MappedFile::Open(p.path);
    if (!mapped.ok()) return mapped.status();
    if (!ElfFile::HasElfMagic(mapped->bytes())) continue;
    auto elf = ElfFile::Parse(mapped->bytes());
    if (!elf.ok()) return elf.status().WithContext(p.path);
    if (elf->machine() != ArchElfMachine(target.arch) || !elf->is_64bit()) {
      return Status::InvalidArgument(p.path + " is built for " + ElfMachineName(elf->machine()) +
                                     "; the layer targets " + std::string(ArchName(target.arch)));
    }
    for (const std::string& needed : elf->needed()) {
      p.needs_libraries |= !IsGlibcLibrary(needed);
    }
    p.elf = std::move(*elf);
  }
  return programs;
}

// Copies `source` into `dir` (keeping its mode) and points the copy's search path
// at `search_path`; returns the copy's path.
Result<std::string> PatchedCopy(const std::string& source, const std::string& dir,
                                const std::string& name, const char* search_path) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("create " + dir + ": " + ec.message());
  std::string copy = dir + "/" + name;
  std::filesystem::copy_file(source, copy, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Status::IoError("copy " + source + ": " + ec.message());
  ANYSNAP_RETURN_IF_ERROR(RewriteSearchPath(copy, search_path));
  return copy;
}

// Adds the programs and their libraries under anysnap/.
Status PlanAnysnap(const BuildOptions& o, const std::string& scratch, LayerPlan& plan) {
  auto programs = FindPrograms(o.bin_dir, o.target);
  if (!programs.ok()) return programs.status();

  std::vector<std::string> elf_paths;
  for (const Program& p : *programs) {
    if (p.elf && p.elf->is_dynamic()) elf_paths.push_back(p.path);
  }
  LibraryClosureOptions closure_options;
  closure_options.arch = o.target.arch;
  closure_options.system_dirs =
      o.library_dirs.empty() ? SystemLibraryDirs(o.target.arch) : o.library_dirs;
  auto libraries = ResolveLibraryClosure(elf_paths, closure_options);
  if (!libraries.ok()) return libraries.status();

  for (const Program& p : *programs) {
    std::string source = p.path;
    bool has_search_path = p.elf && !p.elf->search_paths().empty();
    if (p.needs_libraries || has_search_path) {
      auto copy = PatchedCopy(p.path, scratch + "/bin", p.name, kProgramSearchPath);
      // A program needing only glibc runs without the path: keep it as built.
      if (!copy.ok() && p.needs_libraries) return copy.status();
      if (copy.ok()) source = *copy;
    }
    ANYSNAP_RETURN_IF_ERROR(plan.AddFile("anysnap/bin/" + p.name, source));
  }
  for (const ResolvedLibrary& lib : *libraries) {
    std::string source = lib.path;
    if (lib.has_search_path) {
      // Its own path would hide the program's DT_RPATH from its needs.
      auto copy = PatchedCopy(lib.path, scratch + "/lib", lib.name, kLibrarySearchPath);
      if (!copy.ok()) return copy.status();
      source = *copy;
    }
    ANYSNAP_RETURN_IF_ERROR(plan.AddFile("anysnap/lib/" + lib.name, source));
  }
  return Status::Ok();
}

Status PlanHooks(const std::string& hooks_dir, LayerPlan& plan) {
  if (hooks_dir.empty()) return Status::Ok();
  struct stat st;
  // No such directory (the default, outside a source tree): a layer without hooks.
  if (::stat(hooks_dir.c_str(), &st) != 0 && errno == ENOENT) return Status::Ok();
  // A hooks directory ships both clients: one missing is a broken tree, not a
  // layer to make without it.
  for (const auto& [from, to] : {kNodeHooks, kPythonHooks}) {
    std::string source = hooks_dir + "/" + from;
    if (::stat(source.c_str(), &st) != 0) {
      return PosixError("hook client " + source, errno)
          .WithContext("--hooks-dir " + hooks_dir + " (an empty --hooks-dir builds without hooks)");
    }
    ANYSNAP_RETURN_IF_ERROR(plan.AddTree(source, to));
  }
  return Status::Ok();
}

Status PlanReseed(const BuildOptions& o, LayerPlan& plan) {
  const std::string dir = o.reseed_dir.empty() ? o.bin_dir + "/../reseed" : o.reseed_dir;
  struct stat st;
  // No reseed folder (a build without it): the wrapper warns where it runs.
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) return Status::Ok();
  for (const char* file : kReseedFiles) {
    std::string source = dir + "/" + file;
    if (::stat(source.c_str(), &st) != 0)
      return PosixError("reseed file " + source, errno).WithContext("reseed folder " + dir);
    ANYSNAP_RETURN_IF_ERROR(plan.AddFile("anysnap/reseed/" + std::string(file), source));
  }
  return Status::Ok();
}

}  // namespace

Result<BuildResult> BuildLayer(const BuildOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.output.empty()) return Status::InvalidArgument("no output zip given");
  auto scratch = TempDir::Create("anysnap-layer-", o.temp_parent);
  if (!scratch.ok()) return scratch.status();

  LayerPlan plan;
  plan.Exclude(o.output);
  ANYSNAP_RETURN_IF_ERROR(PlanAnysnap(o, scratch->path(), plan));
  ANYSNAP_RETURN_IF_ERROR(PlanHooks(o.hooks_dir, plan));
  ANYSNAP_RETURN_IF_ERROR(PlanReseed(o, plan));
  for (const auto& [source, dest] : o.adds) {
    std::string where = dest == "." ? "" : dest;
    while (where.ends_with('/')) where.pop_back();
    ANYSNAP_RETURN_IF_ERROR(plan.AddTree(source, where).WithContext("--add " + source));
  }

  auto writer = ZipWriter::Create(o.output, {o.level, DosTimestampFromEpoch(o.source_date_epoch)});
  if (!writer.ok()) return writer.status();
  ANYSNAP_RETURN_IF_ERROR(plan.WriteTo(**writer));
  ANYSNAP_RETURN_IF_ERROR((*writer)->Close(o.progress));

  auto report = InspectLayer(o.output, {o.target, o.temp_parent});
  if (!report.ok()) return report.status();
  BuildResult result;
  result.report = std::move(*report);
  result.entries = result.report.entries.size();
  result.unzipped_bytes = result.report.unzipped_bytes;
  result.zipped_bytes = result.report.zipped_bytes;
  result.kept = !result.report.HasErrors();
  if (!result.kept && ::unlink(o.output.c_str()) != 0) {
    return PosixError("remove " + o.output, errno);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace anysnap::layer
