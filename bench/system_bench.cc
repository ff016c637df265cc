// anysnap-bench-system measures the budgets of design.md §4 that are about
// whole processes rather than per-invoke latency (anysnap-bench-invoke does
// that), each side by side with its baseline in one run:
//
//   stream   A 200 MB streamed response (Lambda's response streaming: chunked,
//            Lambda-Runtime-Function-Response-Mode: streaming) posted through
//            anysnap-delegator, straight to the Runtime API, and through nginx:
//            throughput, and the proxy's peak RSS (VmHWM; a fresh proxy
//            process per transfer).
//   exec     Time from exec of a wrapper to the runtime host's first
//            instruction: anysnap-wrapper vs a `#!/bin/sh` + `exec "$@"`
//            wrapper vs exec of the runtime itself. The runtime is
//            anysnap-bench-probe, a static binary whose main writes
//            CLOCK_MONOTONIC to stdout first thing; the clock starts right
//            before posix_spawn. Variants interleave run by run.
//   rss      RSS of anysnap-wrapper (its delegator runs inside it) idle, with
//            the runtime parked in `next`, and while invokes of 1 KB, 1 MB and
//            6 MB run back to back, sampled from /proc/PID/status.
//
// The Runtime API is a RuntimeApiServer (emulator/) in this process; the
// runtime of `stream` is a thread of this process, that of `rss` this binary
// re-executed as `runtime-echo` under the wrapper. Output: a Markdown fragment
// on stdout, the figures as JSON in --json FILE, progress on stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "anysnap/child_process.h"
#include "anysnap/environment.h"
#include "anysnap/http.h"
#include "anysnap/net.h"
#include "anysnap/unique_fd.h"
#include "anysnap/upstream_client.h"
#include "nginx_baseline.h"
#include "runtime_api_server.h"

extern char** environ;

namespace anysnap {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kNextPath = "/2018-06-01/runtime/invocation/next";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "anysnap-bench-system: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Fail(what + ": " + r.status().ToString());
  return std::move(*r);
}

void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}

// ---------------------------------------------------------------------------
// Figures.

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string Fixed(double v, int digits = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); 0 when unreadable.
uint64_t StatusKiB(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() &&
        line[field.size()] == ':')
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

// `pid` and its descendants (from /proc/PID/task/*/children).
std::vector<pid_t> ProcessTree(pid_t pid) {
  std::vector<pid_t> out{pid};
  for (size_t i = 0; i < out.size(); ++i) {
    std::error_code ec;
    for (const auto& task :
         fs::directory_iterator("/proc/" + std::to_string(out[i]) + "/task", ec)) {
      std::ifstream in(task.path() / "children");
      pid_t child;
      while (in >> child) out.push_back(child);
    }
  }
  return out;
}

uint64_t TreeKiB(pid_t root, std::string_view field) {
  uint64_t sum = 0;
  for (pid_t p : ProcessTree(root)) sum += StatusKiB(p, field);
  return sum;
}

// ---------------------------------------------------------------------------
// Processes.

// A loopback port free right now.
uint16_t FreePort() {
  auto fd = Must(ListenTcp(HostPort{"127.0.0.1", 0}), "bind a free port");
  return Must(LocalAddress(fd.get()), "read the free port").port;
}

void AwaitListening(const HostPort& address, ChildProcess& child, const std::string& what) {
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (ConnectTcp(address).ok()) return;
    if (child.Poll()) Fail(what + " exited before listening");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Fail(what + " is not listening on " + address.ToString());
}

// The proxy in front of the Runtime API for one transfer.
struct Target {
  std::string name;  // "direct", "delegator", "nginx"
  HostPort address;
  ChildProcess process;  // none for direct
};

struct Tools {
  std::string bin_dir;  // build/bin
  std::string nginx;    // empty: no nginx baseline
  fs::path work;        // scratch folder
};

Target StartTarget(const std::string& name, const HostPort& upstream, const Tools& tools) {
  Target t;
  t.name = name;
  if (name == "direct") {
    t.address = upstream;
    return t;
  }
  uint16_t port = FreePort();
  t.address = HostPort{"127.0.0.1", port};
  SpawnOptions spawn;
  spawn.env = EnvFromEnviron(environ);
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  spawn.stdout_fd = spawn.stderr_fd = devnull.get();
  if (name == "delegator") {
    spawn.argv = {tools.bin_dir + "/anysnap-delegator",
                  "--listen",
                  t.address.ToString(),
                  "--upstream",
                  upstream.ToString(),
                  "--log-level",
                  "warn"};
  } else {
    fs::path dir = tools.work / ("nginx-" + std::to_string(port));
    fs::create_directories(dir);
    std::ofstream(dir / "nginx.conf") << NginxReverseProxyConfig(dir.string(), port, upstream);
    spawn.argv = {tools.nginx, "-p", dir.string(), "-c", (dir / "nginx.conf").string()};
  }
  t.process = Must(ChildProcess::Spawn(spawn), "start " + name);
  AwaitListening(t.address, t.process, name);
  return t;
}

