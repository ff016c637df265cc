#include "anysnap/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace anysnap {
namespace {

using Words = std::vector<std::string>;
using std::chrono::milliseconds;

// Loads configurations from a fake environment and a fake filesystem that
// records every read.
class ConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load() {
    reads_.clear();
    ReadFileFn read = [this](const std::string& path) -> Result<std::string> {
      reads_.push_back(path);
      auto it = files_.find(path);
      if (it == files_.end())
        return Status::NotFound("open " + path + ": No such file or directory");
      return it->second;
    };
    auto exists = [this](const std::string& path) { return files_.count(path) > 0; };
    return LoadConfig(env_, read, exists);
  }

  Config LoadOk() {
    auto config = Load();
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    return config.ok() ? *config : Config{};
  }

  std::string LoadError() {
    auto config = Load();
    EXPECT_FALSE(config.ok());
    if (config.ok()) return "<ok>";
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(config.status().message().find('\n'), std::string::npos);
    return config.status().message();
  }

  // The error for ANYSNAP_<name>=value alone in the environment.
  std::string ErrorFor(const std::string& name, const std::string& value) {
    env_ = {{name, value}};
    return LoadError();
  }

  Config OkFor(const std::string& name, const std::string& value) {
    env_ = {{name, value}};
    return LoadOk();
  }

  EnvMap env_;
  std::map<std::string, std::string> files_;
  std::vector<std::string> reads_;
};

const std::string kDefaultFile = "/var/task/anysnap.json";

TEST_F(ConfigTest, DefaultsWithAnEmptyEnvironment) {
  Config c = LoadOk();
  EXPECT_FALSE(c.disable);
  EXPECT_EQ(c.runtime, (Words{"/var/task/bootstrap"}));
  EXPECT_TRUE(c.chain.empty());
  EXPECT_TRUE(c.before_snapshot.empty());
  EXPECT_TRUE(c.after_restore.empty());
  EXPECT_EQ(c.before_hook_timeout, milliseconds(60000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(10000));
  EXPECT_EQ(c.prime_events, "");
  EXPECT_EQ(c.prime_rounds, 1);
  EXPECT_FALSE(c.prime_rounds_set);
  EXPECT_TRUE(c.preload.empty());
  EXPECT_EQ(c.audit, AuditMode::kOff);
  EXPECT_EQ(c.audit_fail_on,
            (Words{"random", "uuid", "connect", "listen", "timer", "clock", "fork"}));
  EXPECT_EQ(c.audit_report, "");
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.config_file, "");
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_TRUE(reads_.empty());
}

TEST_F(ConfigTest, DefaultRuntimeFollowsLambdaTaskRoot) {
  EXPECT_EQ(OkFor("LAMBDA_TASK_ROOT", "/opt/my task").runtime, (Words{"/opt/my task/bootstrap"}));
  EXPECT_EQ(OkFor("LAMBDA_TASK_ROOT", "").runtime, (Words{"/var/task/bootstrap"}));
  EXPECT_EQ(ErrorFor("LAMBDA_TASK_ROOT", "/var/\ttask"),
            "LAMBDA_TASK_ROOT=\"/var/\\ttask\": contains a control character");
}

// ANYSNAP_DISABLE

TEST_F(ConfigTest, DisableAcceptsTheUsualSpellings) {
  for (const char* on : {"1", "true", "TRUE", "Yes", "on", "ON"})
    EXPECT_TRUE(OkFor("ANYSNAP_DISABLE", on).disable) << on;
  for (const char* off : {"0", "false", "False", "no", "NO", "off", ""})
    EXPECT_FALSE(OkFor("ANYSNAP_DISABLE", off).disable) << off;
}

TEST_F(ConfigTest, DisableRejectsAnythingElse) {
  const std::string expected =
      ": expected 1, true, yes or on to disable anysnap, or 0, false, no or off";
  EXPECT_EQ(ErrorFor("ANYSNAP_DISABLE", "maybe"), "ANYSNAP_DISABLE=\"maybe\"" + expected);
  EXPECT_EQ(ErrorFor("ANYSNAP_DISABLE", "2"), "ANYSNAP_DISABLE=\"2\"" + expected);
  EXPECT_EQ(ErrorFor("ANYSNAP_DISABLE", " true"), "ANYSNAP_DISABLE=\" true\"" + expected);
  EXPECT_EQ(ErrorFor("ANYSNAP_DISABLE", "truex"), "ANYSNAP_DISABLE=\"truex\"" + expected);
}

TEST_F(ConfigTest, DisableIsAnEscapeHatchFromABrokenConfiguration) {
  env_ = {{"ANYSNAP_DISABLE", "1"},
          {"ANYSNAP_PRIME_ROUNDS", "abc"},
          {"ANYSNAP_RUNTIME", "node 'x"},
          {"ANYSNAP_LOG_LEVEL", "DEBUG"}};
  files_[kDefaultFile] = "{not json";
  Config c = LoadOk();
  EXPECT_TRUE(c.disable);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_TRUE(reads_.empty());  // the file is not even read
  EXPECT_EQ(c.config_file, "");
}

TEST_F(ConfigTest, DisabledConfigurationWarnsAboutBadLogSettings) {
  env_ = {{"ANYSNAP_DISABLE", "yes"},
          {"ANYSNAP_LOG_LEVEL", "loud"},
          {"ANYSNAP_LOG_FORMAT", "xml"},
          {"AWS_LAMBDA_LOG_FORMAT", "JSON"}};
  Config c = LoadOk();
  EXPECT_TRUE(c.disable);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.warnings,
            (Words{"ANYSNAP_LOG_LEVEL=\"loud\": expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or "
                   "OFF (ignored)",
                   "ANYSNAP_LOG_FORMAT=\"xml\": expected text or json (ignored)"}));
}

TEST_F(ConfigTest, DisableFromTheFileSkipsTheOtherSettings) {
  files_[kDefaultFile] = R"({"ANYSNAP_DISABLE": true, "ANYSNAP_PRIME_ROUNDS": "abc"})";
  Config c = LoadOk();
  EXPECT_TRUE(c.disable);
  EXPECT_EQ(c.config_file, kDefaultFile);
}

TEST_F(ConfigTest, DisableInTheEnvironmentOverridesTheFile) {
  files_[kDefaultFile] = R"({"ANYSNAP_DISABLE": "on", "ANYSNAP_RUNTIME": "node app.js"})";
  env_ = {{"ANYSNAP_DISABLE", "0"}};
  Config c = LoadOk();
  EXPECT_FALSE(c.disable);
  EXPECT_EQ(c.runtime, (Words{"node", "app.js"}));
}

