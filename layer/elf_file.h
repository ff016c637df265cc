// ElfFile is what anysnap needs to know about one ELF object: its class, type and
// machine, its program interpreter, and what its dynamic section asks of the
// loader — the libraries it needs (DT_NEEDED), its search paths (DT_RPATH,
// DT_RUNPATH) and the symbol versions it needs (DT_VERNEED), with the symbols that
// need each one, so a glibc requirement can be named.
//
// Parsing follows what ld.so reads (program headers and the dynamic segment), so a
// file stripped of its section headers still parses; section headers are only used
// to count dynamic symbols when they are present. Every read is bounds-checked and
// every loop bounded: truncated or hostile bytes give an error Status, never a read
// outside the span. An ElfFile owns its data and does not keep the span.
//
// Thread-compatible.
#ifndef ANYSNAP_LAYER_ELF_FILE_H_
#define ANYSNAP_LAYER_ELF_FILE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "anysnap/status.h"
#include "layer/lambda_target.h"

namespace anysnap::layer {

// One version an object needs from a library (a Vernaux entry of DT_VERNEED).
struct ElfVersionNeed {
  std::string file;                  // the library, e.g. "libc.so.6"
  std::string version;               // e.g. "GLIBC_2.34"
  uint16_t index = 0;                // the value .gnu.version holds for symbols bound to it
  bool weak = false;                 // VER_FLG_WEAK: the loader only warns when it is missing
  std::vector<std::string> symbols;  // the first few symbols bound to it, in table order
};

// A DT_RPATH or DT_RUNPATH entry and where its pieces sit in the file.
struct ElfSearchPath {
  int64_t tag = 0;  // DT_RPATH or DT_RUNPATH
  std::string value;
  uint64_t string_index = 0;   // d_val: the string's offset in the dynamic string table
  uint64_t entry_offset = 0;   // file offset of the Elf_Dyn entry
  uint64_t string_offset = 0;  // file offset of the string's first byte
};

// The highest GLIBC_x.y an object needs, and a symbol that needs it.
struct GlibcNeed {
  GlibcVersion version;
  std::string version_name;  // e.g. "GLIBC_2.36"
  std::string symbol;        // empty when no symbol table names one
};

class ElfFile {
 public:
  // Returns true iff `bytes` starts with the ELF magic number.
  static bool HasElfMagic(std::span<const uint8_t> bytes);
  // Parses `bytes`; an error names what is malformed.
  static Result<ElfFile> Parse(std::span<const uint8_t> bytes);

  bool is_64bit() const { return is_64bit_; }
  bool is_little_endian() const { return little_endian_; }
  uint16_t type() const { return type_; }                          // ET_EXEC, ET_DYN, ...
  uint16_t machine() const { return machine_; }                    // EM_X86_64, EM_AARCH64, ...
  const std::string& interpreter() const { return interpreter_; }  // empty when none
  bool is_dynamic() const { return is_dynamic_; }                  // has PT_DYNAMIC
  const std::string& soname() const { return soname_; }
  const std::vector<std::string>& needed() const { return needed_; }
  const std::vector<ElfSearchPath>& search_paths() const { return search_paths_; }
  const std::vector<ElfVersionNeed>& version_needs() const { return version_needs_; }
  uint64_t flags_1() const { return flags_1_; }

  // Returns true iff the object is a program rather than a library: ET_EXEC, a PIE
  // (DF_1_PIE), or an ET_DYN with an interpreter and no soname.
  bool IsProgram() const;
  // The highest non-weak GLIBC_x.y version needed, if any.
  std::optional<GlibcNeed> HighestGlibcNeed() const;
  // Returns true iff a string of the dynamic string table other than the one at
  // `string_offset` (a file offset) starts inside its first `length` + 1 bytes —
  // that is, shares its bytes, as linkers do when they merge string tails.
  bool StringOverlapsOthers(uint64_t string_offset, uint64_t length) const;

 private:
  ElfFile() = default;
  friend class ElfParser;

  bool is_64bit_ = false;
  bool little_endian_ = true;
  uint16_t type_ = 0;
  uint16_t machine_ = 0;
  std::string interpreter_;
  bool is_dynamic_ = false;
  std::string soname_;
  std::vector<std::string> needed_;
  std::vector<ElfSearchPath> search_paths_;
  std::vector<ElfVersionNeed> version_needs_;
  uint64_t flags_1_ = 0;
  // File offsets of every string the dynamic data refers to, sorted.
  std::vector<uint64_t> string_refs_;
};

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_ELF_FILE_H_
