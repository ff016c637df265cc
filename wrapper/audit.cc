#include "audit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <seccomp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "anysnap/log.h"

namespace anysnap {

namespace {

// The calls the filter watches, by name (resolved for the running arch;
// those it lacks are skipped). clone is watched apart: only without
// CLONE_THREAD.
constexpr const char* kWatched[] = {
    "getrandom",      "open",      "openat", "openat2", "connect", "listen", "timer_create",
    "timerfd_create", "setitimer", "alarm",  "fork",    "vfork",   "clone3",
};

std::string Errno(int err) { return std::strerror(err); }

// Reads `len` bytes at `addr` of thread `tid`; empty when it cannot.
std::string ReadTracee(int tid, uint64_t addr, size_t len) {
  std::string path = "/proc/" + std::to_string(tid) + "/mem";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || addr == 0) return "";
  std::string out(len, '\0');
  ssize_t n = ::pread(fd.get(), out.data(), len, static_cast<off_t>(addr));
  if (n <= 0) return "";
  out.resize(static_cast<size_t>(n));
  return out;
}

// A NUL-terminated string of the tracee, read in pieces so that a string
// ending just before an unmapped page is still read.
std::string ReadTraceeString(int tid, uint64_t addr, size_t max = 4096) {
  std::string out;
  while (out.size() < max) {
    std::string piece = ReadTracee(tid, addr + out.size(), 256);
    if (piece.empty()) break;
    size_t nul = piece.find('\0');
    if (nul != std::string::npos) return out + piece.substr(0, nul);
    out += piece;
  }
  return out;
}

// The basename of the executable thread `tid` runs ("node", "python3.11").
std::string Program(int tid) {
  char buf[4096];
  std::string link = "/proc/" + std::to_string(tid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(path.rfind('/') + 1);
}

// The thread group (process) of thread `tid`; `tid` itself when unknown.
int ProcessOf(int tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/status";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[1024];
  ssize_t n = fd.valid() ? ::read(fd.get(), buf, sizeof(buf) - 1) : -1;
  if (n <= 0) return tid;
  buf[n] = '\0';
  const char* at = std::strstr(buf, "\nTgid:");
  return at != nullptr ? std::atoi(at + 6) : tid;
}

std::string Comm(int tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/comm";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[64];
  ssize_t n = fd.valid() ? ::read(fd.get(), buf, sizeof(buf)) : -1;
  if (n <= 0) return "?";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// "127.0.0.1:5432", "[::1]:80", "unix:/run/x.sock"; empty for families that
// are not a connection to somewhere (AF_UNSPEC, netlink).
std::string DecodeSockaddr(const std::string& raw) {
  if (raw.size() < sizeof(sa_family_t)) return "";
  sa_family_t family;
  std::memcpy(&family, raw.data(), sizeof(family));
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET && raw.size() >= sizeof(sockaddr_in)) {
    sockaddr_in in;
    std::memcpy(&in, raw.data(), sizeof(in));
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (family == AF_INET6 && raw.size() >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, raw.data(), sizeof(in6));
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  if (family == AF_UNIX) {
    std::string path = raw.substr(sizeof(sa_family_t));
    if (!path.empty() && path[0] == '\0') return "unix:@" + path.substr(1);
    size_t nul = path.find('\0');
    return "unix:" + path.substr(0, nul);
  }
  return "";
}

}  // namespace

std::string_view AuditAdvice(std::string_view kind) {
  if (kind == "random")
    return "random state read during init is the same in every environment restored from the "
           "snapshot: read it again (reseed) in an after-restore hook";
  if (kind == "uuid")
    return "ids made during init repeat in every restored environment: make them in an "
           "after-restore hook";
  if (kind == "connect")
    return "connections made during init are dead after restore: close them in a "
           "before-snapshot hook and reconnect in an after-restore hook";
  if (kind == "listen")
    return "a listening socket is restored, the connections to it are not: check clients "
           "reconnect, and that the port is free in every environment";
  if (kind == "timer")
    return "timers armed during init fire late, or all at once, after restore: re-arm them in "
           "an after-restore hook";
  if (kind == "fork")
    return "child processes started during init are in the snapshot too: their random state, "
           "connections and timers need the same care";
  return "";
}

// Installs the filter in the child and hands the listener to the wrapper.
class Audit::Installer final : public ChildPreExec {
 public:
  Installer(const std::vector<sock_filter>* program, int socket_fd)
      : program_(program), socket_fd_(socket_fd) {}

  void Run() noexcept override {
    sock_fprog prog{static_cast<unsigned short>(program_->size()),
                    const_cast<sock_filter*>(program_->data())};
    int err = 0;
    long fd = -1;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      err = errno;
    } else {
      fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
      if (fd < 0) err = errno;
    }
    iovec iov{&err, sizeof(err)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
      int listener = static_cast<int>(fd);
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &listener, sizeof(int));
    }
    ssize_t ignored = ::sendmsg(socket_fd_, &msg, MSG_NOSIGNAL);
    (void)ignored;
    if (fd >= 0) ::close(static_cast<int>(fd));
    ::close(socket_fd_);
  }

