#include "layer/elf_file.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace anysnap::layer {

namespace {

// Caps on what a hostile file can make the parser do.
constexpr uint64_t kMaxProgramHeaders = 4096;
constexpr uint64_t kMaxDynamicEntries = 1 << 16;
constexpr uint64_t kMaxVersionEntries = 1 << 16;
constexpr uint64_t kMaxSymbols = 1 << 24;
constexpr size_t kSymbolsPerVersion = 3;

Status Malformed(std::string_view what) {
  return Status::InvalidArgument("malformed ELF: " + std::string(what));
}

// Bounds-checked, endian-aware reads of ELF fields at file offsets.
class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, bool little_endian, bool is_64bit)
      : bytes_(bytes), little_endian_(little_endian), is_64bit_(is_64bit) {}

  uint64_t size() const { return bytes_.size(); }

  // Returns true iff [offset, offset + length) lies inside the bytes.
  bool Contains(uint64_t offset, uint64_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }

  std::optional<uint64_t> Unsigned(uint64_t offset, int width) const {
    if (!Contains(offset, width)) return std::nullopt;
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) {
      uint64_t byte = bytes_[offset + (little_endian_ ? i : width - 1 - i)];
      value |= byte << (8 * i);
    }
    return value;
  }
  std::optional<uint64_t> U16(uint64_t offset) const { return Unsigned(offset, 2); }
  std::optional<uint64_t> U32(uint64_t offset) const { return Unsigned(offset, 4); }
  // An address, offset or size: 4 or 8 bytes by class.
  std::optional<uint64_t> Word(uint64_t offset) const {
    return Unsigned(offset, is_64bit_ ? 8 : 4);
  }

  // The NUL-terminated string at `offset`, which must end before `limit`.
  std::optional<std::string_view> CString(uint64_t offset, uint64_t limit) const {
    limit = std::min<uint64_t>(limit, bytes_.size());
    if (offset >= limit) return std::nullopt;
    const void* nul = std::memchr(bytes_.data() + offset, 0, limit - offset);
    if (nul == nullptr) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(bytes_.data() + offset),
                            static_cast<const uint8_t*>(nul) - (bytes_.data() + offset));
  }

 private:
  std::span<const uint8_t> bytes_;
  bool little_endian_;
  bool is_64bit_;
};

struct LoadSegment {
  uint64_t vaddr;
  uint64_t offset;
  uint64_t filesz;
};

// The dynamic entries the parser uses; zero means absent.
struct DynamicTable {
  std::vector<uint64_t> needed;  // string offsets
  std::optional<uint64_t> soname;
  struct PathEntry {
    int64_t tag;
    uint64_t value;
    uint64_t entry_offset;
  };
  std::vector<PathEntry> paths;
  uint64_t strtab = 0, strsz = 0;
  uint64_t symtab = 0, syment = 0;
  uint64_t versym = 0;
  uint64_t verneed = 0, verneednum = 0;
  uint64_t hash = 0, gnu_hash = 0;
  uint64_t flags_1 = 0;
};

}  // namespace

