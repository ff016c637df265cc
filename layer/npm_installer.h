// NpmInstaller installs one pinned package from the npm registry into a cache
// folder of its own with npm itself, the registry's ordinary client: npm
// downloads the tarball, checks it against the integrity the registry states,
// and unpacks it (and runs the package's install scripts when asked: that is
// how aws-lambda-ric compiles its native part). npm runs as a child process,
// never through a shell, with the environment the caller gives it.
//
// After npm, the installed package's integrity (npm's hidden lockfile,
// node_modules/.package-lock.json) must equal the pinned one, so a registry
// that served other bytes under the same version is refused too.
//
// Each install goes to PREFIX.partial-PID and is renamed to PREFIX only when whole,
// so an interrupted or failed install is never taken for a cached one: a
// PREFIX that exists is reused without asking the registry again.
//
// Errors are one line naming the package and quoting npm's answer (the
// registry's, when npm could not reach it or the version does not exist).
//
// Thread-compatible; two processes sharing a cache may both install, and the
// second rename loses harmlessly.
#ifndef ANYSNAP_LAYER_NPM_INSTALLER_H_
#define ANYSNAP_LAYER_NPM_INSTALLER_H_

#include <functional>
#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/status.h"
#include "layer/runtime_catalog.h"

namespace anysnap::layer {

struct NpmInstall {
  PinnedPackage package;
  std::string prefix;        // the cache folder for this package (and what it was built for)
  std::string os;            // npm's --os, for platform packages; empty: the machine's
  std::string cpu;           // npm's --cpu ("x64", "arm64"); empty: the machine's
  bool run_scripts = false;  // run the package's install scripts
  EnvMap env;                // npm's whole environment
};

// What running a command gave: its exit code (-1 when it could not run or died
// of a signal) and its output, stdout and stderr together.
struct CapturedOutput {
  int exit_code = -1;
  std::string output;
};
// Runs argv (argv[0] searched on env's PATH) in `env`; the seam tests fake.
using RunCommandFn =
    std::function<Result<CapturedOutput>(const std::vector<std::string>& argv, const EnvMap& env)>;

// Runs argv as a child process, its output captured through a temporary file.
Result<CapturedOutput> RunAndCapture(const std::vector<std::string>& argv, const EnvMap& env);

// The line of npm's output that says what went wrong ("notarget No matching
// version found for x@9.", "FetchError: request to ... failed, reason: ..."),
// without npm's "npm error" prefix; the last line when none looks like one.
std::string NpmAnswer(const std::string& output);

class NpmInstaller {
 public:
  explicit NpmInstaller(RunCommandFn run = RunAndCapture) : run_(std::move(run)) {}

  // Installs `install.package` (or finds it in the cache); returns the folder
  // of the installed package, PREFIX/node_modules/NAME.
  Result<std::string> Install(const NpmInstall& install);

  // True when the last Install found its package in the cache.
  bool last_was_cached() const { return last_was_cached_; }

 private:
  RunCommandFn run_;
  bool last_was_cached_ = false;
};

// Checks that the package installed under `prefix` is `package` at its pinned
// version and integrity (when one is pinned), from npm's hidden lockfile.
Status CheckInstalledIntegrity(const std::string& prefix, const PinnedPackage& package);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_NPM_INSTALLER_H_
