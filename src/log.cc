#include "anysnap/log.h"

#include "anysnap/ascii.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>

namespace anysnap {

namespace {

// ISO 8601 UTC with milliseconds, as Lambda's JSON logs carry.
std::string Timestamp() {
  UtcTime t = ToUtc(std::chrono::system_clock::now());
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.year, t.month, t.day,
                t.hour, t.minute, t.second, t.millisecond);
  return buf;
}

}  // namespace

UtcTime ToUtc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{floor<milliseconds>(t - day)};
  return {static_cast<int>(date.year()),
          static_cast<int>(static_cast<unsigned>(date.month())),
          static_cast<int>(static_cast<unsigned>(date.day())),
          static_cast<int>(time.hours().count()),
          static_cast<int>(time.minutes().count()),
          static_cast<int>(time.seconds().count()),
          static_cast<int>(time.subseconds().count())};
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn},   {"error", LogLevel::kError}, {"fatal", LogLevel::kFatal},
  };
  for (const auto& [n, level] : kLevels) {
    if (EqualsIgnoreCase(name, n)) return level;
  }
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (EqualsIgnoreCase(name, "text")) return LogFormat::kText;
  if (EqualsIgnoreCase(name, "json")) return LogFormat::kJson;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "TRACE";
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kFatal:
      return "FATAL";
    case LogLevel::kOff:
      return "OFF";
  }
  return "INFO";
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

void Logger::Configure(std::string_view component, LogLevel level, LogFormat format, int fd) {
  component_ = std::string(component);
  level_.store(level, std::memory_order_relaxed);
  format_ = format;
  fd_ = fd;
}

std::string Logger::Format(LogLevel level, std::string_view message) const {
  std::string line;
  line.reserve(message.size() + 96);
  if (format_ == LogFormat::kJson) {
    line += "{\"timestamp\":\"";
    line += Timestamp();
    line += "\",\"level\":\"";
    line += LogLevelName(level);
    line += "\",\"component\":\"";
    AppendJsonEscaped(line, component_);
    line += "\",\"message\":\"";
    AppendJsonEscaped(line, message);
    line += "\"}\n";
  } else {
    line += component_;
    line += ' ';
    line += LogLevelName(level);
    line += ' ';
    // A log line is one line: embedded newlines would split an event in two.
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    line += '\n';
  }
  return line;
}

void Logger::Write(LogLevel level, std::string_view message) {
  std::string line = Format(level, message);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // Nowhere left to report a failure to log.
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

Logger& Log() {
  static Logger* logger = new Logger();  // Never destroyed: threads may log at exit.
  return *logger;
}

std::string FormatMillis(std::chrono::duration<double, std::milli> d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", d.count());
  return buf;
}

std::string FormatSeconds(std::chrono::duration<double> d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", d.count());
  return buf;
}

}  // namespace anysnap
