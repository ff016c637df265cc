#include "wrapped_function.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "anysnap/child_process.h"
#include "anysnap/runtime_api.h"
#include "anysnap/unique_fd.h"

namespace anysnap {
namespace testing {

namespace {
std::atomic<int> counter{0};
}  // namespace

WrappedFunction::WrappedFunction(RuntimeApiServer::Options options) : server_(options) {
  Status s = server_.Start({"127.0.0.1", 0});
  EXPECT_TRUE(s.ok()) << s.message();
  stderr_path_ = ::testing::TempDir() + "/wrapper-stderr-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter++);
  env_ = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
          {"HOME", "/tmp"},
          {"AWS_LAMBDA_RUNTIME_API", server_.address().ToString()},
          {"AWS_LAMBDA_FUNCTION_NAME", "blackbox"},
          {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
          {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"},
          {"AWS_REGION", "us-east-1"},
          {"LAMBDA_TASK_ROOT", kFixtures},
          {"_HANDLER", "index.handler"}};
}

WrappedFunction::~WrappedFunction() {
  if (!wait_status_ && wrapper_.running()) {
    wrapper_.Signal(SIGKILL);
    Wait();
  }
  server_.Stop();
}

void WrappedFunction::Start(const std::string& interpreter) {
  std::vector<std::string> argv = {
      "/bin/sh",
      "-c",
      "exec $WRAPPED_FUNCTION_LAUNCHER \"$0\" \"$@\" 2>\"$WRAPPED_FUNCTION_STDERR\"",
      wrapper_path_,
      interpreter,
      "-XX:+TieredCompilation",
      "-classpath",
      "/var/runtime/lib/*",
      "com.amazonaws.services.lambda.runtime.api.client.AWSLambda",
      "index.handler"};
  EnvMap env = env_;
  env["WRAPPED_FUNCTION_STDERR"] = stderr_path_;
  env["WRAPPED_FUNCTION_LAUNCHER"] = launcher_;
  Status s = wrapper_.Start(argv, env);
  ASSERT_TRUE(s.ok()) << s.message();
}

namespace {

// Waits until the child `pid` has ended (a descriptor of the process becomes
// readable then), for at most `limit`. Returns false when it has not.
bool WaitForEnd(pid_t pid, std::chrono::seconds limit) {
  UniqueFd process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!process.valid()) return false;
  pollfd ended{process.get(), POLLIN, 0};
  const int ms = static_cast<int>(std::chrono::milliseconds(limit).count());
  for (;;) {
    int ready = ::poll(&ended, 1, ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready == 1;
  }
}

}  // namespace

bool WrappedFunction::Ended() {
  if (wait_status_) return true;
  int status = 0;
  if (!wrapper_.TryReap(&status)) return false;
  wait_status_ = status;
  // The platform's words for a runtime process that ended.
  server_.Abandon(kExitErrorType, ExitStatus::FromWaitStatus(status).RuntimeExitReason());
  return true;
}

int WrappedFunction::Wait(std::chrono::seconds limit) {
  if (Ended()) return ShellExitStatus(*wait_status_);
  if (!WaitForEnd(wrapper_.pid(), limit)) {
    ADD_FAILURE() << "wrapper did not end; stderr:\n" << Stderr();
    wrapper_.Signal(SIGKILL);
    WaitForEnd(wrapper_.pid(), limit);
  }
  EXPECT_TRUE(Ended());
  return wait_status_ ? ShellExitStatus(*wait_status_) : -1;
}

void WrappedFunction::ExpectEndedWithError(int exit_status, bool restore,
                                           const std::string& error_type, const std::string& text) {
  EXPECT_EQ(Wait(), exit_status) << Stderr();
  auto error = restore ? server_.restore_error() : server_.init_error();
  ASSERT_TRUE(error.has_value()) << "no " << (restore ? "restore" : "init") << "/error; stderr:\n"
                                 << Stderr();
  EXPECT_EQ(error->error_type, error_type) << error->body;
  EXPECT_NE(error->body.find(text), std::string::npos) << error->body;
}

InvocationResult WrappedFunction::Invoke(const std::string& event, Invocation inv) {
  inv.event = event;
  auto f = server_.Invoke(std::move(inv));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (f.wait_for(std::chrono::milliseconds(2)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > until) {
      ADD_FAILURE() << "invocation not answered; stderr:\n" << Stderr();
      return {};
    }
    (void)Ended();
  }
  return f.get();
}

std::string WrappedFunction::Stderr() const {
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace testing
}  // namespace anysnap