// ANYSNAP_RUNTIME and ANYSNAP_CHAIN

TEST_F(ConfigTest, RuntimeIsSplitAndExpanded) {
  env_ = {{"ANYSNAP_RUNTIME",
           "/opt/node/bin/node --max-old-space-size=$MEM '$LAMBDA_TASK_ROOT' "
           "\"$LAMBDA_TASK_ROOT/index.js\""},
          {"LAMBDA_TASK_ROOT", "/var/task"},
          {"MEM", "512"}};
  EXPECT_EQ(LoadOk().runtime, (Words{"/opt/node/bin/node", "--max-old-space-size=512",
                                     "$LAMBDA_TASK_ROOT", "/var/task/index.js"}));
}

TEST_F(ConfigTest, RuntimeMayUseTabsAndNewlines) {
  EXPECT_EQ(OkFor("ANYSNAP_RUNTIME", "node\t--inspect \\\n  app.js\n").runtime,
            (Words{"node", "--inspect", "app.js"}));
}

TEST_F(ConfigTest, EmptyRuntimeMeansTheDefault) {
  EXPECT_EQ(OkFor("ANYSNAP_RUNTIME", "").runtime, (Words{"/var/task/bootstrap"}));
}

TEST_F(ConfigTest, RuntimeErrorsNameTheVariableAndTheValue) {
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "node 'index.js"),
            "ANYSNAP_RUNTIME=\"node 'index.js\": unterminated single quote at position 6");
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "node $(pwd)/x.js"),
            "ANYSNAP_RUNTIME=\"node $(pwd)/x.js\": $( at position 6: command substitution is not "
            "supported (no shell runs)");
  EXPECT_EQ(
      ErrorFor("ANYSNAP_RUNTIME", "$NOT_SET"),
      "ANYSNAP_RUNTIME=\"$NOT_SET\": expands to no words; expected the runtime host's command "
      "line");
  EXPECT_EQ(
      ErrorFor("ANYSNAP_RUNTIME", "   "),
      "ANYSNAP_RUNTIME=\"   \": expands to no words; expected the runtime host's command line");
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "\"$NOT_SET\" x"),
            "ANYSNAP_RUNTIME=\"\\\"$NOT_SET\\\" x\": the command (first word) is empty");
}

TEST_F(ConfigTest, ChainIsSplitLikeTheRuntime) {
  env_ = {{"ANYSNAP_CHAIN", "/opt/otel-handler --flag \"a b\""}};
  EXPECT_EQ(LoadOk().chain, (Words{"/opt/otel-handler", "--flag", "a b"}));
  EXPECT_TRUE(OkFor("ANYSNAP_CHAIN", "").chain.empty());
  EXPECT_EQ(ErrorFor("ANYSNAP_CHAIN", "wrap |"),
            "ANYSNAP_CHAIN=\"wrap |\": '|' at position 6: a pipe needs a shell, and none runs; "
            "quote it to pass it literally");
}

TEST_F(ConfigTest, ChainThatExpandsToNothingIsAWarning) {
  Config c = OkFor("ANYSNAP_CHAIN", "$OTEL_WRAPPER");
  EXPECT_TRUE(c.chain.empty());
  EXPECT_EQ(c.warnings, (Words{"ANYSNAP_CHAIN=\"$OTEL_WRAPPER\" expands to no words (no chain)"}));
}

// Value checks shared by every setting.

TEST_F(ConfigTest, ControlCharactersAreRejectedAndShownEscaped) {
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "node\x1b[31m app.js"),
            "ANYSNAP_RUNTIME=\"node\\u001B[31m app.js\": contains a control character");
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "node\rapp.js"),
            "ANYSNAP_RUNTIME=\"node\\rapp.js\": contains a control character");
  EXPECT_EQ(ErrorFor("ANYSNAP_PRIME_EVENTS", "/var/task/events\n.json"),
            "ANYSNAP_PRIME_EVENTS=\"/var/task/events\\n.json\": contains a control character");
  EXPECT_EQ(ErrorFor("ANYSNAP_PRIME_ROUNDS", "5\t"),
            "ANYSNAP_PRIME_ROUNDS=\"5\\t\": contains a control character");
  EXPECT_EQ(ErrorFor("ANYSNAP_AUDIT_REPORT", "/tmp/a\x7f"),
            "ANYSNAP_AUDIT_REPORT=\"/tmp/a\\u007F\": contains a control character");
  EXPECT_EQ(ErrorFor("ANYSNAP_AUDIT_REPORT", "/tmp/a\xC2\x85"),
            "ANYSNAP_AUDIT_REPORT=\"/tmp/a\\u0085\": contains a control character");
}

TEST_F(ConfigTest, NulBytesAreRejected) {
  EXPECT_EQ(ErrorFor("ANYSNAP_PRELOAD", std::string("/a\0b", 4)),
            "ANYSNAP_PRELOAD=\"/a\\u0000b\": contains a NUL byte");
}

TEST_F(ConfigTest, InvalidUtf8IsRejectedAndShownAsHex) {
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", "node \xff\xfe.js"),
            "ANYSNAP_RUNTIME=\"node \\xFF\\xFE.js\": not valid UTF-8");
  EXPECT_EQ(ErrorFor("ANYSNAP_PRELOAD", "/a\xC0\xAF"),  // overlong '/'
            "ANYSNAP_PRELOAD=\"/a\\xC0\\xAF\": not valid UTF-8");
  EXPECT_EQ(ErrorFor("ANYSNAP_PRELOAD", "/a\xED\xA0\x80"),  // a surrogate
            "ANYSNAP_PRELOAD=\"/a\\xED\\xA0\\x80\": not valid UTF-8");
  EXPECT_EQ(OkFor("ANYSNAP_PRELOAD", "/var/task/caf\xC3\xA9:/opt/\xF0\x9F\x9A\x80").preload,
            (Words{"/var/task/caf\xC3\xA9", "/opt/\xF0\x9F\x9A\x80"}));
}

TEST_F(ConfigTest, HugeValuesAreRejectedAndShownTruncated) {
  std::string huge = "node " + std::string(70000, 'a');
  EXPECT_EQ(ErrorFor("ANYSNAP_RUNTIME", huge),
            "ANYSNAP_RUNTIME=\"node " + std::string(195, 'a') +
                "\"...(70005 bytes): longer than the 64 KiB limit (70005 bytes)");
  std::string at_limit(64 * 1024, 'a');
  EXPECT_EQ(OkFor("ANYSNAP_PRIME_EVENTS", at_limit).prime_events, at_limit);
}

