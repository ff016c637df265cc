#include "anysnap/config.h"

#include "anysnap/ascii.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>

#include "anysnap/shell_words.h"

namespace anysnap {

namespace {

constexpr size_t kMaxValueBytes = 64 * 1024;
constexpr size_t kMaxFileBytes = 1024 * 1024;
constexpr uint64_t kMaxHookTimeoutMs = 3600000;  // init may run 15 min on SnapStart
constexpr uint64_t kMaxPrimeRounds = 10000;
constexpr std::string_view kDefaultTaskRoot = "/var/task";
constexpr std::string_view kPrefix = "ANYSNAP_";

// Per setting: whether tabs and newlines make sense in it (command lines and
// hook lists) and whether the file may give it as an array of strings.
struct SettingTraits {
  bool multiline;
  bool array;
};

SettingTraits TraitsOf(std::string_view name) {
  if (name == "ANYSNAP_RUNTIME" || name == "ANYSNAP_CHAIN" || name == "ANYSNAP_BEFORE_SNAPSHOT" ||
      name == "ANYSNAP_AFTER_RESTORE")
    return {true, true};
  if (name == "ANYSNAP_PRELOAD" || name == "ANYSNAP_AUDIT_FAIL_ON") return {false, true};
  return {false, false};
}

bool IsSetting(std::string_view name) {
  return std::find(kConfigVariables.begin(), kConfigVariables.end(), name) !=
         kConfigVariables.end();
}

// Decodes the UTF-8 sequence at s[i]. Returns its length, or 0 when the bytes
// there are not well-formed UTF-8 (overlongs, surrogates and > U+10FFFF included).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b = byte(i);
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    *cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    *cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    *cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    uint8_t c = byte(i + k);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return 0;
    *cp = (*cp << 6) | (c & 0x3F);
  }
  return len;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0); }

// Returns why `text` cannot be a setting's value, or nothing when it can.
std::optional<std::string> CheckText(std::string_view text, bool multiline) {
  if (text.size() > kMaxValueBytes)
    return "longer than the 64 KiB limit (" + std::to_string(text.size()) + " bytes)";
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) return "not valid UTF-8";
    if (cp == 0) return "contains a NUL byte";
    if (IsControl(cp) && !(multiline && (cp == '\t' || cp == '\n')))
      return "contains a control character";
    i += len;
  }
  return std::nullopt;
}

// Parses a plain decimal number in 1..max: digits only, no sign, no spaces.
std::optional<uint64_t> ParseCount(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n < 1 || n > max) return std::nullopt;
  return n;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "; did you mean ANYSNAP_X?" for a near miss of a setting's name (a typo, a
// different case, a cut-off suffix), else "".
std::string Suggestion(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  std::string_view best;
  size_t best_distance = 3;  // two edits at most: more is another word, not a typo
  for (std::string_view known : kConfigVariables) {
    size_t d = EditDistance(upper, known);
    if (upper.size() > kPrefix.size() + 3 && known.substr(0, upper.size()) == upper) d = 1;
    if (d < best_distance) {
      best = known;
      best_distance = d;
    }
  }
  if (best.empty()) return "";
  return "; did you mean " + std::string(best) + "?";
}

// A name as it may appear in a message: bare when it is plain ASCII, else quoted.
std::string DisplayName(std::string_view name) {
  bool plain = !name.empty() &&
               std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7F; });
  return plain ? std::string(name) : QuoteForMessage(name, 64);
}

// One setting's value as one source gives it.
struct RawValue {
  std::string name;
  std::string origin;   // "" for the environment, else the file's path
  std::string display;  // the value as messages show it
  bool is_array = false;
  std::string text;               // when !is_array
  std::vector<std::string> list;  // when is_array
};

Status ValueError(const RawValue& v, std::string_view detail) {
  std::string msg = v.origin.empty() ? "" : v.origin + ": ";
  msg += v.name + "=" + v.display + ": ";
  msg += detail;
  return Status::InvalidArgument(msg);
}

