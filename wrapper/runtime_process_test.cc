#include "runtime_process.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <fstream>

#include "anysnap/unique_fd.h"

namespace anysnap {
namespace {

// A descriptor of process `pid`: readable once it has ended.
UniqueFd OpenProcess(pid_t pid) {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

// Whether the process behind `process` ends within a minute.
bool Ends(const UniqueFd& process) {
  pollfd ended{process.get(), POLLIN, 0};
  int ready;
  while ((ready = ::poll(&ended, 1, 60'000)) < 0 && errno == EINTR) {
  }
  return ready == 1;
}

int WaitFor(RuntimeProcess& p) {
  int status = 0;
  UniqueFd process = OpenProcess(p.pid());
  EXPECT_TRUE(process.valid());
  EXPECT_TRUE(Ends(process));
  EXPECT_TRUE(p.TryReap(&status));
  return status;
}

EnvMap BasicEnv() { return {{"PATH", "/usr/bin:/bin"}}; }

TEST(RuntimeProcessTest, RunsThroughPathAndReportsExitStatus) {
  RuntimeProcess p;
  ASSERT_TRUE(p.Start({"sh", "-c", "exit 3"}, BasicEnv()).ok());
  int status = WaitFor(p);
  EXPECT_EQ(ShellExitStatus(status), 3);
  EXPECT_EQ(DescribeWaitStatus(status), "exited with status 3");
}

TEST(RuntimeProcessTest, MissingProgramIsNotFound) {
  RuntimeProcess p;
  Status s = p.Start({"/nonexistent/bootstrap"}, BasicEnv());
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.message();
  s = p.Start({"no-such-program-anywhere"}, BasicEnv());
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.message();
  EXPECT_FALSE(p.running());
}

TEST(RuntimeProcessTest, NonExecutableIsPermissionDenied) {
  std::string path = ::testing::TempDir() + "/not-executable";
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  chmod(path.c_str(), 0644);
  RuntimeProcess p;
  Status s = p.Start({path}, BasicEnv());
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << s.message();
}

TEST(RuntimeProcessTest, SignalDeathMapsTo128PlusN) {
  RuntimeProcess p;
  ASSERT_TRUE(p.Start({"sleep", "60"}, BasicEnv()).ok());
  p.Signal(SIGTERM);
  int status = WaitFor(p);
  EXPECT_EQ(ShellExitStatus(status), 128 + SIGTERM);
}

TEST(RuntimeProcessTest, PassesExactlyTheGivenEnvironment) {
  std::string out = ::testing::TempDir() + "/env-out";
  RuntimeProcess p;
  ASSERT_TRUE(p.Start({"sh", "-c", "echo \"$ONLY_THIS\" > " + out},
                      {{"PATH", "/usr/bin:/bin"}, {"ONLY_THIS", "v 1"}})
                  .ok());
  EXPECT_EQ(ShellExitStatus(WaitFor(p)), 0);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "v 1");
}

TEST(RuntimeProcessTest, KillGroupEndsGrandchildren) {
  std::string pidfile = ::testing::TempDir() + "/grandchild-pid";
  RuntimeProcess p;
  ASSERT_TRUE(
      p.Start({"sh", "-c", "sleep 60 & echo $! > " + pidfile + "; exit 0"}, BasicEnv()).ok());
  EXPECT_EQ(ShellExitStatus(WaitFor(p)), 0);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  in >> grandchild;
  ASSERT_GT(grandchild, 0);
  // The grandchild was reparented and still sleeps: taken hold of now, it
  // shows its end once the group is killed.
  UniqueFd process = OpenProcess(grandchild);
  ASSERT_TRUE(process.valid()) << "the grandchild ended before the group was killed";
  p.KillGroup();
  EXPECT_TRUE(Ends(process));
}

}  // namespace
}  // namespace anysnap
