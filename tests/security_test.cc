// Security properties, shown from outside: the delegator listens on loopback
// only and forwards to its one upstream whatever a request says (it is no
// proxy), hook and runtime command lines never reach a shell, and the layer
// builder refuses paths and symlinks that leave the tree it packs.
// docs/reliability.md lists each case with its test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <filesystem>
#include <fstream>

#include "anysnap/child_process.h"
#include "anysnap/log.h"
#include "delegator.h"
#include "http_test_client.h"
#include "scripted_upstream.h"
#include "wrapped_function.h"

namespace anysnap {
namespace {

namespace fs = std::filesystem;
using testing::BuildRequest;
using testing::kBin;
using testing::kFixtures;
using testing::RoundTrip;
using testing::ScriptedUpstream;
using Function = testing::WrappedFunction;

std::string PythonRuntime() { return "python3 " + kFixtures + "/python/runtime.py"; }

// Runs a built tool to its end; returns its shell exit status and stderr.
std::pair<int, std::string> RunTool(const std::vector<std::string>& argv) {
  std::string err_path = ::testing::TempDir() + "/security-tool-" + std::to_string(::getpid());
  UniqueFd err(::open(err_path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644));
  SpawnOptions options;
  options.argv = argv;
  options.env = {{"PATH", "/usr/bin:/bin"}};
  options.stdout_fd = err.get();
  options.stderr_fd = err.get();
  auto child = ChildProcess::Spawn(options);
  EXPECT_TRUE(child.ok()) << child.status().message();
  if (!child.ok()) return {-1, ""};
  auto status = child->WaitFor(std::chrono::seconds(60));
  EXPECT_TRUE(status.has_value()) << argv[0] << " did not end";
  if (!status) child->Kill();
  std::ifstream in(err_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {status ? status->ShellCode() : -1, text};
}

// A delegator in front of `upstream_`, with a second server (`other_`) on
// loopback that no request may ever reach.
class OpenProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* s : {&upstream_server_, &other_server_}) {
      ASSERT_TRUE(s->Listen({"127.0.0.1", 0}).ok());
      s->Start();
    }
    DelegatorOptions options;
    options.upstream = upstream_server_.address();
    auto d = Delegator::Start(options);
    ASSERT_TRUE(d.ok()) << d.status().message();
    delegator_ = std::move(*d);
  }
  std::string other() { return other_server_.address().ToString(); }

  // Sends `raw`; returns the status, after checking that the other server saw
  // nothing and, for a 2xx, that the one upstream got the request.
  int Send(const std::string& raw) {
    auto resp = RoundTrip(delegator_->address(), raw);
    EXPECT_TRUE(resp.ok()) << raw;
    EXPECT_TRUE(other_.seen().empty()) << "reached another host: " << raw;
    return resp.ok() ? resp->status : 0;
  }

  ScriptedUpstream upstream_, other_;
  HttpServer upstream_server_{&upstream_}, other_server_{&other_};
  std::unique_ptr<Delegator> delegator_;
};

// Defined: absolute-form and authority-form targets, CONNECT, asterisk-form and
// protocol upgrades get 400 and go nowhere.
TEST_F(OpenProxyTest, ProxyFormsAreRefused) {
  for (const std::string& raw : std::vector<std::string>{
           "GET http://" + other() + "/x HTTP/1.1\r\nHost: " + other() + "\r\n\r\n",
           "GET https://" + other() + "/x HTTP/1.1\r\n\r\n",
           "GET " + other() + " HTTP/1.1\r\n\r\n",
           "GET @" + other() + "/x HTTP/1.1\r\n\r\n",
           "CONNECT " + other() + " HTTP/1.1\r\nHost: " + other() + "\r\n\r\n",
           "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
           "GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
       }) {
    EXPECT_EQ(Send(raw), 400) << raw;
  }
  EXPECT_TRUE(upstream_.seen().empty());
}