std::string DisplayArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ",";
    if (out.size() > 200) {
      out += "...(" + std::to_string(items.size()) + " elements)";
      break;
    }
    out += QuoteForMessage(items[i]);
  }
  return out + "]";
}

// Builds a Config. Each Read* step fills its fields from Get(), which applies
// the precedence (environment, then file) and the character checks.
class ConfigLoader {
 public:
  ConfigLoader(const EnvMap& env, const ReadFileFn& read_file,
               const std::function<bool(const std::string&)>& file_exists)
      : env_(env), read_file_(read_file), file_exists_(file_exists) {}

  Result<Config> Load() {
    WarnAboutUnknownVariables();
    ANYSNAP_RETURN_IF_ERROR(ReadDisable(/*from_file=*/false));
    if (config_.disable) return Disabled();
    ANYSNAP_RETURN_IF_ERROR(ReadTaskRoot());
    ANYSNAP_RETURN_IF_ERROR(ReadFile());
    ANYSNAP_RETURN_IF_ERROR(ReadDisable(/*from_file=*/true));
    if (config_.disable) return Disabled();
    ANYSNAP_RETURN_IF_ERROR(ReadRuntime());
    ANYSNAP_RETURN_IF_ERROR(ReadChain());
    ANYSNAP_RETURN_IF_ERROR(
        ReadHooks("ANYSNAP_BEFORE_SNAPSHOT", "before-snapshot", &config_.before_snapshot));
    ANYSNAP_RETURN_IF_ERROR(
        ReadHooks("ANYSNAP_AFTER_RESTORE", "after-restore", &config_.after_restore));
    ANYSNAP_RETURN_IF_ERROR(ReadHookTimeouts());
    ANYSNAP_RETURN_IF_ERROR(ReadPriming());
    ANYSNAP_RETURN_IF_ERROR(ReadPreload());
    ANYSNAP_RETURN_IF_ERROR(ReadProvisioned());
    ANYSNAP_RETURN_IF_ERROR(ReadAudit());
    ANYSNAP_RETURN_IF_ERROR(ReadReseed());
    ANYSNAP_RETURN_IF_ERROR(ReadLogging(/*strict=*/true));
    return std::move(config_);
  }

 private:
  // The escape hatch: only logging is resolved, and leniently.
  Result<Config> Disabled() {
    [[maybe_unused]] Status s = ReadLogging(/*strict=*/false);
    assert(s.ok() && "lenient logging never fails");
    return std::move(config_);
  }

  // The environment's non-empty value of `name`, or null.
  const std::string* EnvValue(std::string_view name) const {
    auto it = env_.find(std::string(name));
    if (it == env_.end() || it->second.empty()) return nullptr;
    return &it->second;
  }

