#include "layer/layer_inspector.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <unordered_set>

#include "anysnap/unique_fd.h"
#include "layer/layer_path.h"
#include "layer/layer_plan.h"
#include "layer/mapped_file.h"
#include "layer/temp_dir.h"
#include "layer/zip_reader.h"

namespace anysnap::layer {

namespace {

// Longest symlink target read; Linux's PATH_MAX.
constexpr size_t kMaxLinkTarget = 4096;

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode);
  return buf;
}

// Returns true iff a directory of `name` (not the last component) is "bin".
bool InBinDirectory(const std::string& name) {
  return name.starts_with("bin/") || name.find("/bin/") != std::string::npos;
}

class Inspector {
 public:
  Inspector(ZipReader& zip, const InspectOptions& options, int scratch_fd)
      : zip_(zip), options_(options), scratch_fd_(scratch_fd) {}

  InspectReport Run(const std::string& path) {
    report_.archive = path;
    report_.target = options_.target;
    report_.zipped_bytes = zip_.archive_size();
    for (const ZipEntry& e : zip_.entries()) {
      std::string bare = e.name;
      if (!bare.empty() && bare.back() == '/') bare.pop_back();
      // Every parent counts as present, with or without its own entry.
      for (size_t slash = bare.find('/'); slash != std::string::npos;
           slash = bare.find('/', slash + 1)) {
        present_.insert(bare.substr(0, slash));
      }
    }
    for (const ZipEntry& e : zip_.entries()) Inspect(e);
    CheckLinkTargets();
    CheckSizes();
    return std::move(report_);
  }

 private:
  void Add(Severity severity, std::string check, const std::string& entry, std::string message) {
    report_.findings.push_back({severity, std::move(check), entry, std::move(message)});
  }

  void Inspect(const ZipEntry& e) {
    InspectedEntry ie;
    ie.name = e.name;
    ie.size = e.size;
    ie.compressed_size = e.compressed_size;
    report_.unzipped_bytes += e.size;
    uint32_t mode = e.unix_mode();
    if (e.has_unix_mode()) ie.mode = mode & 07777;
    if (e.is_symlink()) {
      ie.type = EntryType::kSymlink;
    } else if (e.is_directory()) {
      ie.type = EntryType::kDirectory;
    } else if (e.has_unix_mode() && (mode & S_IFMT) != 0 && !S_ISREG(mode)) {
      ie.type = EntryType::kOther;
    }

    if (Status s = CheckEntryName(e.name); !s.ok())
      Add(Severity::kError, "path", e.name, s.message());
    std::string bare = e.name;
    if (!bare.empty() && bare.back() == '/') bare.pop_back();
    if (!names_.insert(bare).second) {
      Add(Severity::kError, "path", e.name, "duplicate entry");
    }
    present_.insert(bare);
    if (e.encrypted) {
      Add(Severity::kError, "zip", e.name, "encrypted: Lambda cannot unpack it");
      report_.entries.push_back(std::move(ie));
      return;
    }
    if (e.method != ZIP_CM_STORE && e.method != ZIP_CM_DEFLATE) {
      Add(Severity::kWarning, "zip", e.name,
          "compression method " + std::to_string(e.method) +
              ": only stored and deflated "
              "entries unpack everywhere");
    }

    switch (ie.type) {
      case EntryType::kDirectory:
        if (ie.mode && (*ie.mode & 0005) != 0005) {
          Add(Severity::kError, "mode", e.name,
              "directory mode " + Octal(*ie.mode) +
                  ": other users cannot enter it, and Lambda runs functions as one; use 0755");
        }
        break;
      case EntryType::kSymlink:
        InspectSymlink(e, ie);
        break;
      case EntryType::kOther:
        Add(Severity::kError, "mode", e.name, "special file (type " + Octal(mode & S_IFMT) + ")");
        break;
      case EntryType::kFile:
        InspectFile(e, ie);
        break;
    }
    report_.entries.push_back(std::move(ie));
  }

