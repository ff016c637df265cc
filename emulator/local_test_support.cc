#include "local_test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "anysnap/unique_fd.h"

extern char** environ;

namespace anysnap::testing {

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test support: %s\n", what.c_str());
  std::abort();
}

constexpr const char* kBashRuntime = R"bash(#!/bin/bash
# A custom runtime in bash, the way Lambda's tutorial writes one: curl against
# the Runtime API. What it does with each event: see local_test_support.h.
set -u
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
if [ -n "${FIXTURE_PID_FILE:-}" ]; then echo $$ > "$FIXTURE_PID_FILE"; fi
echo "fixture: init on stdout"
echo "fixture: init on stderr" >&2
if [ -n "${FIXTURE_TERM_FILE:-}" ]; then
  trap 'echo term > "$FIXTURE_TERM_FILE"; exit 0' TERM
fi
if [ -n "${FIXTURE_IGNORE_TERM:-}" ]; then trap '' TERM; fi
if [ -n "${FIXTURE_INIT_ERROR:-}" ]; then
  curl -sS -o /dev/null -X POST "$api/init/error" \
    -H 'Lambda-Runtime-Function-Error-Type: Runtime.FixtureInitError' \
    --data-binary '{"errorType":"Runtime.FixtureInitError","errorMessage":"init failed on purpose"}'
  exit 1
fi
if [ -n "${FIXTURE_INIT_EXIT:-}" ]; then exit "$FIXTURE_INIT_EXIT"; fi
# A temporary folder, never removed here: curl may still be writing into it
# when a signal ends this script.
work=$(mktemp -d "${TMPDIR:-/tmp}/anysnap-fixture-XXXXXX")  # /var/task is read-only, as on Lambda
mkdir -p "$work"
respond() {
  curl -sS -o /dev/null -X POST "$api/invocation/$1/response" --data-binary "$2"
}
while true; do
  # In the background, so that a trapped SIGTERM is handled at once.
  curl -sS -D "$work/headers" -o "$work/event" "$api/invocation/next" &
  wait $! || exit 9
  id="$(tr -d '\r' < "$work/headers" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p')"
  event="$(cat "$work/event")"
  echo "fixture: handling $id"
  case "$event" in
    *crash*) echo "fixture: crashing" >&2; exit 3 ;;
    *fail*)
      curl -sS -o /dev/null -X POST "$api/invocation/$id/error" \
        -H 'Lambda-Runtime-Function-Error-Type: Function.FixtureError' \
        --data-binary '{"errorType":"Function.FixtureError","errorMessage":"failed on purpose"}' ;;
    *hang*)
      if [ -n "${FIXTURE_HANG_FIFO:-}" ]; then echo hanging > "$FIXTURE_HANG_FIFO"; fi
      sleep infinity & wait $! ;;
    *env*) respond "$id" "$(env)" ;;
    *exit-after*) respond "$id" '{"bye":true}'; exit 4 ;;
    *exit-when-told*) respond "$id" '{"bye":true}'; read -r _ < "$FIXTURE_EXIT_FIFO"; exit 4 ;;
    *) respond "$id" "{\"echo\":$event}" ;;
  esac
done
)bash";

}  // namespace

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/anysnap-local-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) Die("mkdtemp " + pattern);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteTestFile(const std::string& path, const std::string& content, int mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) Die("write " + path);
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) Die("chmod " + path);
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteBashRuntime(const std::string& dir) {
  WriteTestFile(dir + "/bootstrap", kBashRuntime, 0755);
}

void MakeFifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) Die("mkfifo " + path);
}

void WriteFifo(const std::string& path, const std::string& line) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) Die("open " + path);
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    Die("write " + path);
  }
}

std::string ReadFifo(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) Die("open " + path);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("read " + path);
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

CapturedRun RunCaptured(const std::vector<std::string>& argv, const EnvMap& env,
                        const std::string& stdin_path) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) Die("pipe2");
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  UniqueFd in;
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.stdout_fd = out_write.get();
  spawn.stderr_fd = err_write.get();
  if (!stdin_path.empty()) {
    in.Reset(::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) Die("open " + stdin_path);
    spawn.stdin_fd = in.get();
  }
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok()) Die(child.status().message());
  out_write.Reset();
  err_write.Reset();

  CapturedRun run;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Die("poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  auto status = child->WaitFor(std::chrono::minutes(5));
  if (!status) Die("the program did not end: " + argv[0]);
  run.status = *status;
  return run;
}

EnvMap TestEnvironment() { return EnvFromEnviron(environ); }