  // The value in force for `name`, checked for size and characters; nothing when
  // neither source sets it. `from_file` false looks at the environment only.
  Result<std::optional<RawValue>> Get(std::string_view name, bool from_file = true) {
    SettingTraits traits = TraitsOf(name);
    RawValue v;
    if (const std::string* text = EnvValue(name)) {
      v.name = std::string(name);
      v.text = *text;
      v.display = QuoteForMessage(*text);
    } else if (auto it = file_values_.find(std::string(name));
               from_file && it != file_values_.end()) {
      v = it->second;
    } else {
      return std::optional<RawValue>();
    }
    if (!v.is_array) {
      if (auto why = CheckText(v.text, traits.multiline)) return ValueError(v, *why);
    } else {
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (auto why = CheckText(v.list[i], traits.multiline))
          return ValueError(v, "element " + std::to_string(i + 1) + ": " + *why);
      }
    }
    return std::optional<RawValue>(std::move(v));
  }

  void WarnAboutUnknownVariables() {
    for (const auto& [name, value] : env_) {
      if (name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
      if (IsSetting(name) || name == "ANYSNAP_PHASE") continue;
      config_.warnings.push_back(DisplayName(name) + " is not an anysnap setting (ignored)" +
                                 Suggestion(name));
    }
  }

  Status ReadDisable(bool from_file) {
    auto v = Get("ANYSNAP_DISABLE", from_file);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    const RawValue& raw = **v;
    for (std::string_view yes : {"1", "true", "yes", "on"}) {
      if (EqualsIgnoreCase(raw.text, yes)) {
        config_.disable = true;
        return Status::Ok();
      }
    }
    for (std::string_view no : {"0", "false", "no", "off"}) {
      if (EqualsIgnoreCase(raw.text, no)) {
        config_.disable = false;
        return Status::Ok();
      }
    }
    return ValueError(raw,
                      "expected 1, true, yes or on to disable anysnap, or 0, false, no or off");
  }

  Status ReadTaskRoot() {
    task_root_ = std::string(kDefaultTaskRoot);
    if (const std::string* root = EnvValue("LAMBDA_TASK_ROOT")) {
      RawValue v{"LAMBDA_TASK_ROOT", "", QuoteForMessage(*root), false, *root, {}};
      if (auto why = CheckText(*root, false)) return ValueError(v, *why);
      task_root_ = *root;
    }
    return Status::Ok();
  }

  Status ReadFile() {
    std::string path;
    auto v = Get("ANYSNAP_CONFIG", /*from_file=*/false);
    if (!v.ok()) return v.status();
    if (v->has_value()) {
      path = (*v)->text;
      auto content = read_file_(path);
      if (!content.ok())
        return ValueError(**v, "cannot read the configuration file: " + content.status().message());
      return ParseFile(path, *content);
    }
    path = task_root_ + "/anysnap.json";
    if (!file_exists_(path)) return Status::Ok();
    auto content = read_file_(path);
    if (!content.ok()) {
      return Status::InvalidArgument(
          path + ": cannot read the configuration file: " + content.status().message());
    }
    return ParseFile(path, *content);
  }

  Status FileError(std::string_view detail) const {
    return Status::InvalidArgument(config_.config_file + ": " + std::string(detail));
  }

  Status ParseFile(const std::string& path, const std::string& content) {
    config_.config_file = path;
    if (content.size() > kMaxFileBytes) {
      return FileError("the file is " + std::to_string(content.size()) +
                       " bytes, more than the 1 MiB limit");
    }
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(content.data(), content.size());
    if (doc.HasParseError()) {
      return FileError("invalid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                       rapidjson::GetParseError_En(doc.GetParseError()));
    }
    if (!doc.IsObject()) return FileError("expected a JSON object of ANYSNAP_* settings");
    for (const auto& member : doc.GetObject()) {
      std::string name(member.name.GetString(), member.name.GetStringLength());
      if (name == "$schema" || name.compare(0, 2, "//") == 0) continue;
      if (name == "ANYSNAP_CONFIG")
        return FileError("ANYSNAP_CONFIG cannot be set inside the configuration file");
      if (!IsSetting(name)) {
        return FileError(DisplayName(name) + " is not an anysnap setting" + Suggestion(name));
      }
      if (file_values_.count(name)) return FileError(name + " is set twice");
      ANYSNAP_RETURN_IF_ERROR(AddFileValue(name, member.value));
    }
    return Status::Ok();
  }

  Status AddFileValue(const std::string& name, const rapidjson::Value& value) {
    RawValue v;
    v.name = name;
    v.origin = config_.config_file;
    const bool array_ok = TraitsOf(name).array;
    const std::string expected = array_ok ? "expected a string or an array of strings"
                                          : "expected a string, a number or a boolean";
    if (value.IsNull()) return Status::Ok();  // null = unset
    if (value.IsString()) {
      v.text.assign(value.GetString(), value.GetStringLength());
      v.display = QuoteForMessage(v.text);
      if (v.text.empty()) return Status::Ok();
    } else if (value.IsBool() || value.IsNumber()) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      value.Accept(writer);
      v.text = buffer.GetString();
      v.display = v.text;
    } else if (value.IsArray() && array_ok) {
      v.is_array = true;
      for (const auto& item : value.GetArray()) {
        if (!item.IsString()) {
          v.display = "[...]";
          return ValueError(v, expected);
        }
        v.list.emplace_back(item.GetString(), item.GetStringLength());
      }
      v.display = DisplayArray(v.list);
      if (v.list.empty()) return Status::Ok();
    } else {
      v.display = value.IsArray() ? "[...]" : "{...}";
      return ValueError(v, expected);
    }
    file_values_.emplace(name, std::move(v));
    return Status::Ok();
  }

  // Splits a command-line setting (or takes the file's array as it is).
  Result<std::vector<std::string>> ReadArgv(const RawValue& v) {
    std::vector<std::string> argv;
    if (v.is_array) {
      argv = v.list;
    } else {
      auto words = SplitShellWords(v.text, env_);
      if (!words.ok()) return ValueError(v, words.status().message());
      argv = std::move(*words);
    }
    if (!argv.empty() && argv[0].empty()) return ValueError(v, "the command (first word) is empty");
    return argv;
  }

  Status ReadRuntime() {
    auto v = Get("ANYSNAP_RUNTIME");
    if (!v.ok()) return v.status();
    if (!v->has_value()) {
      config_.runtime = {task_root_ + "/bootstrap"};
      return Status::Ok();
    }
    auto argv = ReadArgv(**v);
    if (!argv.ok()) return argv.status();
    if (argv->empty())
      return ValueError(**v, "expands to no words; expected the runtime host's command line");
    config_.runtime = std::move(*argv);
    return Status::Ok();
  }

  Status ReadChain() {
    auto v = Get("ANYSNAP_CHAIN");
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    auto argv = ReadArgv(**v);
    if (!argv.ok()) return argv.status();
    if (argv->empty()) {
      config_.warnings.push_back("ANYSNAP_CHAIN=" + (*v)->display +
                                 " expands to no words (no chain)");
    }
    config_.chain = std::move(*argv);
    return Status::Ok();
  }

  // Parses one hook: a loopback http URL or a command line, whose words expand
  // $ANYSNAP_PHASE as the hook will see it when it runs.
  Result<std::optional<HookSpec>> ParseHook(std::string_view line, const EnvMap& hook_env) {
    line = TrimBlanks(line);
    if (line.empty() || line.front() == '#') return std::optional<HookSpec>();
    HookSpec hook;
    hook.text = std::string(line);
    size_t scheme_end = line.find("://");
    bool is_url =
        scheme_end != std::string_view::npos && scheme_end > 0 &&
        std::all_of(line.begin(), line.begin() + static_cast<ptrdiff_t>(scheme_end), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '-' || c == '.';
        });
    if (is_url) {
      auto status = ParseHookUrl(line, scheme_end, &hook);
      if (!status.ok()) return status;
      return std::optional<HookSpec>(std::move(hook));
    }
    auto words = SplitShellWords(line, hook_env);
    if (!words.ok()) return words.status();
    if (words->empty()) return Status::InvalidArgument("expands to no words");
    if ((*words)[0].empty()) return Status::InvalidArgument("the command (first word) is empty");
    hook.kind = HookSpec::Kind::kCommand;
    hook.argv = std::move(*words);
    return std::optional<HookSpec>(std::move(hook));
  }

  static Status ParseHookUrl(std::string_view url, size_t scheme_end, HookSpec* hook) {
    std::string_view scheme = url.substr(0, scheme_end);
    if (EqualsIgnoreCase(scheme, "https"))
      return Status::InvalidArgument(
          "https is not supported: hooks are POSTed over plain http "
          "to the loopback");
    if (!EqualsIgnoreCase(scheme, "http"))
      return Status::InvalidArgument("only http:// hook URLs are supported");
    if (url.find_first_of(" \t") != std::string_view::npos)
      return Status::InvalidArgument("a hook URL stands alone: nothing may follow it");
    std::string_view rest = url.substr(scheme_end + 3);
    if (rest.find('#') != std::string_view::npos)
      return Status::InvalidArgument("a hook URL has no fragment (#...)");
    size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
    if (authority.find('@') != std::string_view::npos)
      return Status::InvalidArgument("a hook URL has no user name or password");
    size_t colon = authority.rfind(':');
    bool has_port = colon != std::string_view::npos &&
                    (authority.front() != '[' || authority.find(']') < colon);
    if (!has_port) {
      return Status::InvalidArgument("a hook URL needs a port: http://127.0.0.1:PORT/path");
    }
    auto address = ParseHostPort(authority);
    if (!address.ok()) {
      auto port = ParseCount(authority.substr(colon + 1), 65535);
      if (!port.has_value())
        return Status::InvalidArgument("a hook URL needs a port from 1 to 65535");
      return Status::InvalidArgument(
          "a hook URL must name a loopback address (127.0.0.1, [::1] or localhost)");
    }
    if (!IsLoopback(*address)) {
      return Status::InvalidArgument(
          "a hook URL must name a loopback address (127.0.0.1, [::1] or localhost)");
    }
    if (address->port == 0)
      return Status::InvalidArgument("a hook URL needs a port from 1 to 65535");
    for (char c : path) {
      if (c <= 0x20 || c >= 0x7F)
        return Status::InvalidArgument(
            "a hook URL's path is printable ASCII (percent-encode the rest)");
    }
    hook->kind = HookSpec::Kind::kUrl;
    hook->address = std::move(*address);
    hook->path = path.empty() || path.front() == '?' ? "/" + std::string(path) : std::string(path);
    return Status::Ok();
  }

  Status ReadHooks(std::string_view name, std::string_view phase, std::vector<HookSpec>* hooks) {
    auto v = Get(name);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    EnvMap hook_env = env_;
    hook_env["ANYSNAP_PHASE"] = std::string(phase);
    const RawValue& raw = **v;
    std::vector<std::string_view> items;
    std::string where;  // "line" or "element", named when there is more than one
    if (raw.is_array) {
      items.assign(raw.list.begin(), raw.list.end());
      where = "element";
    } else {
      items = SplitOn(raw.text, '\n');
      where = items.size() > 1 ? "line" : "";
    }
    for (size_t i = 0; i < items.size(); ++i) {
      std::string prefix = where.empty() ? "" : where + " " + std::to_string(i + 1) + ": ";
      if (raw.is_array && items[i].find('\n') != std::string_view::npos)
        return ValueError(raw, prefix + "a hook is one line");
      auto hook = ParseHook(items[i], hook_env);
      if (!hook.ok()) return ValueError(raw, prefix + hook.status().message());
      if (hook->has_value()) hooks->push_back(std::move(**hook));
    }
    return Status::Ok();
  }

  Status ReadHookTimeouts() {
    auto v = Get("ANYSNAP_HOOK_TIMEOUT_MS");
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    const RawValue& raw = **v;
    const std::string range = "milliseconds from 1 to " + std::to_string(kMaxHookTimeoutMs);
    const auto max_after = static_cast<uint64_t>(kMaxAfterRestoreTimeout.count());
    const std::string budget = "after-restore hooks must finish within the platform's " +
                               std::to_string(max_after) + " ms restore budget";
    if (!raw.text.empty() && std::all_of(raw.text.begin(), raw.text.end(),
                                         [](char c) { return c >= '0' && c <= '9'; })) {
      auto ms = ParseCount(raw.text, kMaxHookTimeoutMs);
      if (!ms) return ValueError(raw, "expected " + range + ", or before=N,after=M");
      if (*ms > max_after) {
        return ValueError(
            raw, "one number sets both phases, but " + budget +
                     "; to raise only the before-snapshot timeout, write before=" + raw.text);
      }
      config_.before_hook_timeout = config_.after_hook_timeout = std::chrono::milliseconds(*ms);
      return Status::Ok();
    }
    std::optional<uint64_t> before, after;
    for (std::string_view item : SplitOn(raw.text, ',')) {
      item = TrimBlanks(item);
      size_t eq = item.find('=');
      std::string_view key = eq == std::string_view::npos ? item : item.substr(0, eq);
      std::optional<uint64_t>* slot = key == "before" ? &before : key == "after" ? &after : nullptr;
      if (slot == nullptr || eq == std::string_view::npos)
        return ValueError(raw, "expected " + range + " for both phases, or before=N,after=M");
      if (slot->has_value()) return ValueError(raw, std::string(key) + " is given twice");
      *slot = ParseCount(item.substr(eq + 1), kMaxHookTimeoutMs);
      if (!slot->has_value()) return ValueError(raw, std::string(key) + ": expected " + range);
    }
    if (after && *after > max_after) return ValueError(raw, budget);
    if (before) config_.before_hook_timeout = std::chrono::milliseconds(*before);
    if (after) config_.after_hook_timeout = std::chrono::milliseconds(*after);
    return Status::Ok();
  }

  Status ReadPriming() {
    auto events = Get("ANYSNAP_PRIME_EVENTS");
    if (!events.ok()) return events.status();
    if (events->has_value()) config_.prime_events = (*events)->text;
    auto rounds = Get("ANYSNAP_PRIME_ROUNDS");
    if (!rounds.ok()) return rounds.status();
    if (rounds->has_value()) {
      auto n = ParseCount((*rounds)->text, kMaxPrimeRounds);
      if (!n) {
        return ValueError(**rounds,
                          "expected a whole number from 1 to " + std::to_string(kMaxPrimeRounds));
      }
      config_.prime_rounds = static_cast<int>(*n);
      config_.prime_rounds_set = true;
      if (config_.prime_events.empty()) {
        config_.warnings.push_back(
            "ANYSNAP_PRIME_ROUNDS has no effect without ANYSNAP_PRIME_EVENTS (no priming)");
      }
    }
    return Status::Ok();
  }

  Status ReadPreload() {
    auto v = Get("ANYSNAP_PRELOAD");
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    std::vector<std::string_view> items;
    if ((*v)->is_array) {
      items.assign((*v)->list.begin(), (*v)->list.end());
    } else {
      items = SplitOn((*v)->text, ':');
    }
    for (std::string_view item : items) {
      if (!item.empty()) config_.preload.emplace_back(item);
    }
    return Status::Ok();
  }

  Status ReadProvisioned() {
    auto v = Get("ANYSNAP_PROVISIONED");
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Status::Ok();
    const RawValue& raw = **v;
    std::vector<std::string_view> items;
    if (raw.is_array) {
      items.assign(raw.list.begin(), raw.list.end());
    } else {
      items = SplitOn(raw.text, ',');
    }
    bool prime = false, before = false, preload = false, none = false, any = false;
    for (std::string_view item : items) {
      item = TrimBlanks(item);
      if (item.empty()) continue;
      any = true;
      if (EqualsIgnoreCase(item, "none")) {
        none = true;
      } else if (EqualsIgnoreCase(item, "prime")) {
        prime = true;
      } else if (EqualsIgnoreCase(item, "before-snapshot")) {
        before = true;
      } else if (EqualsIgnoreCase(item, "preload")) {
        preload = true;
      } else {
        return ValueError(raw, "unknown step " + QuoteForMessage(item, 64) +
                                   "; expected none, or some of prime, before-snapshot, preload");
      }
    }
    if (!any) return ValueError(raw, "names no step; write none to run nothing");
    if (none && (prime || before || preload))
      return ValueError(raw, "none cannot be combined with other steps");
    config_.provisioned_prime = prime;
    config_.provisioned_before_snapshot = before;
    config_.provisioned_preload = preload;
    return Status::Ok();
  }

  Status ReadAudit() {
    auto mode = Get("ANYSNAP_AUDIT");
    if (!mode.ok()) return mode.status();
    if (mode->has_value()) {
      const std::string& text = (*mode)->text;
      if (EqualsIgnoreCase(text, "off")) {
        config_.audit = AuditMode::kOff;
      } else if (EqualsIgnoreCase(text, "log")) {
        config_.audit = AuditMode::kLog;
      } else if (EqualsIgnoreCase(text, "strict")) {
        config_.audit = AuditMode::kStrict;
      } else {
        return ValueError(**mode, "expected off, log or strict");
      }
    }

    auto fail_on = Get("ANYSNAP_AUDIT_FAIL_ON");
    if (!fail_on.ok()) return fail_on.status();
    if (fail_on->has_value()) {
      const RawValue& raw = **fail_on;
      std::vector<std::string_view> items;
      if (raw.is_array) {
        items.assign(raw.list.begin(), raw.list.end());
      } else {
        items = SplitOn(raw.text, ',');
      }
      std::vector<bool> chosen(kAuditHazardKinds.size(), false);
      bool any = false;
      for (std::string_view item : items) {
        item = TrimBlanks(item);
        if (item.empty()) continue;
        any = true;
        if (EqualsIgnoreCase(item, "all")) {
          std::fill(chosen.begin(), chosen.end(), true);
          continue;
        }
        auto it = std::find_if(kAuditHazardKinds.begin(), kAuditHazardKinds.end(),
                               [&](std::string_view kind) { return EqualsIgnoreCase(item, kind); });
        if (it == kAuditHazardKinds.end()) {
          std::string kinds;
          for (std::string_view kind : kAuditHazardKinds) kinds += ", " + std::string(kind);
          return ValueError(raw, "unknown hazard kind " + QuoteForMessage(item, 64) +
                                     "; expected all or some of " + kinds.substr(2));
        }
        chosen[static_cast<size_t>(it - kAuditHazardKinds.begin())] = true;
      }
      if (!any) return ValueError(raw, "names no hazard kind");
      config_.audit_fail_on.clear();
      for (size_t i = 0; i < kAuditHazardKinds.size(); ++i) {
        if (chosen[i]) config_.audit_fail_on.emplace_back(kAuditHazardKinds[i]);
      }
      if (config_.audit != AuditMode::kStrict) {
        config_.warnings.push_back(
            "ANYSNAP_AUDIT_FAIL_ON has no effect unless ANYSNAP_AUDIT is strict");
      }
    }

    auto report = Get("ANYSNAP_AUDIT_REPORT");
    if (!report.ok()) return report.status();
    if (report->has_value()) {
      config_.audit_report = (*report)->text;
      if (config_.audit == AuditMode::kOff) {
        config_.warnings.push_back("ANYSNAP_AUDIT_REPORT has no effect while ANYSNAP_AUDIT is off");
      }
    }
    return Status::Ok();
  }

  Status ReadReseed() {
    auto mode = Get("ANYSNAP_RESEED");
    if (!mode.ok()) return mode.status();
    if (!mode->has_value()) return Status::Ok();
    const std::string& text = (*mode)->text;
    if (EqualsIgnoreCase(text, "auto")) {
      config_.reseed = ReseedMode::kAuto;
    } else if (EqualsIgnoreCase(text, "strict")) {
      config_.reseed = ReseedMode::kStrict;
    } else if (EqualsIgnoreCase(text, "off")) {
      config_.reseed = ReseedMode::kOff;
    } else {
      return ValueError(**mode, "expected auto, strict or off");
    }
    return Status::Ok();
  }

  static std::optional<LogLevel> ParseLevel(std::string_view text) {
    if (EqualsIgnoreCase(text, "off")) return LogLevel::kOff;
    return ParseLogLevel(text);
  }

  // ANYSNAP_LOG_* (environment, then file), else AWS_LAMBDA_LOG_* from the
  // platform. `strict` false turns every bad value into a warning.
  Status ReadLogging(bool strict) {
    auto bad = [&](const Status& error) -> Status {
      if (strict) return error;
      config_.warnings.push_back(error.message() + " (ignored)");
      return Status::Ok();
    };

    auto level = Get("ANYSNAP_LOG_LEVEL");
    if (!level.ok()) {
      ANYSNAP_RETURN_IF_ERROR(bad(level.status()));
    } else if (level->has_value()) {
      if (auto parsed = ParseLevel((*level)->text)) {
        config_.log_level = *parsed;
      } else {
        ANYSNAP_RETURN_IF_ERROR(
            bad(ValueError(**level, "expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or OFF")));
      }
    } else if (const std::string* aws = EnvValue("AWS_LAMBDA_LOG_LEVEL")) {
      if (auto parsed = ParseLogLevel(*aws)) {
        config_.log_level = *parsed;
      } else {
        config_.warnings.push_back("AWS_LAMBDA_LOG_LEVEL=" + QuoteForMessage(*aws) +
                                   " is not a log level (using INFO)");
      }
    }

    auto format = Get("ANYSNAP_LOG_FORMAT");
    if (!format.ok()) {
      ANYSNAP_RETURN_IF_ERROR(bad(format.status()));
    } else if (format->has_value()) {
      if (auto parsed = ParseLogFormat((*format)->text)) {
        config_.log_format = *parsed;
      } else {
        ANYSNAP_RETURN_IF_ERROR(bad(ValueError(**format, "expected text or json")));
      }
    } else if (const std::string* aws = EnvValue("AWS_LAMBDA_LOG_FORMAT")) {
      if (auto parsed = ParseLogFormat(*aws)) {
        config_.log_format = *parsed;
      } else {
        config_.warnings.push_back("AWS_LAMBDA_LOG_FORMAT=" + QuoteForMessage(*aws) +
                                   " is not a log format (using text)");
      }
    }
    return Status::Ok();
  }

  const EnvMap& env_;
  const ReadFileFn& read_file_;
  const std::function<bool(const std::string&)>& file_exists_;
  std::string task_root_;
  std::map<std::string, RawValue> file_values_;
  Config config_;
};

}  // namespace