  void InspectSymlink(const ZipEntry& e, InspectedEntry& ie) {
    if (e.size > kMaxLinkTarget) {
      Add(Severity::kError, "symlink", e.name,
          "target longer than " + std::to_string(kMaxLinkTarget) + " bytes");
      return;
    }
    auto target = zip_.ReadPrefix(e, kMaxLinkTarget);
    if (!target.ok()) {
      Add(Severity::kError, "zip", e.name, target.status().message());
      return;
    }
    ie.link_target = *target;
    auto resolved = ResolveLinkTarget(e.name, *target);
    if (!resolved.ok()) {
      Add(Severity::kError, "symlink", e.name, resolved.status().message());
      return;
    }
    links_.emplace_back(e.name, *resolved);
  }

  void InspectFile(const ZipEntry& e, InspectedEntry& ie) {
    if (e.size >= 2) {
      auto head = zip_.ReadPrefix(e, 4);
      if (!head.ok()) {
        Add(Severity::kError, "zip", e.name, head.status().message());
        return;
      }
      ie.is_script = head->starts_with("#!");
      ie.is_elf =
          ElfFile::HasElfMagic({reinterpret_cast<const uint8_t*>(head->data()), head->size()});
    }
    if (ie.is_elf) InspectElf(e, ie);

    bool in_bin = InBinDirectory(e.name);
    bool must_run = (ie.is_elf && ie.elf_program) || ((ie.is_elf || ie.is_script) && in_bin);
    std::string what = ie.is_elf      ? (ie.elf_program ? "ELF program" : "ELF file")
                       : ie.is_script ? "script"
                                      : "file";
    if (!ie.mode) {
      if (must_run) {
        Add(Severity::kError, "mode", e.name,
            what + " stored without a Unix mode: it will not be executable");
      }
      return;
    }
    uint32_t mode = *ie.mode;
    if ((mode & 0004) == 0) {
      Add(Severity::kError, "mode", e.name,
          "mode " + Octal(mode) +
              ": not readable by other users, and Lambda runs functions "
              "as one; use 0644 or 0755");
    }
    if (must_run && (mode & 0111) == 0) {
      Add(Severity::kError, "mode", e.name,
          what + " without execute permission (mode " + Octal(mode) + "); use 0755");
    } else if ((mode & 0111) != 0 && (mode & 0555) != 0555) {
      Add(Severity::kError, "mode", e.name,
          "mode " + Octal(mode) +
              ": not executable by other users, and Lambda runs functions "
              "as one; use 0755");
    }
    if ((mode & 06000) != 0) {
      Add(Severity::kWarning, "mode", e.name, "setuid or setgid bit (mode " + Octal(mode) + ")");
    }
  }

  void InspectElf(const ZipEntry& e, InspectedEntry& ie) {
    // A larger entry is already an error of its own (see CheckSizes).
    if (e.size > kLambdaMaxUnzippedBytes) return;
    if (::ftruncate(scratch_fd_, 0) != 0 || ::lseek(scratch_fd_, 0, SEEK_SET) != 0) {
      Add(Severity::kError, "elf", e.name, PosixError("scratch file", errno).message());
      return;
    }
    if (Status s = zip_.CopyTo(e, scratch_fd_, kLambdaMaxUnzippedBytes); !s.ok()) {
      Add(Severity::kError, "zip", e.name, s.message());
      return;
    }
    auto mapped = MappedFile::FromFd(scratch_fd_, e.name);
    if (!mapped.ok()) {
      Add(Severity::kError, "elf", e.name, mapped.status().message());
      return;
    }
    auto elf = ElfFile::Parse(mapped->bytes());
    if (!elf.ok()) {
      Add(Severity::kError, "elf", e.name, elf.status().message());
      return;
    }
    ie.elf_program = elf->IsProgram();
    ie.elf_machine = elf->machine();
    ie.glibc = elf->HighestGlibcNeed();
    const LambdaTarget& target = options_.target;
    if (elf->machine() != ArchElfMachine(target.arch) || !elf->is_64bit()) {
      Add(Severity::kError, "arch", e.name,
          "built for " + ElfMachineName(elf->machine()) + (elf->is_64bit() ? "" : " (32-bit)") +
              "; the layer targets " + std::string(ArchName(target.arch)));
    }
    if (ie.glibc && ie.glibc->version > target.glibc) {
      std::string by = ie.glibc->symbol.empty() ? "" : " (" + ie.glibc->symbol + ")";
      Add(Severity::kError, "glibc", e.name,
          "needs " + ie.glibc->version_name + by + "; the target has glibc " +
              target.glibc.ToString() +
              ": build it on Amazon Linux 2023, java21's OS (docker build -f "
              "templates/Dockerfile)");
    }
    for (const ElfVersionNeed& need : elf->version_needs()) {
      if (need.version == "GLIBC_PRIVATE") {
        Add(Severity::kWarning, "glibc", e.name,
            "needs GLIBC_PRIVATE from " + need.file + ": only the glibc it was built with has it");
        break;
      }
    }
  }

