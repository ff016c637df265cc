// LambdaTarget is the platform a layer must run on: the CPU architecture of the
// function (x86_64 or arm64) and the glibc version of its operating system. The
// default is what Lambda's java21 runtime runs on: Amazon Linux 2023, glibc 2.34.
// The file also holds Lambda's size limits for a layer.
//
// Plain values; thread-compatible.
#ifndef ANYSNAP_LAYER_LAMBDA_TARGET_H_
#define ANYSNAP_LAYER_LAMBDA_TARGET_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anysnap::layer {

enum class Arch { kX86_64, kArm64 };

// Parses "x86_64" or "arm64" (also "amd64", "aarch64").
std::optional<Arch> ParseArch(std::string_view name);
// "x86_64" or "arm64", as Lambda spells them.
std::string_view ArchName(Arch arch);
// The ELF e_machine value of `arch` (EM_X86_64 or EM_AARCH64).
uint16_t ArchElfMachine(Arch arch);
// A readable name for an ELF e_machine value ("x86_64", "arm64", "i386", "EM_42").
std::string ElfMachineName(uint16_t machine);
// The Debian multiarch triplet of `arch`, e.g. "x86_64-linux-gnu".
std::string_view ArchMultiarchTriplet(Arch arch);

// A glibc version such as 2.34 or 2.2.5, ordered numerically.
struct GlibcVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;

  auto operator<=>(const GlibcVersion&) const = default;
  // "2.34", or "2.2.5" when patch is set.
  std::string ToString() const;
};

// Parses "2.34", "2.2.5" or a symbol version name "GLIBC_2.34". Returns nullopt for
// anything else, including "GLIBC_PRIVATE".
std::optional<GlibcVersion> ParseGlibcVersion(std::string_view text);

struct LambdaTarget {
  Arch arch = Arch::kX86_64;
  GlibcVersion glibc{2, 34, 0};  // Amazon Linux 2023
};

// Lambda's limits for deployment packages. The unzipped limit holds for a function
// and all its layers together, so one layer above it can never deploy. The zipped
// limit only holds for a direct upload: through S3 a larger zip is accepted.
inline constexpr uint64_t kLambdaMaxUnzippedBytes = 250ull * 1024 * 1024;
inline constexpr uint64_t kLambdaMaxDirectUploadBytes = 50ull * 1024 * 1024;

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_LAMBDA_TARGET_H_