// Parses one ELF object into an ElfFile; a class so it can fill ElfFile's privates.
class ElfParser {
 public:
  explicit ElfParser(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  Result<ElfFile> Run() {
    if (!ElfFile::HasElfMagic(bytes_)) return Malformed("no ELF magic");
    if (bytes_.size() < EI_NIDENT) return Malformed("truncated identification");
    uint8_t elf_class = bytes_[EI_CLASS];
    uint8_t data = bytes_[EI_DATA];
    if (elf_class != ELFCLASS32 && elf_class != ELFCLASS64) return Malformed("unknown class");
    if (data != ELFDATA2LSB && data != ELFDATA2MSB) return Malformed("unknown byte order");
    elf_.is_64bit_ = elf_class == ELFCLASS64;
    elf_.little_endian_ = data == ELFDATA2LSB;
    reader_.emplace(bytes_, elf_.little_endian_, elf_.is_64bit_);
    ANYSNAP_RETURN_IF_ERROR(ReadHeader());
    ANYSNAP_RETURN_IF_ERROR(ReadProgramHeaders());
    if (elf_.is_dynamic_) ANYSNAP_RETURN_IF_ERROR(ReadDynamic());
    std::sort(elf_.string_refs_.begin(), elf_.string_refs_.end());
    return std::move(elf_);
  }

 private:
  const ByteReader& r() const { return *reader_; }
  bool is64() const { return elf_.is_64bit_; }

  Status ReadHeader() {
    auto type = r().U16(16);
    auto machine = r().U16(18);
    // e_phoff sits after e_entry: at 28 (32-bit) or 32 (64-bit).
    auto phoff = r().Word(is64() ? 32 : 28);
    auto shoff = r().Word(is64() ? 40 : 32);
    auto phentsize = r().U16(is64() ? 54 : 42);
    auto phnum = r().U16(is64() ? 56 : 44);
    auto shentsize = r().U16(is64() ? 58 : 46);
    auto shnum = r().U16(is64() ? 60 : 48);
    if (!type || !machine || !phoff || !shoff || !phentsize || !phnum || !shentsize || !shnum) {
      return Malformed("truncated header");
    }
    elf_.type_ = static_cast<uint16_t>(*type);
    elf_.machine_ = static_cast<uint16_t>(*machine);
    phoff_ = *phoff;
    phentsize_ = *phentsize;
    phnum_ = *phnum;
    shoff_ = *shoff;
    shentsize_ = *shentsize;
    shnum_ = *shnum;
    if (phnum_ == PN_XNUM) {
      // The real count sits in section header 0's sh_info.
      auto info = shoff_ != 0 ? r().U32(shoff_ + (is64() ? 44 : 28)) : std::nullopt;
      if (!info) return Malformed("PN_XNUM without section header 0");
      phnum_ = *info;
    }
    if (shnum_ == 0 && shoff_ != 0) {
      auto size = r().Word(shoff_ + (is64() ? 32 : 20));
      shnum_ = size ? *size : 0;
    }
    return Status::Ok();
  }

  Status ReadProgramHeaders() {
    if (phnum_ == 0) return Status::Ok();
    if (phnum_ > kMaxProgramHeaders) return Malformed("too many program headers");
    if (phentsize_ < (is64() ? 56u : 32u)) return Malformed("program header size");
    if (!r().Contains(phoff_, phnum_ * phentsize_)) return Malformed("program headers past end");
    std::optional<std::pair<uint64_t, uint64_t>> dynamic, interp;
    for (uint64_t i = 0; i < phnum_; ++i) {
      uint64_t ph = phoff_ + i * phentsize_;
      uint64_t type = *r().U32(ph);
      // Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz; Elf32_Phdr: type,
      // offset, vaddr, paddr, filesz.
      uint64_t offset = *r().Word(ph + (is64() ? 8 : 4));
      uint64_t vaddr = *r().Word(ph + (is64() ? 16 : 8));
      uint64_t filesz = *r().Word(ph + (is64() ? 32 : 16));
      if (type == PT_LOAD) {
        loads_.push_back({vaddr, offset, filesz});
      } else if (type == PT_DYNAMIC) {
        dynamic.emplace(offset, filesz);
      } else if (type == PT_INTERP) {
        interp.emplace(offset, filesz);
      }
    }
    if (interp) {
      if (!r().Contains(interp->first, interp->second)) return Malformed("PT_INTERP past end");
      auto s = r().CString(interp->first, interp->first + interp->second);
      if (!s) return Malformed("PT_INTERP not terminated");
      elf_.interpreter_ = std::string(*s);
    }
    if (dynamic) {
      if (!r().Contains(dynamic->first, dynamic->second)) return Malformed("PT_DYNAMIC past end");
      elf_.is_dynamic_ = true;
      dynamic_offset_ = dynamic->first;
      dynamic_size_ = dynamic->second;
    }
    return Status::Ok();
  }

  // The file offset of virtual address `vaddr`, if a PT_LOAD maps it from the file.
  std::optional<uint64_t> FileOffset(uint64_t vaddr) const {
    for (const LoadSegment& s : loads_) {
      if (vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz) {
        uint64_t offset = s.offset + (vaddr - s.vaddr);
        if (offset < s.offset || offset >= r().size()) return std::nullopt;
        return offset;
      }
    }
    return std::nullopt;
  }

  // The dynamic string at strtab-relative `offset`; records the reference.
  Result<std::string> DynString(uint64_t offset, std::string_view what) {
    if (offset >= strsz_) return Malformed(std::string(what) + " outside the string table");
    auto s = r().CString(strtab_offset_ + offset, strtab_offset_ + strsz_);
    if (!s) return Malformed(std::string(what) + " not terminated");
    elf_.string_refs_.push_back(strtab_offset_ + offset);
    return std::string(*s);
  }

  Status ReadDynamic() {
    DynamicTable d;
    uint64_t entsize = is64() ? 16 : 8;
    uint64_t count = std::min(dynamic_size_ / entsize, kMaxDynamicEntries);
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t at = dynamic_offset_ + i * entsize;
      uint64_t utag = *r().Word(at);
      int64_t tag = is64() ? static_cast<int64_t>(utag) : static_cast<int32_t>(utag);
      uint64_t value = *r().Word(at + entsize / 2);
      if (tag == DT_NULL) break;
      switch (tag) {
        case DT_NEEDED:
          d.needed.push_back(value);
          break;
        case DT_SONAME:
          d.soname = value;
          break;
        case DT_RPATH:
        case DT_RUNPATH:
          d.paths.push_back({tag, value, at});
          break;
        case DT_STRTAB:
          d.strtab = value;
          break;
        case DT_STRSZ:
          d.strsz = value;
          break;
        case DT_SYMTAB:
          d.symtab = value;
          break;
        case DT_SYMENT:
          d.syment = value;
          break;
        case DT_VERSYM:
          d.versym = value;
          break;
        case DT_VERNEED:
          d.verneed = value;
          break;
        case DT_VERNEEDNUM:
          d.verneednum = value;
          break;
        case DT_HASH:
          d.hash = value;
          break;
        case DT_GNU_HASH:
          d.gnu_hash = value;
          break;
        case DT_FLAGS_1:
          d.flags_1 = value;
          break;
        default:
          break;
      }
    }
    elf_.flags_1_ = d.flags_1;
    bool uses_strings = !d.needed.empty() || d.soname || !d.paths.empty() || d.verneednum != 0;
    if (!uses_strings) return Status::Ok();
    auto strtab = FileOffset(d.strtab);
    if (d.strtab == 0 || !strtab) return Malformed("DT_STRTAB not mapped from the file");
    strtab_offset_ = *strtab;
    strsz_ = std::min<uint64_t>(d.strsz, r().size() - strtab_offset_);

    for (uint64_t off : d.needed) {
      auto s = DynString(off, "DT_NEEDED");
      if (!s.ok()) return s.status();
      elf_.needed_.push_back(std::move(*s));
    }
    if (d.soname) {
      auto s = DynString(*d.soname, "DT_SONAME");
      if (!s.ok()) return s.status();
      elf_.soname_ = std::move(*s);
    }
    for (const auto& p : d.paths) {
      auto s = DynString(p.value, "DT_RPATH/DT_RUNPATH");
      if (!s.ok()) return s.status();
      elf_.search_paths_.push_back(
          {p.tag, std::move(*s), p.value, p.entry_offset, strtab_offset_ + p.value});
    }
    if (d.verneed != 0 && d.verneednum != 0) ANYSNAP_RETURN_IF_ERROR(ReadVersionNeeds(d));
    return ReadDynamicSymbols(d);
  }

