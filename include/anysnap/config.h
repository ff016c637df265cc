// Config is anysnap's validated configuration (design.md §2), built once by a
// binary's main from the environment and an optional JSON file, then passed by
// value or const reference; nothing else reads ANYSNAP_* variables.
//
// Sources, highest priority first:
//   1. the environment (an injected EnvMap, never getenv);
//   2. the JSON file named by ANYSNAP_CONFIG (which must then be readable), else
//      $LAMBDA_TASK_ROOT/anysnap.json when it exists (LAMBDA_TASK_ROOT defaults
//      to /var/task);
//   3. the defaults documented on each field below.
// An empty value is the same as an unset one, for every setting and in both
// sources (Lambda's Environment.Variables cannot unset a variable, only empty
// it). That includes ANYSNAP_RUNTIME: empty means the default bootstrap.
//
// The JSON file is one object whose keys are the variable names:
//   {"ANYSNAP_RUNTIME": ["node", "index.js"], "ANYSNAP_PRIME_ROUNDS": 20}
// Values may be strings, numbers, booleans or null (= unset). Arrays of strings
// are taken for ANYSNAP_RUNTIME and ANYSNAP_CHAIN (as argv: no splitting or
// expansion), the two hook settings (one hook per element), ANYSNAP_PRELOAD (one
// path per element) and ANYSNAP_AUDIT_FAIL_ON (one kind per element). A key that
// is not a setting is an error (typo protection), except "$schema" and keys
// starting with "//" (comments).
//
// Every error is Status::InvalidArgument with a one-line message naming the
// variable and its value, quoted with C-style escapes and cut at 200 bytes:
//   ANYSNAP_PRIME_ROUNDS="abc": expected a whole number from 1 to 10000
// prefixed with "<file>: " when the value came from the file. Values are also
// rejected when they are not UTF-8, longer than 64 KiB, or hold control
// characters (only the command-line and hook settings may hold tabs and
// newlines).
//
// When ANYSNAP_DISABLE is on, LoadConfig stops there: the escape hatch must work
// even when the rest of the configuration is broken. Such a Config holds only
// disable, log_level, log_format, config_file and warnings. An ANYSNAP_DISABLE
// in the environment is honoured before the file is even read.
//
// Thread-compatible: LoadConfig is a pure function of its arguments.
#ifndef ANYSNAP_CONFIG_H_
#define ANYSNAP_CONFIG_H_

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/log.h"
#include "anysnap/net.h"
#include "anysnap/status.h"