// ---------------------------------------------------------------------------
// stream: a 200 MB streamed response.

// A streamed response body of `size` bytes, produced as it is read.
class GeneratedBody : public RequestBody {
 public:
  explicit GeneratedBody(uint64_t size) : left_(size) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = static_cast<size_t>(std::min<uint64_t>(cap, left_));
    std::memset(buf, 'x', n);
    left_ -= n;
    return n;
  }
  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  uint64_t left_;
  HttpHeaders trailers_;
};

// Takes the Runtime API's answer to the runtime's POST and keeps its status.
class AnswerSink : public ResponseWriter {
 public:
  Status Begin(int status, const HttpHeaders&, std::optional<uint64_t>) override {
    status_ = status;
    started_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view) override { return Status::Ok(); }
  Status End(const HttpHeaders&) override { return Status::Ok(); }
  bool started() const override { return started_; }
  void CloseAfterResponse() override {}
  int status() const { return status_; }

 private:
  int status_ = 0;
  bool started_ = false;
};

struct StreamSample {
  double seconds = 0;
  uint64_t idle_kib = 0;  // proxy VmRSS before the transfer
  uint64_t peak_kib = 0;  // proxy VmHWM after it
};

// One invoke whose response streams `size` bytes from a runtime thread
// through `t` to `server`. Returns the time from the runtime's POST to the
// Runtime API having taken the last byte.
StreamSample StreamOnce(RuntimeApiServer& server, Target& t, uint64_t size) {
  StreamSample s;
  if (t.process.running()) s.idle_kib = TreeKiB(t.process.pid(), "VmRSS");
  Invocation invocation;
  invocation.event = R"({"stream":true})";
  auto result = server.Invoke(std::move(invocation));
  UpstreamClient runtime(t.address);
  auto next = Must(runtime.Call("GET", kNextPath, {}, "", kLongPoll), "next via " + t.name);
  const std::string* id = FindHeader(next.headers, "Lambda-Runtime-Aws-Request-Id");
  if (next.status != 200 || id == nullptr) Fail("next via " + t.name + " gave no event");
  HttpRequest post;
  post.method = "POST";
  post.target = "/2018-06-01/runtime/invocation/" + *id + "/response";
  post.headers = {{"Content-Type", "application/octet-stream"},
                  {"Lambda-Runtime-Function-Response-Mode", "streaming"},
                  {"Transfer-Encoding", "chunked"}};
  post.chunked = true;
  GeneratedBody body(size);
  AnswerSink answer;
  auto start = Clock::now();
  ForwardOutcome outcome = runtime.Forward(post, body, answer);
  InvocationResult r = result.get();
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!outcome.error.ok() || answer.status() != 202)
    Fail("streamed response via " + t.name + ": status " + std::to_string(answer.status()) + " " +
         outcome.error.ToString());
  if (r.kind != InvocationResult::Kind::kResponse || !r.streamed || r.body_bytes != size)
    Fail("streamed response via " + t.name + " arrived as " + std::to_string(r.body_bytes) +
         " bytes (" + r.error_type + ")");
  if (t.process.running()) s.peak_kib = TreeKiB(t.process.pid(), "VmHWM");
  return s;
}