// Defined: whatever the Host header, Forwarded headers or the shape of an
// origin-form target say, the request goes to the configured upstream, on
// every upstream path (no body, a buffered body, a chunked body, a body
// above the 1 MiB kept for retries).
TEST_F(OpenProxyTest, HostTricksAndOddTargetsStillGoToTheOneUpstream) {
  const std::vector<std::string> targets = {"/2018-06-01/runtime/invocation/next",
                                            "//" + other() + "/x",
                                            "/x@" + other() + "/",
                                            "/..//" + other() + "/x",
                                            "/%2f%2f" + other() + "/x",
                                            "/x?url=http://" + other() + "/"};
  const std::vector<HttpHeaders> tricks = {
      {{"Host", other()}},
      {{"Host", other()}, {"X-Forwarded-Host", other()}, {"Forwarded", "host=" + other()}},
      {{"Host", "127.0.0.1:1"}, {"Host", other()}}};
  int sent = 0;
  for (const auto& target : targets) {
    for (const auto& headers : tricks) {
      EXPECT_EQ(Send(BuildRequest("GET", target, headers, "")), 200) << target;
      EXPECT_EQ(Send(BuildRequest("POST", target, headers, "small body")), 200) << target;
      sent += 2;
    }
    EXPECT_EQ(Send(BuildRequest("PUT", target, {{"Host", other()}}, std::string(2 << 20, 'b'))),
              200)
        << target;
    sent += 1;
  }
  // Chunked (streamed) bodies are relayed as they arrive, on a path of their
  // own: the same rule holds there, request after request.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Send("POST //" + other() + "/x HTTP/1.1\r\nHost: " + other() +
                   "\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"),
              200);
    sent += 1;
  }
  auto seen = upstream_.seen();
  ASSERT_EQ(seen.size(), static_cast<size_t>(sent));
  // The target reaches the upstream as it was sent, never re-resolved.
  EXPECT_EQ(seen.back().target, "//" + other() + "/x");
}

// The first IPv4 address of this machine that is not loopback, if any.
std::optional<std::string> NonLoopbackAddress() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* a = all; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  ::freeifaddrs(all);
  return found;
}

// Defined: the wrapper's delegator binds 127.0.0.1 only: the runtime is
// pointed there, and the same port on any other address of the machine
// refuses connections.
TEST(LoopbackOnly, TheWrappersDelegatorIsUnreachableFromOutside) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
  fn.Start();
  std::string api = fn.Invoke("{\"action\":\"api\"}").body;
  auto address = ParseHostPort(api);
  ASSERT_TRUE(address.ok()) << api;
  EXPECT_EQ(address->host, "127.0.0.1");
  EXPECT_TRUE(ConnectTcp(*address).ok());
  if (auto outside = NonLoopbackAddress()) {
    auto from_outside = ConnectTcp({*outside, address->port});
    EXPECT_FALSE(from_outside.ok()) << *outside << ":" << address->port << " accepted";
  }
}

// Defined: anysnap-delegator refuses a non-loopback --listen address unless
// forced, with a message saying why.
TEST(LoopbackOnly, StandaloneDelegatorRefusesNonLoopbackListen) {
  auto [status, text] =
      RunTool({kBin + "/anysnap-delegator", "--listen", "0.0.0.0:0", "--upstream", "127.0.0.1:9"});
  EXPECT_NE(status, 0);
  EXPECT_NE(text.find("non-loopback"), std::string::npos) << text;
}

