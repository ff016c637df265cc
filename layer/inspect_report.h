// InspectReport is what inspecting a layer zip finds: every entry with its type,
// mode and size (and, for ELF files, machine and glibc need), the findings of the
// checks, and the totals; and its two renderings, a text table for people and
// JSON for machines.
//
// A finding is an error when the layer would fail on Lambda (a program that cannot
// be executed, a binary for the wrong machine or a newer glibc, an unsafe path or
// symlink, more than Lambda accepts unzipped) and a warning when it is suspicious
// or only fails on one route (a zip above the 50 MB direct-upload limit still
// deploys through S3).
//
// Plain values; thread-compatible.
#ifndef ANYSNAP_LAYER_INSPECT_REPORT_H_
#define ANYSNAP_LAYER_INSPECT_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layer/elf_file.h"
#include "layer/lambda_target.h"

namespace anysnap::layer {

enum class Severity { kWarning, kError };

struct Finding {
  Severity severity = Severity::kError;
  std::string check;  // "path", "mode", "symlink", "elf", "arch", "glibc", "size", "zip"
  std::string entry;  // the entry's name; empty for the archive as a whole
  std::string message;
};

enum class EntryType { kFile, kDirectory, kSymlink, kOther };

struct InspectedEntry {
  std::string name;
  EntryType type = EntryType::kFile;
  std::optional<uint32_t> mode;  // permission bits; none when the zip stores no Unix mode
  uint64_t size = 0;
  uint64_t compressed_size = 0;
  std::string link_target;  // symlinks only
  // ELF files only.
  bool is_elf = false;
  bool elf_program = false;
  uint16_t elf_machine = 0;
  std::optional<GlibcNeed> glibc;
  bool is_script = false;  // starts with "#!"
};

struct InspectReport {
  std::string archive;
  LambdaTarget target;
  std::vector<InspectedEntry> entries;
  std::vector<Finding> findings;
  uint64_t unzipped_bytes = 0;
  uint64_t zipped_bytes = 0;

  size_t CountFindings(Severity severity) const;
  bool HasErrors() const { return CountFindings(Severity::kError) != 0; }
};

// The findings alone, one per line: "error   glibc   NAME: message".
std::string FormatFindings(const InspectReport& report);
// The findings, one per line ("error   glibc  NAME: message"), then a summary line.
// With `list_entries`, a table of the entries comes first. Control characters in
// names are escaped, so a hostile name cannot drive the terminal.
std::string FormatReportText(const InspectReport& report, bool list_entries);
// The whole report as one JSON document (names made valid UTF-8).
std::string FormatReportJson(const InspectReport& report);
// "12.3 MiB" style sizes (one decimal; bytes below 1 KiB).
std::string FormatBytes(uint64_t bytes);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_INSPECT_REPORT_H_