int RunStream(const Tools& tools, uint64_t size_mb, int rounds, const std::string& json_path) {
  const uint64_t size = size_mb * 1024 * 1024;
  RuntimeApiServer::Options o;
  o.keep_bodies = false;
  o.max_streamed_response = size;
  RuntimeApiServer server(o);
  Must(server.Start(HostPort{"127.0.0.1", 0}), "start the Runtime API server");

  std::vector<std::string> names = {"direct", "delegator"};
  if (!tools.nginx.empty()) names.push_back("nginx");
  std::map<std::string, std::vector<StreamSample>> samples;
  for (int round = -1; round < rounds; ++round) {  // round -1: warm-up, discarded
    for (size_t k = 0; k < names.size(); ++k) {
      const std::string& name = names[(k + static_cast<size_t>(round + 1)) % names.size()];
      Target t = StartTarget(name, server.address(), tools);
      std::fprintf(stderr, "stream: round %d, %s\n", round + 1, name.c_str());
      StreamSample s = StreamOnce(server, t, size);
      if (round >= 0) samples[name].push_back(s);
      if (t.process.running()) t.process.Stop(std::chrono::seconds(5));
    }
  }
  server.Stop();

  std::ostringstream md, json;
  md << "| path | MB/s median (min–max) | seconds median | proxy RSS before KiB | proxy peak RSS "
        "(VmHWM) KiB |\n|---|---:|---:|---:|---:|\n";
  json << "{\"size_mb\": " << size_mb << ", \"rounds\": " << rounds << ", \"targets\": {";
  bool first = true;
  for (const auto& name : names) {
    std::vector<double> secs, mbps, idle, peak;
    for (const auto& s : samples[name]) {
      secs.push_back(s.seconds);
      mbps.push_back(static_cast<double>(size_mb) / s.seconds);
      idle.push_back(static_cast<double>(s.idle_kib));
      peak.push_back(static_cast<double>(s.peak_kib));
    }
    double peak_max = *std::max_element(peak.begin(), peak.end());
    md << "| " << name << " | " << Fixed(Percentile(mbps, 50)) << " ("
       << Fixed(*std::min_element(mbps.begin(), mbps.end())) << "–"
       << Fixed(*std::max_element(mbps.begin(), mbps.end())) << ") | "
       << Fixed(Percentile(secs, 50), 2) << " | "
       << (name == "direct" ? "—" : Fixed(Percentile(idle, 50))) << " | "
       << (name == "direct" ? "—" : Fixed(peak_max)) << " |\n";
    json << (first ? "" : ", ") << "\"" << name
         << "\": {\"mb_per_s\": " << Fixed(Percentile(mbps, 50), 1)
         << ", \"seconds\": " << Fixed(Percentile(secs, 50), 3)
         << ", \"idle_kib\": " << Fixed(Percentile(idle, 50))
         << ", \"peak_kib\": " << Fixed(peak_max) << "}";
    first = false;
  }
  json << "}}\n";
  std::cout << md.str();
  if (!json_path.empty()) std::ofstream(json_path) << json.str();
  return 0;
}

// ---------------------------------------------------------------------------
// exec: wrapper start to the runtime host's first instruction.