  // Walks DT_VERNEED: Elf_Verneed {u16 version, u16 cnt, u32 file, u32 aux, u32 next}
  // and its Elf_Vernaux {u32 hash, u16 flags, u16 other, u32 name, u32 next}; the
  // layouts are the same for both classes.
  Status ReadVersionNeeds(const DynamicTable& d) {
    auto start = FileOffset(d.verneed);
    if (!start) return Malformed("DT_VERNEED not mapped from the file");
    uint64_t at = *start;
    uint64_t budget = kMaxVersionEntries;
    for (uint64_t n = 0; n < d.verneednum; ++n) {
      if (budget-- == 0) return Malformed("DT_VERNEED loops");
      auto cnt = r().U16(at + 2);
      auto file = r().U32(at + 4);
      auto aux = r().U32(at + 8);
      auto next = r().U32(at + 12);
      if (!cnt || !file || !aux || !next) return Malformed("Verneed past end");
      auto file_name = DynString(*file, "Verneed file");
      if (!file_name.ok()) return file_name.status();
      uint64_t aux_at = at + *aux;
      for (uint64_t k = 0; k < *cnt; ++k) {
        if (budget-- == 0) return Malformed("DT_VERNEED loops");
        auto flags = r().U16(aux_at + 4);
        auto other = r().U16(aux_at + 6);
        auto name = r().U32(aux_at + 8);
        auto aux_next = r().U32(aux_at + 12);
        if (!flags || !other || !name || !aux_next) return Malformed("Vernaux past end");
        auto version = DynString(*name, "Vernaux name");
        if (!version.ok()) return version.status();
        ElfVersionNeed need;
        need.file = *file_name;
        need.version = std::move(*version);
        need.index = static_cast<uint16_t>(*other & 0x7fff);
        need.weak = (*flags & VER_FLG_WEAK) != 0;
        elf_.version_needs_.push_back(std::move(need));
        if (*aux_next == 0) break;
        aux_at += *aux_next;
      }
      if (*next == 0) break;
      at += *next;
    }
    return Status::Ok();
  }

