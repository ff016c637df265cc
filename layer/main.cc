// anysnap-layer: builds anysnap's layer zip (build) and checks any layer zip
// (inspect). Exit status: 0 when all is well (warnings allowed), 1 when the checks
// found errors, 2 for a usage or I/O error.
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>

#include "anysnap/environment.h"
#include "anysnap/log.h"
#include "layer/layer_builder.h"
#include "layer/layer_inspector.h"
#include "layer/progress_bar.h"
#include "layer/runtime_layer.h"

namespace anysnap::layer {
namespace {

constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;

void Print(FILE* to, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), to);
  std::fflush(to);
}

int Fail(const Status& status) {
  Log().Error(status.message());
  return kExitUsage;
}

// Target flags shared by both subcommands.
struct TargetFlags {
  std::string arch = "x86_64";
  std::string glibc = "2.34";

  void AddTo(CLI::App* cmd) {
    cmd->add_option("--arch", arch, "Target architecture: x86_64 or arm64")
        ->check(CLI::IsMember({"x86_64", "arm64"}))
        ->capture_default_str();
    cmd->add_option("--glibc", glibc, "Target glibc version (Amazon Linux 2023: 2.34)")
        ->capture_default_str();
  }

  Result<LambdaTarget> Parse() const {
    LambdaTarget target;
    auto a = ParseArch(arch);
    auto g = ParseGlibcVersion(glibc);
    if (!a) return Status::InvalidArgument("--arch " + arch + ": not x86_64 or arm64");
    if (!g) return Status::InvalidArgument("--glibc " + glibc + ": not a version like 2.34");
    target.arch = *a;
    target.glibc = *g;
    return target;
  }
};

Result<int64_t> ParseEpoch(const std::string& text, const std::string& what) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(what + "=" + text + ": not a number of seconds");
  }
  return value;
}

// The folder runtime packages are kept in between builds: --cache-dir, else
// $ANYSNAP_CACHE_DIR, else $XDG_CACHE_HOME/anysnap, else ~/.cache/anysnap.
std::string DefaultCacheDir(const EnvMap& env) {
  auto get = [&env](const char* key) {
    auto it = env.find(key);
    return it == env.end() ? std::string() : it->second;
  };
  if (!get("ANYSNAP_CACHE_DIR").empty()) return get("ANYSNAP_CACHE_DIR");
  if (!get("XDG_CACHE_HOME").empty()) return get("XDG_CACHE_HOME") + "/anysnap";
  if (!get("HOME").empty()) return get("HOME") + "/.cache/anysnap";
  return "/tmp/anysnap-cache";
}

Arch MachineArch() {
  struct utsname u;
  if (::uname(&u) == 0) {
    if (auto arch = ParseArch(u.machine)) return *arch;
  }
  return Arch::kX86_64;
}

// Settings only a runtime layer has.
struct RuntimeFlags {
  std::string runtime;
  std::string runtime_version;
  std::string cache_dir;
};

int RunBuild(BuildOptions options, const TargetFlags& target_flags,
             const std::vector<std::string>& adds, const std::string& epoch_flag,
             const RuntimeFlags& runtime) {
  auto target = target_flags.Parse();
  if (!target.ok()) return Fail(target.status());
  options.target = *target;
  if (!runtime.runtime.empty() && !adds.empty()) {
    return Fail(Status::InvalidArgument(
        "--add goes in anysnap's layer, not in a runtime layer (--runtime " + runtime.runtime +
        ")"));
  }
  for (const std::string& add : adds) {
    size_t eq = add.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == add.size()) {
      return Fail(Status::InvalidArgument("--add " + add + ": expected SRC=DEST"));
    }
    options.adds.emplace_back(add.substr(0, eq), add.substr(eq + 1));
  }
  // The flag wins over the environment, as reproducible-builds.org specifies.
  std::string epoch = epoch_flag;
  std::string epoch_source = "--source-date-epoch";
  if (epoch.empty()) {
    const char* env = std::getenv("SOURCE_DATE_EPOCH");
    if (env != nullptr && *env != '\0') {
      epoch = env;
      epoch_source = "SOURCE_DATE_EPOCH";
    }
  }
  if (!epoch.empty()) {
    auto seconds = ParseEpoch(epoch, epoch_source);
    if (!seconds.ok()) return Fail(seconds.status());
    options.source_date_epoch = *seconds;
  }

  std::optional<ProgressBar> bar;
  if (::isatty(STDERR_FILENO)) {
    bar.emplace(STDERR_FILENO, "writing " + options.output);
    options.progress = [&bar](double fraction) { bar->Update(fraction); };
  }
  Result<BuildResult> result = Status::Internal("not built");
  if (runtime.runtime.empty()) {
    result = BuildLayer(options);
  } else {
    RuntimeLayerOptions r;
    r.runtime = runtime.runtime;
    r.runtime_version = runtime.runtime_version;
    r.output = options.output;
    r.target = options.target;
    r.env = EnvFromEnviron(environ);
    r.cache_dir = runtime.cache_dir.empty() ? DefaultCacheDir(r.env) : runtime.cache_dir;
    r.level = options.level;
    r.source_date_epoch = options.source_date_epoch;
    r.progress = options.progress;
    r.machine = MachineArch();
    result = BuildRuntimeLayer(r);
  }
  if (bar) bar->Clear();
  if (!result.ok()) return Fail(result.status());

  Print(stderr, FormatFindings(result->report));
  if (!result->kept) {
    Log().Error("the layer fails its checks; " + options.output + " removed");
    return kExitFindings;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.2f s", result->seconds);
  Print(stdout, options.output + ": " + std::to_string(result->entries) + " entries, " +
                    FormatBytes(result->unzipped_bytes) + " unzipped, " +
                    FormatBytes(result->zipped_bytes) + " zipped, " + seconds + "\n");
  return 0;
}

