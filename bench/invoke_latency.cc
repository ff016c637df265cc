// anysnap-bench-invoke measures what the delegator adds to each invoke, side
// by side with the two baselines of design.md §4 in one run: the runtime
// talking to the Runtime API directly, and through nginx configured as a
// Runtime API reverse proxy.
//
// Three kinds of process, as on Lambda: the Runtime API server (this binary
// re-executed with --serve: a RuntimeApiServer plus the invoker that queues
// events and times them), the proxy under test (anysnap-delegator, or nginx),
// and the "runtime" (threads of this driver, each a plain blocking client on
// one keep-alive connection: GET next, then POST the response).
//
// The clock: an invoke is timed inside the server process, from Invoke() to
// the moment its result future is ready (the next answered, the event relayed
// to the runtime, the response posted back and accepted). Both ends of that
// interval are in one process, so no cross-process clock or pipe wake-up sits
// inside it; the timings travel back to the driver over a pipe afterwards.
//
// Two ways to invoke:
//  - parked (1 runtime): like an idle Lambda sandbox, the runtime is already
//    waiting in next when the invoke comes. The runtime writes a byte on a
//    "ready" pipe each time it has sent a next; the invoker waits for it,
//    then for a settle time so the next has crossed the proxy, then invokes.
//    Afterwards the server's call log proves each next arrived before its
//    Invoke() (rounds where one did not are counted and reported). A short
//    back-to-back burst after the parked invokes gives the throughput.
//  - closed loop (16 runtimes, max_concurrency 16, managed-instances mode):
//    16 invoker threads each invoke again as soon as their result is in;
//    latency then includes waiting for a free runtime, and throughput is the
//    measured invokes over the round's wall time.
//
// Targets are interleaved round by round (direct, delegator, nginx, with the
// order rotated every round) so drift hits all three alike. Every round ends
// with one stop event per runtime, which sends that runtime out of its loop
// without another next, so no runtime of one target is left polling while the
// next round runs against another.
//
// Output: a Markdown fragment (tables and notes) on stdout; progress on stderr.
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/log.h"
#include "anysnap/net.h"
#include "anysnap/status.h"
#include "anysnap/unique_fd.h"
#include "nginx_baseline.h"
#include "runtime_api_server.h"

extern char** environ;

namespace anysnap::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kStopEvent = R"({"stop":true})";
constexpr std::string_view kStopResponse = "{}";
// The server process reads rounds on stdin, answers on stdout, and gets the
// runtime's ready bytes on this descriptor.
constexpr int kReadyFd = 3;
// Nothing in a healthy round waits this long.
constexpr auto kStuck = std::chrono::seconds(60);

// ---------------------------------------------------------------------------
// Process-wide failure: the bench is only worth something when every invoke
// went through, so any fault ends the run (after stopping what it started).

std::mutex g_children_mu;
std::vector<pid_t> g_children;  // guarded by g_children_mu

[[noreturn]] void Fatal(const std::string& message) {
  std::fprintf(stderr, "anysnap-bench-invoke: %s\n", message.c_str());
  std::lock_guard<std::mutex> lock(g_children_mu);
  for (pid_t pid : g_children) ::kill(pid, SIGKILL);
  std::_Exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Fatal(what + ": " + r.status().message());
  return std::move(r).value();
}

// An event or response body of exactly `size` bytes: {"payload":"xxx..."}.
std::string MakeBody(size_t size) {
  std::string s = "{\"payload\":\"";
  assert(size >= s.size() + 2);
  s.append(size - s.size() - 2, 'x');
  s += "\"}";
  return s;
}

std::string SizeName(size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KB";
  return std::to_string(bytes) + " B";
}

// ---------------------------------------------------------------------------
// CPU placement.

int OnlineCpus() { return static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN))); }

cpu_set_t CpuMask(std::optional<int> cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu) {
    CPU_SET(*cpu, &set);
  } else {
    for (int i = 0; i < OnlineCpus(); ++i) CPU_SET(i, &set);
  }
  return set;
}

// Pins the calling thread to `cpu` (nullopt: every online CPU).
void PinThisThread(std::optional<int> cpu) {
  cpu_set_t set = CpuMask(cpu);
  int err = ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
  if (err != 0) Fatal(std::string("pthread_setaffinity_np: ") + std::strerror(err));
}

// Every process whose parent is `root`, and theirs, with `root` first.
std::vector<pid_t> ProcessTree(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    if (rest >> state >> ppid) children[ppid].push_back(std::stoi(name));
  }
  std::vector<pid_t> tree{root};
  for (size_t i = 0; i < tree.size(); ++i) {
    for (pid_t c : children[tree[i]]) tree.push_back(c);
  }
  return tree;
}

// What `taskset -a -p` does: sets the CPU mask of every thread of `root` and
// of its descendants. Threads they start later inherit it.
void PinProcessTree(pid_t root, std::optional<int> cpu) {
  cpu_set_t set = CpuMask(cpu);
  for (pid_t pid : ProcessTree(root)) {
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      pid_t tid = std::stoi(task.path().filename());
      if (::sched_setaffinity(tid, sizeof(set), &set) != 0 && errno != ESRCH)
        Fatal("sched_setaffinity(" + std::to_string(tid) + "): " + std::strerror(errno));
    }
  }
}

// ---------------------------------------------------------------------------
// Child processes.

// ChildProcess is one process the driver started: SIGTERM and reaped when it
// goes (SIGKILL after 5 s). Move-only.
class ChildProcess {
 public:
  struct Spec {
    std::vector<std::string> argv;
    // {child fd, parent fd}: descriptors the child gets; the rest are closed.
    std::vector<std::pair<int, int>> fds;
    std::string output_path;  // stdout/stderr of the child when not in `fds`
  };

  ChildProcess() = default;
  ChildProcess(ChildProcess&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
      Stop();
      pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
  }
  ~ChildProcess() { Stop(); }