int64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Reads what the probe wrote until `want` ends a line, or the deadline.
std::string ReadLine(int fd, std::chrono::milliseconds timeout) {
  std::string got;
  auto deadline = Clock::now() + timeout;
  while (got.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Waits for every writer of the pipe to be gone (the probe is dead).
void AwaitEof(int fd) {
  char buf[256];
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (::read(fd, buf, sizeof(buf)) <= 0) return;
  }
  Fail("the probe outlived its wrapper");
}

struct ExecVariant {
  std::string name;
  std::vector<std::string> argv;
  EnvMap env;
};

// Microseconds from just before posix_spawn to the probe's first clock read.
double ExecOnce(const ExecVariant& v) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Fail("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  SpawnOptions spawn;
  spawn.argv = v.argv;
  spawn.env = v.env;
  spawn.stdout_fd = write_end.get();
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  spawn.stderr_fd = devnull.get();
  int64_t start = MonotonicNs();
  ChildProcess child = Must(ChildProcess::Spawn(spawn), "spawn " + v.name);
  write_end.Reset();
  std::string line = ReadLine(read_end.get(), std::chrono::seconds(10));
  if (line.find('\n') == std::string::npos) Fail(v.name + ": the probe never started");
  int64_t at = std::strtoll(line.c_str(), nullptr, 10);
  child.Kill();
  AwaitEof(read_end.get());
  return static_cast<double>(at - start) / 1000.0;
}

int RunExec(const Tools& tools, int runs, const std::string& json_path) {
  RuntimeApiServer server(RuntimeApiServer::Options{});
  Must(server.Start(HostPort{"127.0.0.1", 0}), "start the Runtime API server");
  const std::string probe = tools.bin_dir + "/anysnap-bench-probe";
  const fs::path shell_wrapper = tools.work / "exec-wrapper.sh";
  std::ofstream(shell_wrapper) << "#!/bin/sh\nexec \"$@\"\n";
  fs::permissions(shell_wrapper, fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
  EnvMap env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
                {"LAMBDA_TASK_ROOT", tools.work.string()},
                {"AWS_LAMBDA_RUNTIME_API", server.address().ToString()},
                {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
                {"AWS_LAMBDA_FUNCTION_NAME", "anysnap-bench"},
                {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"},
                {"_HANDLER", "index.handler"}};
  EnvMap wrapped = env;
  wrapped["ANYSNAP_RUNTIME"] = probe;
  wrapped["ANYSNAP_LOG_LEVEL"] = "warn";
  // The escape hatch execs its argv at once: what loading the binary and
  // reading the configuration cost, without the delegator.
  EnvMap disabled = wrapped;
  disabled["ANYSNAP_DISABLE"] = "1";
  // Lambda runs the wrapper with the java21 runtime's command line.
  std::vector<ExecVariant> variants = {
      {"direct exec", {probe}, env},
      {"#!/bin/sh exec \"$@\"", {shell_wrapper.string(), probe}, env},
      {"anysnap-wrapper",
       {tools.bin_dir + "/anysnap-wrapper", "/var/lang/bin/java", "-XX:+TieredCompilation", "-jar",
        "/var/runtime/lib/aws-lambda-java-runtime.jar"},
       wrapped},
      {"anysnap-wrapper, ANYSNAP_DISABLE=1", {tools.bin_dir + "/anysnap-wrapper", probe}, disabled},
  };
  std::vector<std::vector<double>> us(variants.size());
  for (int run = -3; run < runs; ++run) {  // three warm-up runs each, discarded
    for (size_t k = 0; k < variants.size(); ++k) {
      size_t i = (k + static_cast<size_t>(run + 3)) % variants.size();
      double t = ExecOnce(variants[i]);
      if (run >= 0) us[i].push_back(t);
    }
  }
  server.Stop();

  const double direct = Percentile(us[0], 50);
  std::ostringstream md, json;
  md << "| started through | median µs | p90 µs | p99 µs | added to direct exec, median µs |\n"
        "|---|---:|---:|---:|---:|\n";
  json << "{\"runs\": " << runs << ", \"variants\": [";
  for (size_t i = 0; i < variants.size(); ++i) {
    double med = Percentile(us[i], 50);
    md << "| " << variants[i].name << " | " << Fixed(med) << " | " << Fixed(Percentile(us[i], 90))
       << " | " << Fixed(Percentile(us[i], 99)) << " | "
       << (i == 0 ? std::string("—") : "+" + Fixed(med - direct)) << " |\n";
    json << (i ? ", " : "") << "{\"name\": \""
         << (i == 0   ? "direct"
             : i == 1 ? "sh"
             : i == 2 ? "wrapper"
                      : "wrapper_disabled")
         << "\", \"median_us\": " << Fixed(med, 1)
         << ", \"p90_us\": " << Fixed(Percentile(us[i], 90), 1)
         << ", \"p99_us\": " << Fixed(Percentile(us[i], 99), 1) << "}";
  }
  json << "]}\n";
  std::cout << md.str();
  if (!json_path.empty()) std::ofstream(json_path) << json.str();
  return 0;
}

// ---------------------------------------------------------------------------
// rss: the wrapper's memory, idle and under load.

// Where a process's resident memory is, from /proc/PID/smaps: KiB per group of
// mappings, in a fixed order.
std::vector<std::pair<std::string, uint64_t>> RssByMapping(pid_t pid) {
  std::vector<std::pair<std::string, uint64_t>> groups = {
      {"the anysnap-wrapper binary", 0}, {"glibc (libc, libm, ld.so)", 0},
      {"libstdc++, libgcc_s", 0},        {"libhttp_parser, libseccomp", 0},
      {"other shared libraries", 0},     {"anonymous (heap, thread stacks) and the rest", 0},
  };
  auto group_of = [](const std::string& path) -> size_t {
    auto base = path.substr(path.rfind('/') + 1);
    auto is = [&base](std::string_view prefix) { return base.starts_with(prefix); };
    if (path.empty() || path[0] != '/') return 5;
    if (base == "anysnap-wrapper") return 0;
    if (is("libc.so") || is("libm.so") || is("ld-linux")) return 1;
    if (is("libstdc++") || is("libgcc_s")) return 2;
    if (is("libhttp_parser") || is("libseccomp")) return 3;
    if (base.find(".so") != std::string::npos) return 4;
    return 5;
  };
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line, path;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17 &&
        line.find(' ') > line.find('-')) {
      // "start-end perms offset dev inode   path"
      std::istringstream fields(line);
      std::string range, perms, offset, dev, inode;
      fields >> range >> perms >> offset >> dev >> inode;
      path.clear();
      std::getline(fields >> std::ws, path);
    } else if (line.starts_with("Rss:")) {
      groups[group_of(path)].second += std::strtoull(line.c_str() + 4, nullptr, 10);
    }
  }
  return groups;
}

// The runtime of `rss`: echoes every event as its response, for ever.
int RunEchoRuntime() {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == nullptr) return 2;
  UpstreamClient client(Must(ParseHostPort(api), "AWS_LAMBDA_RUNTIME_API"));
  for (;;) {
    auto next = client.Call("GET", kNextPath, {}, "", kLongPoll);
    if (!next.ok() || next->status != 200) return 1;
    const std::string* id = FindHeader(next->headers, "Lambda-Runtime-Aws-Request-Id");
    if (id == nullptr) return 1;
    auto done = client.Call("POST", "/2018-06-01/runtime/invocation/" + *id + "/response",
                            {{"Content-Type", "application/json"}}, next->body);
    if (!done.ok()) return 1;
  }
}

