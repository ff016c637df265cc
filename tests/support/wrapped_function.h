// WrappedFunction runs one function the way Lambda's managed bootstrap would
// start it with anysnap: a RuntimeApiServer (the platform's side) on loopback
// and the built anysnap-wrapper running a runtime host against it, stderr
// kept in a file. For the black-box tests of the wrapper and the lifecycle.
#ifndef ANYSNAP_TESTS_SUPPORT_WRAPPED_FUNCTION_H_
#define ANYSNAP_TESTS_SUPPORT_WRAPPED_FUNCTION_H_

#include <chrono>
#include <optional>
#include <string>

#include "anysnap/environment.h"
#include "runtime_api_server.h"
#include "runtime_process.h"

namespace anysnap {
namespace testing {

inline const std::string kBin = ANYSNAP_BIN_DIR;
inline const std::string kSource = ANYSNAP_SOURCE_DIR;
inline const std::string kFixtures = kSource + "/tests/fixtures";
// What scripts/test-deps.sh installs, in build/ whichever build runs the test:
// AWS's Node.js runtime client (npm) and Python's (PyPI).
inline const std::string kRic = kSource + "/build/node_modules/aws-lambda-ric/index.mjs";
inline const std::string kPythonDeps = kSource + "/build/python-deps";

// The platform's side of a SnapStart function: restore/next served, answered
// at once (`auto_restore`) or when the test calls Restore().
inline RuntimeApiServer::Options SnapStart(bool auto_restore = true) {
  RuntimeApiServer::Options o;
  o.snap_start = true;
  o.auto_restore = auto_restore;
  return o;
}

// The whole file, or "" when it cannot be read.
inline std::string ReadAll(const std::string& path) {
  auto text = ReadWholeFile(path);
  return text.ok() ? std::move(*text) : std::string();
}

class WrappedFunction {
 public:
  explicit WrappedFunction(RuntimeApiServer::Options options = {});
  ~WrappedFunction();  // kills a wrapper still running, stops the server

  void Set(const std::string& key, const std::string& value) { env_[key] = value; }
  // Runs this wrapper instead of the built one (e.g. one from an unpacked layer).
  void SetWrapper(const std::string& wrapper) { wrapper_path_ = wrapper; }
  // Runs the wrapper through `launcher` (a program that execs its arguments).
  void SetLauncher(const std::string& launcher) { launcher_ = launcher; }

  // Starts the wrapper as Lambda's managed bootstrap would: wrapper + java argv.
  void Start(const std::string& interpreter = "/var/lang/bin/java");
  // Waits for the wrapper to end; returns its shell exit status (-1 and a
  // test failure when it does not end within `limit`). Once it has ended,
  // every invocation still open fails with Runtime.ExitError in Lambda's
  // words, as the platform fails them when the runtime process ends.
  int Wait(std::chrono::seconds limit = std::chrono::seconds(60));
  // How the wrapper ended, as waitpid(2) said it; only after Wait().
  int wait_status() const { return wait_status_.value_or(-1); }
  // Waits for the wrapper to end with `exit_status`, having posted an error
  // of `error_type` whose message holds `text` to init/error (`restore`
  // false) or restore/error (`restore` true).
  void ExpectEndedWithError(int exit_status, bool restore, const std::string& error_type,
                            const std::string& text);
  // Queues `event` and waits for its outcome (a test failure after 60 s);
  // when the wrapper ends meanwhile, the outcome is the platform's
  // Runtime.ExitError (see Wait()).
  InvocationResult Invoke(const std::string& event, Invocation inv = {});
  // The wrapper's stderr so far.
  std::string Stderr() const;

  RuntimeApiServer& server() { return server_; }
  RuntimeProcess& wrapper() { return wrapper_; }

 private:
  // Reaps the wrapper once it has ended and fails what is still open.
  bool Ended();

  RuntimeApiServer server_;
  RuntimeProcess wrapper_;
  std::optional<int> wait_status_;
  EnvMap env_;
  std::string stderr_path_;
  std::string launcher_;
  std::string wrapper_path_ = kBin + "/anysnap-wrapper";
};

}  // namespace testing
}  // namespace anysnap

#endif  // ANYSNAP_TESTS_SUPPORT_WRAPPED_FUNCTION_H_