 private:
  const std::vector<sock_filter>* const program_;
  const int socket_fd_;
};

Audit::Audit(AuditOptions options) : options_(std::move(options)), draws_(options_.reseed) {}

Result<std::unique_ptr<Audit>> Audit::Prepare(AuditOptions options) {
  // API level 5: the kernel and libseccomp support user notifications.
  if (seccomp_api_get() < 5) {
    return Status::Unavailable(
        "this kernel or libseccomp has no seccomp user notifications (API level " +
        std::to_string(seccomp_api_get()) + ")");
  }
  std::unique_ptr<Audit> audit(new Audit(std::move(options)));
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Status::Unavailable("libseccomp cannot create a filter");
  auto fail = [&](const std::string& what, int rc) {
    seccomp_release(ctx);
    return Status::Unavailable("libseccomp: " + what + ": " + Errno(-rc));
  };
  for (const char* name : kWatched) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR || nr < 0) continue;
    audit->names_[nr] = name;
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0); rc != 0)
      return fail(std::string("watching ") + name, rc);
  }
  int clone = seccomp_syscall_resolve_name("clone");
  if (clone >= 0) {
    audit->names_[clone] = "clone";
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, clone, 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
        rc != 0)
      return fail("watching clone", rc);
  }
  UniqueFd memfd(::memfd_create("anysnap-audit", MFD_CLOEXEC));
  if (!memfd.valid()) {
    seccomp_release(ctx);
    return PosixError("memfd_create", errno);
  }
  if (int rc = seccomp_export_bpf(ctx, memfd.get()); rc != 0) return fail("export", rc);
  seccomp_release(ctx);
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return Status::Internal("libseccomp exported a malformed filter");
  audit->program_.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), audit->program_.data(), static_cast<size_t>(size), 0) != size)
    return PosixError("reading the exported filter", errno);

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return PosixError("socketpair", errno);
  audit->parent_socket_.Reset(pair[0]);
  audit->child_socket_.Reset(pair[1]);
  audit->installer_ = std::make_unique<Installer>(&audit->program_, pair[1]);
  return audit;
}

Audit::~Audit() {
  if (supervisor_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = ::write(stop_event_.get(), &one, sizeof(one));
    (void)ignored;
    supervisor_.join();
  }
}

ChildPreExec& Audit::pre_exec() { return *installer_; }

Status Audit::Attach(pid_t runtime) {
  runtime_ = runtime;
  child_socket_.Reset();
  pollfd p{parent_socket_.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, 5000);
  } while (ready < 0 && errno == EINTR);
  int err = 0;
  iovec iov{&err, sizeof(err)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ready > 0 ? ::recvmsg(parent_socket_.get(), &msg, MSG_CMSG_CLOEXEC) : -1;
  parent_socket_.Reset();
  if (n != static_cast<ssize_t>(sizeof(err)))
    return Status::Unavailable("the runtime host did not report on its seccomp filter");
  if (err != 0) return Status::Unavailable("the kernel refused the seccomp filter: " + Errno(err));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS)
    return Status::Unavailable("the runtime host sent no seccomp listener");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  listener_.Reset(fd);
  stop_event_.Reset(::eventfd(0, EFD_CLOEXEC));
  if (!stop_event_.valid()) return PosixError("eventfd", errno);
  supervisor_ = std::thread(&Audit::Supervise, this);
  return Status::Ok();
}

void Audit::Supervise() {
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  if (seccomp_notify_alloc(&req, &resp) != 0) {
    Log().Error("audit: cannot allocate seccomp notification buffers");
    return;
  }
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    if ((fds[0].revents & POLLIN) == 0) break;  // every watched process has ended
    std::memset(req, 0, sizeof(*req));
    if (seccomp_notify_receive(listener_.get(), req) != 0) continue;  // the caller died
    if (recording_.load(std::memory_order_relaxed)) {
      uint64_t args[6];
      for (int i = 0; i < 6; ++i) args[i] = req->data.args[i];
      Record(static_cast<int>(req->pid), req->data.nr, args, req->id);
    }
    std::memset(resp, 0, sizeof(*resp));
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    seccomp_notify_respond(listener_.get(), resp);
  }
  seccomp_notify_free(req, resp);
}