std::string TestCriu() {
  EnvMap env = TestEnvironment();
  auto it = env.find("ANYSNAP_TEST_CRIU");
  return it == env.end() || it->second.empty() ? "criu" : it->second;
}

std::string WaitForFileText(const std::string& path,
                            const std::function<bool(const std::string&)>& done,
                            std::chrono::milliseconds patience, pid_t writer) {
  UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!watch.valid()) Die("inotify_init1: " + std::string(std::strerror(errno)));
  // The watch comes before the first read: a write in between still wakes us.
  if (::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    Die("inotify_add_watch " + path + ": " + std::strerror(errno));
  }
  UniqueFd ended;
  if (writer > 0) ended = WatchProcess(writer);
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    std::string text = ReadTestFile(path);
    if (done(text)) return text;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return text;
    pollfd fds[2] = {{watch.get(), POLLIN, 0}, {ended.get(), POLLIN, 0}};
    int ready = ::poll(fds, ended.valid() ? 2 : 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) Die("poll: " + std::string(std::strerror(errno)));
    if (ready > 0 && (fds[1].revents & POLLIN)) return ReadTestFile(path);  // writer ended
    char events[4096];
    while (::read(watch.get(), events, sizeof(events)) > 0) {
    }
  }
}

LinePipe::LinePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Die("pipe2: " + std::string(std::strerror(errno)));
  read_ = UniqueFd(fds[0]);
  write_ = UniqueFd(fds[1]);
}

std::string LinePipe::ReadLine() {
  for (;;) {
    size_t end = pending_.find('\n');
    if (end != std::string::npos) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      return line;
    }
    char buf[512];
    ssize_t n = ::read(read_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    pending_.append(buf, static_cast<size_t>(n));
  }
}

UniqueFd WatchProcess(pid_t pid) {
  UniqueFd watch(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!watch.valid()) Die("pidfd_open " + std::to_string(pid) + ": " + std::strerror(errno));
  return watch;
}

bool ProcessEnds(const UniqueFd& watch, std::chrono::milliseconds patience) {
  pollfd ended{watch.get(), POLLIN, 0};
  for (;;) {
    int ready = ::poll(&ended, 1, static_cast<int>(patience.count()));
    if (ready < 0 && errno == EINTR) continue;
    return ready == 1;
  }
}

ServedLocally::ServedLocally(const std::vector<std::string>& flags,
                             std::chrono::milliseconds patience)
    : log_(dir_ / "serve.log"), patience_(patience) {
  UniqueFd log(::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log.valid()) Die("open " + log_ + ": " + std::strerror(errno));
  SpawnOptions spawn;
  spawn.argv = {kLocal, "serve", "--port", "0"};
  spawn.argv.insert(spawn.argv.end(), flags.begin(), flags.end());
  spawn.env = TestEnvironment();
  spawn.stdout_fd = log.get();
  spawn.stderr_fd = log.get();
  auto child = ChildProcess::Spawn(spawn);
  if (!child.ok()) Die("start anysnap-local serve: " + child.status().message());
  process_ = std::move(*child);
  // "... at http://127.0.0.1:PORT/...\n"
  auto listening = [](const std::string& text) {
    size_t at = text.find(" at http://");
    return at != std::string::npos && text.find('\n', at) != std::string::npos;
  };
  std::string text = WaitForFileText(log_, listening, patience_, process_.pid());
  if (!listening(text)) {
    ADD_FAILURE() << "serve did not start:\n" << text;
    return;
  }
  size_t at = text.find(" at http://");
  url_ = text.substr(at + 4, text.find('\n', at) - at - 4);
}

ServedLocally::~ServedLocally() { process_.Stop(std::chrono::seconds(10)); }

std::string ServedLocally::LogOnceItHas(const std::string& text, size_t times) const {
  return WaitForFileText(
      log_, [&](const std::string& t) { return CountOccurrences(t, text) >= times; }, patience_,
      process_.running() ? process_.pid() : -1);
}

CurlReply ServedLocally::Invoke(const std::string& event,
                                const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {"curl", "-sS",           "-i", "-N", "--raw", "-XPOST",
                                   url_,   "--data-binary", event};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto run = RunCaptured(argv, TestEnvironment());
  EXPECT_TRUE(run.status.success()) << run.err;
  CurlReply reply;
  size_t split = run.out.find("\r\n\r\n");
  reply.head = run.out.substr(0, split);
  reply.body = split == std::string::npos ? "" : run.out.substr(split + 4);
  if (reply.head.size() > 12) reply.status = std::stoi(reply.head.substr(9, 3));
  return reply;
}

size_t CountOccurrences(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

}  // namespace anysnap::testing