  static ChildProcess Spawn(const Spec& spec) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    bool has_out = false, has_err = false;
    for (auto [child, parent] : spec.fds) {
      assert(parent > 2 && parent != child && "parent descriptors are moved out of the way");
      posix_spawn_file_actions_adddup2(&actions, parent, child);
      has_out = has_out || child == 1;
      has_err = has_err || child == 2;
    }
    if (!spec.output_path.empty()) {
      if (!has_out)
        posix_spawn_file_actions_addopen(&actions, 1, spec.output_path.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (!has_err) posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int err = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) Fatal("cannot start " + spec.argv[0] + ": " + std::strerror(err));
    ChildProcess child;
    child.pid_ = pid;
    std::lock_guard<std::mutex> lock(g_children_mu);
    g_children.push_back(pid);
    return child;
  }

  pid_t pid() const { return pid_; }

  // Returns true iff the child has exited (and reaps it).
  bool Exited() {
    if (pid_ < 0) return true;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      Forget();
      return true;
    }
    return false;
  }

  void Stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return Forget();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    Forget();
  }

 private:
  void Forget() {
    std::lock_guard<std::mutex> lock(g_children_mu);
    g_children.erase(std::remove(g_children.begin(), g_children.end(), pid_), g_children.end());
    pid_ = -1;
  }

  pid_t pid_ = -1;
};

// A pipe whose ends sit above the standard descriptors and the ready one, so
// they can be dup2'ed anywhere in a child.
std::pair<UniqueFd, UniqueFd> HighPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Fatal(std::string("pipe2: ") + std::strerror(errno));
  UniqueFd r(::fcntl(fds[0], F_DUPFD_CLOEXEC, 10)), w(::fcntl(fds[1], F_DUPFD_CLOEXEC, 10));
  ::close(fds[0]);
  ::close(fds[1]);
  if (!r.valid() || !w.valid()) Fatal(std::string("fcntl: ") + std::strerror(errno));
  return {std::move(r), std::move(w)};
}

// A loopback port free right now (bound to port 0, read back, released).
uint16_t FreePort() {
  UniqueFd fd = Must(ListenTcp({"127.0.0.1", 0}), "reserving a port");
  return Must(LocalAddress(fd.get()), "reading the reserved port").port;
}