std::string_view AuditModeName(AuditMode mode) {
  switch (mode) {
    case AuditMode::kOff:
      return "off";
    case AuditMode::kLog:
      return "log";
    case AuditMode::kStrict:
      return "strict";
  }
  return "off";
}

std::string_view ReseedModeName(ReseedMode mode) {
  switch (mode) {
    case ReseedMode::kAuto:
      return "auto";
    case ReseedMode::kStrict:
      return "strict";
    case ReseedMode::kOff:
      return "off";
  }
  return "auto";
}

std::string QuoteForMessage(std::string_view value, size_t max_bytes) {
  std::string out = "\"";
  size_t i = 0;
  char buf[16];
  while (i < value.size()) {
    uint32_t cp;
    size_t len = DecodeUtf8(value, i, &cp);
    if (i + std::max<size_t>(len, 1) > max_bytes) break;
    if (len == 0) {
      std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<uint8_t>(value[i]));
      out += buf;
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (IsControl(cp)) {
          std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(cp));
          out += buf;
        } else {
          out.append(value.substr(i, len));
        }
    }
    i += len;
  }
  out += "\"";
  if (i < value.size()) out += "...(" + std::to_string(value.size()) + " bytes)";
  return out;
}

Result<Config> LoadConfig(const EnvMap& env, const ReadFileFn& read_file,
                          const std::function<bool(const std::string&)>& file_exists) {
  return ConfigLoader(env, read_file, file_exists).Load();
}

}  // namespace anysnap