  void CheckLinkTargets() {
    for (const auto& [name, resolved] : links_) {
      if (!resolved.empty() && !present_.contains(resolved)) {
        Add(Severity::kWarning, "symlink", name, "target " + resolved + " is not in the layer");
      }
    }
  }

  void CheckSizes() {
    if (report_.entries.empty()) Add(Severity::kWarning, "size", "", "the zip holds no entries");
    if (report_.unzipped_bytes > kLambdaMaxUnzippedBytes) {
      Add(Severity::kError, "size", "",
          FormatBytes(report_.unzipped_bytes) + " unzipped: over Lambda's " +
              FormatBytes(kLambdaMaxUnzippedBytes) + " limit for a function and its layers");
    }
    if (report_.zipped_bytes > kLambdaMaxDirectUploadBytes) {
      Add(Severity::kWarning, "size", "",
          FormatBytes(report_.zipped_bytes) + " zipped: over the " +
              FormatBytes(kLambdaMaxDirectUploadBytes) +
              " limit for a direct upload; publish it from S3");
    }
  }

  ZipReader& zip_;
  const InspectOptions& options_;
  int scratch_fd_;
  InspectReport report_;
  std::unordered_set<std::string> names_;                   // entry names without a trailing '/'
  std::unordered_set<std::string> present_;                 // names and their parent directories
  std::vector<std::pair<std::string, std::string>> links_;  // link name, resolved target
};

}  // namespace

Result<InspectReport> InspectLayer(const std::string& path, const InspectOptions& options) {
  auto zip = ZipReader::Open(path);
  if (!zip.ok()) return zip.status();
  auto scratch_dir = TempDir::Create("anysnap-inspect-", options.temp_parent);
  if (!scratch_dir.ok()) return scratch_dir.status();
  std::string scratch = scratch_dir->path() + "/elf";
  UniqueFd fd(::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return PosixError("open " + scratch, errno);
  return Inspector(**zip, options, fd.get()).Run(path);
}

}  // namespace anysnap::layer

namespace anysnap::layer {

Result<InspectReport> InspectPackage(const std::string& path, const InspectOptions& options) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError(path, errno);
  if (!S_ISDIR(st.st_mode)) return InspectLayer(path, options);
  LayerPlan plan;
  ANYSNAP_RETURN_IF_ERROR(plan.AddTree(path, ""));
  auto scratch = TempDir::Create("anysnap-inspect-", options.temp_parent);
  if (!scratch.ok()) return scratch.status();
  std::string zip = scratch->path() + "/package.zip";
  {
    auto writer = ZipWriter::Create(zip, {0, DosTimestampFromEpoch(0)});
    if (!writer.ok()) return writer.status();
    ANYSNAP_RETURN_IF_ERROR(plan.WriteTo(**writer));
    ANYSNAP_RETURN_IF_ERROR((*writer)->Close());
  }
  auto report = InspectLayer(zip, options);
  if (report.ok()) {
    report->archive = path;
    report->zipped_bytes = 0;  // a folder has no zipped size yet: drop what the stored copy had
    std::erase_if(report->findings, [](const Finding& f) {
      return f.check == "size" && f.message.find("zipped") != std::string::npos;
    });
  }
  return report;
}

}  // namespace anysnap::layer