TEST_F(ConfigTest, LongValuesInOtherErrorsAreTruncatedToo) {
  std::string value = std::string(300, 'x') + "'";
  std::string message = ErrorFor("ANYSNAP_RUNTIME", value);
  EXPECT_EQ(message, "ANYSNAP_RUNTIME=\"" + std::string(200, 'x') +
                         "\"...(301 bytes): unterminated single quote at position 301");
}

// Hooks

TEST_F(ConfigTest, HooksAreOnePerLine) {
  env_ = {{"ANYSNAP_BEFORE_SNAPSHOT",
           "/var/task/flush-cache --all\n"
           "\n"
           "  # a comment line\n"
           "  http://127.0.0.1:8080/before-snapshot  \n"
           "python3 \"$LAMBDA_TASK_ROOT/warm.py\" # trailing comment\n"},
          {"LAMBDA_TASK_ROOT", "/var/task"}};
  Config c = LoadOk();
  ASSERT_EQ(c.before_snapshot.size(), 3u);
  const HookSpec& cmd = c.before_snapshot[0];
  EXPECT_EQ(cmd.kind, HookSpec::Kind::kCommand);
  EXPECT_EQ(cmd.text, "/var/task/flush-cache --all");
  EXPECT_EQ(cmd.argv, (Words{"/var/task/flush-cache", "--all"}));
  const HookSpec& url = c.before_snapshot[1];
  EXPECT_EQ(url.kind, HookSpec::Kind::kUrl);
  EXPECT_EQ(url.text, "http://127.0.0.1:8080/before-snapshot");
  EXPECT_EQ(url.address.host, "127.0.0.1");
  EXPECT_EQ(url.address.port, 8080);
  EXPECT_EQ(url.path, "/before-snapshot");
  EXPECT_TRUE(url.argv.empty());
  EXPECT_EQ(c.before_snapshot[2].argv, (Words{"python3", "/var/task/warm.py"}));
  EXPECT_TRUE(c.after_restore.empty());
}

TEST_F(ConfigTest, AfterRestoreHooksParseTheSameWay) {
  Config c = OkFor("ANYSNAP_AFTER_RESTORE", "reseed --now\nhttp://localhost:9000");
  ASSERT_EQ(c.after_restore.size(), 2u);
  EXPECT_EQ(c.after_restore[0].argv, (Words{"reseed", "--now"}));
  EXPECT_EQ(c.after_restore[1].address.host, "localhost");
  EXPECT_EQ(c.after_restore[1].path, "/");
  EXPECT_TRUE(c.before_snapshot.empty());
}

TEST_F(ConfigTest, HookCommandsExpandTheirOwnPhase) {
  env_ = {{"ANYSNAP_BEFORE_SNAPSHOT", "log-phase $ANYSNAP_PHASE"},
          {"ANYSNAP_AFTER_RESTORE", "log-phase ${ANYSNAP_PHASE}"}};
  Config c = LoadOk();
  ASSERT_EQ(c.before_snapshot.size(), 1u);
  EXPECT_EQ(c.before_snapshot[0].argv, (Words{"log-phase", "before-snapshot"}));
  ASSERT_EQ(c.after_restore.size(), 1u);
  EXPECT_EQ(c.after_restore[0].argv, (Words{"log-phase", "after-restore"}));
}

TEST_F(ConfigTest, ProvisionedStepsDefaultToPriming) {
  Config c = LoadOk();
  EXPECT_TRUE(c.provisioned_prime);
  EXPECT_FALSE(c.provisioned_before_snapshot);
  EXPECT_FALSE(c.provisioned_preload);
  c = OkFor("ANYSNAP_PROVISIONED", " Before-Snapshot, preload ,");
  EXPECT_FALSE(c.provisioned_prime);
  EXPECT_TRUE(c.provisioned_before_snapshot);
  EXPECT_TRUE(c.provisioned_preload);
  c = OkFor("ANYSNAP_PROVISIONED", "none");
  EXPECT_FALSE(c.provisioned_prime || c.provisioned_before_snapshot || c.provisioned_preload);
}

TEST_F(ConfigTest, ProvisionedStepsRejectJunk) {
  EXPECT_EQ(ErrorFor("ANYSNAP_PROVISIONED", "prime,restore"),
            "ANYSNAP_PROVISIONED=\"prime,restore\": unknown step \"restore\"; expected none, or "
            "some of prime, before-snapshot, preload");
  EXPECT_EQ(ErrorFor("ANYSNAP_PROVISIONED", " , "),
            "ANYSNAP_PROVISIONED=\" , \": names no step; write none to run nothing");
  EXPECT_EQ(ErrorFor("ANYSNAP_PROVISIONED", "none,prime"),
            "ANYSNAP_PROVISIONED=\"none,prime\": none cannot be combined with other steps");
}

TEST_F(ConfigTest, HookUrlForms) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    const char* path;
  } cases[] = {
      {"http://127.0.0.1:1/x", "127.0.0.1", 1, "/x"},
      {"http://127.1.2.3:65535/a/b?c=d&e", "127.1.2.3", 65535, "/a/b?c=d&e"},
      {"http://[::1]:8080/hook", "::1", 8080, "/hook"},
      {"HTTP://localhost:80", "localhost", 80, "/"},
      {"http://127.0.0.1:80?x=1", "127.0.0.1", 80, "/?x=1"},
      {"http://127.0.0.1:80/%7Euser", "127.0.0.1", 80, "/%7Euser"},
  };
  for (const Case& c : cases) {
    Config config = OkFor("ANYSNAP_AFTER_RESTORE", c.url);
    ASSERT_EQ(config.after_restore.size(), 1u) << c.url;
    const HookSpec& hook = config.after_restore[0];
    EXPECT_EQ(hook.kind, HookSpec::Kind::kUrl) << c.url;
    EXPECT_EQ(hook.text, c.url);
    EXPECT_EQ(hook.address.host, c.host) << c.url;
    EXPECT_EQ(hook.address.port, c.port) << c.url;
    EXPECT_EQ(hook.path, c.path) << c.url;
  }
}

