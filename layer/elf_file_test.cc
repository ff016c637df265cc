#include "layer/elf_file.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "layer/mapped_file.h"
#include "layer/temp_dir.h"
#include "layer/test_elf.h"

namespace anysnap::layer {
namespace {

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ElfFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("elf-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::move(*dir);
  }

  ElfFile ParseFile(const std::string& path) {
    auto mapped = MappedFile::Open(path);
    EXPECT_TRUE(mapped.ok()) << mapped.status().ToString();
    auto elf = ElfFile::Parse(mapped->bytes());
    EXPECT_TRUE(elf.ok()) << elf.status().ToString();
    return std::move(*elf);
  }

  TempDir dir_;
};

TEST_F(ElfFileTest, ParsesARunningProgram) {
  ElfFile elf = ParseFile("/proc/self/exe");
  EXPECT_TRUE(elf.is_64bit());
  EXPECT_TRUE(elf.is_dynamic());
  EXPECT_TRUE(elf.IsProgram());
  EXPECT_FALSE(elf.interpreter().empty());
  EXPECT_NE(std::find(elf.needed().begin(), elf.needed().end(), "libc.so.6"), elf.needed().end());
  auto glibc = elf.HighestGlibcNeed();
  ASSERT_TRUE(glibc.has_value());
  EXPECT_GE(glibc->version, (GlibcVersion{2, 2, 5}));
  EXPECT_FALSE(glibc->symbol.empty());
}

TEST_F(ElfFileTest, NamesTheSymbolThatNeedsANewGlibc) {
  auto program = CompileC(dir_.path(), "arc4", kArc4randomProgram);
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  ElfFile elf = ParseFile(*program);
  auto glibc = elf.HighestGlibcNeed();
  ASSERT_TRUE(glibc.has_value());
  EXPECT_EQ(glibc->version_name, "GLIBC_2.36");
  EXPECT_EQ(glibc->symbol, "arc4random");
}

TEST_F(ElfFileTest, TellsLibrariesFromPrograms) {
  auto lib = CompileC(dir_.path(), "libfoo.so", "int foo(void) { return 1; }\n",
                      {"-shared", "-fPIC", "-Wl,-soname,libfoo.so.1"});
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  ElfFile elf = ParseFile(*lib);
  EXPECT_EQ(elf.type(), ET_DYN);
  EXPECT_EQ(elf.soname(), "libfoo.so.1");
  EXPECT_FALSE(elf.IsProgram());

  auto pie = CompileC(dir_.path(), "pie", kHelloProgram, {"-fPIE", "-pie"});
  ASSERT_TRUE(pie.ok());
  EXPECT_TRUE(ParseFile(*pie).IsProgram());
  auto nopie = CompileC(dir_.path(), "nopie", kHelloProgram, {"-no-pie"});
  ASSERT_TRUE(nopie.ok());
  EXPECT_EQ(ParseFile(*nopie).type(), ET_EXEC);
  EXPECT_TRUE(ParseFile(*nopie).IsProgram());
}

TEST_F(ElfFileTest, LocatesSearchPaths) {
  auto program = CompileC(dir_.path(), "rp", kHelloProgram, {"-Wl,-rpath,$ORIGIN/../lib"});
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  ElfFile elf = ParseFile(*program);
  ASSERT_EQ(elf.search_paths().size(), 1u);
  const ElfSearchPath& path = elf.search_paths()[0];
  EXPECT_EQ(path.value, "$ORIGIN/../lib");
  auto bytes = ReadFile(*program);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->compare(path.string_offset, path.value.size() + 1,
                           std::string("$ORIGIN/../lib\0", 15)),
            0);
  EXPECT_FALSE(elf.StringOverlapsOthers(path.string_offset, path.value.size()));
}

TEST_F(ElfFileTest, RejectsWhatIsNotElf) {
  EXPECT_FALSE(ElfFile::HasElfMagic(AsBytes("#!/bin/sh\n")));
  EXPECT_FALSE(ElfFile::Parse(AsBytes("\x7f"
                                      "ELF"))
                   .ok());
  EXPECT_FALSE(ElfFile::Parse(AsBytes("")).ok());
}

TEST_F(ElfFileTest, SurvivesTruncatedAndCorruptedFiles) {
  auto program = CompileC(dir_.path(), "victim", kArc4randomProgram);
  ASSERT_TRUE(program.ok());
  auto bytes = ReadFile(*program);
  ASSERT_TRUE(bytes.ok());
  // Every prefix: parses or fails cleanly (the sanitizer build checks the reads).
  for (size_t n = 0; n < bytes->size(); n += 97) {
    std::string prefix = bytes->substr(0, n);
    (void)ElfFile::Parse(AsBytes(prefix));
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string copy = *bytes;
    for (int flips = 0; flips < 8; ++flips) {
      // Aim at the headers and the dynamic data, where the offsets live.
      size_t at = rng() % std::min<size_t>(copy.size(), 4096);
      copy[at] = static_cast<char>(rng());
    }
    (void)ElfFile::Parse(AsBytes(copy));
  }
}

}  // namespace
}  // namespace anysnap::layer