// Samples a process's VmRSS every few milliseconds on a thread of its own.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { Loop(); }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  uint64_t max_kib() const { return max_.load(); }

 private:
  void Loop() {
    while (!stop_) {
      uint64_t v = StatusKiB(pid_, "VmRSS");
      if (v > max_.load()) max_ = v;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> max_{0};
  std::thread thread_;
};

std::string PayloadEvent(size_t size) {
  std::string e = R"({"payload":")";
  e.append(size > e.size() + 2 ? size - e.size() - 2 : 0, 'x');
  e += "\"}";
  return e;
}

int RunRss(const Tools& tools, const std::string& self, double seconds,
           const std::string& json_path) {
  RuntimeApiServer::Options o;
  o.keep_bodies = false;
  RuntimeApiServer server(o);
  Must(server.Start(HostPort{"127.0.0.1", 0}), "start the Runtime API server");
  SpawnOptions spawn;
  spawn.argv = {tools.bin_dir + "/anysnap-wrapper", "/var/lang/bin/java", "-jar",
                "/var/runtime/lib/aws-lambda-java-runtime.jar"};
  spawn.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
               {"LAMBDA_TASK_ROOT", tools.work.string()},
               {"AWS_LAMBDA_RUNTIME_API", server.address().ToString()},
               {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
               {"AWS_LAMBDA_FUNCTION_NAME", "anysnap-bench"},
               {"ANYSNAP_RUNTIME", self + " runtime-echo"},
               {"ANYSNAP_LOG_LEVEL", "warn"}};
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  spawn.stdout_fd = spawn.stderr_fd = devnull.get();
  ChildProcess wrapper = Must(ChildProcess::Spawn(spawn), "start anysnap-wrapper");
  const pid_t pid = wrapper.pid();
  auto parked = [&server](size_t nexts) {
    return server.WaitFor(
        [nexts](const std::vector<RuntimeApiCall>& calls) {
          return static_cast<size_t>(std::count_if(
                     calls.begin(), calls.end(),
                     [](const RuntimeApiCall& c) { return c.path == kNextPath; })) >= nexts;
        },
        std::chrono::seconds(10));
  };
  if (!parked(1)) Fail("the runtime never called next through the wrapper");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  struct Phase {
    std::string name;
    uint64_t rss_kib = 0, max_kib = 0, hwm_kib = 0;
    uint64_t invokes = 0;
  };
  std::vector<Phase> phases;
  phases.push_back(
      {"idle, runtime parked in next", StatusKiB(pid, "VmRSS"), 0, StatusKiB(pid, "VmHWM"), 0});
  const auto idle_groups = RssByMapping(pid);
  for (size_t size : {size_t{1024}, size_t{1024 * 1024}, size_t{6 * 1000 * 1000}}) {
    Phase p;
    p.name = "under load: " +
             std::string(size == 1024     ? "1 KB"
                         : size < 2000000 ? "1 MB"
                                          : "6 MB") +
             " events and responses, back to back";
    const std::string event = PayloadEvent(size);
    {
      RssSampler sampler(pid);
      auto until = Clock::now() + std::chrono::duration<double>(seconds);
      while (Clock::now() < until) {
        Invocation invocation;
        invocation.event = event;
        InvocationResult r = server.Invoke(std::move(invocation)).get();
        if (r.kind != InvocationResult::Kind::kResponse || r.body_bytes != event.size())
          Fail("invoke through the wrapper failed: " + r.error_type);
        ++p.invokes;
      }
      p.max_kib = sampler.max_kib();
    }
    p.rss_kib = StatusKiB(pid, "VmRSS");
    p.hwm_kib = StatusKiB(pid, "VmHWM");
    phases.push_back(p);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  phases.push_back(
      {"idle again, after the load", StatusKiB(pid, "VmRSS"), 0, StatusKiB(pid, "VmHWM"), 0});
  wrapper.Stop(std::chrono::seconds(5));
  server.Stop();

  std::ostringstream md, json;
  md << "| anysnap-wrapper (with its delegator) | VmRSS KiB | highest VmRSS sampled KiB | VmHWM "
        "KiB | invokes |\n|---|---:|---:|---:|---:|\n";
  json << "{\"phases\": [";
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& p = phases[i];
    md << "| " << p.name << " | " << p.rss_kib << " | "
       << (p.max_kib ? std::to_string(p.max_kib) : "—") << " | " << p.hwm_kib << " | "
       << (p.invokes ? std::to_string(p.invokes) : "—") << " |\n";
    json << (i ? ", " : "") << "{\"name\": \"" << p.name << "\", \"rss_kib\": " << p.rss_kib
         << ", \"max_kib\": " << p.max_kib << ", \"hwm_kib\": " << p.hwm_kib
         << ", \"invokes\": " << p.invokes << "}";
  }
  json << "], \"idle_by_mapping\": [";
  md << "\nWhere the idle RSS is (/proc/PID/smaps, Rss by mapping):\n\n"
        "| mappings | KiB |\n|---|---:|\n";
  for (size_t i = 0; i < idle_groups.size(); ++i) {
    md << "| " << idle_groups[i].first << " | " << idle_groups[i].second << " |\n";
    json << (i ? ", " : "") << "{\"name\": \"" << idle_groups[i].first
         << "\", \"kib\": " << idle_groups[i].second << "}";
  }
  json << "]}\n";
  std::cout << md.str();
  if (!json_path.empty()) std::ofstream(json_path) << json.str();
  return 0;
}

}  // namespace
}  // namespace anysnap