// Waits until `address` accepts connections or `child` exits.
void AwaitListening(const HostPort& address, ChildProcess& child, const std::string& what,
                    const std::string& log_path) {
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (ConnectTcp(address).ok()) return;
    if (child.Exited()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::ifstream log(log_path);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  Fatal(what + " did not start listening on " + address.ToString() + "; its output:\n" + text);
}

// ---------------------------------------------------------------------------
// The runtime side.

// RuntimeClient is the bench's runtime: a plain blocking HTTP/1.1 client on
// one keep-alive connection, the way runtime interface clients talk to the
// Runtime API. Responses are parsed by http_parser. Reconnects when the other
// side asked to close. Used by one thread at a time.
class RuntimeClient {
 public:
  explicit RuntimeClient(HostPort address) : address_(std::move(address)) {
    http_parser_settings_init(&settings_);
    settings_.on_header_field = &OnHeaderField;
    settings_.on_header_value = &OnHeaderValue;
    settings_.on_headers_complete = &OnHeadersComplete;
    settings_.on_body = &OnBody;
    settings_.on_message_complete = &OnMessageComplete;
    buf_.resize(64 * 1024);
  }
  RuntimeClient(const RuntimeClient&) = delete;
  RuntimeClient& operator=(const RuntimeClient&) = delete;

  // Sends GET invocation/next.
  Status SendNext() {
    ANYSNAP_RETURN_IF_ERROR(EnsureConnected());
    return SendAll(fd_.get(),
                   "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
                   "Host: runtime-api\r\nUser-Agent: anysnap-bench\r\n\r\n");
  }

  // Reads the answer to a next: the event lands in body(), its id in request_id().
  Status ReadEvent() {
    ANYSNAP_RETURN_IF_ERROR(ReadResponse());
    if (status_ != 200) return Status::ProtocolError("next answered " + std::to_string(status_));
    if (request_id_.empty()) return Status::ProtocolError("next answered without a request id");
    return Status::Ok();
  }

  // POSTs `body` as the response to `request_id` and reads the 202.
  Status PostResponse(const std::string& request_id, std::string_view body) {
    ANYSNAP_RETURN_IF_ERROR(EnsureConnected());
    std::string head = "POST /2018-06-01/runtime/invocation/" + request_id +
                       "/response HTTP/1.1\r\nHost: runtime-api\r\nUser-Agent: anysnap-bench\r\n"
                       "Content-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n";
    ANYSNAP_RETURN_IF_ERROR(SendHeadAndBody(head, body));
    ANYSNAP_RETURN_IF_ERROR(ReadResponse());
    if (status_ != 202)
      return Status::ProtocolError("response answered " + std::to_string(status_) + ": " + body_);
    return Status::Ok();
  }

  const std::string& body() const { return body_; }
  const std::string& request_id() const { return request_id_; }

 private:
  Status EnsureConnected() {
    if (fd_.valid()) return Status::Ok();
    auto fd = ConnectTcp(address_);
    if (!fd.ok()) return fd.status();
    fd_ = std::move(fd.value());
    timeval tv{static_cast<time_t>(kStuck.count()), 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    buf_begin_ = buf_end_ = 0;
    return Status::Ok();
  }

  // One sendmsg for head and body, as a runtime client with a gathered write.
  Status SendHeadAndBody(std::string_view head, std::string_view body) {
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
    size_t first = 0;
    while (first < 2) {
      msghdr msg{};
      msg.msg_iov = iov + first;
      msg.msg_iovlen = 2 - first;
      ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("sendmsg", errno);
      }
      auto left = static_cast<size_t>(n);
      while (first < 2 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
      if (first < 2) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return Status::Ok();
  }

  Status ReadResponse() {
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    status_ = 0;
    request_id_.clear();
    body_.clear();
    field_.clear();
    value_.clear();
    in_value_ = false;
    complete_ = false;
    for (;;) {
      if (buf_begin_ == buf_end_) {
        ssize_t n;
        do {
          n = ::recv(fd_.get(), buf_.data(), buf_.size(), 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return PosixError("recv", errno);
        buf_begin_ = 0;
        buf_end_ = static_cast<size_t>(n);
        if (n == 0) {
          http_parser_execute(&parser_, &settings_, nullptr, 0);
          fd_.Reset();
          if (complete_) return Status::Ok();
          return Status::Unavailable("connection closed in the middle of an answer");
        }
      }
      size_t used = http_parser_execute(&parser_, &settings_, buf_.data() + buf_begin_,
                                        buf_end_ - buf_begin_);
      buf_begin_ += used;
      auto err = HTTP_PARSER_ERRNO(&parser_);
      if (err == HPE_PAUSED || complete_) {
        if (!http_should_keep_alive(&parser_)) fd_.Reset();
        return Status::Ok();
      }
      if (err != HPE_OK)
        return Status::ProtocolError(std::string("bad answer: ") + http_errno_description(err));
    }
  }

  static RuntimeClient* Self(http_parser* p) { return static_cast<RuntimeClient*>(p->data); }
  void EndHeader() {
    if (EqualsIgnoreCase(field_, "Lambda-Runtime-Aws-Request-Id")) request_id_ = value_;
    field_.clear();
    value_.clear();
    in_value_ = false;
  }
  static int OnHeaderField(http_parser* p, const char* at, size_t len) {
    RuntimeClient* c = Self(p);
    if (c->in_value_) c->EndHeader();
    c->field_.append(at, len);
    return 0;
  }
  static int OnHeaderValue(http_parser* p, const char* at, size_t len) {
    RuntimeClient* c = Self(p);
    c->in_value_ = true;
    c->value_.append(at, len);
    return 0;
  }
  static int OnHeadersComplete(http_parser* p) {
    RuntimeClient* c = Self(p);
    if (c->in_value_) c->EndHeader();
    c->status_ = static_cast<int>(p->status_code);
    if (p->content_length != ULLONG_MAX && p->content_length < (64u << 20))
      c->body_.reserve(p->content_length);
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, size_t len) {
    Self(p)->body_.append(at, len);
    return 0;
  }
  static int OnMessageComplete(http_parser* p) {
    Self(p)->complete_ = true;
    http_parser_pause(p, 1);
    return 0;
  }

  const HostPort address_;
  UniqueFd fd_;
  http_parser parser_{};
  http_parser_settings settings_{};
  std::vector<char> buf_;
  size_t buf_begin_ = 0, buf_end_ = 0;
  int status_ = 0;
  std::string request_id_, body_, field_, value_;
  bool in_value_ = false;
  bool complete_ = false;
};

// One runtime's loop for one round: next, respond, until the stop event.
// With `ready_fd`, writes a byte there each time a next has been sent.
struct RuntimeLoop {
  RuntimeClient* client;
  int ready_fd = -1;
  size_t payload = 0;
  const std::string* response = nullptr;
  std::optional<int> cpu;
  Status result;
  int invokes = 0;

  void Run() {
    if (cpu) PinThisThread(cpu);
    for (;;) {
      Status s = client->SendNext();
      if (!s.ok()) return Fail(s.WithContext("sending next"));
      if (ready_fd >= 0 && ::write(ready_fd, "r", 1) != 1)
        return Fail(PosixError("writing the ready pipe", errno));
      s = client->ReadEvent();
      if (!s.ok()) return Fail(s.WithContext("reading next"));
      if (client->body() == kStopEvent) {
        s = client->PostResponse(client->request_id(), kStopResponse);
        if (!s.ok()) return Fail(s.WithContext("answering the stop event"));
        return;
      }
      if (client->body().size() != payload)
        return Fail(Status::ProtocolError("event of " + std::to_string(client->body().size()) +
                                          " bytes, expected " + std::to_string(payload)));
      s = client->PostResponse(client->request_id(), *response);
      if (!s.ok()) return Fail(s.WithContext("posting the response"));
      ++invokes;
    }
  }
  void Fail(const Status& s) { result = s; }
};

// ---------------------------------------------------------------------------
// The server process (--serve).

struct RoundSpec {
  size_t payload = 0;
  int measured = 0;     // timed invokes
  int burst = 0;        // parked mode: back-to-back invokes timed as a whole
  int concurrency = 1;  // 1: parked; more: that many invoker threads, closed loop
};

struct RoundReport {
  int errors = 0;
  int not_parked = 0;  // parked invokes whose next came late (dropped from latency_ns)
  int64_t measured_wall_ns = 0;
  int burst = 0;
  int64_t burst_wall_ns = 0;
  std::vector<int64_t> latency_ns;
  std::string first_error;
  // Filled in by the driver:
  int64_t proxy_cpu_ns = 0;  // CPU time the proxy spent during the round
  int invokes = 0;           // all invokes of the round, stops included

  // Drops the parked invokes at `late` (ascending indices into latency_ns).
  void DropLate(const std::vector<size_t>& late) {
    for (auto it = late.rbegin(); it != late.rend(); ++it)
      latency_ns.erase(latency_ns.begin() + static_cast<ptrdiff_t>(*it));
    not_parked += static_cast<int>(late.size());
  }
};

using Span = std::pair<Clock::time_point, Clock::time_point>;

int64_t Ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// ServerSide owns the RuntimeApiServer and runs the invoker side of rounds.
class ServerSide {
 public:
  ServerSide(int max_concurrency, std::chrono::microseconds settle)
      : server_(MakeOptions(max_concurrency)), settle_(settle) {}

  Status Start() { return server_.Start({"127.0.0.1", 0}); }
  const HostPort& address() const { return server_.address(); }

  RoundReport Run(const RoundSpec& spec) {
    if (event_.size() != spec.payload) event_ = MakeBody(spec.payload);
    RoundReport report;
    if (spec.concurrency == 1) {
      RunParked(spec, report);
    } else {
      RunClosedLoop(spec, report);
    }
    return report;
  }

 private:
  static RuntimeApiServer::Options MakeOptions(int max_concurrency) {
    RuntimeApiServer::Options o;
    o.max_concurrency = max_concurrency;
    o.keep_bodies = false;  // counted, not stored: the bench checks sizes only
    return o;
  }

  // One invoke; returns its latency, or -1 after recording an error.
  int64_t InvokeOnce(std::string_view event, size_t expect_bytes, RoundReport& report,
                     std::mutex* mu, Clock::time_point* started = nullptr) {
    Invocation inv;
    inv.event = std::string(event);  // copied before the clock starts
    Clock::time_point t0 = Clock::now();
    std::future<InvocationResult> f = server_.Invoke(std::move(inv));
    bool ready = f.wait_for(kStuck) == std::future_status::ready;
    Clock::time_point t1 = Clock::now();
    if (started) *started = t0;
    std::string error;
    if (!ready) {
      error = "no result within " + std::to_string(kStuck.count()) + " s";
    } else {
      InvocationResult r = f.get();
      if (r.kind != InvocationResult::Kind::kResponse) {
        error = "invocation failed: " + r.error_type + " " + r.body;
      } else if (r.body_bytes != expect_bytes) {
        error = "response of " + std::to_string(r.body_bytes) + " bytes, expected " +
                std::to_string(expect_bytes);
      }
    }
    if (!error.empty()) {
      std::unique_lock<std::mutex> lock;
      if (mu) lock = std::unique_lock<std::mutex>(*mu);
      if (report.errors++ == 0) report.first_error = error;
      return -1;
    }
    return Ns(t1 - t0);
  }

  // Waits for the runtime's ready byte (a next was sent).
  bool AwaitReady() {
    pollfd p{kReadyFd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kStuck.count() * 1000)) != 1) return false;
    char c;
    return ::read(kReadyFd, &c, 1) == 1;
  }

  void DrainReady() {
    char sink[4096];
    for (;;) {
      pollfd p{kReadyFd, POLLIN, 0};
      if (::poll(&p, 1, 0) != 1 || ::read(kReadyFd, sink, sizeof(sink)) <= 0) return;
    }
  }

  void RunParked(const RoundSpec& spec, RoundReport& report) {
    std::vector<Span>& spans = parked_rounds_.emplace_back();
    for (int i = 0; i < spec.measured; ++i) {
      if (!AwaitReady()) {
        if (report.errors++ == 0) report.first_error = "the runtime never sent its next";
        return;
      }
      timespec settle{0, static_cast<long>(settle_.count() * 1000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, 0, &settle, nullptr);
      Clock::time_point t0;
      int64_t ns = InvokeOnce(event_, spec.payload, report, nullptr, &t0);
      if (ns < 0) return;
      report.latency_ns.push_back(ns);
      spans.emplace_back(t0, t0 + std::chrono::nanoseconds(ns));
    }
    Clock::time_point b0 = Clock::now();
    for (int i = 0; i < spec.burst; ++i) {
      if (InvokeOnce(event_, spec.payload, report, nullptr) < 0) return;
    }
    report.burst = spec.burst;
    report.burst_wall_ns = Ns(Clock::now() - b0);
    InvokeOnce(kStopEvent, kStopResponse.size(), report, nullptr);
    DrainReady();
  }

 public:
  // For every parked round since the last check, in order: the indices of
  // its invokes that were not served by a next already waiting, i.e. a next
  // that arrived before Invoke() and was answered within the invoke. Such an
  // invoke timed the runtime's turnaround as well. One pass over the call log
  // (a copy of it, so done once per configuration, outside the rounds).
  std::vector<std::vector<size_t>> CheckParked() {
    std::vector<Span> nexts;  // (answered, received)
    for (const RuntimeApiCall& c : server_.calls()) {
      if (c.method == "GET" && c.path.ends_with("/invocation/next") && c.status == 200)
        nexts.emplace_back(c.answered, c.received);
    }
    std::sort(nexts.begin(), nexts.end());
    std::vector<std::vector<size_t>> late(parked_rounds_.size());
    for (size_t r = 0; r < parked_rounds_.size(); ++r) {
      const std::vector<Span>& spans = parked_rounds_[r];
      for (size_t i = 0; i < spans.size(); ++i) {
        auto [t0, t1] = spans[i];
        auto it = std::lower_bound(nexts.begin(), nexts.end(), Span(t0, Clock::time_point()));
        bool parked = it != nexts.end() && it->first <= t1 && it->second < t0;
        if (!parked) late[r].push_back(i);
      }
    }
    parked_rounds_.clear();
    return late;
  }

 private:
  void RunClosedLoop(const RoundSpec& spec, RoundReport& report) {
    std::mutex mu;
    std::vector<std::vector<int64_t>> per_thread(spec.concurrency);
    std::vector<std::thread> threads;
    Clock::time_point t0 = Clock::now();
    for (int t = 0; t < spec.concurrency; ++t) {
      int quota = spec.measured / spec.concurrency + (t < spec.measured % spec.concurrency);
      threads.emplace_back([&, t, quota] {
        for (int i = 0; i < quota; ++i) {
          int64_t ns = InvokeOnce(event_, spec.payload, report, &mu);
          if (ns < 0) return;
          per_thread[t].push_back(ns);
        }
      });
    }
    for (auto& th : threads) th.join();
    report.measured_wall_ns = Ns(Clock::now() - t0);
    for (auto& v : per_thread)
      report.latency_ns.insert(report.latency_ns.end(), v.begin(), v.end());
    // One stop per runtime: each takes one and leaves, so each gets exactly one.
    std::vector<std::future<InvocationResult>> stops;
    for (int t = 0; t < spec.concurrency; ++t) {
      Invocation inv;
      inv.event = std::string(kStopEvent);
      stops.push_back(server_.Invoke(std::move(inv)));
    }
    for (auto& f : stops) {
      if (f.wait_for(kStuck) != std::future_status::ready && report.errors++ == 0)
        report.first_error = "a stop event was never answered";
    }
  }

  RuntimeApiServer server_;
  const std::chrono::microseconds settle_;
  std::string event_;
  std::vector<std::vector<Span>> parked_rounds_;  // (Invoke(), result) of each timed invoke
};

// Protocol on stdin/stdout, one line each way:
//   -> ROUND <payload> <measured> <burst> <concurrency>
//   <- DONE <errors> <measured_wall_ns> <burst> <burst_wall_ns> <n> <ns>... [| error]
//   -> CHECK
//   <- LATE <rounds> then per parked round: <k> <index>... (see CheckParked)
int ServeMain(int max_concurrency, int settle_us) {
  Log().Configure("anysnap-bench-server", LogLevel::kWarn, LogFormat::kText);
  ::signal(SIGPIPE, SIG_IGN);
  ServerSide side(max_concurrency, std::chrono::microseconds(settle_us));
  Status s = side.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "anysnap-bench-invoke --serve: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("ADDR %s\n", side.address().ToString().c_str());
  std::fflush(stdout);
  char* line = nullptr;
  size_t cap = 0;
  while (::getline(&line, &cap, stdin) > 0) {
    if (std::strncmp(line, "CHECK", 5) == 0) {
      std::vector<std::vector<size_t>> late = side.CheckParked();
      std::string out = "LATE " + std::to_string(late.size());
      for (const auto& round : late) {
        out += ' ' + std::to_string(round.size());
        for (size_t i : round) out += ' ' + std::to_string(i);
      }
      out += '\n';
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      continue;
    }
    RoundSpec spec;
    if (std::sscanf(line, "ROUND %zu %d %d %d", &spec.payload, &spec.measured, &spec.burst,
                    &spec.concurrency) != 4)
      break;
    RoundReport r = side.Run(spec);
    std::string out = "DONE " + std::to_string(r.errors) + ' ' +
                      std::to_string(r.measured_wall_ns) + ' ' + std::to_string(r.burst) + ' ' +
                      std::to_string(r.burst_wall_ns) + ' ' + std::to_string(r.latency_ns.size());
    for (int64_t ns : r.latency_ns) out += ' ' + std::to_string(ns);
    if (!r.first_error.empty()) out += " | " + r.first_error;
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  std::free(line);
  return 0;
}

// ---------------------------------------------------------------------------
// The driver.

enum Target { kDirect = 0, kDelegator = 1, kNginx = 2 };
constexpr std::array<const char*, 3> kTargetNames = {"direct", "delegator", "nginx"};

struct Tools {
  std::string self;       // this binary
  std::string delegator;  // anysnap-delegator
  std::string nginx;
  std::string work;  // temp dir for configs and logs
};

// Environment is one set of the three: the server process, the delegator and
// nginx in front of it, and the runtime's keep-alive connections to each.
class Environment {
 public:
  Environment(const Tools& tools, int max_concurrency, int runtimes, int settle_us,
              const std::string& tag) {
    dir_ = tools.work + "/" + tag;
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);

    auto [cmd_r, cmd_w] = HighPipe();
    auto [rep_r, rep_w] = HighPipe();
    auto [ready_r, ready_w] = HighPipe();
    server_ = ChildProcess::Spawn(
        {{tools.self, "--serve", "--max-concurrency", std::to_string(max_concurrency),
          "--settle-us", std::to_string(settle_us)},
         {{0, cmd_r.get()}, {1, rep_w.get()}, {kReadyFd, ready_r.get()}},
         ""});
    to_server_ = ::fdopen(cmd_w.Release(), "w");
    from_server_ = ::fdopen(rep_r.Release(), "r");
    ready_w_ = std::move(ready_w);
    std::string line = ReadLine();
    if (line.rfind("ADDR ", 0) != 0) Fatal("the server process said \"" + line + "\"");
    addresses_[kDirect] = Must(ParseHostPort(line.substr(5)), "server address");

    addresses_[kDelegator] = {"127.0.0.1", FreePort()};
    std::string dlog = dir_ + "/delegator.log";
    delegator_ =
        ChildProcess::Spawn({{tools.delegator, "--listen", addresses_[kDelegator].ToString(),
                              "--upstream", addresses_[kDirect].ToString(), "--log-level", "warn"},
                             {},
                             dlog});
    AwaitListening(addresses_[kDelegator], delegator_, "anysnap-delegator", dlog);

    addresses_[kNginx] = {"127.0.0.1", FreePort()};
    std::string conf = dir_ + "/nginx.conf";
    std::ofstream(conf) << NginxReverseProxyConfig(dir_, addresses_[kNginx].port,
                                                   addresses_[kDirect]);
    std::string nlog = dir_ + "/nginx.out";
    nginx_ = ChildProcess::Spawn(
        {{tools.nginx, "-p", dir_, "-c", conf, "-e", dir_ + "/nginx-error.log"}, {}, nlog});
    AwaitListening(addresses_[kNginx], nginx_, "nginx", dir_ + "/nginx-error.log");

    for (int t = 0; t < 3; ++t) {
      for (int i = 0; i < runtimes; ++i)
        clients_[t].push_back(std::make_unique<RuntimeClient>(addresses_[t]));
    }
  }

  ~Environment() {
    if (to_server_) std::fclose(to_server_);  // EOF ends the server's loop
    if (from_server_) std::fclose(from_server_);
  }

  const HostPort& address(Target t) const { return addresses_[t]; }

  // CPU time spent so far by every thread of the proxy of `target` (0 for
  // direct): the sum of their schedstat run times, in ns.
  int64_t ProxyCpuNs(Target target) const {
    if (target == kDirect) return 0;
    pid_t root = target == kDelegator ? delegator_.pid() : nginx_.pid();
    int64_t total = 0;
    for (pid_t pid : ProcessTree(root)) {
      std::error_code ec;
      for (const auto& task :
           std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "schedstat");
        int64_t ns = 0;
        if (in >> ns) total += ns;
      }
    }
    return total;
  }

  // Drops from `reports` (every parked round since the last call, in the
  // order they ran) the invokes whose next was not already waiting.
  void DropLate(const std::vector<RoundReport*>& reports) {
    std::fprintf(to_server_, "CHECK\n");
    std::fflush(to_server_);
    std::string line = ReadLine();
    std::istringstream in(line);
    std::string word;
    size_t rounds = 0;
    in >> word >> rounds;
    if (word != "LATE" || !in || rounds != reports.size())
      Fatal("the server process said \"" + line.substr(0, 200) + "\" to CHECK");
    for (RoundReport* r : reports) {
      size_t k = 0;
      in >> k;
      std::vector<size_t> late(k);
      for (auto& i : late) in >> i;
      if (!in) Fatal("the server process gave a short LATE line");
      r->DropLate(late);
    }
  }

  // Pins the proxy processes (every thread) to `cpu`, or frees them.
  void PinProxies(std::optional<int> cpu) {
    PinProcessTree(delegator_.pid(), cpu);
    PinProcessTree(nginx_.pid(), cpu);
  }

  // Runs one round against `target` with the runtime threads on `runtime_cpu`.
  RoundReport Round(Target target, const RoundSpec& spec, const std::string& response,
                    std::optional<int> runtime_cpu) {
    int64_t cpu_before = ProxyCpuNs(target);
    std::fprintf(to_server_, "ROUND %zu %d %d %d\n", spec.payload, spec.measured, spec.burst,
                 spec.concurrency);
    std::fflush(to_server_);
    std::vector<RuntimeLoop> loops(spec.concurrency);
    std::vector<std::thread> threads;
    for (int i = 0; i < spec.concurrency; ++i) {
      loops[i].client = clients_[target][i].get();
      loops[i].ready_fd = spec.concurrency == 1 ? ready_w_.get() : -1;
      loops[i].payload = spec.payload;
      loops[i].response = &response;
      loops[i].cpu = runtime_cpu;
    }
    for (auto& loop : loops) threads.emplace_back([&loop] { loop.Run(); });
    // A failed invoke ends the run here, before joining runtimes that may be
    // left waiting in a next.
    RoundReport report = ParseReport(ReadLine(), target);
    for (auto& th : threads) th.join();
    for (auto& loop : loops) {
      if (!loop.result.ok())
        Fatal(std::string(kTargetNames[target]) + " runtime: " + loop.result.message() +
              " (logs in " + dir_ + ")");
    }
    report.proxy_cpu_ns = ProxyCpuNs(target) - cpu_before;
    report.invokes = spec.measured + spec.burst + spec.concurrency;  // with the stops
    return report;
  }

 private:
  std::string ReadLine() {
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t n = ::getline(&buf, &cap, from_server_);
    std::string line = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    std::free(buf);
    if (line.empty()) Fatal("the server process ended unexpectedly");
    if (line.back() == '\n') line.pop_back();
    return line;
  }

  RoundReport ParseReport(const std::string& line, Target target) {
    RoundReport r;
    std::istringstream in(line);
    std::string word;
    size_t n = 0;
    in >> word >> r.errors >> r.measured_wall_ns >> r.burst >> r.burst_wall_ns >> n;
    if (word != "DONE" || !in) Fatal("the server process said \"" + line.substr(0, 200) + "\"");
    r.latency_ns.resize(n);
    for (auto& v : r.latency_ns) in >> v;
    if (r.errors > 0) {
      size_t bar = line.find(" | ");
      Fatal(std::string(kTargetNames[target]) + ": " + std::to_string(r.errors) +
            " failed invokes, first: " + (bar == std::string::npos ? "?" : line.substr(bar + 3)) +
            " (logs in " + dir_ + ")");
    }
    return r;
  }

  std::string dir_;
  ChildProcess server_, delegator_, nginx_;
  FILE* to_server_ = nullptr;
  FILE* from_server_ = nullptr;
  UniqueFd ready_w_;
  std::array<HostPort, 3> addresses_;
  std::array<std::vector<std::unique_ptr<RuntimeClient>>, 3> clients_;
};

// Everything measured for one target in one configuration.
struct Samples {
  std::vector<int64_t> latency_ns;
  int64_t invokes_timed = 0;  // invokes behind the throughput figure
  int64_t wall_ns = 0;
  int not_parked = 0;
  int64_t proxy_cpu_ns = 0;
  int64_t invokes = 0;                  // behind proxy_cpu_ns
  std::vector<double> round_median_us;  // one per round, in the order they ran

  void Add(const RoundReport& r, int concurrency) {
    latency_ns.insert(latency_ns.end(), r.latency_ns.begin(), r.latency_ns.end());
    not_parked += r.not_parked;
    proxy_cpu_ns += r.proxy_cpu_ns;
    invokes += r.invokes;
    round_median_us.push_back(MedianUs(r.latency_ns));
    if (concurrency == 1) {
      invokes_timed += r.burst;
      wall_ns += r.burst_wall_ns;
    } else {
      invokes_timed += static_cast<int64_t>(r.latency_ns.size());
      wall_ns += r.measured_wall_ns;
    }
  }
  // The q-quantile of `ns` (nearest rank), in µs.
  static double QuantileUs(std::vector<int64_t> ns, double q) {
    if (ns.empty()) return 0;
    std::sort(ns.begin(), ns.end());
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[std::clamp<size_t>(rank, 1, ns.size()) - 1]) / 1000.0;
  }
  static double MedianUs(const std::vector<int64_t>& ns) { return QuantileUs(ns, 0.5); }
  double Median() const { return MedianUs(latency_ns); }
  double P99() const { return QuantileUs(latency_ns, 0.99); }
  double CpuUsPerInvoke() const {
    return invokes > 0 ? static_cast<double>(proxy_cpu_ns) / 1000.0 / static_cast<double>(invokes)
                       : 0;
  }
  double Throughput() const {
    return wall_ns > 0 ? static_cast<double>(invokes_timed) * 1e9 / static_cast<double>(wall_ns)
                       : 0;
  }
};

using TargetSamples = std::array<Samples, 3>;

struct Plan {
  size_t payload;
  int concurrency;
  int measured;  // per round
  int burst;     // per round (parked mode)
};

// Runs `rounds` interleaved rounds (after one discarded warm-up round per
// target) of `plan` in `env`; `place` is called before each target's round.
TargetSamples Measure(Environment& env, const Plan& plan, int rounds,
                      const std::function<std::optional<int>(Target)>& place) {
  std::string response = MakeBody(plan.payload);
  // Every round's report, in the order they ran (warm-up rounds first).
  std::vector<std::pair<Target, RoundReport>> reports;
  RoundSpec warm{plan.payload, std::max(2, plan.measured / 4), 0, plan.concurrency};
  for (int t = 0; t < 3; ++t)
    reports.emplace_back(Target(t), env.Round(Target(t), warm, response, place(Target(t))));
  RoundSpec spec{plan.payload, plan.measured, plan.burst, plan.concurrency};
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 3; ++k) {
      Target t = Target((r + k) % 3);  // rotated so no target always goes first
      reports.emplace_back(t, env.Round(t, spec, response, place(t)));
    }
  }
  if (plan.concurrency == 1) {
    std::vector<RoundReport*> all;
    for (auto& [t, r] : reports) all.push_back(&r);
    env.DropLate(all);
  }
  TargetSamples samples;
  for (size_t i = 3; i < reports.size(); ++i)
    samples[reports[i].first].Add(reports[i].second, plan.concurrency);
  return samples;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string Signed(double v) { return (v >= 0 ? "+" : "") + Fixed(v, 0); }

// "med / p99" cells, added latency, ratio and the verdict for one row.
struct RowFigures {
  std::string cells;
  bool pass;
};

RowFigures Figures(const TargetSamples& s, bool with_throughput) {
  double direct = s[kDirect].Median();
  double d_added = s[kDelegator].Median() - direct;
  double n_added = s[kNginx].Median() - direct;
  std::string row;
  for (int t = 0; t < 3; ++t) row += Fixed(s[t].Median(), 0) + " / " + Fixed(s[t].P99(), 0) + " | ";
  row += Signed(d_added) + " (" + Fixed(s[kDelegator].Median() / direct, 2) + "x) | ";
  row += Signed(n_added) + " (" + Fixed(s[kNginx].Median() / direct, 2) + "x) | ";
  if (with_throughput) {
    row += Fixed(s[kDirect].Throughput(), 0) + " / " + Fixed(s[kDelegator].Throughput(), 0) +
           " / " + Fixed(s[kNginx].Throughput(), 0) + " | ";
  }
  row += Fixed(s[kDelegator].CpuUsPerInvoke(), 0) + " / " + Fixed(s[kNginx].CpuUsPerInvoke(), 0) +
         " | ";
  // Paired by round: the targets of one round ran back to back, so drift
  // between rounds cancels out of this count.
  const auto& d = s[kDelegator].round_median_us;
  const auto& n = s[kNginx].round_median_us;
  size_t won = 0;
  for (size_t i = 0; i < std::min(d.size(), n.size()); ++i) won += d[i] <= n[i] ? 1 : 0;
  row += std::to_string(won) + "/" + std::to_string(std::min(d.size(), n.size())) + " | ";
  bool pass = d_added <= n_added;
  row += pass ? "pass" : "**FAIL**";
  return {row, pass};
}

int NotParked(const TargetSamples& s) {
  return s[kDirect].not_parked + s[kDelegator].not_parked + s[kNginx].not_parked;
}

size_t SampleCount(const TargetSamples& s) { return s[kDirect].latency_ns.size(); }

std::string Dirname(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

// Scales a per-round count, keeping at least `floor`.
int Scaled(int n, double scale, int floor) {
  return std::max(floor, static_cast<int>(std::lround(n * scale)));
}

int DriverMain(Tools tools, int rounds, double scale, int settle_us, bool placement,
               const std::vector<int>& concurrencies, const std::vector<size_t>& payloads) {
  ::signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/anysnap-bench-invoke.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) Fatal(std::string("mkdtemp: ") + std::strerror(errno));
  tools.work = tmpl;
  const int cpus = OnlineCpus();
  auto free_placement = [](Target) -> std::optional<int> { return std::nullopt; };
  auto start = Clock::now();

  // Per-round counts: about the same wall time per payload.
  auto plan_for = [&](size_t payload, int concurrency) {
    Plan p{payload, concurrency, 0, 0};
    bool big = payload >= 6u << 20, mid = payload >= 1u << 20;
    if (concurrency == 1) {
      p.measured = Scaled(big ? 12 : mid ? 30 : 150, scale, 4);
      p.burst = Scaled(big ? 6 : mid ? 20 : 200, scale, 3);
    } else {
      int per_runtime = big ? 2 : mid ? 8 : payload >= 64u << 10 ? 40 : 80;
      p.measured = Scaled(per_runtime * concurrency, scale, concurrency);
    }
    return p;
  };

  std::ostringstream md;
  md << "| event = response | runtimes | direct med / p99 µs | delegator med / p99 µs "
        "| nginx med / p99 µs | delegator added µs (ratio) | nginx added µs (ratio) "
        "| invokes/s direct / delegator / nginx | proxy CPU µs/invoke delegator / nginx "
        "| rounds delegator ≤ nginx | budget |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  std::ostringstream notes;
  int failures = 0;
  for (int concurrency : concurrencies) {
    for (size_t payload : payloads) {
      Plan plan = plan_for(payload, concurrency);
      std::string tag = "c" + std::to_string(concurrency) + "-" + std::to_string(payload);
      std::fprintf(stderr, "anysnap-bench-invoke: %s x%d runtimes, %d rounds of %d%s...\n",
                   SizeName(payload).c_str(), concurrency, rounds, plan.measured,
                   concurrency == 1 ? (" + burst " + std::to_string(plan.burst)).c_str() : "");
      TargetSamples s;
      {
        Environment env(tools, concurrency, concurrency, settle_us, tag);
        s = Measure(env, plan, rounds, free_placement);
      }
      RowFigures f = Figures(s, true);
      failures += f.pass ? 0 : 1;
      md << "| " << SizeName(payload) << " | " << concurrency << " | " << f.cells << " |\n";
      notes << "- " << SizeName(payload) << " x" << concurrency << ": " << SampleCount(s)
            << " timed invokes per target";
      if (concurrency == 1) notes << ", " << NotParked(s) << " not parked";
      notes << "\n";
    }
  }

  std::ostringstream pmd;
  if (placement && cpus >= 2) {
    size_t payload = 1024;
    Plan plan = plan_for(payload, 1);
    std::fprintf(stderr, "anysnap-bench-invoke: CPU placement, %s x1 runtime...\n",
                 SizeName(payload).c_str());
    pmd << "| placement | direct med / p99 µs | delegator med / p99 µs | nginx med / p99 µs "
           "| delegator added µs (ratio) | nginx added µs (ratio) "
           "| proxy CPU µs/invoke delegator / nginx | rounds delegator ≤ nginx | budget |\n"
        << "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    struct Placement {
      const char* name;
      std::optional<int> runtime, proxy;
    };
    const Placement placements[] = {
        {"free (no pinning)", std::nullopt, std::nullopt},
        {"same CPU: runtime and proxy on CPU 0", 0, 0},
        {"split: runtime on CPU 0, proxy on CPU 1", 0, 1},
    };
    // All placements in one environment, interleaved round by round.
    Environment env(tools, 1, 1, settle_us, "placement");
    std::string response = MakeBody(payload);
    struct Ran {
      int placement;  // -1: warm-up
      Target target;
      RoundReport report;
    };
    std::vector<Ran> ran;
    RoundSpec warm{payload, std::max(2, plan.measured / 4), 0, 1};
    RoundSpec spec{payload, plan.measured, plan.burst, 1};
    for (int t = 0; t < 3; ++t)
      ran.push_back({-1, Target(t), env.Round(Target(t), warm, response, std::nullopt)});
    for (int r = 0; r < rounds; ++r) {
      for (int k = 0; k < 3; ++k) {
        int p = (r + k) % 3;
        env.PinProxies(placements[p].proxy);
        for (int j = 0; j < 3; ++j) {
          Target t = Target((r + j) % 3);
          ran.push_back({p, t, env.Round(t, spec, response, placements[p].runtime)});
        }
      }
    }
    env.PinProxies(std::nullopt);
    std::vector<RoundReport*> all;
    for (Ran& x : ran) all.push_back(&x.report);
    env.DropLate(all);
    std::array<TargetSamples, 3> by_placement;
    for (const Ran& x : ran) {
      if (x.placement >= 0) by_placement[x.placement][x.target].Add(x.report, 1);
    }
    for (int p = 0; p < 3; ++p) {
      RowFigures f = Figures(by_placement[p], false);
      pmd << "| " << placements[p].name << " | " << f.cells << " |\n";
      notes << "- placement \"" << placements[p].name << "\": " << SampleCount(by_placement[p])
            << " timed invokes per target, " << NotParked(by_placement[p]) << " not parked\n";
    }
  }

  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%s", md.str().c_str());
  if (!pmd.str().empty()) {
    std::printf(
        "\nCPU placement (1 KB event and response, 1 runtime, parked; the server "
        "process stays unpinned):\n\n%s",
        pmd.str().c_str());
  }
  std::printf("\nSamples (each target, after one discarded warm-up round per target):\n\n%s",
              notes.str().c_str());
  std::printf("\nRun time %.0f s; %d of the rows above over budget.\n", seconds, failures);
  std::error_code ec;
  std::filesystem::remove_all(tools.work, ec);
  return 0;
}

}  // namespace
}  // namespace anysnap::bench