TEST_F(ConfigTest, BadHookUrls) {
  auto error = [&](const std::string& url) { return ErrorFor("ANYSNAP_BEFORE_SNAPSHOT", url); };
  const std::string prefix = "ANYSNAP_BEFORE_SNAPSHOT=";
  EXPECT_EQ(error("https://127.0.0.1:8443/x"),
            prefix +
                "\"https://127.0.0.1:8443/x\": https is not supported: hooks are POSTed over "
                "plain http to the loopback");
  EXPECT_EQ(error("ftp://127.0.0.1:21/x"),
            prefix + "\"ftp://127.0.0.1:21/x\": only http:// hook URLs are supported");
  EXPECT_EQ(error("http://10.0.0.1:80/x"),
            prefix +
                "\"http://10.0.0.1:80/x\": a hook URL must name a loopback address "
                "(127.0.0.1, [::1] or localhost)");
  EXPECT_EQ(error("http://example.com:80/x"),
            prefix +
                "\"http://example.com:80/x\": a hook URL must name a loopback address "
                "(127.0.0.1, [::1] or localhost)");
  EXPECT_EQ(error("http://127.0.0.1/x"),
            prefix + "\"http://127.0.0.1/x\": a hook URL needs a port: http://127.0.0.1:PORT/path");
  EXPECT_EQ(error("http://[::1]/x"),
            prefix + "\"http://[::1]/x\": a hook URL needs a port: http://127.0.0.1:PORT/path");
  EXPECT_EQ(error("http://127.0.0.1:0/x"),
            prefix + "\"http://127.0.0.1:0/x\": a hook URL needs a port from 1 to 65535");
  EXPECT_EQ(error("http://127.0.0.1:70000/x"),
            prefix + "\"http://127.0.0.1:70000/x\": a hook URL needs a port from 1 to 65535");
  EXPECT_EQ(error("http://127.0.0.1:/x"),
            prefix + "\"http://127.0.0.1:/x\": a hook URL needs a port from 1 to 65535");
  EXPECT_EQ(error("http://user:pw@127.0.0.1:80/x"),
            prefix + "\"http://user:pw@127.0.0.1:80/x\": a hook URL has no user name or password");
  EXPECT_EQ(error("http://127.0.0.1:80/x#frag"),
            prefix + "\"http://127.0.0.1:80/x#frag\": a hook URL has no fragment (#...)");
  EXPECT_EQ(error("http://127.0.0.1:80/x extra"),
            prefix +
                "\"http://127.0.0.1:80/x extra\": a hook URL stands alone: nothing may "
                "follow it");
  EXPECT_EQ(error("http://127.0.0.1:80/caf\xC3\xA9"),
            prefix +
                "\"http://127.0.0.1:80/caf\xC3\xA9\": a hook URL's path is printable ASCII "
                "(percent-encode the rest)");
}

TEST_F(ConfigTest, HookErrorsNameTheLine) {
  EXPECT_EQ(ErrorFor("ANYSNAP_AFTER_RESTORE", "ok-hook\n\nhttp://10.0.0.1:1/x"),
            "ANYSNAP_AFTER_RESTORE=\"ok-hook\\n\\nhttp://10.0.0.1:1/x\": line 3: a hook URL must "
            "name a loopback address (127.0.0.1, [::1] or localhost)");
  EXPECT_EQ(ErrorFor("ANYSNAP_AFTER_RESTORE", "a\nb 'c"),
            "ANYSNAP_AFTER_RESTORE=\"a\\nb 'c\": line 2: unterminated single quote at position 3");
  EXPECT_EQ(ErrorFor("ANYSNAP_AFTER_RESTORE", "$NOPE"),
            "ANYSNAP_AFTER_RESTORE=\"$NOPE\": expands to no words");
  EXPECT_EQ(ErrorFor("ANYSNAP_AFTER_RESTORE", "'' arg"),
            "ANYSNAP_AFTER_RESTORE=\"'' arg\": the command (first word) is empty");
  // A quote cannot carry a hook over a line break: hooks are one per line.
  EXPECT_EQ(ErrorFor("ANYSNAP_AFTER_RESTORE", "echo 'a\nb'"),
            "ANYSNAP_AFTER_RESTORE=\"echo 'a\\nb'\": line 1: unterminated single quote at "
            "position 6");
}

TEST_F(ConfigTest, HooksThatAreOnlyCommentsOrBlankMakeNoHooks) {
  Config c = OkFor("ANYSNAP_BEFORE_SNAPSHOT", "\n  # nothing yet\n\t\n");
  EXPECT_TRUE(c.before_snapshot.empty());
}

// ANYSNAP_HOOK_TIMEOUT_MS

TEST_F(ConfigTest, HookTimeoutOneNumberSetsBothPhases) {
  Config c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "5000");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(5000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(5000));
  c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "10000");
  EXPECT_EQ(c.after_hook_timeout, milliseconds(10000));
  c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "1");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(1));
}

TEST_F(ConfigTest, HookTimeoutPerPhase) {
  Config c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=120000,after=2000");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(120000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(2000));
  c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "after=3000, before=3600000");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(3600000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(3000));
  c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=900000");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(900000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(10000));
  c = OkFor("ANYSNAP_HOOK_TIMEOUT_MS", "after=500");
  EXPECT_EQ(c.before_hook_timeout, milliseconds(60000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(500));
}

TEST_F(ConfigTest, HookTimeoutAboveTheRestoreBudgetSuggestsBefore) {
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "30000"),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"30000\": one number sets both phases, but after-restore "
            "hooks must finish within the platform's 10000 ms restore budget; to raise only the "
            "before-snapshot timeout, write before=30000");
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=1000,after=10001"),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"before=1000,after=10001\": after-restore hooks must finish "
            "within the platform's 10000 ms restore budget");
}

TEST_F(ConfigTest, HookTimeoutRejectsJunk) {
  const std::string both = ": expected milliseconds from 1 to 3600000, or before=N,after=M";
  for (const char* bad : {"0", "3600001", "99999999999999999999999"}) {
    EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", bad),
              "ANYSNAP_HOOK_TIMEOUT_MS=\"" + std::string(bad) + "\"" + both);
  }
  const std::string phases =
      ": expected milliseconds from 1 to 3600000 for both phases, or before=N,after=M";
  for (const char* bad : {"-5", "+5", "5s", " 5", "5 ", "1e3", "5.0", "during=5", "before",
                          "before=1,", "=1", "before:1"}) {
    EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", bad),
              "ANYSNAP_HOOK_TIMEOUT_MS=\"" + std::string(bad) + "\"" + phases);
  }
  EXPECT_EQ(
      ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=0"),
      "ANYSNAP_HOOK_TIMEOUT_MS=\"before=0\": before: expected milliseconds from 1 to 3600000");
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "after=-1"),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"after=-1\": after: expected milliseconds from 1 to 3600000");
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "before="),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"before=\": before: expected milliseconds from 1 to 3600000");
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=4000000"),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"before=4000000\": before: expected milliseconds from 1 to "
            "3600000");
  EXPECT_EQ(ErrorFor("ANYSNAP_HOOK_TIMEOUT_MS", "before=1,before=2"),
            "ANYSNAP_HOOK_TIMEOUT_MS=\"before=1,before=2\": before is given twice");
}

