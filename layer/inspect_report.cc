#include "layer/inspect_report.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include <cstdio>

namespace anysnap::layer {

namespace {

const char* SeverityName(Severity s) { return s == Severity::kError ? "error" : "warning"; }

const char* TypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
    default:
      return "other";
  }
}

char TypeLetter(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return 'f';
    case EntryType::kDirectory:
      return 'd';
    case EntryType::kSymlink:
      return 'l';
    default:
      return '?';
  }
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

// `s` with control bytes and DEL shown as \xNN and backslashes doubled.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// `s` with every byte that is not part of a well-formed UTF-8 sequence replaced
// by U+FFFD, so the JSON stays valid whatever a zip's names hold.
std::string ValidUtf8(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (ok && len == 2) ok = c >= 0xc2;  // no overlong forms
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90) && c <= 0xf4;
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string EntryDetails(const InspectedEntry& e) {
  std::string d;
  if (e.type == EntryType::kSymlink) d = "-> " + Printable(e.link_target);
  if (e.is_elf) {
    d = "ELF " + ElfMachineName(e.elf_machine) + (e.elf_program ? " program" : " library");
    if (e.glibc) d += ", needs glibc " + e.glibc->version.ToString();
  } else if (e.is_script) {
    d = "script";
  }
  return d;
}

}  // namespace

size_t InspectReport::CountFindings(Severity severity) const {
  size_t n = 0;
  for (const Finding& f : findings) n += f.severity == severity;
  return n;
}

std::string FormatBytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  } else if (bytes < 1024ull * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / (1024.0 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  }
  return buf;
}

std::string FormatFindings(const InspectReport& report) {
  std::string out;
  char line[64];
  for (const Finding& f : report.findings) {
    std::snprintf(line, sizeof(line), "%-7s %-7s ", SeverityName(f.severity), f.check.c_str());
    out += line;
    if (!f.entry.empty()) out += Printable(f.entry) + ": ";
    out += Printable(f.message) + "\n";
  }
  return out;
}

std::string FormatReportText(const InspectReport& report, bool list_entries) {
  std::string out;
  char line[128];
  if (list_entries) {
    out += "type mode        size  compressed  name\n";
    for (const InspectedEntry& e : report.entries) {
      std::snprintf(line, sizeof(line), "%c    %-4s %11llu %11llu  ", TypeLetter(e.type),
                    e.mode ? Octal(*e.mode).c_str() : "-", static_cast<unsigned long long>(e.size),
                    static_cast<unsigned long long>(e.compressed_size));
      out += line;
      out += Printable(e.name);
      std::string details = EntryDetails(e);
      if (!details.empty()) out += "  " + details;
      out += "\n";
    }
  }
  out += FormatFindings(report);
  size_t errors = report.CountFindings(Severity::kError);
  size_t warnings = report.CountFindings(Severity::kWarning);
  out += Printable(report.archive) + ": " + std::to_string(report.entries.size()) + " entries, " +
         FormatBytes(report.unzipped_bytes) + " unzipped, " + FormatBytes(report.zipped_bytes) +
         " zipped; target " + std::string(ArchName(report.target.arch)) + " glibc " +
         report.target.glibc.ToString() + ": " + std::to_string(errors) +
         (errors == 1 ? " error, " : " errors, ") + std::to_string(warnings) +
         (warnings == 1 ? " warning\n" : " warnings\n");
  return out;
}

std::string FormatReportJson(const InspectReport& report) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&w](const std::string& s) {
    std::string valid = ValidUtf8(s);
    w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  };
  w.StartObject();
  w.Key("archive");
  str(report.archive);
  w.Key("target");
  w.StartObject();
  w.Key("arch");
  str(std::string(ArchName(report.target.arch)));
  w.Key("glibc");
  str(report.target.glibc.ToString());
  w.EndObject();
  w.Key("ok");
  w.Bool(!report.HasErrors());
  w.Key("errors");
  w.Uint64(report.CountFindings(Severity::kError));
  w.Key("warnings");
  w.Uint64(report.CountFindings(Severity::kWarning));
  w.Key("totals");
  w.StartObject();
  w.Key("entries");
  w.Uint64(report.entries.size());
  w.Key("unzipped_bytes");
  w.Uint64(report.unzipped_bytes);
  w.Key("zipped_bytes");
  w.Uint64(report.zipped_bytes);
  w.EndObject();
  w.Key("findings");
  w.StartArray();
  for (const Finding& f : report.findings) {
    w.StartObject();
    w.Key("severity");
    str(SeverityName(f.severity));
    w.Key("check");
    str(f.check);
    w.Key("entry");
    if (f.entry.empty()) {
      w.Null();
    } else {
      str(f.entry);
    }
    w.Key("message");
    str(f.message);
    w.EndObject();
  }
  w.EndArray();
  w.Key("entries");
  w.StartArray();
  for (const InspectedEntry& e : report.entries) {
    w.StartObject();
    w.Key("name");
    str(e.name);
    w.Key("type");
    str(TypeName(e.type));
    w.Key("mode");
    if (e.mode) {
      str(Octal(*e.mode));
    } else {
      w.Null();
    }
    w.Key("size");
    w.Uint64(e.size);
    w.Key("compressed_size");
    w.Uint64(e.compressed_size);
    if (e.type == EntryType::kSymlink) {
      w.Key("target");
      str(e.link_target);
    }
    if (e.is_script) {
      w.Key("script");
      w.Bool(true);
    }
    if (e.is_elf) {
      w.Key("elf");
      w.StartObject();
      w.Key("machine");
      str(ElfMachineName(e.elf_machine));
      w.Key("kind");
      str(e.elf_program ? "program" : "library");
      w.Key("glibc");
      if (e.glibc) {
        str(e.glibc->version.ToString());
      } else {
        w.Null();
      }
      if (e.glibc && !e.glibc->symbol.empty()) {
        w.Key("glibc_symbol");
        str(e.glibc->symbol);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace anysnap::layer
