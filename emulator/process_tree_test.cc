#include "process_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "anysnap/child_process.h"
#include "local_test_support.h"

namespace anysnap {
namespace {

using testing::ScratchDir;
using testing::WriteTestFile;

TEST(ProcessTreeTest, ParsesTheParentPidPastAnyCommandName) {
  EXPECT_EQ(ParentPidFromStat("42 (bash) S 7 42 42 0 -1 4194560"), 7);
  // A command name may hold spaces and parentheses: the last ')' ends it.
  EXPECT_EQ(ParentPidFromStat("42 (a) b (c)) R 1234 42 42"), 1234);
  EXPECT_EQ(ParentPidFromStat("1 (init) S 0 1 1"), 0);
  EXPECT_EQ(ParentPidFromStat("42 (bash"), std::nullopt);
  EXPECT_EQ(ParentPidFromStat("42 (bash) S"), std::nullopt);
  EXPECT_EQ(ParentPidFromStat("42 (bash) S x"), std::nullopt);
}

TEST(ProcessTreeTest, ParsesVmHwmInKibibytes) {
  EXPECT_EQ(
      PeakRssFromStatus("Name:\tbash\nVmPeak:\t  9000 kB\nVmHWM:\t    3456 kB\nVmRSS:\t 10 kB\n"),
      3456u * 1024);
  EXPECT_EQ(PeakRssFromStatus("Name:\tkthreadd\nState:\tS (sleeping)\n"), std::nullopt);
}

// A fake procfs: pid -> (parent, VmHWM kB).
void AddProcess(const ScratchDir& proc, int pid, int parent, int hwm_kb) {
  std::string dir = proc / std::to_string(pid);
  ::mkdir(dir.c_str(), 0755);
  WriteTestFile(dir + "/stat", std::to_string(pid) + " (p " + std::to_string(pid) + ") S " +
                                   std::to_string(parent) + " 1 1 0\n");
  WriteTestFile(dir + "/status", "Name:\tp\nVmHWM:\t" + std::to_string(hwm_kb) + " kB\n");
}

TEST(ProcessTreeTest, WalksDescendantsInAFakeProc) {
  ScratchDir proc;
  AddProcess(proc, 1, 0, 1000);
  AddProcess(proc, 10, 1, 100);            // the runtime
  AddProcess(proc, 11, 10, 20);            // its child
  AddProcess(proc, 12, 11, 3);             // a grandchild
  AddProcess(proc, 13, 10, 4);             // another child
  AddProcess(proc, 20, 1, 5000);           // unrelated
  ::mkdir((proc / "self").c_str(), 0755);  // non-numeric entries are skipped
  std::vector<pid_t> tree = ProcessTreePids(10, proc.path());
  ASSERT_FALSE(tree.empty());
  EXPECT_EQ(tree.front(), 10);
  std::sort(tree.begin(), tree.end());
  EXPECT_EQ(tree, (std::vector<pid_t>{10, 11, 12, 13}));
  EXPECT_EQ(ProcessTreePeakRss(10, proc.path()), (100u + 20 + 3 + 4) * 1024);
  EXPECT_TRUE(ProcessTreePids(99, proc.path()).empty());
  EXPECT_EQ(ProcessTreePeakRss(99, proc.path()), 0u);
}

TEST(ProcessTreeTest, FindsARealChildAndItsMemory) {
  testing::LinePipe said;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 60 >/dev/null & echo started; wait"};
  o.stdout_fd = said.write_fd();
  auto child = ChildProcess::Spawn(o);
  said.CloseWriteEnd();
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(said.ReadLine(), "started");  // the sleep has been forked
  std::vector<pid_t> tree = ProcessTreePids(child->pid());
  ASSERT_EQ(tree.size(), 2u) << "the shell and its sleep";
  EXPECT_EQ(tree.front(), child->pid());
  EXPECT_GT(ProcessTreePeakRss(child->pid()), 0u);
  std::vector<pid_t> ours = ProcessTreePids(::getpid());
  EXPECT_NE(std::find(ours.begin(), ours.end(), child->pid()), ours.end());
  child->Kill();
  EXPECT_TRUE(ProcessTreePids(child->pid()).empty());
}

}  // namespace
}  // namespace anysnap