int main(int argc, char** argv) {
  using namespace anysnap;
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"anysnap-bench-system: streamed responses, wrapper start and RSS vs baselines"};
  app.require_subcommand(1);
  std::string bin_dir = fs::canonical("/proc/self/exe").parent_path().string();
  std::string nginx, json, work = "/tmp";
  int rounds = 3, runs = 200;
  uint64_t size_mb = 200;
  double seconds = 3;
  auto* stream = app.add_subcommand("stream", "a streamed response: direct, delegator, nginx");
  stream->add_option("--size-mb", size_mb, "response size in MiB")->capture_default_str();
  stream->add_option("--rounds", rounds, "transfers per path")->capture_default_str();
  stream->add_option("--nginx", nginx, "nginx binary for the baseline (none: skipped)");
  auto* exec = app.add_subcommand("exec", "wrapper start to runtime exec");
  exec->add_option("--runs", runs, "starts per variant")->capture_default_str();
  auto* rss = app.add_subcommand("rss", "wrapper + delegator RSS, idle and under load");
  rss->add_option("--seconds", seconds, "load per payload size")->capture_default_str();
  auto* echo = app.add_subcommand("runtime-echo", "(internal) the echo runtime of rss");
  for (auto* sub : {stream, exec, rss}) {
    sub->add_option("--json", json, "also write the figures to this JSON file");
    sub->add_option("--work", work, "scratch folder")->capture_default_str();
    sub->add_option("--bin-dir", bin_dir, "where the anysnap binaries are")->capture_default_str();
  }
  CLI11_PARSE(app, argc, argv);
  if (echo->parsed()) return RunEchoRuntime();

  Tools tools{bin_dir, nginx,
              fs::path(work) / ("anysnap-bench-system." + std::to_string(getpid()))};
  fs::create_directories(tools.work);
  int rc = 0;
  if (stream->parsed()) rc = RunStream(tools, size_mb, rounds, json);
  if (exec->parsed()) rc = RunExec(tools, runs, json);
  if (rss->parsed()) rc = RunRss(tools, fs::canonical("/proc/self/exe").string(), seconds, json);
  std::error_code ec;
  fs::remove_all(tools.work, ec);
  return rc;
}