// Defined: a hook or runtime command line is split into words and executed
// directly. Shell syntax is either refused as a configuration error (exit 78,
// Runtime.InvalidConfiguration) or, quoted, passed as literal arguments; in
// no case does a shell run it, so the file is never created.
TEST(NoShell, HookAndRuntimeCommandsNeverRunAShell) {
  std::string file = ::testing::TempDir() + "/no-shell-" + std::to_string(::getpid());
  struct Case {
    std::string variable, value;
    int exit_status;  // -1: the function runs; else the wrapper's exit status
  };
  const std::vector<Case> cases = {
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo hi; touch " + file, 78},
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo hi && touch " + file, 78},
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo $(touch " + file + ")", 78},
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo `touch " + file + "`", 78},
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo hi | touch " + file, 78},
      {"ANYSNAP_BEFORE_SNAPSHOT", "/bin/echo 'hi; touch " + file + "'", -1},
      {"ANYSNAP_AFTER_RESTORE", "/bin/echo \"$(touch " + file + ")\"", 78},
      {"ANYSNAP_AFTER_RESTORE", "/bin/echo hi \\; touch " + file, -1},
      {"ANYSNAP_RUNTIME", PythonRuntime() + "; touch " + file, 78},
      {"ANYSNAP_RUNTIME", PythonRuntime() + " '$(touch " + file + ")'", -1},
  };
  RuntimeApiServer::Options snap_start;
  snap_start.snap_start = true;
  for (const Case& c : cases) {
    std::remove(file.c_str());
    Function fn(snap_start);
    fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
    fn.Set("ANYSNAP_RUNTIME", PythonRuntime());
    fn.Set(c.variable, c.value);
    fn.Start();
    if (c.exit_status == -1) {
      InvocationResult r = fn.Invoke("{\"ran\":1}");
      EXPECT_EQ(r.body, "{\"ran\":1}") << c.value << "\n" << fn.Stderr();
    } else {
      EXPECT_EQ(fn.Wait(), c.exit_status) << c.value << "\n" << fn.Stderr();
      ASSERT_TRUE(fn.server().init_error().has_value()) << c.value;
      EXPECT_EQ(fn.server().init_error()->error_type, "Runtime.InvalidConfiguration");
      EXPECT_NE(fn.Stderr().find(c.variable), std::string::npos) << fn.Stderr();
    }
    struct stat st;
    EXPECT_NE(::stat(file.c_str(), &st), 0) << "a shell ran: " << c.variable << "=" << c.value;
  }
}

// Defined: anysnap-layer build refuses a tree with a symlink that leaves it
// (absolute, or climbing out with ..) and a destination outside the layer,
// naming the path; no zip is left behind.
TEST(LayerBuilder, RefusesPathsAndSymlinksThatLeaveTheTree) {
  fs::path dir = fs::path(::testing::TempDir()) / ("layer-escape-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tree/lib");
  std::ofstream(dir / "tree/lib/real.txt") << "x";
  fs::path out = dir / "layer.zip";
  struct Case {
    std::string link_target;  // a symlink tree/lib/escape -> this, or empty
    std::string add;          // the --add argument
    std::string expect;       // in the error
  };
  const std::vector<Case> cases = {
      {"/etc/passwd", (dir / "tree").string() + "=rt", "lib/escape"},
      {"../../../etc/passwd", (dir / "tree").string() + "=rt", "lib/escape"},
      {"../../..", (dir / "tree").string() + "=rt", "lib/escape"},
      {"", (dir / "tree").string() + "=../outside", "../outside"},
      {"", (dir / "tree").string() + "=/abs", "/abs"},
      {"", (dir / "tree").string() + "=a/../../b", "a/../../b"},
  };
  for (const Case& c : cases) {
    fs::remove(dir / "tree/lib/escape");
    if (!c.link_target.empty()) fs::create_symlink(c.link_target, dir / "tree/lib/escape");
    auto [status, text] =
        RunTool({kBin + "/anysnap-layer", "build", "-o", out.string(), "--bin-dir", kBin,
                 "--hooks-dir", "", "--glibc", "2.99", "--add", c.add});
    EXPECT_NE(status, 0) << c.link_target << " " << c.add;
    EXPECT_NE(text.find(c.expect), std::string::npos) << c.add << ": " << text;
    EXPECT_FALSE(fs::exists(out)) << c.link_target << " " << c.add;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace anysnap
