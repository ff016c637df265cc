// Logger writes one line per event to a file descriptor (stderr by default), as
// plain text or, when Lambda's log format is JSON, as one JSON object per line
// (the fields Lambda's own runtimes use: timestamp, level, message, plus the
// component). Each line goes out in a single write(2), so lines from threads and
// processes sharing the descriptor never interleave.
//
// Thread-safe. The process-wide instance is configured once by a binary's main.
#ifndef ANYSNAP_LOG_H_
#define ANYSNAP_LOG_H_

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace anysnap {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kFatal, kOff };
enum class LogFormat { kText, kJson };

// Parses a level name as Lambda spells them (TRACE..FATAL, any case).
std::optional<LogLevel> ParseLogLevel(std::string_view name);
// Parses "text" or "json" (any case).
std::optional<LogFormat> ParseLogFormat(std::string_view name);
std::string_view LogLevelName(LogLevel level);

class Logger {
 public:
  Logger() = default;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Configure(std::string_view component, LogLevel level, LogFormat format, int fd = 2);
  void set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }
  LogFormat format() const { return format_; }
  bool Enabled(LogLevel level) const { return level >= this->level(); }

  void Write(LogLevel level, std::string_view message);
  void Trace(std::string_view m) {
    if (Enabled(LogLevel::kTrace)) Write(LogLevel::kTrace, m);
  }
  void Debug(std::string_view m) {
    if (Enabled(LogLevel::kDebug)) Write(LogLevel::kDebug, m);
  }
  void Info(std::string_view m) {
    if (Enabled(LogLevel::kInfo)) Write(LogLevel::kInfo, m);
  }
  void Warn(std::string_view m) {
    if (Enabled(LogLevel::kWarn)) Write(LogLevel::kWarn, m);
  }
  void Error(std::string_view m) {
    if (Enabled(LogLevel::kError)) Write(LogLevel::kError, m);
  }

  // Renders one line (with its trailing newline) without writing it.
  std::string Format(LogLevel level, std::string_view message) const;

 private:
  std::string component_ = "anysnap";
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  LogFormat format_ = LogFormat::kText;
  int fd_ = 2;
};

// The process-wide logger.
Logger& Log();

// Durations as log lines and reports print them: "12.34" milliseconds or
// seconds, with two decimals.
std::string FormatMillis(std::chrono::duration<double, std::milli> d);
std::string FormatSeconds(std::chrono::duration<double> d);

// A point in time as a UTC calendar date and time of day. Computed, not
// looked up: glibc's gmtime_r reads /etc/localtime on first use, a file read
// on the wrapper's way to the runtime host's exec.
struct UtcTime {
  int year, month, day, hour, minute, second, millisecond;
};
UtcTime ToUtc(std::chrono::system_clock::time_point t);

// Appends `s` to `out` as the body of a JSON string (no quotes added).
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace anysnap

#endif  // ANYSNAP_LOG_H_