// Priming and preload

TEST_F(ConfigTest, PrimeSettings) {
  env_ = {{"ANYSNAP_PRIME_EVENTS", "/var/task/prime.json"}, {"ANYSNAP_PRIME_ROUNDS", "25"}};
  Config c = LoadOk();
  EXPECT_EQ(c.prime_events, "/var/task/prime.json");
  EXPECT_EQ(c.prime_rounds, 25);
  EXPECT_TRUE(c.prime_rounds_set);
  EXPECT_TRUE(c.warnings.empty());

  env_ = {{"ANYSNAP_PRIME_EVENTS", "e.json"}, {"ANYSNAP_PRIME_ROUNDS", "1"}};
  c = LoadOk();
  EXPECT_EQ(c.prime_rounds, 1);
  EXPECT_TRUE(c.prime_rounds_set);

  env_ = {{"ANYSNAP_PRIME_EVENTS", "e.json"}, {"ANYSNAP_PRIME_ROUNDS", "10000"}};
  EXPECT_EQ(LoadOk().prime_rounds, 10000);

  env_ = {{"ANYSNAP_PRIME_EVENTS", "e.json"}, {"ANYSNAP_PRIME_ROUNDS", ""}};
  c = LoadOk();
  EXPECT_EQ(c.prime_rounds, 1);
  EXPECT_FALSE(c.prime_rounds_set);
}

TEST_F(ConfigTest, PrimeRoundsRejectsJunk) {
  for (const char* bad : {"abc", "0", "10001", "-1", "+1", "1.5", " 1", "1 ", "1e2", "0x10",
                          "99999999999999999999999"}) {
    EXPECT_EQ(ErrorFor("ANYSNAP_PRIME_ROUNDS", bad),
              "ANYSNAP_PRIME_ROUNDS=\"" + std::string(bad) +
                  "\": expected a whole number from 1 to 10000");
  }
}

TEST_F(ConfigTest, PrimeRoundsWithoutEventsIsAWarning) {
  Config c = OkFor("ANYSNAP_PRIME_ROUNDS", "3");
  EXPECT_EQ(c.prime_rounds, 3);
  EXPECT_EQ(
      c.warnings,
      (Words{"ANYSNAP_PRIME_ROUNDS has no effect without ANYSNAP_PRIME_EVENTS (no priming)"}));
}

TEST_F(ConfigTest, PreloadIsColonSeparatedWithEmptyItemsSkipped) {
  EXPECT_EQ(OkFor("ANYSNAP_PRELOAD", "/var/task/node_modules::/opt/lib/x.so:").preload,
            (Words{"/var/task/node_modules", "/opt/lib/x.so"}));
  EXPECT_EQ(OkFor("ANYSNAP_PRELOAD", "/a b").preload, (Words{"/a b"}));
  EXPECT_TRUE(OkFor("ANYSNAP_PRELOAD", ":::").preload.empty());
}

// Audit

TEST_F(ConfigTest, AuditModes) {
  EXPECT_EQ(OkFor("ANYSNAP_AUDIT", "off").audit, AuditMode::kOff);
  EXPECT_EQ(OkFor("ANYSNAP_AUDIT", "log").audit, AuditMode::kLog);
  EXPECT_EQ(OkFor("ANYSNAP_AUDIT", "LOG").audit, AuditMode::kLog);
  EXPECT_EQ(OkFor("ANYSNAP_AUDIT", "Strict").audit, AuditMode::kStrict);
  EXPECT_EQ(ErrorFor("ANYSNAP_AUDIT", "on"), "ANYSNAP_AUDIT=\"on\": expected off, log or strict");
  EXPECT_EQ(AuditModeName(AuditMode::kStrict), "strict");
}

// Reseed

TEST_F(ConfigTest, ReseedModes) {
  EXPECT_EQ(LoadOk().reseed, ReseedMode::kAuto);
  EXPECT_EQ(OkFor("ANYSNAP_RESEED", "auto").reseed, ReseedMode::kAuto);
  EXPECT_EQ(OkFor("ANYSNAP_RESEED", "STRICT").reseed, ReseedMode::kStrict);
  EXPECT_EQ(OkFor("ANYSNAP_RESEED", "off").reseed, ReseedMode::kOff);
  EXPECT_EQ(ErrorFor("ANYSNAP_RESEED", "on"),
            "ANYSNAP_RESEED=\"on\": expected auto, strict or off");
  EXPECT_EQ(ReseedModeName(ReseedMode::kStrict), "strict");
}

TEST_F(ConfigTest, AuditFailOnSelectsHazardKinds) {
  env_ = {{"ANYSNAP_AUDIT", "strict"}, {"ANYSNAP_AUDIT_FAIL_ON", "timer, connect,,Random,connect"}};
  Config c = LoadOk();
  EXPECT_EQ(c.audit_fail_on, (Words{"random", "connect", "timer"}));  // kAuditHazardKinds order
  EXPECT_TRUE(c.warnings.empty());

  env_ = {{"ANYSNAP_AUDIT", "strict"}, {"ANYSNAP_AUDIT_FAIL_ON", "fork,all"}};
  EXPECT_EQ(LoadOk().audit_fail_on.size(), kAuditHazardKinds.size());
}

TEST_F(ConfigTest, AuditFailOnRejectsUnknownKinds) {
  EXPECT_EQ(ErrorFor("ANYSNAP_AUDIT_FAIL_ON", "random,conect"),
            "ANYSNAP_AUDIT_FAIL_ON=\"random,conect\": unknown hazard kind \"conect\"; expected all "
            "or some of random, uuid, connect, listen, timer, clock, fork");
  EXPECT_EQ(ErrorFor("ANYSNAP_AUDIT_FAIL_ON", " , "),
            "ANYSNAP_AUDIT_FAIL_ON=\" , \": names no hazard kind");
}

