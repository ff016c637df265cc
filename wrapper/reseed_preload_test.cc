#include "reseed_preload.h"

#include <gtest/gtest.h>

#include <set>

namespace anysnap {
namespace {

TEST(ReseedPreload, FilesSitBesideTheBinFolder) {
  EXPECT_EQ(ReseedDirBeside("/opt/anysnap/bin"), "/opt/anysnap/reseed");
  EXPECT_EQ(ReseedDirBeside("/work/build/bin"), "/work/build/reseed");
  ReseedFiles files = ReseedFilesIn("/opt/anysnap/reseed");
  EXPECT_EQ(files.node_preload, "/opt/anysnap/reseed/nodejs/anysnap-reseed.js");
  EXPECT_EQ(files.python_dir, "/opt/anysnap/reseed/python");
}

TEST(ReseedPreload, NodeOptionsQuoting) {
  EXPECT_EQ(QuoteNodeOption("/opt/x.js"), "\"/opt/x.js\"");
  EXPECT_EQ(QuoteNodeOption("/a b/\"q\"\\.js"), "\"/a b/\\\"q\\\"\\\\.js\"");
}

TEST(ReseedPreload, AppendsToNodeOptionsAndPutsItsFolderFirstOnPythonPath) {
  ReseedFiles files = ReseedFilesIn("/l/reseed");
  EnvMap env = {{"NODE_OPTIONS", "--max-old-space-size=256 --require ./mine.js"},
                {"PYTHONPATH", "/var/task/lib:/opt/python"},
                {"OTHER", "x"}};
  InstallReseedPreloads(env, files);
  EXPECT_EQ(env["NODE_OPTIONS"],
            "--max-old-space-size=256 --require ./mine.js --require "
            "\"/l/reseed/nodejs/anysnap-reseed.js\"");
  EXPECT_EQ(env["PYTHONPATH"], "/l/reseed/python:/var/task/lib:/opt/python");
  EXPECT_EQ(env["OTHER"], "x");

  EnvMap empty;
  InstallReseedPreloads(empty, files);
  EXPECT_EQ(empty["NODE_OPTIONS"], "--require \"/l/reseed/nodejs/anysnap-reseed.js\"");
  EXPECT_EQ(empty["PYTHONPATH"], "/l/reseed/python");

  // Twice changes nothing on PYTHONPATH (the folder is first already).
  InstallReseedPreloads(empty, {"", files.python_dir});
  EXPECT_EQ(empty["PYTHONPATH"], "/l/reseed/python");
  EXPECT_EQ(empty["NODE_OPTIONS"], "--require \"/l/reseed/nodejs/anysnap-reseed.js\"");
}

TEST(ReseedPreload, NamesMissingFiles) {
  ReseedFiles files = ReseedFilesIn("/l/reseed");
  std::set<std::string> present = {"/l/reseed/python/sitecustomize.py"};
  auto missing =
      MissingReseedFiles(files, [&](const std::string& p) { return present.count(p) > 0; });
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], "the Node.js reseed /l/reseed/nodejs/anysnap-reseed.js is missing");
}

TEST(ReseedPreload, NamesRuntimesItCannotLoadInto) {
  EXPECT_EQ(UnreseededRuntime({"/opt/bin/bun", "run", "index.ts"}),
            "bun: crypto.randomUUID, crypto.getRandomValues, Math.random (the reseed does not "
            "load into Bun)");
  EXPECT_NE(UnreseededRuntime({"/opt/otel-wrapper", "deno", "run", "main.ts"}).find("Deno"),
            std::string::npos);
  EXPECT_EQ(UnreseededRuntime({"node", "/opt/bun/index.js"}), "");
  EXPECT_EQ(UnreseededRuntime({"python3", "-m", "awslambdaric", "app.handler"}), "");
}

}  // namespace
}  // namespace anysnap