int RunInspect(const std::string& zip, const TargetFlags& target_flags, bool json) {
  auto target = target_flags.Parse();
  if (!target.ok()) return Fail(target.status());
  auto report = InspectPackage(zip, {*target, ""});
  if (!report.ok()) return Fail(report.status());
  Print(stdout, json ? FormatReportJson(*report) : FormatReportText(*report, true));
  return report->HasErrors() ? kExitFindings : 0;
}

int Main(int argc, char** argv) {
  // Zip timestamps are DOS local times; computing them in UTC makes the bytes
  // the same on every machine, whatever its time zone.
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  Log().Configure("anysnap-layer", LogLevel::kInfo, LogFormat::kText);

  CLI::App app{"anysnap-layer: builds anysnap's Lambda layer zip and checks layer zips"};
  app.set_version_flag("--version", "anysnap-layer " ANYSNAP_VERSION);
  app.require_subcommand(1);

  BuildOptions build;
  build.bin_dir = ProgramDirectory();
  TargetFlags build_target;
  std::vector<std::string> adds;
  std::string epoch_flag;
  CLI::App* build_cmd = app.add_subcommand(
      "build", "Build the layer zip: anysnap's programs and libraries, hooks, extra trees");
  build_cmd->add_option("-o,--output", build.output, "The zip to write")->required();
  build_cmd
      ->add_option("--bin-dir", build.bin_dir,
                   "Where the anysnap-* programs are (default: beside this program; all but "
                   "anysnap-layer, anysnap-local and "
                   "anysnap-bench-*, which never run on Lambda, go in)")
      ->capture_default_str();
  build_cmd
      ->add_option("--hooks-dir", build.hooks_dir,
                   "Hook client libraries (nodejs/anysnap-hooks/, python/anysnap_hooks.py); "
                   "none when the directory does not exist or the value is empty")
      ->capture_default_str();
  build_cmd->add_option("--reseed-dir", build.reseed_dir,
                        "The reseed anysnap-wrapper loads into snap-start runtimes "
                        "(nodejs/, python/; default: reseed/ beside the --bin-dir folder; none "
                        "when it does not exist)");
  build_cmd->add_option("--add", adds, "Also add file or tree SRC as layer path DEST (SRC=DEST)")
      ->type_name("SRC=DEST");
  build_cmd->add_option("--level", build.level, "Deflate level, 0 (store) to 9")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  build_cmd
      ->add_option("--source-date-epoch", epoch_flag,
                   "Entry timestamp in seconds since 1970 (default: $SOURCE_DATE_EPOCH, "
                   "else 1980-01-01)")
      ->type_name("N");
  build_target.AddTo(build_cmd);
  RuntimeFlags runtime;
  build_cmd
      ->add_option("--runtime", runtime.runtime,
                   "Build a runtime layer instead: the runtime's official Linux build from the npm "
                   "registry at a pinned version, in bin/ (and AWS's aws-lambda-ric for Node.js, "
                   "in nodejs/node_modules/). One of: " +
                       KnownRuntimeNames())
      ->type_name("NAME");
  build_cmd
      ->add_option("--runtime-version", runtime.runtime_version,
                   "With --runtime: another version of the runtime's package than the pinned one "
                   "(npm checks it against the registry's integrity)")
      ->type_name("VERSION");
  build_cmd
      ->add_option("--cache-dir", runtime.cache_dir,
                   "Where runtime packages are kept between builds (default: $ANYSNAP_CACHE_DIR, "
                   "else $XDG_CACHE_HOME/anysnap, else ~/.cache/anysnap)")
      ->type_name("DIR");

  std::string zip;
  bool json = false;
  TargetFlags inspect_target;
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect",
                         "List a layer or a function package (a zip or a folder) and check it "
                         "against Lambda's needs: every program and native module (.node, .so) "
                         "for the target's architecture and glibc");
  inspect_cmd->add_option("zip", zip, "The layer or function package: a zip or a folder")
      ->required()
      ->type_name("ZIP_OR_DIR");
  inspect_cmd->add_flag("--json", json, "Print a JSON report");
  inspect_target.AddTo(inspect_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (*build_cmd) return RunBuild(std::move(build), build_target, adds, epoch_flag, runtime);
  return RunInspect(zip, inspect_target, json);
}

}  // namespace
}  // namespace anysnap::layer

int main(int argc, char** argv) { return anysnap::layer::Main(argc, argv); }
