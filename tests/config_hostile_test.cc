// Every setting against every kind of hostile value, from both sources (the
// environment and the JSON file): LoadConfig either accepts the value or
// answers one line that names the variable, with the value escaped and cut
// short (from the file, prefixed with the file's name); it never crashes and
// never emits raw control bytes or invalid UTF-8. The
// deterministic sweep beside the fuzz_config target (docs/reliability.md).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "anysnap/config.h"

namespace anysnap {
namespace {

struct Hostile {
  std::string name, value;
};

std::vector<Hostile> HostileValues() {
  return {
      {"empty", ""},
      {"blank", "   \t "},
      {"huge", std::string(256 * 1024, 'x')},
      {"just over 64 KiB", std::string(64 * 1024 + 1, '7')},
      {"invalid UTF-8", "a\xff\xfe b"},
      {"truncated UTF-8", "\xc3"},
      {"overlong UTF-8", "\xc0\xaf"},
      {"surrogate", "\xed\xa0\x80"},
      {"NUL", std::string("a\0b", 3)},
      {"escape", "\x1b[2J"},
      {"DEL", "a\x7f"},
      {"newlines", "a\nb\r\nc"},
      {"quotes", "'\"\\"},
      {"shell", "$(reboot) `id` ; | & > <"},
      {"expansion", "${HOME:-x} $UNSET ${!x}"},
      {"url", "http://169.254.169.254:80/latest"},
      {"negative", "-1"},
      {"big number", "99999999999999999999999999"},
      {"JSON", "{\"a\":[1,2]}"},
      {"commas", ",,,"},
  };
}

// A valid single line of at most `limit` bytes: UTF-8, no control bytes.
void ExpectPrintableLine(const std::string& message, size_t limit) {
  EXPECT_LE(message.size(), limit) << message.substr(0, 300);
  for (size_t i = 0; i < message.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    ASSERT_FALSE(c < 0x20 || c == 0x7f) << "control byte at " << i << ": " << message;
  }
  // Well-formed UTF-8 (the only non-ASCII the quoting lets through).
  for (size_t i = 0; i < message.size();) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    ASSERT_NE(n, 0u) << "invalid UTF-8 at " << i << ": " << message;
    for (size_t k = 1; k < n; ++k) {
      ASSERT_LT(i + k, message.size()) << message;
      ASSERT_EQ(static_cast<unsigned char>(message[i + k]) >> 6, 0x2) << message;
    }
    i += n;
  }
}

Result<Config> Load(const EnvMap& env, const std::string& file_text) {
  ReadFileFn read = [&](const std::string& path) -> Result<std::string> {
    if (file_text.empty()) return Status::NotFound("open " + path + ": No such file or directory");
    return file_text;
  };
  auto exists = [&](const std::string&) { return !file_text.empty(); };
  EnvMap with_task_root = env;
  with_task_root["LAMBDA_TASK_ROOT"] = "/var/task";
  return LoadConfig(with_task_root, read, exists);
}

// JSON string literal for `value` (the file's spelling of hostile bytes).
std::string JsonString(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(ConfigHostile, EveryVariableAgainstEveryHostileValueFromTheEnvironment) {
  for (std::string_view variable : kConfigVariables) {
    for (const Hostile& h : HostileValues()) {
      SCOPED_TRACE(std::string(variable) + " = " + h.name);
      auto config = Load({{std::string(variable), h.value}}, "");
      if (config.ok()) continue;
      const std::string& message = config.status().message();
      EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
      EXPECT_NE(message.find(variable), std::string::npos) << message;
      ExpectPrintableLine(message, 1024);
    }
  }
}

TEST(ConfigHostile, EveryVariableAgainstEveryHostileValueFromTheFile) {
  for (std::string_view variable : kConfigVariables) {
    if (variable == "ANYSNAP_CONFIG") continue;  // the file cannot name another file
    for (const Hostile& h : HostileValues()) {
      SCOPED_TRACE(std::string(variable) + " = " + h.name);
      std::string file = "{\"" + std::string(variable) + "\": " + JsonString(h.value) + "}";
      auto config = Load({}, file);
      if (config.ok()) continue;
      const std::string& message = config.status().message();
      // The value's error names the variable; bytes the JSON parser refuses
      // (invalid UTF-8) are the file's error, naming it and the offset.
      EXPECT_NE(message.rfind("/var/task/anysnap.json: ", 0), std::string::npos) << message;
      if (message.find("invalid JSON at offset") == std::string::npos) {
        EXPECT_NE(message.find(variable), std::string::npos) << message.substr(0, 300);
      }
      ExpectPrintableLine(message, 1024);
    }
  }
}

// Every setting hostile at once: one error, about one of them, still a line.
TEST(ConfigHostile, AllSettingsHostileAtOnceGiveOneLine) {
  for (const Hostile& h : HostileValues()) {
    SCOPED_TRACE(h.name);
    EnvMap env;
    for (std::string_view variable : kConfigVariables)
      if (variable != "ANYSNAP_CONFIG" && variable != "ANYSNAP_DISABLE")
        env[std::string(variable)] = h.value;
    auto config = Load(env, "");
    if (!config.ok()) ExpectPrintableLine(config.status().message(), 1024);
  }
}

// Hostile bytes in the file itself: not JSON, not an object, deep nesting,
// hostile keys. An error naming the file, never a crash.
TEST(ConfigHostile, HostileFilesAreErrorsNamingTheFile) {
  const std::vector<std::string> files = {
      "\xff\xfe{}",
      "[",
      std::string(100000, '[') + std::string(100000, ']'),
      "{\"ANYSNAP_RUNTIME\": " + std::string(50000, '[') + "]}",
      "{\"\\u0000\": 1}",
      "{\"ANYSNAP_\xff\": 1}",
      "{\"ANYSNAP_RUNTIME\": \"a\", \"ANYSNAP_RUNTIME\": \"b\"}",
      "{\"ANYSNAP_PRIME_ROUNDS\": 1e400}",
      "{\"ANYSNAP_PRIME_ROUNDS\": -0}",
      "{\"ANYSNAP_RUNTIME\": [\"a\", 1, null]}",
      "{\"ANYSNAP_RUNTIME\": {}}",
      "null",
      "\"just a string\"",
  };
  for (const std::string& file : files) {
    SCOPED_TRACE(file.substr(0, 60));
    auto config = Load({{"ANYSNAP_CONFIG", "/var/task/anysnap.json"}}, file);
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find("/var/task/anysnap.json"), std::string::npos)
        << config.status().message();
    ExpectPrintableLine(config.status().message(), 1024);
  }
}

}  // namespace
}  // namespace anysnap