void Audit::Record(int tid, int nr, const uint64_t* args, uint64_t id) {
  auto it = names_.find(nr);
  if (it == names_.end()) return;
  const std::string& name = it->second;
  std::string kind;
  std::string detail;
  RandomDraw draw;
  if (name == "getrandom") {
    // glibc's malloc draws its 8-byte tcache key this way in every process:
    // a heap-hardening secret, nothing a function computes with.
    if (args[1] == 8 && args[2] == GRND_NONBLOCK) return;
    kind = "random";
    detail = std::to_string(args[1]) + (args[1] == 1 ? " byte" : " bytes");
    draw.bytes = args[1];
    draw.flags = static_cast<unsigned>(args[2]);
  } else if (name == "open" || name == "openat" || name == "openat2") {
    std::string path = ReadTraceeString(tid, name == "open" ? args[0] : args[1]);
    if (path == "/dev/urandom" || path == "/dev/random") {
      kind = "random";
    } else if (path == "/proc/sys/kernel/random/uuid") {
      kind = "uuid";
    } else {
      return;
    }
    detail = path;
  } else if (name == "connect") {
    size_t len = std::min<uint64_t>(args[2], sizeof(sockaddr_storage));
    detail = DecodeSockaddr(ReadTracee(tid, args[1], len));
    // The delegator is expected; nscd is glibc asking its cache daemon for a
    // name or user and hanging up at once.
    if (detail.empty() || detail == options_.exempt.ToString() ||
        detail == "unix:/var/run/nscd/socket" || detail == "unix:/run/nscd/socket") {
      return;
    }
    kind = "connect";
  } else if (name == "listen") {
    kind = "listen";
    detail = "socket fd " + std::to_string(args[0]);
  } else if (name == "clone3") {
    std::string raw = ReadTracee(tid, args[0], sizeof(uint64_t));
    uint64_t flags = 0;
    if (raw.size() != sizeof(flags)) return;
    std::memcpy(&flags, raw.data(), sizeof(flags));
    if (flags & CLONE_THREAD) return;
    kind = "fork";
  } else if (name == "fork" || name == "vfork" || name == "clone") {
    kind = "fork";
  } else {
    kind = "timer";
    if (name == "alarm") detail = std::to_string(args[0]) + " s";
  }
  std::string process = Comm(tid);
  if (kind == "random") {
    draw.process = ProcessOf(tid);
    draw.program = Program(tid);
    draw.call = name;
  }
  // What was read may belong to another call if this one has gone meanwhile.
  if (seccomp_notify_id_valid(listener_.get(), id) != 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  DrawOrigin origin;
  if (kind == "random") origin = draws_.Classify(draw);
  size_t kind_index =
      static_cast<size_t>(std::find(kAuditHazardKinds.begin(), kAuditHazardKinds.end(), kind) -
                          kAuditHazardKinds.begin());
  AuditHazard& h = hazards_[{kind_index, origin.verdict, std::string(origin.source)}];
  if (h.count == 0) {
    h.kind = kind;
    h.verdict = origin.verdict;
    h.source = std::string(origin.source);
    h.advice = origin.verdict == DrawVerdict::kYours ? std::string(AuditAdvice(kind))
                                                     : std::string(origin.remedy);
    h.fixable = origin.fixable;
  }
  ++h.count;
  if (h.examples.size() < kExamplesPerKind) h.examples.push_back({tid, process, name, detail});
}

std::vector<AuditHazard> Audit::hazards() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AuditHazard> out;
  for (const auto& [key, hazard] : hazards_) out.push_back(hazard);
  return out;
}

