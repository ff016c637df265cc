#include "hook_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "anysnap/child_process.h"
#include "anysnap/log.h"
#include "anysnap/unique_fd.h"
#include "anysnap/upstream_client.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a waiting hook looks at its cancel flag.
constexpr milliseconds kCancelCheck{50};
// A line longer than this is logged in pieces.
constexpr size_t kMaxLogLine = 4096;

// Cuts a hook's output into log lines named after the hook.
class OutputLog {
 public:
  explicit OutputLog(std::string_view name) : prefix_("hook " + std::string(name) + ": ") {}
  ~OutputLog() { Flush(); }

  void Add(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        Flush();
        continue;
      }
      line_ += c;
      if (line_.size() >= kMaxLogLine) Flush();
    }
  }
  void Flush() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!line_.empty()) Log().Info(prefix_ + line_);
    line_.clear();
  }

 private:
  const std::string prefix_;
  std::string line_;
};

milliseconds Remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(0));
}

Status RunCommand(const HookSpec& hook, std::string_view phase, const EnvMap& env,
                  Clock::time_point deadline, const std::atomic<bool>& cancel) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError("pipe", errno);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  SpawnOptions options;
  options.argv = hook.argv;
  options.env = env;
  options.env["ANYSNAP_PHASE"] = std::string(phase);
  options.stdout_fd = write_end.get();
  options.stderr_fd = write_end.get();
  auto child = ChildProcess::Spawn(options);
  write_end.Reset();
  if (!child.ok()) return Status::Failed("cannot start: " + child.status().message());

  OutputLog output(QuoteForMessage(hook.text, 120));
  bool eof = false;
  char buf[4096];
  for (;;) {
    if (cancel.load()) {
      child->Kill();
      return Status::Aborted("stopped: anysnap is shutting down");
    }
    if (Clock::now() >= deadline) {
      child->Kill();
      return Status::TimedOut("timed out");
    }
    milliseconds wait = std::min(Remaining(deadline), kCancelCheck);
    if (eof) {
      // Output closed; the hook itself may still run.
      if (auto status = child->WaitFor(wait)) {
        if (status->success()) return Status::Ok();
        return Status::Failed("failed: " + status->Describe());
      }
      continue;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) return PosixError("poll", errno);
    if (n > 0) {
      ssize_t got = ::read(read_end.get(), buf, sizeof(buf));
      if (got > 0) {
        output.Add(std::string_view(buf, static_cast<size_t>(got)));
      } else if (got == 0 || errno != EINTR) {
        eof = true;
      }
      continue;
    }
    // The hook may have ended while a process it left behind keeps the pipe
    // open: its own exit decides.
    if (auto status = child->Poll()) {
      ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
      ssize_t got;
      while ((got = ::read(read_end.get(), buf, sizeof(buf))) > 0)
        output.Add(std::string_view(buf, static_cast<size_t>(got)));
      if (status->success()) return Status::Ok();
      return Status::Failed("failed: " + status->Describe());
    }
  }
}

Status RunUrl(const HookSpec& hook, std::string_view phase, Clock::time_point deadline,
              const std::atomic<bool>& cancel) {
  // A connection of its own, closed after; the messages below name the hook.
  UpstreamClient client(hook.address, /*peer=*/"");
  CallOptions options;
  options.deadline = deadline;
  options.cancel = &cancel;
  auto answer = client.Call("POST", hook.path, {{"Content-Type", "application/json"}},
                            "{\"phase\":\"" + std::string(phase) + "\"}", options);
  if (!answer.ok()) {
    if (answer.status().code() == Status::Code::kAborted) {
      return Status::Aborted("stopped: anysnap is shutting down");
    }
    if (answer.status().code() == Status::Code::kTimedOut) return Status::TimedOut("timed out");
    return Status::Failed("POST failed: " + answer.status().message());
  }
  if (answer->status < 200 || answer->status > 299) {
    std::string text;
    for (char c : std::string_view(answer->body).substr(0, 200)) {
      text += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return Status::Failed("answered " + std::to_string(answer->status) +
                          (text.empty() ? "" : ": " + text));
  }
  return Status::Ok();
}

}  // namespace

Status RunConfiguredHook(const HookSpec& hook, std::string_view phase, const EnvMap& env,
                         std::chrono::steady_clock::time_point deadline,
                         const std::atomic<bool>& cancel) {
  if (hook.kind == HookSpec::Kind::kUrl) return RunUrl(hook, phase, deadline, cancel);
  return RunCommand(hook, phase, env, deadline, cancel);
}

namespace {

class CommandAndUrlRunner final : public HookRunner {
 public:
  Status Run(const HookSpec& hook, std::string_view phase, const EnvMap& env,
             std::chrono::steady_clock::time_point deadline,
             const std::atomic<bool>& cancel) override {
    return RunConfiguredHook(hook, phase, env, deadline, cancel);
  }
};

}  // namespace

HookRunner& ConfiguredHookRunner() {
  static CommandAndUrlRunner runner;
  return runner;
}

}  // namespace anysnap
