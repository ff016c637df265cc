// Black-box tests of the reseed after restore (design.md §3, "Uniqueness
// after restore"): the built anysnap-wrapper runs real runtimes with AWS's own
// runtime clients (aws-lambda-ric, awslambdaric) against the project's
// Runtime API server in snap-start mode. Without CRIU nothing is cloned here,
// so the functions (tests/fixtures/reseed/) look at the generators' state
// without drawing from it, in a before-snapshot hook and in an after-restore
// hook: a reseed that does nothing leaves it as it was, and these tests fail.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include "wrapped_function.h"

namespace anysnap {
namespace {

using testing::kBin;
using testing::kFixtures;
using testing::kPythonDeps;
using testing::kRic;
using testing::kSource;
using testing::ReadAll;
using testing::SnapStart;
using Function = testing::WrappedFunction;

const std::string kReseedDir = kBin.substr(0, kBin.rfind('/')) + "/reseed";
const std::string kNodePreload = kReseedDir + "/nodejs/anysnap-reseed.js";
const std::string kAddon = kReseedDir + "/nodejs/anysnap_reseed.node";
const std::string kNodeFunction = kFixtures + "/reseed/nodejs";
const std::string kPythonFunction = kFixtures + "/reseed/python";
const std::string kMark = kFixtures + "/hooks/mark.sh";
const std::string kNext = "GET /2018-06-01/runtime/invocation/next";
const std::string kRestoreNext = "GET /2018-06-01/runtime/restore/next";

// Index of the first call whose "METHOD path" starts with `prefix`; a test
// failure (and a large index) when there is none.
size_t IndexOf(const std::vector<RuntimeApiCall>& calls, const std::string& prefix) {
  for (size_t i = 0; i < calls.size(); ++i) {
    if ((calls[i].method + " " + calls[i].path).rfind(prefix, 0) == 0) return i;
  }
  ADD_FAILURE() << "no call " << prefix;
  return calls.size() + 1000;
}

// Where `text` is in the log; a test failure when it is not.
size_t LogIndex(const std::string& log, const std::string& text) {
  size_t at = log.find(text);
  EXPECT_NE(at, std::string::npos) << "no \"" << text << "\" in the log:\n" << log;
  return at;
}

size_t Occurrences(const std::string& log, const std::string& text) {
  size_t n = 0;
  for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
  return n;
}

// A Node.js function on aws-lambda-ric (or, with --no-addons, which
// aws-lambda-ric cannot run under, a runtime loop in plain JavaScript) with
// in-process hooks (anysnap-hooks) and a configured after-restore command hook.
void SetUpNode(Function& fn, const std::string& user_node_options) {
  ASSERT_TRUE(std::ifstream(kRic).good()) << "run scripts/test-deps.sh: " << kRic << " missing";
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("LAMBDA_TASK_ROOT", kNodeFunction);
  fn.Set("ANYSNAP_RUNTIME", user_node_options.find("--no-addons") == std::string::npos
                                ? "node " + kRic + " index.handler"
                                : "node " + kNodeFunction + "/plain_runtime.js");
  fn.Set("NODE_PATH", kSource + "/samples/hooks/nodejs");
  fn.Set("NODE_OPTIONS", user_node_options);
  fn.Set("RESEED_ADDON", kAddon);
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " after");
}

// A Python function on AWS's awslambdaric, which calls restore/next itself.
void SetUpPython(Function& fn) {
  ASSERT_TRUE(std::ifstream(kPythonDeps + "/awslambdaric/__init__.py").good())
      << "run scripts/test-deps.sh: awslambdaric missing from " << kPythonDeps;
  fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
  fn.Set("LAMBDA_TASK_ROOT", kPythonFunction);
  fn.Set("ANYSNAP_RUNTIME", "python3 -m awslambdaric handler.handler");
  fn.Set("PYTHONPATH",
         kPythonDeps + ":" + kPythonFunction + ":" + kFixtures + "/reseed/python_user");
  fn.Set("PYTHONDONTWRITEBYTECODE", "1");
  fn.Set("ANYSNAP_AFTER_RESTORE", kMark + " after");
}

// Starts, waits for the snapshot point, restores, invokes once; returns the
// response as JSON.
rapidjson::Document RestoreAndInvoke(Function& fn) {
  rapidjson::Document doc;
  fn.Start();
  bool at_snapshot = fn.server().WaitFor(
      [](const auto& calls) {
        for (const auto& c : calls)
          if (c.method + " " + c.path == kRestoreNext) return true;
        return false;
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(at_snapshot) << fn.Stderr();
  if (!at_snapshot) return doc;
  for (const auto& c : fn.server().calls())
    EXPECT_NE(c.method + " " + c.path, kNext) << "a next went upstream before the snapshot";
  fn.server().Restore();
  InvocationResult r = fn.Invoke("{}");
  EXPECT_EQ(r.kind, InvocationResult::Kind::kResponse) << r.body << fn.Stderr();
  doc.Parse(r.body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << r.body;
  if (doc.HasParseError()) doc.SetObject();
  return doc;
}

std::string Json(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsString()) return v.GetString();
  if (v.IsNumber()) return std::to_string(v.GetDouble());
  if (v.IsArray()) {
    std::string out = "[";
    for (const auto& item : v.GetArray()) out += Json(item) + ",";
    return out + "]";
  }
  return "?";
}

// What the function saw at `when` ("before", "after", "invoke"): `field`.
std::string Seen(const rapidjson::Document& doc, const char* when, const char* field) {
  if (!doc.IsObject() || !doc.HasMember(when) || !doc[when].HasMember(field)) return "missing";
  return Json(doc[when][field]);
}

double Count(const rapidjson::Document& doc, const char* when, size_t which) {
  if (!doc.IsObject() || !doc.HasMember(when) || !doc[when].HasMember("counts") ||
      !doc[when]["counts"].IsArray() || doc[when]["counts"].Size() <= which)
    return -1;
  return doc[when]["counts"][static_cast<rapidjson::SizeType>(which)].GetDouble();
}

TEST(Reseed, PreloadsOnlyUnderSnapStartKeepingTheFunctionsOwn) {
  struct Case {
    std::string init_type, reseed;
    bool installed;
  };
  for (const Case& c :
       {Case{"snap-start", "", true}, Case{"on-demand", "", false},
        Case{"provisioned-concurrency", "", false}, Case{"snap-start", "off", false}}) {
    SCOPED_TRACE(c.init_type + " ANYSNAP_RESEED=" + c.reseed);
    Function fn(SnapStart(/*auto_restore=*/true));
    std::string out = ::testing::TempDir() + "/reseed-env-" + std::to_string(::getpid());
    fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", c.init_type);
    fn.Set("ANYSNAP_RESEED", c.reseed);
    fn.Set("RESEED_ENV_OUT", out);
    fn.Set("NODE_OPTIONS", "--max-old-space-size=100");
    fn.Set("PYTHONPATH", "/user/lib");
    fn.Set("ANYSNAP_RUNTIME",
           kFixtures + "/reseed/env_then.sh python3 " + kFixtures + "/python/runtime.py");
    fn.Start();
    EXPECT_EQ(fn.Invoke("x").body, "x") << fn.Stderr();
    if (c.installed) {
      EXPECT_EQ(ReadAll(out), "NODE_OPTIONS=--max-old-space-size=100 --require \"" + kNodePreload +
                                  "\"\nPYTHONPATH=" + kReseedDir +
                                  "/python:/user/lib:/opt/python\n");
      // The Python runtime loaded the reseed: it registered.
      EXPECT_NE(fn.Stderr().find("reseed registered: python pid"), std::string::npos)
          << fn.Stderr();
    } else {
      EXPECT_EQ(ReadAll(out),
                "NODE_OPTIONS=--max-old-space-size=100\nPYTHONPATH=/user/lib:/opt/python\n");
      EXPECT_EQ(fn.Stderr().find("reseed registered"), std::string::npos) << fn.Stderr();
    }
  }
}

TEST(Reseed, NodeIsReseededAfterRestoreBeforeHooksAndTheFirstNext) {
  Function fn(SnapStart(/*auto_restore=*/false));
  const std::string user_options = "--require \"" + kNodeFunction + "/user-preload.js\"";
  SetUpNode(fn, user_options);
  rapidjson::Document doc = RestoreAndInvoke(fn);

  // The function kept its own NODE_OPTIONS, and its own preload ran.
  ASSERT_TRUE(doc.HasMember("nodeOptions") && doc["nodeOptions"].IsString()) << fn.Stderr();
  EXPECT_EQ(std::string(doc["nodeOptions"].GetString()), user_options);
  EXPECT_TRUE(doc["userPreload"].GetBool());

  // Math.random: its next values changed between the before-snapshot hook and
  // the after-restore hook, and nothing drew from it in between.
  EXPECT_NE(Seen(doc, "before", "math"), "null");
  EXPECT_EQ(Seen(doc, "init", "math"), Seen(doc, "before", "math"));
  EXPECT_NE(Seen(doc, "before", "math"), Seen(doc, "after", "math"));
  EXPECT_EQ(Seen(doc, "after", "math"), Seen(doc, "invoke", "math"));
  // OpenSSL: the primary generator was reseeded before the after-restore hook.
  // crypto.randomUUID's cache is drawn again at its first call after the
  // restore (the invoke's), so this thread's generator reseeded from the
  // primary then, and not before (nothing else draws on this thread).
  EXPECT_GE(Count(doc, "before", 0), 0) << fn.Stderr();
  EXPECT_GT(Count(doc, "after", 0), Count(doc, "before", 0));
  EXPECT_EQ(Count(doc, "invoke", 1), Count(doc, "before", 1));
  EXPECT_GT(Count(doc, "drawn", 1), Count(doc, "invoke", 1));

  // Order, from outside: restore/next answered, the reseed, the configured
  // hook, the in-process hook, then the held next upstream.
  auto calls = fn.server().calls();
  size_t restore = IndexOf(calls, kRestoreNext);
  size_t mark = IndexOf(calls, "POST /anysnap-test/mark/after?");
  EXPECT_LT(restore, mark);
  EXPECT_LT(mark, IndexOf(calls, kNext));
  std::string log = fn.Stderr();
  size_t reseeded = LogIndex(log, "reseeded after restore in ");
  EXPECT_LT(LogIndex(log, "restore/next answered 200"), reseeded);
  EXPECT_LT(reseeded, LogIndex(log, "after-restore: hook"));
  EXPECT_LT(LogIndex(log, "after-restore: hook"),
            LogIndex(log, "after-restore: in-process hooks of"));
  EXPECT_LT(LogIndex(log, "after-restore: in-process hooks of"),
            LogIndex(log, "restore to the runtime's first invocation/next forwarded"));
  EXPECT_NE(log.find(": OpenSSL, crypto.randomUUID, Math.random"), std::string::npos) << log;
  EXPECT_EQ(log.find("not reseeded"), std::string::npos) << log;
}

TEST(Reseed, NodeWithReseedOffKeepsTheStateItHadAtTheSnapshot) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpNode(fn, "");
  fn.Set("ANYSNAP_RESEED", "off");
  rapidjson::Document doc = RestoreAndInvoke(fn);
  EXPECT_EQ(Seen(doc, "after", "math"), "null");  // V8's own Math.random
  EXPECT_GE(Count(doc, "before", 0), 0) << fn.Stderr();
  EXPECT_EQ(Count(doc, "after", 0), Count(doc, "before", 0));
  EXPECT_EQ(Count(doc, "after", 1), Count(doc, "before", 1));
  EXPECT_EQ(fn.Stderr().find("reseed registered"), std::string::npos) << fn.Stderr();
  EXPECT_EQ(fn.Stderr().find("reseeded"), std::string::npos) << fn.Stderr();
}

// --no-addons: the reseed loads but its native part cannot, as in a node
// without OpenSSL's functions, so OpenSSL (and the randomUUID cache that
// refills from it) stays as cloned.
TEST(Reseed, NodeWhoseOpenSslCannotBeReseededWarnsOnceAndRuns) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpNode(fn, "--no-addons");
  rapidjson::Document doc = RestoreAndInvoke(fn);
  EXPECT_NE(Seen(doc, "before", "math"), Seen(doc, "after", "math"));
  std::string log = fn.Stderr();
  EXPECT_EQ(Occurrences(log, "not reseeded after restore: nodejs pid "), 1u) << log;
  EXPECT_NE(log.find("OpenSSL (its addon did not load: "), std::string::npos) << log;
  EXPECT_NE(log.find("crypto.randomUUID (its cache refills from OpenSSL)"), std::string::npos)
      << log;
  EXPECT_NE(log.find(": Math.random\n"), std::string::npos) << log;
  EXPECT_LT(LogIndex(log, "not reseeded after restore"), LogIndex(log, "after-restore: hook"));
}

TEST(Reseed, StrictFailsTheRestoreWhenASourceCannotBeReseeded) {
  Function fn(SnapStart(/*auto_restore=*/true));
  SetUpNode(fn, "--no-addons");
  fn.Set("ANYSNAP_RESEED", "strict");
  fn.Start();
  fn.ExpectEndedWithError(65, /*restore=*/true, "Runtime.AfterRestoreError",
                          "ANYSNAP_RESEED=strict: not reseeded after restore: nodejs pid ");
  auto calls = fn.server().calls();
  for (const auto& c : calls) {
    EXPECT_NE(c.method + " " + c.path, kNext) << "the function ran after a failed restore";
    EXPECT_NE(c.path, "/anysnap-test/mark/after?") << "a hook ran after a failed reseed";
  }
}

// Bun reads neither preload: named at start, and with strict refused there.
TEST(Reseed, ARuntimeTheReseedCannotLoadIntoIsNamedOnce) {
  for (const std::string mode : {"auto", "strict"}) {
    SCOPED_TRACE(mode);
    Function fn(SnapStart(/*auto_restore=*/true));
    fn.Set("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
    fn.Set("ANYSNAP_RESEED", mode);
    fn.Set("ANYSNAP_RUNTIME", kFixtures + "/reseed/bun/bun");
    fn.Start();
    const std::string named =
        "not reseeded after restore: bun: crypto.randomUUID, crypto.getRandomValues, "
        "Math.random (the reseed does not load into Bun)";
    if (mode == "auto") {
      EXPECT_EQ(fn.Invoke("x").body, "x") << fn.Stderr();
      EXPECT_EQ(Occurrences(fn.Stderr(), "not reseeded"), 1u) << fn.Stderr();
      EXPECT_EQ(Occurrences(fn.Stderr(), named), 1u) << fn.Stderr();
    } else {
      fn.ExpectEndedWithError(78, /*restore=*/false, "Runtime.InvalidConfiguration",
                              "ANYSNAP_RESEED=strict: " + named);
    }
  }
}

TEST(Reseed, PythonIsReseededInsideTheRuntimesOwnRestoreNext) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpPython(fn);
  rapidjson::Document doc = RestoreAndInvoke(fn);
  // random and OpenSSL changed between AWS's own before-snapshot and
  // after-restore hooks (snapshot_restore_py): the reseed ran before the latter.
  EXPECT_NE(Seen(doc, "before", "random"), "missing") << fn.Stderr();
  EXPECT_EQ(Seen(doc, "init", "random"), Seen(doc, "before", "random"));
  EXPECT_NE(Seen(doc, "before", "random"), Seen(doc, "after", "random"));
  EXPECT_EQ(Seen(doc, "after", "random"), Seen(doc, "invoke", "random"));
  ASSERT_TRUE(doc["before"]["openssl"].IsNumber()) << fn.Stderr();
  EXPECT_GT(doc["after"]["openssl"].GetDouble(), doc["before"]["openssl"].GetDouble());
  // The function's own sitecustomize ran, and PYTHONPATH is its own again.
  EXPECT_EQ(Json(doc["user_sitecustomize"]), "ran");
  EXPECT_EQ(Json(doc["pythonpath"]), kPythonDeps + ":" + kPythonFunction + ":" + kFixtures +
                                         "/reseed/python_user:/opt/python");

  auto calls = fn.server().calls();
  EXPECT_LT(IndexOf(calls, kRestoreNext), IndexOf(calls, "POST /anysnap-test/mark/after?"));
  EXPECT_LT(IndexOf(calls, "POST /anysnap-test/mark/after?"), IndexOf(calls, kNext));
  std::string log = fn.Stderr();
  EXPECT_LT(LogIndex(log, "the runtime called restore/next itself"),
            LogIndex(log, "reseeded after restore in "));
  EXPECT_LT(LogIndex(log, "reseeded after restore in "), LogIndex(log, "after-restore: hook"));
  EXPECT_NE(log.find(": random, OpenSSL\n"), std::string::npos) << log;
}

TEST(Reseed, PythonWithReseedOffKeepsTheStateItHadAtTheSnapshot) {
  Function fn(SnapStart(/*auto_restore=*/false));
  SetUpPython(fn);
  fn.Set("ANYSNAP_RESEED", "off");
  rapidjson::Document doc = RestoreAndInvoke(fn);
  EXPECT_NE(Seen(doc, "before", "random"), "missing") << fn.Stderr();
  EXPECT_EQ(Seen(doc, "before", "random"), Seen(doc, "after", "random"));
  ASSERT_TRUE(doc["before"]["openssl"].IsNumber()) << fn.Stderr();
  EXPECT_EQ(doc["after"]["openssl"].GetDouble(), doc["before"]["openssl"].GetDouble());
}

}  // namespace
}  // namespace anysnap
