// The Node.js and Python samples (samples/nodejs, samples/python) run on-demand
// through the built anysnap-wrapper, as `anysnap-local run` runs them, with
// their hook clients from samples/hooks and small prime tables so that their
// inits are quick here. (samples/bash has its own test beside the emulator.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "anysnap/environment.h"
#include "anysnap/unique_fd.h"
#include "local_run.h"

namespace anysnap {
namespace {

const std::string kSource = ANYSNAP_SOURCE_DIR;
const std::string kWrapper = std::string(ANYSNAP_BIN_DIR) + "/anysnap-wrapper";
// Its sandbox init starts each runtime.
const std::string kLocal = std::string(ANYSNAP_BIN_DIR) + "/anysnap-local";

// How many lines of `text` start with `prefix`.
size_t LinesStartingWith(const std::string& text, const std::string& prefix) {
  size_t count = 0;
  for (size_t start = 0; start < text.size();) {
    if (text.compare(start, prefix.size(), prefix) == 0) ++count;
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return count;
}

// The string at .ids.<name> of a response, or "" when there is none.
std::string IdOf(const std::string& body, const char* name) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  auto ids = doc.FindMember("ids");
  if (ids == doc.MemberEnd() || !ids->value.IsObject()) return "";
  auto id = ids->value.FindMember(name);
  if (id == ids->value.MemberEnd() || !id->value.IsString()) return "";
  return id->value.GetString();
}

// Both invokes ran in one environment: the init's id is the same in both, the
// per-invoke id is new each time, and every id is a UUID.
void ExpectIds(const std::vector<InvokeResult>& invokes, const char* per_invoke) {
  std::string init = IdOf(invokes[0].body, "init");
  EXPECT_EQ(init.size(), 36u) << invokes[0].body;
  EXPECT_EQ(IdOf(invokes[1].body, "init"), init) << invokes[1].body;
  std::string first = IdOf(invokes[0].body, per_invoke), second = IdOf(invokes[1].body, per_invoke);
  EXPECT_EQ(first.size(), 36u) << invokes[0].body;
  EXPECT_EQ(second.size(), 36u) << invokes[1].body;
  EXPECT_NE(first, second);
  EXPECT_NE(first, init);
}

// One run of a sample: its event.json twice, then a bad event.
class SampleTest : public ::testing::Test {
 protected:
  void Run(const std::string& sample, EnvMap overrides) {
    output_path_ =
        ::testing::TempDir() + "/sample-output-" + sample + "-" + std::to_string(::getpid());
    UniqueFd output(::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(output.valid());
    LocalRunOptions options;
    EnvironmentSpec& spec = options.function.environment;
    spec.function.task_root = kSource + "/samples/" + sample;
    spec.function.overrides = std::move(overrides);
    spec.function.overrides["PRIME_LIMIT"] = "20000";
    spec.exec_wrapper = kWrapper;
    spec.self_exe = kLocal;
    auto event = ReadWholeFile(spec.function.task_root + "/event.json");
    ASSERT_TRUE(event.ok()) << event.status().ToString();
    options.events = {*event, *event, R"({"n": "x"})"};
    spec.output_fd = output.get();
    auto result = RunLocally(options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    result_ = std::move(*result);
    auto text = ReadWholeFile(output_path_);
    output_ = text.ok() ? *text : "";
    ::unlink(output_path_.c_str());
  }

  std::string output_path_;
  LocalRunResult result_;
  std::string output_;  // the function's stdout and stderr
};

TEST_F(SampleTest, NodejsAnswersThroughTheWrapperWithAwsLambdaRic) {
  std::string ric = kSource + "/build/node_modules/aws-lambda-ric/index.mjs";
  ASSERT_TRUE(FileExists(ric)) << "run scripts/test-deps.sh: " << ric << " missing";
  Run("nodejs", {{"ANYSNAP_RUNTIME", "node " + ric + " index.handler"},
                 {"NODE_PATH", kSource + "/samples/hooks/nodejs"}});
  ASSERT_EQ(result_.invokes.size(), 3u) << output_;
  for (int i = 0; i < 2; ++i) {
    const InvokeResult& invoke = result_.invokes[i];
    ASSERT_TRUE(invoke.ok) << invoke.body << "\n" << output_;
    EXPECT_NE(invoke.body.find(R"({"n":12345,"primesUpToN":1474,"largestPrimeUpToN":12343,)"),
              std::string::npos)
        << invoke.body;
    // On-demand: never restored, one environment.
    EXPECT_NE(invoke.body.find(R"("restoredAt":null,"invokes":)" + std::to_string(i + 1) + "}"),
              std::string::npos)
        << invoke.body;
  }
  ExpectIds(result_.invokes, "perInvoke");
  // aws-lambda-ric names the error in the document only (no error type header).
  EXPECT_FALSE(result_.invokes[2].ok);
  EXPECT_NE(result_.invokes[2].body.find(R"("errorType":"Function.InvalidEvent")"),
            std::string::npos)
      << result_.invokes[2].body;
  EXPECT_EQ(result_.environments, 1);
  // The hooks registered: at most a warning that no phase will run here.
  EXPECT_LE(LinesStartingWith(output_, "anysnap-hooks:"), 1u) << output_;
}

TEST_F(SampleTest, PythonAnswersThroughTheWrapper) {
  Run("python",
      {{"PYTHONPATH", kSource + "/samples/hooks/python"}, {"PYTHONDONTWRITEBYTECODE", "1"}});
  ASSERT_EQ(result_.invokes.size(), 3u) << output_;
  for (int i = 0; i < 2; ++i) {
    const InvokeResult& invoke = result_.invokes[i];
    ASSERT_TRUE(invoke.ok) << invoke.body << "\n" << output_;
    EXPECT_NE(invoke.body.find(
                  R"({"n": 12345, "primes_up_to_n": 1474, "largest_prime_up_to_n": 12343, )"),
              std::string::npos)
        << invoke.body;
    EXPECT_NE(invoke.body.find(R"("restored_at": null, "invokes": )" + std::to_string(i + 1) + "}"),
              std::string::npos)
        << invoke.body;
  }
  ExpectIds(result_.invokes, "per_invoke");
  EXPECT_EQ(result_.invokes[2].error_type, "Function.InvalidEvent") << result_.invokes[2].body;
  EXPECT_EQ(result_.environments, 1);
  EXPECT_LE(LinesStartingWith(output_, "anysnap-hooks:"), 1u) << output_;
}

}  // namespace
}  // namespace anysnap