TEST_F(ConfigTest, AuditSettingsWithoutEffectAreWarnings) {
  env_ = {{"ANYSNAP_AUDIT", "log"},
          {"ANYSNAP_AUDIT_FAIL_ON", "uuid"},
          {"ANYSNAP_AUDIT_REPORT", "/tmp/r.json"}};
  Config c = LoadOk();
  EXPECT_EQ(c.audit_fail_on, (Words{"uuid"}));
  EXPECT_EQ(c.audit_report, "/tmp/r.json");
  EXPECT_EQ(c.warnings,
            (Words{"ANYSNAP_AUDIT_FAIL_ON has no effect unless ANYSNAP_AUDIT is strict"}));

  c = OkFor("ANYSNAP_AUDIT_REPORT", "/tmp/r.json");
  EXPECT_EQ(c.warnings, (Words{"ANYSNAP_AUDIT_REPORT has no effect while ANYSNAP_AUDIT is off"}));
}

// Logging

TEST_F(ConfigTest, LogLevelAndFormatFallBackToLambdas) {
  env_ = {{"AWS_LAMBDA_LOG_LEVEL", "DEBUG"}, {"AWS_LAMBDA_LOG_FORMAT", "JSON"}};
  Config c = LoadOk();
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.log_format, LogFormat::kJson);

  env_ = {{"AWS_LAMBDA_LOG_LEVEL", "DEBUG"},
          {"AWS_LAMBDA_LOG_FORMAT", "JSON"},
          {"ANYSNAP_LOG_LEVEL", "warn"},
          {"ANYSNAP_LOG_FORMAT", "Text"}};
  c = LoadOk();
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.log_format, LogFormat::kText);

  EXPECT_EQ(OkFor("ANYSNAP_LOG_LEVEL", "off").log_level, LogLevel::kOff);
  EXPECT_EQ(OkFor("ANYSNAP_LOG_LEVEL", "trace").log_level, LogLevel::kTrace);
}

TEST_F(ConfigTest, BadLogSettings) {
  EXPECT_EQ(
      ErrorFor("ANYSNAP_LOG_LEVEL", "verbose"),
      "ANYSNAP_LOG_LEVEL=\"verbose\": expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or OFF");
  EXPECT_EQ(ErrorFor("ANYSNAP_LOG_FORMAT", "xml"),
            "ANYSNAP_LOG_FORMAT=\"xml\": expected text or json");
  // Lambda's own variables are the platform's: a bad one is a warning, not our error.
  env_ = {{"AWS_LAMBDA_LOG_LEVEL", "LOUD"}, {"AWS_LAMBDA_LOG_FORMAT", "yaml"}};
  Config c = LoadOk();
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.warnings, (Words{"AWS_LAMBDA_LOG_LEVEL=\"LOUD\" is not a log level (using INFO)",
                               "AWS_LAMBDA_LOG_FORMAT=\"yaml\" is not a log format (using text)"}));
}

// Unknown variables

TEST_F(ConfigTest, UnknownAnysnapVariablesAreWarnings) {
  env_ = {{"ANYSNAP_RUNTIM", "node"},
          {"ANYSNAP_SOMETHING_ELSE", "1"},
          {"ANYSNAP_PHASE", "before-snapshot"},
          {"ANYSNAPSHOT", "x"},
          {"HOME", "/root"}};
  Config c = LoadOk();
  EXPECT_EQ(c.runtime, (Words{"/var/task/bootstrap"}));
  EXPECT_EQ(c.warnings, (Words{"ANYSNAP_RUNTIM is not an anysnap setting (ignored); did you mean "
                               "ANYSNAP_RUNTIME?",
                               "ANYSNAP_SOMETHING_ELSE is not an anysnap setting (ignored)"}));
}

TEST_F(ConfigTest, UnknownVariableNamesAreShownEscaped) {
  Config c = OkFor("ANYSNAP_\x1b\xff", "1");
  EXPECT_EQ(c.warnings, (Words{"\"ANYSNAP_\\u001B\\xFF\" is not an anysnap setting (ignored)"}));
}

// The JSON file

TEST_F(ConfigTest, ReadsTheDefaultFileWhenItExists) {
  files_[kDefaultFile] = R"({
    "$schema": "https://example.invalid/anysnap.schema.json",
    "// note": "comments are keys starting with //",
    "ANYSNAP_RUNTIME": "node --enable-source-maps index.js",
    "ANYSNAP_CHAIN": ["/opt/otel-instrument"],
    "ANYSNAP_BEFORE_SNAPSHOT": ["/var/task/before.sh --flag", "http://127.0.0.1:3000/snap"],
    "ANYSNAP_AFTER_RESTORE": "after-1\nafter-2",
    "ANYSNAP_HOOK_TIMEOUT_MS": "before=90000,after=5000",
    "ANYSNAP_PRIME_EVENTS": "/var/task/prime.json",
    "ANYSNAP_PRIME_ROUNDS": 50,
    "ANYSNAP_PRELOAD": ["/var/task/node_modules", "", "/opt/a:b"],
    "ANYSNAP_AUDIT": "strict",
    "ANYSNAP_AUDIT_FAIL_ON": ["random", "uuid"],
    "ANYSNAP_AUDIT_REPORT": "/tmp/audit.json",
    "ANYSNAP_LOG_LEVEL": "debug",
    "ANYSNAP_LOG_FORMAT": "json"
  })";
  Config c = LoadOk();
  EXPECT_EQ(reads_, (Words{kDefaultFile}));
  EXPECT_EQ(c.config_file, kDefaultFile);
  EXPECT_EQ(c.runtime, (Words{"node", "--enable-source-maps", "index.js"}));
  EXPECT_EQ(c.chain, (Words{"/opt/otel-instrument"}));
  ASSERT_EQ(c.before_snapshot.size(), 2u);
  EXPECT_EQ(c.before_snapshot[0].argv, (Words{"/var/task/before.sh", "--flag"}));
  EXPECT_EQ(c.before_snapshot[1].kind, HookSpec::Kind::kUrl);
  EXPECT_EQ(c.before_snapshot[1].address.port, 3000);
  ASSERT_EQ(c.after_restore.size(), 2u);
  EXPECT_EQ(c.after_restore[1].argv, (Words{"after-2"}));
  EXPECT_EQ(c.before_hook_timeout, milliseconds(90000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(5000));
  EXPECT_EQ(c.prime_events, "/var/task/prime.json");
  EXPECT_EQ(c.prime_rounds, 50);
  EXPECT_TRUE(c.prime_rounds_set);
  EXPECT_EQ(c.preload, (Words{"/var/task/node_modules", "/opt/a:b"}));
  EXPECT_EQ(c.audit, AuditMode::kStrict);
  EXPECT_EQ(c.audit_fail_on, (Words{"random", "uuid"}));
  EXPECT_EQ(c.audit_report, "/tmp/audit.json");
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(ConfigTest, DefaultFileFollowsLambdaTaskRoot) {
  env_ = {{"LAMBDA_TASK_ROOT", "/srv/fn"}};
  files_["/srv/fn/anysnap.json"] = R"({"ANYSNAP_PRIME_EVENTS": "p.json"})";
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_EVENTS": "wrong.json"})";
  Config c = LoadOk();
  EXPECT_EQ(c.config_file, "/srv/fn/anysnap.json");
  EXPECT_EQ(c.prime_events, "p.json");
}

TEST_F(ConfigTest, AnysnapConfigNamesTheFile) {
  env_ = {{"ANYSNAP_CONFIG", "/etc/anysnap/fn.json"}};
  files_["/etc/anysnap/fn.json"] = R"({"ANYSNAP_AUDIT": "log"})";
  files_[kDefaultFile] = R"({"ANYSNAP_AUDIT": "strict"})";
  Config c = LoadOk();
  EXPECT_EQ(reads_, (Words{"/etc/anysnap/fn.json"}));
  EXPECT_EQ(c.config_file, "/etc/anysnap/fn.json");
  EXPECT_EQ(c.audit, AuditMode::kLog);
}

TEST_F(ConfigTest, AnysnapConfigMustExist) {
  EXPECT_EQ(ErrorFor("ANYSNAP_CONFIG", "/nope.json"),
            "ANYSNAP_CONFIG=\"/nope.json\": cannot read the configuration file: open /nope.json: "
            "No such file or directory");
}

TEST_F(ConfigTest, UnreadableDefaultFileIsAnError) {
  files_[kDefaultFile] = "{}";
  ReadFileFn failing = [](const std::string& path) -> Result<std::string> {
    return Status::PermissionDenied("open " + path + ": Permission denied");
  };
  auto config = LoadConfig(env_, failing, [](const std::string&) { return true; });
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "/var/task/anysnap.json: cannot read the configuration file: open "
            "/var/task/anysnap.json: Permission denied");
}