  // The number of dynamic symbols: from the SHT_DYNSYM section header when there
  // is one, else from DT_HASH's nchain, else from walking DT_GNU_HASH.
  uint64_t DynamicSymbolCount(const DynamicTable& d, uint64_t syment) const {
    uint64_t shsize = is64() ? 64 : 40;
    if (shoff_ != 0 && shentsize_ >= shsize && shnum_ < (1 << 20)) {
      for (uint64_t i = 0; i < shnum_; ++i) {
        uint64_t sh = shoff_ + i * shentsize_;
        auto type = r().U32(sh + 4);
        if (!type) break;
        if (*type == SHT_DYNSYM) {
          auto size = r().Word(sh + (is64() ? 32 : 20));
          if (size) return *size / syment;
        }
      }
    }
    if (d.hash != 0) {
      auto at = FileOffset(d.hash);
      if (at) {
        auto nchain = r().U32(*at + 4);
        if (nchain) return *nchain;
      }
    }
    if (d.gnu_hash != 0) {
      auto at = FileOffset(d.gnu_hash);
      if (!at) return 0;
      auto nbuckets = r().U32(*at);
      auto symoffset = r().U32(*at + 4);
      auto bloom_size = r().U32(*at + 8);
      if (!nbuckets || !symoffset || !bloom_size) return 0;
      uint64_t buckets = *at + 16 + *bloom_size * (is64() ? 8 : 4);
      uint64_t max_sym = 0;
      for (uint64_t b = 0; b < *nbuckets; ++b) {
        auto v = r().U32(buckets + 4 * b);
        if (!v) return 0;
        max_sym = std::max(max_sym, *v);
      }
      if (max_sym < *symoffset) return *symoffset;
      uint64_t chain = buckets + 4 * *nbuckets;
      for (uint64_t sym = max_sym; sym < kMaxSymbols; ++sym) {
        auto v = r().U32(chain + 4 * (sym - *symoffset));
        if (!v) return 0;
        if (*v & 1) return sym + 1;
      }
    }
    return 0;
  }

  // Records where every dynamic symbol's name starts, and names the first few
  // symbols bound to each needed version.
  Status ReadDynamicSymbols(const DynamicTable& d) {
    if (d.symtab == 0) return Status::Ok();
    uint64_t syment = d.syment != 0 ? d.syment : (is64() ? 24 : 16);
    if (syment < (is64() ? 24u : 16u)) return Malformed("DT_SYMENT too small");
    auto symtab = FileOffset(d.symtab);
    if (!symtab) return Malformed("DT_SYMTAB not mapped from the file");
    std::optional<uint64_t> versym;
    if (d.versym != 0 && !elf_.version_needs_.empty()) {
      versym = FileOffset(d.versym);
      if (!versym) return Malformed("DT_VERSYM not mapped from the file");
    }
    uint64_t count = std::min(DynamicSymbolCount(d, syment), kMaxSymbols);
    for (uint64_t i = 1; i < count; ++i) {
      auto name = r().U32(*symtab + i * syment);
      if (!name) break;  // a count past the table: stop at its end
      elf_.string_refs_.push_back(strtab_offset_ + *name);
      if (!versym) continue;
      auto ver = r().U16(*versym + 2 * i);
      if (!ver) break;
      uint16_t index = static_cast<uint16_t>(*ver & 0x7fff);
      if (index < 2) continue;  // local or global: no version
      for (ElfVersionNeed& need : elf_.version_needs_) {
        if (need.index != index || need.symbols.size() >= kSymbolsPerVersion) continue;
        auto s = DynString(*name, "symbol name");
        if (!s.ok()) return s.status();
        need.symbols.push_back(std::move(*s));
      }
    }
    return Status::Ok();
  }

  std::span<const uint8_t> bytes_;
  std::optional<ByteReader> reader_;
  ElfFile elf_;
  uint64_t phoff_ = 0, phentsize_ = 0, phnum_ = 0;
  uint64_t shoff_ = 0, shentsize_ = 0, shnum_ = 0;
  std::vector<LoadSegment> loads_;
  uint64_t dynamic_offset_ = 0, dynamic_size_ = 0;
  uint64_t strtab_offset_ = 0, strsz_ = 0;
};

bool ElfFile::HasElfMagic(std::span<const uint8_t> bytes) {
  return bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfFile> ElfFile::Parse(std::span<const uint8_t> bytes) { return ElfParser(bytes).Run(); }

bool ElfFile::IsProgram() const {
  if (type_ == ET_EXEC) return true;
  if (type_ != ET_DYN) return false;
  return (flags_1_ & DF_1_PIE) != 0 || (!interpreter_.empty() && soname_.empty());
}

std::optional<GlibcNeed> ElfFile::HighestGlibcNeed() const {
  std::optional<GlibcNeed> best;
  for (const ElfVersionNeed& need : version_needs_) {
    if (need.weak) continue;
    auto version = ParseGlibcVersion(need.version);
    if (!version || !need.version.starts_with("GLIBC_")) continue;
    if (!best || *version > best->version) {
      best = GlibcNeed{*version, need.version, need.symbols.empty() ? "" : need.symbols.front()};
    }
  }
  return best;
}

bool ElfFile::StringOverlapsOthers(uint64_t string_offset, uint64_t length) const {
  auto it = std::upper_bound(string_refs_.begin(), string_refs_.end(), string_offset);
  return it != string_refs_.end() && *it <= string_offset + length;
}

}  // namespace anysnap::layer