namespace {

std::string DescribeCall(const AuditCall& c) {
  return c.call + (c.detail.empty() ? "" : " " + c.detail) + " (" + c.process + ", " +
         (c.call == "child process alive at the snapshot" ? "pid " : "thread ") +
         std::to_string(c.tid) + ")";
}

std::string ReportJson(const std::vector<AuditHazard>& hazards, std::string_view mode,
                       std::string_view point) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("mode");
  str(mode);
  w.Key("snapshot_point");
  str(point);
  w.Key("hazards");
  w.StartArray();
  for (const AuditHazard& h : hazards) {
    w.StartObject();
    w.Key("kind");
    str(h.kind);
    w.Key("verdict");
    str(DrawVerdictName(h.verdict));
    w.Key("source");
    str(h.source);
    w.Key("count");
    w.Uint64(h.count);
    w.Key("advice");
    str(h.advice);
    w.Key("examples");
    w.StartArray();
    for (const AuditCall& c : h.examples) {
      w.StartObject();
      w.Key("thread");
      w.Int(c.tid);
      w.Key("process");
      str(c.process);
      w.Key("call");
      str(c.call);
      w.Key("detail");
      str(c.detail);
      w.Key("origin");
      str(h.verdict == DrawVerdict::kYours ? "function" : "runtime");
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return PosixError("open " + tmp, errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("write " + tmp, errno);
    done += static_cast<size_t>(n);
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return PosixError("rename to " + path, errno);
  return Status::Ok();
}

}  // namespace

// The processes of the runtime host's tree other than itself (pid, comm):
// those a fork left alive.
std::vector<std::pair<int, std::string>> Audit::LiveChildren() const {
  std::map<int, std::vector<int>> children;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    UniqueFd fd(::open(("/proc/" + name + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
    char buf[512];
    ssize_t n = fd.valid() ? ::read(fd.get(), buf, sizeof(buf) - 1) : -1;
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const char* close = std::strrchr(buf, ')');
    int ppid = 0;
    if (close == nullptr || std::sscanf(close + 1, " %*c %d", &ppid) != 1) continue;
    children[ppid].push_back(std::stoi(name));
  }
  std::vector<std::pair<int, std::string>> out;
  std::vector<int> todo = {runtime_};
  while (!todo.empty()) {
    int pid = todo.back();
    todo.pop_back();
    for (int child : children[pid]) {
      out.emplace_back(child, Comm(child));
      todo.push_back(child);
    }
  }
  return out;
}

Status Audit::Report(std::string_view snapshot_point) {
  if (reported_.exchange(true)) return Status::Ok();
  recording_.store(false);
  std::vector<AuditHazard> found = hazards();
  // A child that has ended is no hazard: only those alive at the snapshot are.
  for (auto it = found.begin(); it != found.end(); ++it) {
    if (it->kind != "fork") continue;
    std::vector<std::pair<int, std::string>> alive = LiveChildren();
    if (alive.empty()) {
      Log().Info("audit: " + std::to_string(it->count) +
                 " child process(es) started during init ended before the snapshot: no hazard");
      found.erase(it);
    } else {
      it->examples.clear();
      for (const auto& [pid, comm] : alive) {
        if (it->examples.size() == kExamplesPerKind) break;
        it->examples.push_back({pid, comm, "child process alive at the snapshot", ""});
      }
    }
    break;
  }
  const std::string mode(AuditModeName(options_.mode));
  Status written = Status::Unavailable("no report file asked for");
  if (!options_.report_path.empty()) {
    written = WriteFileAtomically(options_.report_path, ReportJson(found, mode, snapshot_point));
    if (!written.ok()) Log().Warn("audit: cannot write the report: " + written.message());
  }
  uint64_t calls = 0, reseeded = 0;
  size_t hazards = 0;
  for (const AuditHazard& h : found) {
    if (h.verdict == DrawVerdict::kReseeded) {
      reseeded += h.count;
    } else {
      calls += h.count;
      ++hazards;
    }
  }
  const std::string where = "snapshot-safety audit at " + std::string(snapshot_point) + ": ";
  const std::string file = written.ok() ? "; report: " + options_.report_path : "";
  const std::string also = reseeded == 0 ? ""
                                         : " (and " + std::to_string(reseeded) + " random draw" +
                                               (reseeded == 1 ? "" : "s") +
                                               " of the runtime's start-up, reseeded)";
  if (hazards == 0) {
    Log().Info(where + "no hazard seen" + also + file);
  } else {
    Log().Warn(where + std::to_string(calls) + " hazardous call" + (calls == 1 ? "" : "s") +
               " in " + std::to_string(hazards) + " finding" + (hazards == 1 ? "" : "s") + also +
               file);
  }
  std::string failing;
  for (const AuditHazard& h : found) {
    std::string examples;
    for (const AuditCall& c : h.examples)
      examples += (examples.empty() ? "" : "; ") + DescribeCall(c);
    std::string label;
    if (h.verdict == DrawVerdict::kReseeded) {
      label = " (reseeded by anysnap: " + h.source + ")";
    } else if (h.verdict == DrawVerdict::kRuntime) {
      label = " (runtime-level: " + h.source + ")";
    } else if (h.kind == "random") {
      label = " (yours to fix)";
    }
    std::string line = "audit: " + h.kind + label + ": " + std::to_string(h.count) + " call" +
                       (h.count == 1 ? "" : "s") + ", e.g. " + examples + ". " + h.advice;
    if (h.verdict == DrawVerdict::kReseeded) {
      Log().Info(line);
      continue;
    }
    Log().Warn(line);
    bool fails = h.fixable && std::find(options_.fail_on.begin(), options_.fail_on.end(), h.kind) !=
                                  options_.fail_on.end();
    if (fails) {
      failing += (failing.empty() ? "" : ", ") + h.kind + " (" + std::to_string(h.count) + ": " +
                 DescribeCall(h.examples.front()) + ")";
    }
  }
  if (options_.mode == AuditMode::kStrict && !failing.empty()) {
    return Status::Failed(
        "snapshot-safety audit (strict) found hazards ANYSNAP_AUDIT_FAIL_ON "
        "refuses: " +
        failing);
  }
  return Status::Ok();
}

}  // namespace anysnap