TEST_F(ConfigTest, EnvironmentWinsOverTheFile) {
  files_[kDefaultFile] = R"({
    "ANYSNAP_RUNTIME": ["python3", "-m", "app"],
    "ANYSNAP_PRIME_ROUNDS": 7,
    "ANYSNAP_PRIME_EVENTS": "file.json",
    "ANYSNAP_AUDIT": "log"
  })";
  env_ = {{"ANYSNAP_RUNTIME", "node index.js"}, {"ANYSNAP_PRIME_ROUNDS", "9"}};
  Config c = LoadOk();
  EXPECT_EQ(c.runtime, (Words{"node", "index.js"}));
  EXPECT_EQ(c.prime_rounds, 9);
  EXPECT_EQ(c.prime_events, "file.json");  // not in the environment: the file's
  EXPECT_EQ(c.audit, AuditMode::kLog);
}

TEST_F(ConfigTest, EmptyEnvironmentValueLetsTheFileSpeak) {
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": "node index.js"})";
  env_ = {{"ANYSNAP_RUNTIME", ""}};
  EXPECT_EQ(LoadOk().runtime, (Words{"node", "index.js"}));
}

TEST_F(ConfigTest, EnvironmentValueHidesABadFileValue) {
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_ROUNDS": "abc"})";
  env_ = {{"ANYSNAP_PRIME_ROUNDS", "2"}, {"ANYSNAP_PRIME_EVENTS", "e.json"}};
  EXPECT_EQ(LoadOk().prime_rounds, 2);
}

TEST_F(ConfigTest, FileArraysAreArgvWithoutSplittingOrExpansion) {
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": ["/opt/my node", "$HOME", "a'b", ""]})";
  env_ = {{"HOME", "/root"}};
  EXPECT_EQ(LoadOk().runtime, (Words{"/opt/my node", "$HOME", "a'b", ""}));
}

TEST_F(ConfigTest, FileStringsAreSplitAndExpandedFromTheEnvironment) {
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": "node \"$LAMBDA_TASK_ROOT/app.js\""})";
  env_ = {{"LAMBDA_TASK_ROOT", "/srv/fn"}};
  files_["/srv/fn/anysnap.json"] = files_[kDefaultFile];
  EXPECT_EQ(LoadOk().runtime, (Words{"node", "/srv/fn/app.js"}));
}

TEST_F(ConfigTest, FileNullAndEmptyValuesAreUnset) {
  files_[kDefaultFile] =
      R"({"ANYSNAP_RUNTIME": null, "ANYSNAP_CHAIN": [], "ANYSNAP_PRELOAD": "", "ANYSNAP_AUDIT": null})";
  Config c = LoadOk();
  EXPECT_EQ(c.runtime, (Words{"/var/task/bootstrap"}));
  EXPECT_TRUE(c.chain.empty());
  EXPECT_TRUE(c.preload.empty());
}

TEST_F(ConfigTest, FileBooleansAndNumbersAreTakenAsText) {
  files_[kDefaultFile] = R"({"ANYSNAP_DISABLE": false, "ANYSNAP_HOOK_TIMEOUT_MS": 8000})";
  Config c = LoadOk();
  EXPECT_FALSE(c.disable);
  EXPECT_EQ(c.before_hook_timeout, milliseconds(8000));
  EXPECT_EQ(c.after_hook_timeout, milliseconds(8000));
}

TEST_F(ConfigTest, FileValueErrorsNameTheFile) {
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_ROUNDS": "abc"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_PRIME_ROUNDS=\"abc\": expected a whole number from 1 "
            "to 10000");
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_ROUNDS": 2.5})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_PRIME_ROUNDS=2.5: expected a whole number from 1 to "
            "10000");
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_ROUNDS": -3})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_PRIME_ROUNDS=-3: expected a whole number from 1 to "
            "10000");
  files_[kDefaultFile] = R"({"ANYSNAP_DISABLE": 2})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_DISABLE=2: expected 1, true, yes or on to disable "
            "anysnap, or 0, false, no or off");
  files_[kDefaultFile] = R"({"ANYSNAP_HOOK_TIMEOUT_MS": 20000})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_HOOK_TIMEOUT_MS=20000: one number sets both phases, "
            "but after-restore hooks must finish within the platform's 10000 ms restore budget; to "
            "raise only the before-snapshot timeout, write before=20000");
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": ["", "x"]})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_RUNTIME=[\"\",\"x\"]: the command (first word) is "
            "empty");
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": "node \u001b"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_RUNTIME=\"node \\u001B\": contains a control "
            "character");
  files_[kDefaultFile] = R"({"ANYSNAP_PRELOAD": ["/a", "/b\u0000"]})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_PRELOAD=[\"/a\",\"/b\\u0000\"]: element 2: contains "
            "a NUL byte");
}

