#include "anysnap/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "local_test_support.h"

namespace anysnap {
namespace {

using namespace std::chrono_literals;
using testing::LinePipe;
using testing::ProcessEnds;
using testing::ReadTestFile;
using testing::ScratchDir;
using testing::WatchProcess;
using testing::WriteTestFile;

// Bounds every wait so that a broken child fails a test instead of hanging
// it; never a performance expectation.
constexpr auto kPatience = 60s;

SpawnOptions Shell(const std::string& script) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.env = {{"PATH", "/usr/bin:/bin"}};
  return o;
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::string stat = ReadTestFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  size_t close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

TEST(ExitStatusTest, DescribesExitsAndSignalsAsLambdaDoes) {
  EXPECT_EQ((ExitStatus{3, 0}).Describe(), "exit status 3");
  EXPECT_EQ((ExitStatus{-1, SIGKILL}).Describe(), "signal: killed");
  EXPECT_EQ((ExitStatus{-1, SIGSEGV}).Describe(), "signal: segmentation fault");
  // Go's names, not strsignal(3)'s: they differ in case here.
  EXPECT_EQ((ExitStatus{-1, SIGXCPU}).Describe(), "signal: CPU time limit exceeded");
  EXPECT_EQ((ExitStatus{-1, SIGIO}).Describe(), "signal: I/O possible");
  EXPECT_EQ((ExitStatus{-1, 34}).Describe(), "signal: signal 34");
  EXPECT_EQ((ExitStatus{3, 0}).RuntimeExitReason(), "Runtime exited with error: exit status 3");
  EXPECT_EQ((ExitStatus{-1, SIGKILL}).RuntimeExitReason(),
            "Runtime exited with error: signal: killed");
  EXPECT_EQ((ExitStatus{0, 0}).RuntimeExitReason(), "Runtime exited without providing a reason");
  EXPECT_EQ(ExitStatus::FromWaitStatus(3 << 8).code, 3);
  EXPECT_EQ(ExitStatus::FromWaitStatus(SIGKILL).signal, SIGKILL);
  EXPECT_EQ((ExitStatus{-1, SIGTERM}).ShellCode(), 128 + SIGTERM);
  EXPECT_TRUE((ExitStatus{0, 0}).success());
  EXPECT_FALSE((ExitStatus{-1, SIGTERM}).success());
}

TEST(ChildProcessTest, ReportsTheExitCode) {
  auto child = ChildProcess::Spawn(Shell("exit 3"));
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto status = child->WaitFor(kPatience);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 3);
  EXPECT_EQ(status->Describe(), "exit status 3");
  EXPECT_FALSE(child->running());
  EXPECT_EQ(child->Poll()->code, 3);  // stays known after the reap
}

TEST(ChildProcessTest, GetsExactlyTheGivenEnvironmentAndDirectory) {
  ScratchDir dir;
  SpawnOptions o = Shell("env > \"$OUT\"; pwd >> \"$OUT\"");
  o.env["OUT"] = dir / "out";
  o.env["ONLY"] = "this";
  o.cwd = dir.path();
  auto child = ChildProcess::Spawn(o);
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(child->WaitFor(kPatience)->success());
  std::string out = ReadTestFile(dir / "out");
  EXPECT_NE(out.find("ONLY=this\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("HOME="), std::string::npos) << "leaked the test's environment: " << out;
  EXPECT_NE(out.find("\n" + dir.path() + "\n"), std::string::npos) << out;
}

TEST(ChildProcessTest, SearchesTheChildsPathNotOurs) {
  ScratchDir dir;
  WriteTestFile(dir / "only-here", "#!/bin/sh\nexit 7\n", 0755);
  SpawnOptions o;
  o.argv = {"only-here"};
  o.env = {{"PATH", "/nonexistent:" + dir.path()}};
  auto child = ChildProcess::Spawn(o);
  ASSERT_TRUE(child.ok()) << child.status().message();
  EXPECT_EQ(child->WaitFor(kPatience)->code, 7);

  o.env = {{"PATH", "/nonexistent"}};
  auto missing = ChildProcess::Spawn(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("only-here"), std::string::npos);
}

TEST(ChildProcessTest, ReportsWhyAProgramCannotRun) {
  ScratchDir dir;
  SpawnOptions o;
  o.argv = {dir / "missing"};
  auto missing = ChildProcess::Spawn(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(missing.status().message().rfind("exec " + dir / "missing" + ": ", 0), 0u)
      << missing.status().message();

  WriteTestFile(dir / "not-executable", "#!/bin/sh\n", 0644);
  o.argv = {dir / "not-executable"};
  auto denied = ChildProcess::Spawn(o);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Status::Code::kPermissionDenied);

  o.argv = {"/bin/true"};
  o.cwd = dir / "no-such-dir";
  auto no_dir = ChildProcess::Spawn(o);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.status().message().rfind("chdir ", 0), 0u) << no_dir.status().message();
}

TEST(ChildProcessTest, WiresStdioToTheGivenDescriptors) {
  ScratchDir dir;
  WriteTestFile(dir / "in", "from stdin\n");
  int in = ::open((dir / "in").c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int err = ::open((dir / "err").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  SpawnOptions o = Shell("cat; echo to-err >&2");
  o.stdin_fd = in;
  o.stdout_fd = out;
  o.stderr_fd = err;
  auto child = ChildProcess::Spawn(o);
  ::close(in);
  ::close(out);
  ::close(err);
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(child->WaitFor(kPatience)->success());
  EXPECT_EQ(ReadTestFile(dir / "out"), "from stdin\n");
  EXPECT_EQ(ReadTestFile(dir / "err"), "to-err\n");
}

TEST(ChildProcessTest, StdoutAndStderrMayShareADescriptor) {
  // What anysnap-local does with a function's output: both to its log stream.
  ScratchDir dir;
  int log = ::open((dir / "log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  SpawnOptions o = Shell("echo one; echo two >&2");
  o.stdout_fd = log;
  o.stderr_fd = log;
  auto child = ChildProcess::Spawn(o);
  ::close(log);
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->WaitFor(kPatience)->success());
  EXPECT_EQ(ReadTestFile(dir / "log"), "one\ntwo\n");
}

TEST(ChildProcessTest, StdinIsDevNullByDefault) {
  ScratchDir dir;
  auto child = ChildProcess::Spawn(Shell("cat > \"" + dir / "in" + "\""));
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->WaitFor(kPatience)->success());
  EXPECT_EQ(ReadTestFile(dir / "in"), "");
}

TEST(ChildProcessTest, LeadsItsOwnProcessGroup) {
  auto child = ChildProcess::Spawn(Shell("sleep 60"));
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
  EXPECT_NE(::getpgid(child->pid()), ::getpgrp());
  EXPECT_EQ(child->Kill().signal, SIGKILL);
}

TEST(ChildProcessTest, RestoresDefaultSignalDispositions) {
  // A runtime must not inherit an ignored signal from anysnap-local.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &old), 0);
  auto child = ChildProcess::Spawn(Shell("kill -USR1 $$; exit 0"));
  ::sigaction(SIGUSR1, &old, nullptr);
  ASSERT_TRUE(child.ok());
  auto status = child->WaitFor(kPatience);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->signal, SIGUSR1) << status->Describe();
}

TEST(ChildProcessTest, StopSendsSigtermFirst) {
  ScratchDir dir;
  std::string mark = dir / "term";
  LinePipe said;
  SpawnOptions o =
      Shell("trap 'echo term > \"" + mark + "\"; exit 0' TERM; echo trapped; sleep 60 & wait");
  o.stdout_fd = said.write_fd();
  auto child = ChildProcess::Spawn(o);
  said.CloseWriteEnd();
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(said.ReadLine(), "trapped");  // its trap is set
  ExitStatus status = child->Stop(kPatience);
  EXPECT_TRUE(status.success()) << status.Describe();
  EXPECT_EQ(ReadTestFile(mark), "term\n");
}

TEST(ChildProcessTest, StopKillsAChildThatIgnoresSigtermAndItsGroup) {
  LinePipe said;
  // The sleep gets no stdout of the pipe: its end of the pipe closes with the shell.
  SpawnOptions o = Shell("trap '' TERM; sleep 60 >/dev/null & echo $!; wait");
  o.stdout_fd = said.write_fd();
  auto child = ChildProcess::Spawn(o);
  said.CloseWriteEnd();
  ASSERT_TRUE(child.ok());
  std::string text = said.ReadLine();
  ASSERT_FALSE(text.empty());
  UniqueFd grandchild = WatchProcess(std::stoi(text));
  ExitStatus status = child->Stop(200ms);
  EXPECT_EQ(status.signal, SIGKILL) << status.Describe();
  EXPECT_TRUE(ProcessEnds(grandchild, kPatience)) << "the group's other members outlived the stop";
}

TEST(ChildProcessTest, DestructorKillsARunningChild) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::Spawn(Shell("sleep 60"));
    ASSERT_TRUE(child.ok());
    pid = child->pid();
    EXPECT_TRUE(Alive(pid));
  }
  EXPECT_FALSE(Alive(pid));
}

TEST(ChildProcessTest, MoveTransfersOwnership) {
  auto spawned = ChildProcess::Spawn(Shell("exit 5"));
  ASSERT_TRUE(spawned.ok());
  ChildProcess a = std::move(*spawned);
  ChildProcess b;
  b = std::move(a);
  EXPECT_EQ(a.pid(), -1);
  EXPECT_FALSE(a.running());
  EXPECT_EQ(b.WaitFor(kPatience)->code, 5);
}

TEST(SearchPathTest, FindsExecutablesInOrder) {
  ScratchDir dir;
  ::mkdir((dir / "a").c_str(), 0755);
  ::mkdir((dir / "b").c_str(), 0755);
  WriteTestFile(dir / "a/tool", "", 0644);  // not executable: skipped
  WriteTestFile(dir / "b/tool", "", 0755);
  EXPECT_EQ(SearchPath("tool", dir / "a" + ":" + dir / "b"), dir / "b/tool");
  EXPECT_EQ(SearchPath("tool", dir / "a"), std::nullopt);
  EXPECT_EQ(SearchPath("./x/tool", ""), "./x/tool");
  EXPECT_EQ(SearchPath("", "/bin"), std::nullopt);
}

}  // namespace
}  // namespace anysnap
