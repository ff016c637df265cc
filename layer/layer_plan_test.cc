#include "layer/layer_plan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

class LayerPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("plan-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    root_ = dir_.path() + "/tree";
    for (const char* d : {"", "/bin", "/lib", "/lib/empty"}) {
      ASSERT_EQ(::mkdir((root_ + d).c_str(), 0700), 0);
    }
    ASSERT_TRUE(WriteFile(root_ + "/bin/tool", "#!/bin/sh\n", 0700).ok());
    ASSERT_TRUE(WriteFile(root_ + "/lib/data", "data", 0600).ok());
    ASSERT_EQ(::symlink("../lib/data", (root_ + "/bin/data").c_str()), 0);
  }

  TempDir dir_;
  std::string root_;
};

TEST_F(LayerPlanTest, WalksATreeWithNormalisedModes) {
  LayerPlan plan;
  ASSERT_TRUE(plan.AddTree(root_, "opt/rt").ok());
  std::vector<std::string> names;
  for (const auto& [name, e] : plan.entries()) names.push_back(name);
  std::vector<std::string> expected = {
      "opt/",        "opt/rt/",         "opt/rt/bin/",      "opt/rt/bin/data", "opt/rt/bin/tool",
      "opt/rt/lib/", "opt/rt/lib/data", "opt/rt/lib/empty/"};
  EXPECT_EQ(names, expected);
  const auto& e = plan.entries();
  EXPECT_EQ(e.at("opt/rt/bin/").mode, 0755u);
  EXPECT_EQ(e.at("opt/rt/bin/tool").mode, 0755u);
  EXPECT_EQ(e.at("opt/rt/lib/data").mode, 0644u);
  EXPECT_EQ(e.at("opt/rt/lib/data").size, 4u);
  EXPECT_EQ(e.at("opt/rt/bin/data").kind, PlannedEntry::Kind::kSymlink);
  EXPECT_EQ(e.at("opt/rt/bin/data").link_target, "../lib/data");
  EXPECT_EQ(plan.total_bytes(), 14u);
}

TEST_F(LayerPlanTest, PutsATreeAtTheRoot) {
  LayerPlan plan;
  ASSERT_TRUE(plan.AddTree(root_, "").ok());
  EXPECT_TRUE(plan.entries().contains("bin/tool"));
  EXPECT_TRUE(plan.entries().contains("bin/"));
}

TEST_F(LayerPlanTest, RefusesUnsafeSymlinks) {
  LayerPlan plan;
  EXPECT_FALSE(plan.AddSymlink("bin/sh", "/bin/sh").ok());
  EXPECT_FALSE(plan.AddSymlink("bin/up", "../../x").ok());
  ASSERT_EQ(::symlink("/etc/passwd", (root_ + "/lib/abs").c_str()), 0);
  Status status = plan.AddTree(root_, "rt");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("absolute"), std::string::npos) << status.ToString();
}

TEST_F(LayerPlanTest, RefusesSpecialFiles) {
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0644), 0);
  LayerPlan plan;
  EXPECT_FALSE(plan.AddTree(root_, "rt").ok());
}

TEST_F(LayerPlanTest, RefusesConflicts) {
  LayerPlan plan;
  ASSERT_TRUE(plan.AddFile("a/b", root_ + "/lib/data").ok());
  EXPECT_FALSE(plan.AddFile("a/b", root_ + "/lib/data").ok());
  EXPECT_FALSE(plan.AddFile("a", root_ + "/lib/data").ok());
  EXPECT_FALSE(plan.AddFile("a/b/c", root_ + "/lib/data").ok());
  EXPECT_FALSE(plan.AddFile("../x", root_ + "/lib/data").ok());
  EXPECT_FALSE(plan.AddFile("x", root_ + "/missing").ok());
  EXPECT_TRUE(plan.AddDirectory("a").ok());  // already there: fine
}

TEST_F(LayerPlanTest, LeavesOutExcludedFiles) {
  LayerPlan plan;
  plan.Exclude(root_ + "/lib/data");
  ASSERT_TRUE(plan.AddTree(root_, "").ok());
  EXPECT_FALSE(plan.entries().contains("lib/data"));
  EXPECT_TRUE(plan.entries().contains("bin/tool"));
}

}  // namespace
}  // namespace anysnap::layer