TEST_F(ConfigTest, FileHookArrayErrorsNameTheElement) {
  files_[kDefaultFile] = R"({"ANYSNAP_AFTER_RESTORE": ["ok", "http://127.0.0.1:1/x\nmore"]})";
  EXPECT_EQ(
      LoadError(),
      "/var/task/anysnap.json: ANYSNAP_AFTER_RESTORE=[\"ok\",\"http://127.0.0.1:1/x\\nmore\"]: "
      "element 2: a hook is one line");
  files_[kDefaultFile] = R"({"ANYSNAP_AFTER_RESTORE": ["ok", "https://127.0.0.1:1/x"]})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_AFTER_RESTORE=[\"ok\",\"https://127.0.0.1:1/x\"]: "
            "element 2: https is not supported: hooks are POSTed over plain http to the loopback");
}

TEST_F(ConfigTest, FileTypeErrors) {
  files_[kDefaultFile] = R"({"ANYSNAP_PRIME_ROUNDS": [1]})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_PRIME_ROUNDS=[...]: expected a string, a number or a "
            "boolean");
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": {"cmd": "node"}})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_RUNTIME={...}: expected a string or an array of "
            "strings");
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": ["node", 1]})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_RUNTIME=[...]: expected a string or an array of "
            "strings");
}

TEST_F(ConfigTest, InvalidJsonNamesTheFileAndTheOffset) {
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIME": "node" "x"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: invalid JSON at offset 27: Missing a comma or '}' after an "
            "object member.");
  files_[kDefaultFile] = "";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: invalid JSON at offset 0: The document is empty.");
  files_[kDefaultFile] = "{} {}";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: invalid JSON at offset 3: The document root must not be "
            "followed by other values.");
  files_[kDefaultFile] = "{\"ANYSNAP_RUNTIME\": \"\xff\"}";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: invalid JSON at offset 21: Invalid encoding in string.");
}

TEST_F(ConfigTest, FileMustBeAnObject) {
  files_[kDefaultFile] = R"(["ANYSNAP_RUNTIME"])";
  EXPECT_EQ(LoadError(), "/var/task/anysnap.json: expected a JSON object of ANYSNAP_* settings");
}

TEST_F(ConfigTest, UnknownFileKeysAreErrors) {
  files_[kDefaultFile] = R"({"ANYSNAP_RUNTIM": "node"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_RUNTIM is not an anysnap setting; did you mean "
            "ANYSNAP_RUNTIME?");
  files_[kDefaultFile] = R"({"anysnap_prelaod": "/x"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: anysnap_prelaod is not an anysnap setting; did you mean "
            "ANYSNAP_PRELOAD?");
  files_[kDefaultFile] = R"({"ANYSNAP_HOOK_TIMEOUT": 5})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_HOOK_TIMEOUT is not an anysnap setting; did you mean "
            "ANYSNAP_HOOK_TIMEOUT_MS?");
  files_[kDefaultFile] = R"({"runtime": "node"})";
  EXPECT_EQ(LoadError(), "/var/task/anysnap.json: runtime is not an anysnap setting");
  files_[kDefaultFile] = R"({"ANYSNAP_PHASE": "x"})";
  EXPECT_EQ(LoadError(), "/var/task/anysnap.json: ANYSNAP_PHASE is not an anysnap setting");
  files_[kDefaultFile] = R"({"a b\n": "x"})";
  EXPECT_EQ(LoadError(), "/var/task/anysnap.json: \"a b\\n\" is not an anysnap setting");
}

TEST_F(ConfigTest, FileCannotNameAnotherFileOrRepeatAKey) {
  files_[kDefaultFile] = R"({"ANYSNAP_CONFIG": "/other.json"})";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: ANYSNAP_CONFIG cannot be set inside the configuration file");
  files_[kDefaultFile] = R"({"ANYSNAP_AUDIT": "log", "ANYSNAP_AUDIT": "strict"})";
  EXPECT_EQ(LoadError(), "/var/task/anysnap.json: ANYSNAP_AUDIT is set twice");
}

TEST_F(ConfigTest, HugeFileIsAnError) {
  files_[kDefaultFile] = "{\"ANYSNAP_PRELOAD\": \"" + std::string(2 << 20, 'a') + "\"}";
  EXPECT_EQ(LoadError(),
            "/var/task/anysnap.json: the file is 2097175 bytes, more than the 1 MiB limit");
}

TEST_F(ConfigTest, AnysnapConfigValueIsChecked) {
  EXPECT_EQ(ErrorFor("ANYSNAP_CONFIG", "/a\nb"),
            "ANYSNAP_CONFIG=\"/a\\nb\": contains a control character");
}

// QuoteForMessage

TEST(QuoteForMessageTest, EscapesAndTruncates) {
  EXPECT_EQ(QuoteForMessage(""), "\"\"");
  EXPECT_EQ(QuoteForMessage("plain text"), "\"plain text\"");
  EXPECT_EQ(QuoteForMessage("a\"b\\c\nd\te\rf"), "\"a\\\"b\\\\c\\nd\\te\\rf\"");
  EXPECT_EQ(QuoteForMessage(std::string("\0\x01\x7f", 3)), "\"\\u0000\\u0001\\u007F\"");
  EXPECT_EQ(QuoteForMessage("caf\xC3\xA9 \xE2\x82\xAC"), "\"caf\xC3\xA9 \xE2\x82\xAC\"");
  EXPECT_EQ(QuoteForMessage("\xC3"), "\"\\xC3\"");  // a cut-off sequence
  EXPECT_EQ(QuoteForMessage("\xF5\x80\x80\x80"), "\"\\xF5\\x80\\x80\\x80\"");
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "\"abc\"...(6 bytes)");
  EXPECT_EQ(QuoteForMessage("abcdef", 6), "\"abcdef\"");
  // Never cuts inside a UTF-8 sequence.
  EXPECT_EQ(QuoteForMessage("ab\xE2\x82\xAC", 4), "\"ab\"...(5 bytes)");
}

}  // namespace
}  // namespace anysnap
