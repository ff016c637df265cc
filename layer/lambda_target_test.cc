#include "layer/lambda_target.h"

#include <elf.h>
#include <gtest/gtest.h>

namespace anysnap::layer {
namespace {

TEST(LambdaTargetTest, ParsesArchitectures) {
  EXPECT_EQ(ParseArch("x86_64"), Arch::kX86_64);
  EXPECT_EQ(ParseArch("amd64"), Arch::kX86_64);
  EXPECT_EQ(ParseArch("arm64"), Arch::kArm64);
  EXPECT_EQ(ParseArch("aarch64"), Arch::kArm64);
  EXPECT_FALSE(ParseArch("mips").has_value());
  EXPECT_EQ(ArchElfMachine(Arch::kArm64), EM_AARCH64);
  EXPECT_EQ(ElfMachineName(EM_AARCH64), "arm64");
  EXPECT_EQ(ElfMachineName(4242), "EM_4242");
}

TEST(LambdaTargetTest, ParsesGlibcVersions) {
  EXPECT_EQ(ParseGlibcVersion("2.34"), (GlibcVersion{2, 34, 0}));
  EXPECT_EQ(ParseGlibcVersion("GLIBC_2.2.5"), (GlibcVersion{2, 2, 5}));
  EXPECT_FALSE(ParseGlibcVersion("GLIBC_PRIVATE").has_value());
  EXPECT_FALSE(ParseGlibcVersion("2").has_value());
  EXPECT_FALSE(ParseGlibcVersion("2.").has_value());
  EXPECT_FALSE(ParseGlibcVersion("2.3.4.5").has_value());
  EXPECT_FALSE(ParseGlibcVersion("2.x").has_value());
  EXPECT_EQ(ParseGlibcVersion("2.2.5")->ToString(), "2.2.5");
  EXPECT_EQ(ParseGlibcVersion("2.36")->ToString(), "2.36");
}

TEST(LambdaTargetTest, OrdersGlibcVersionsNumerically) {
  EXPECT_LT(*ParseGlibcVersion("2.9"), *ParseGlibcVersion("2.10"));
  EXPECT_LT(*ParseGlibcVersion("2.2.5"), *ParseGlibcVersion("2.3"));
  EXPECT_GT(*ParseGlibcVersion("GLIBC_2.36"), LambdaTarget{}.glibc);
}

}  // namespace
}  // namespace anysnap::layer
