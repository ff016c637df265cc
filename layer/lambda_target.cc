#include "layer/lambda_target.h"

#include <elf.h>

#include <charconv>

namespace anysnap::layer {

std::optional<Arch> ParseArch(std::string_view name) {
  if (name == "x86_64" || name == "amd64") return Arch::kX86_64;
  if (name == "arm64" || name == "aarch64") return Arch::kArm64;
  return std::nullopt;
}

std::string_view ArchName(Arch arch) { return arch == Arch::kX86_64 ? "x86_64" : "arm64"; }

uint16_t ArchElfMachine(Arch arch) { return arch == Arch::kX86_64 ? EM_X86_64 : EM_AARCH64; }

std::string ElfMachineName(uint16_t machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86_64";
    case EM_AARCH64:
      return "arm64";
    case EM_386:
      return "i386";
    case EM_ARM:
      return "arm";
    case EM_RISCV:
      return "riscv";
    case EM_PPC64:
      return "ppc64";
    case EM_S390:
      return "s390";
    default:
      return "EM_" + std::to_string(machine);
  }
}

std::string_view ArchMultiarchTriplet(Arch arch) {
  return arch == Arch::kX86_64 ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
}

std::string GlibcVersion::ToString() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor);
  if (patch != 0) s += "." + std::to_string(patch);
  return s;
}

std::optional<GlibcVersion> ParseGlibcVersion(std::string_view text) {
  if (text.starts_with("GLIBC_")) text.remove_prefix(6);
  int parts[3] = {0, 0, 0};
  int count = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (count < 3) {
    auto [next, ec] = std::from_chars(p, end, parts[count]);
    if (ec != std::errc() || next == p || parts[count] < 0) return std::nullopt;
    ++count;
    p = next;
    if (p == end) break;
    if (*p != '.') return std::nullopt;
    ++p;
  }
  if (p != end || count < 2) return std::nullopt;
  return GlibcVersion{parts[0], parts[1], parts[2]};
}

}  // namespace anysnap::layer