int main(int argc, char** argv) {
  using namespace anysnap::bench;
  CLI::App app{
      "anysnap-bench-invoke: added latency per invoke of anysnap-delegator vs direct vs nginx"};
  bool serve = false;
  int max_concurrency = 1;
  int settle_us = 1000;
  int rounds = 10;
  double scale = 1.0;
  bool no_placement = false;
  std::vector<int> concurrencies{1, 16};
  std::vector<size_t> payloads{1024, 64 * 1024, 1024 * 1024, 6291456};
  Tools tools;
  tools.self = std::filesystem::read_symlink("/proc/self/exe").string();
  tools.delegator = Dirname(tools.self) + "/anysnap-delegator";
  tools.nginx = anysnap::FindNginx();

  app.add_flag("--serve", serve, "internal: run as the Runtime API server process")->group("");
  app.add_option("--max-concurrency", max_concurrency, "internal: server max_concurrency")
      ->group("");
  app.add_option("--settle-us", settle_us,
                 "parked mode: wait this long after the runtime sent next before invoking")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "measured rounds per configuration (each: all 3 targets)")
      ->capture_default_str();
  app.add_option("--scale", scale, "multiplies the invokes per round")->capture_default_str();
  app.add_option("--concurrency", concurrencies, "runtime counts to measure")
      ->capture_default_str();
  app.add_option("--payloads", payloads, "event and response sizes in bytes")
      ->capture_default_str();
  app.add_flag("--no-placement", no_placement, "skip the CPU placement experiment");
  app.add_option("--delegator", tools.delegator, "anysnap-delegator binary")->capture_default_str();
  app.add_option("--nginx", tools.nginx, "nginx binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (serve) return ServeMain(max_concurrency, settle_us);
  for (size_t p : payloads) {
    if (p < 32) Fatal("--payloads: " + std::to_string(p) + " is below 32 bytes");
  }
  if (tools.nginx.empty() || ::access(tools.nginx.c_str(), X_OK) != 0)
    Fatal("nginx not found (--nginx PATH)");
  if (::access(tools.delegator.c_str(), X_OK) != 0)
    Fatal(tools.delegator + " not found (build it, or --delegator PATH)");
  return DriverMain(tools, rounds, scale, settle_us, !no_placement, concurrencies, payloads);
}