namespace anysnap {

// The settings LoadConfig reads, as the environment and the JSON file name
// them. Other ANYSNAP_* variables in the environment only produce a warning
// (ANYSNAP_PHASE, which the delegator sets for hook commands, not even that).
inline constexpr std::array<std::string_view, 17> kConfigVariables = {
    "ANYSNAP_CONFIG",          "ANYSNAP_DISABLE",         "ANYSNAP_RUNTIME",
    "ANYSNAP_CHAIN",           "ANYSNAP_BEFORE_SNAPSHOT", "ANYSNAP_AFTER_RESTORE",
    "ANYSNAP_HOOK_TIMEOUT_MS", "ANYSNAP_PRIME_EVENTS",    "ANYSNAP_PRIME_ROUNDS",
    "ANYSNAP_PRELOAD",         "ANYSNAP_PROVISIONED",     "ANYSNAP_AUDIT",
    "ANYSNAP_AUDIT_FAIL_ON",   "ANYSNAP_AUDIT_REPORT",    "ANYSNAP_RESEED",
    "ANYSNAP_LOG_LEVEL",       "ANYSNAP_LOG_FORMAT",
};

// What a provisioned-concurrency init runs before the environment takes
// traffic (there is no snapshot, so never restore/next nor after-restore
// hooks), as ANYSNAP_PROVISIONED names the steps.
inline constexpr std::array<std::string_view, 3> kProvisionedSteps = {"prime", "before-snapshot",
                                                                      "preload"};

// The snapshot-safety hazards the audit knows, as ANYSNAP_AUDIT_FAIL_ON names
// them: random state (getrandom, /dev/urandom), UUIDs, outbound connections,
// listening sockets, armed timers, clock readings kept across the snapshot,
// and child processes.
inline constexpr std::array<std::string_view, 7> kAuditHazardKinds = {
    "random", "uuid", "connect", "listen", "timer", "clock", "fork",
};

// After-restore hooks run inside the platform's 10 s restore budget.
inline constexpr std::chrono::milliseconds kMaxAfterRestoreTimeout{10000};

// HookSpec is one before-snapshot / after-restore hook: a command run without a
// shell, or a loopback http URL that is POSTed to.
struct HookSpec {
  enum class Kind { kCommand, kUrl };
  Kind kind = Kind::kCommand;
  std::string text;               // as configured, trimmed (for log lines: the hook's name)
  std::vector<std::string> argv;  // kCommand: split like ANYSNAP_RUNTIME; never empty
  HostPort address;               // kUrl: a loopback address with a non-zero port
  std::string path;               // kUrl: starts with '/', may carry a query
};

enum class AuditMode { kOff, kLog, kStrict };

// Returns "off", "log" or "strict".
std::string_view AuditModeName(AuditMode mode);

// ANYSNAP_RESEED: after each restore, refresh the random state the snapshot
// cloned. kAuto names what could not be reseeded in a warning and runs on;
// kStrict fails the restore for it; kOff loads nothing.
enum class ReseedMode { kAuto, kStrict, kOff };

// Returns "auto", "strict" or "off".
std::string_view ReseedModeName(ReseedMode mode);

struct Config {
  // ANYSNAP_DISABLE: 1/true/yes/on vs 0/false/no/off (any case). When set, exec
  // the original argv untouched.
  bool disable = false;
  // ANYSNAP_RUNTIME split into words (see shell_words.h), expanding from the
  // environment; default "$LAMBDA_TASK_ROOT/bootstrap". Never empty.
  std::vector<std::string> runtime;
  // ANYSNAP_CHAIN split the same way: an exec wrapper to run the runtime through.
  // Empty = none.
  std::vector<std::string> chain;
  // ANYSNAP_BEFORE_SNAPSHOT / ANYSNAP_AFTER_RESTORE: one hook per line (blank
  // lines and lines starting with '#' skipped), or one per array element in the
  // file. A line is a URL when it starts with "scheme://": then it must be
  // http://LOOPBACK:PORT[/path] and nothing else.
  std::vector<HookSpec> before_snapshot;
  std::vector<HookSpec> after_restore;
  // ANYSNAP_HOOK_TIMEOUT_MS: "N" for both phases, or "before=N,after=M" (either
  // part optional). N in 1..3600000; after-restore at most 10000.
  std::chrono::milliseconds before_hook_timeout{60000};
  std::chrono::milliseconds after_hook_timeout{10000};
  // ANYSNAP_PRIME_EVENTS: path to a JSON file of events (read later).
  std::string prime_events;
  // ANYSNAP_PRIME_ROUNDS: 1..10000; prime_rounds_set tells a default from an
  // explicit 1.
  int prime_rounds = 1;
  bool prime_rounds_set = false;
  // ANYSNAP_PRELOAD: colon-separated paths, empty items skipped.
  std::vector<std::string> preload;
  // ANYSNAP_PROVISIONED: comma-separated steps of kProvisionedSteps, or
  // "none"; default "prime". Decides what a provisioned-concurrency init runs.
  bool provisioned_prime = true;
  bool provisioned_before_snapshot = false;
  bool provisioned_preload = false;
  // ANYSNAP_AUDIT: off|log|strict (any case).
  AuditMode audit = AuditMode::kOff;
  // ANYSNAP_AUDIT_FAIL_ON: comma-separated kinds of kAuditHazardKinds (or
  // "all"), spaces around items and empty items ignored, duplicates dropped, in
  // kAuditHazardKinds order. Default: all of them.
  std::vector<std::string> audit_fail_on{kAuditHazardKinds.begin(), kAuditHazardKinds.end()};
  // ANYSNAP_AUDIT_REPORT: where the audit also writes its JSON report. Empty
  // (the default): the log stream alone carries the report, as no default
  // path would be the environment's own locally (the host's /tmp is shared by
  // every environment and every run).
  std::string audit_report;
  // ANYSNAP_RESEED: auto|strict|off (any case).
  ReseedMode reseed = ReseedMode::kAuto;
  // ANYSNAP_LOG_LEVEL (TRACE..FATAL or OFF, any case), else AWS_LAMBDA_LOG_LEVEL,
  // else INFO. ANYSNAP_LOG_FORMAT (text|json), else AWS_LAMBDA_LOG_FORMAT, else
  // text. A bad AWS_LAMBDA_* value (the platform's, not ours) is a warning.
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  // The JSON file read, empty if none.
  std::string config_file;
  // Things worth a WARN line that do not stop the function: unknown ANYSNAP_*
  // variables in the environment, settings that have no effect.
  std::vector<std::string> warnings;
};

// Builds the configuration from the environment and the optional JSON file:
// ANYSNAP_CONFIG names it (must exist then), else $LAMBDA_TASK_ROOT/anysnap.json
// when `file_exists` says so. The environment wins over the file. Any bad value:
// InvalidArgument whose message is one line naming the variable and the value.
Result<Config> LoadConfig(const EnvMap& env, const ReadFileFn& read_file,
                          const std::function<bool(const std::string&)>& file_exists);

// Renders `value` for a message: double-quoted, with \" \\ \n \t \r \xHH (bytes
// that are not UTF-8) and \u00HH (other control characters) escapes, cut after
// `max_bytes` input bytes with "...(N bytes)" appended. Never emits raw control
// bytes or invalid UTF-8.
std::string QuoteForMessage(std::string_view value, size_t max_bytes = 200);

}  // namespace anysnap

#endif  // ANYSNAP_CONFIG_H_
