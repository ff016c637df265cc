#include "layer/layer_path.h"

#include <gtest/gtest.h>

namespace anysnap::layer {
namespace {

TEST(LayerPathTest, AcceptsPlainRelativeNames) {
  EXPECT_TRUE(CheckEntryName("anysnap/").ok());
  EXPECT_TRUE(CheckEntryName("anysnap/bin/anysnap-wrapper").ok());
  EXPECT_TRUE(CheckEntryName("a..b/c.").ok());
}

TEST(LayerPathTest, RefusesUnsafeNames) {
  EXPECT_FALSE(CheckEntryName("").ok());
  EXPECT_FALSE(CheckEntryName("/etc/passwd").ok());
  EXPECT_FALSE(CheckEntryName("../evil").ok());
  EXPECT_FALSE(CheckEntryName("a/../../evil").ok());
  EXPECT_FALSE(CheckEntryName("a/..").ok());
  EXPECT_FALSE(CheckEntryName("a/./b").ok());
  EXPECT_FALSE(CheckEntryName("a//b").ok());
  EXPECT_FALSE(CheckEntryName("a\\b").ok());
  EXPECT_FALSE(CheckEntryName(std::string_view("a\0b", 3)).ok());
  EXPECT_NE(CheckEntryName("x/../y").message().find(".."), std::string::npos);
}

TEST(LayerPathTest, ResolvesLinksFromTheirDirectory) {
  EXPECT_EQ(*ResolveLinkTarget("lib/libz.so", "libz.so.1"), "lib/libz.so.1");
  EXPECT_EQ(*ResolveLinkTarget("bin/npm", "../lib/npm/cli.js"), "lib/npm/cli.js");
  EXPECT_EQ(*ResolveLinkTarget("a/b/c", "./../d//e"), "a/d/e");
  EXPECT_EQ(*ResolveLinkTarget("top", "."), "");
  EXPECT_EQ(*ResolveLinkTarget("a/up", ".."), "");
}

TEST(LayerPathTest, RefusesLinksThatLeaveTheLayer) {
  EXPECT_FALSE(ResolveLinkTarget("bin/sh", "/bin/sh").ok());
  EXPECT_FALSE(ResolveLinkTarget("top", "..").ok());
  EXPECT_FALSE(ResolveLinkTarget("a/b", "../../etc").ok());
  EXPECT_FALSE(ResolveLinkTarget("a/b", "x/../../../etc").ok());
  EXPECT_FALSE(ResolveLinkTarget("a", "").ok());
}

}  // namespace
}  // namespace anysnap::layer
