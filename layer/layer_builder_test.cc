#include "layer/layer_builder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "layer/temp_dir.h"
#include "layer/test_command.h"
#include "layer/test_elf.h"
#include "layer/zip_reader.h"

namespace anysnap::layer {
namespace {

class LayerBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("builder-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    for (const char* d : {"/bin", "/hooks", "/hooks/nodejs", "/hooks/nodejs/anysnap-hooks",
                          "/hooks/python", "/rt", "/rt/bin", "/out"}) {
      ASSERT_EQ(::mkdir((dir_.path() + d).c_str(), 0755), 0);
    }
    // A real program with libraries (anysnap-layer under another name), a
    // script, and a file that is no program.
    std::filesystem::copy_file(ANYSNAP_BIN_DIR "/anysnap-layer", dir_.path() + "/bin/anysnap-tool");
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/anysnap-hello", "#!/bin/sh\necho hi\n", 0755).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/anysnap-notes.txt", "notes\n", 0644).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/other-tool", "#!/bin/sh\n", 0755).ok());
    // Developer tools, which never run on Lambda.
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/anysnap-local", "#!/bin/sh\n", 0755).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/anysnap-layer", "#!/bin/sh\n", 0755).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/bin/anysnap-bench-invoke", "#!/bin/sh\n", 0755).ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/hooks/nodejs/anysnap-hooks/index.js", "// hooks\n").ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/hooks/nodejs/anysnap-hooks/package.json", "{}\n").ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/hooks/python/anysnap_hooks.py", "# hooks\n").ok());
    ASSERT_TRUE(WriteFile(dir_.path() + "/rt/bin/runtime", "#!/bin/sh\nexit 0\n", 0700).ok());
    ASSERT_EQ(::symlink("runtime", (dir_.path() + "/rt/bin/rt").c_str()), 0);
  }

  BuildOptions Options(const std::string& output) {
    BuildOptions o;
    o.output = dir_.path() + "/out/" + output;
    o.bin_dir = dir_.path() + "/bin";
    o.hooks_dir = dir_.path() + "/hooks";
    o.adds = {{dir_.path() + "/rt", "runtime"}};
    o.target.glibc = {2, 36, 0};  // this machine's libraries need what Debian 12 has
    o.temp_parent = dir_.path();
    return o;
  }

  BuildResult Build(const BuildOptions& o) {
    auto result = BuildLayer(o);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->kept) << FormatFindings(result->report);
    return std::move(*result);
  }

  std::vector<std::string> Names(const std::string& zip) {
    auto reader = ZipReader::Open(zip);
    EXPECT_TRUE(reader.ok());
    std::vector<std::string> names;
    for (const ZipEntry& e : (*reader)->entries()) names.push_back(e.name);
    return names;
  }

  static bool Has(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  TempDir dir_;
};

TEST_F(LayerBuilderTest, HoldsProgramsLibrariesHooksAndExtraTrees) {
  BuildResult result = Build(Options("layer.zip"));
  auto names = Names(dir_.path() + "/out/layer.zip");
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* name :
       {"anysnap/", "anysnap/bin/", "anysnap/bin/anysnap-hello", "anysnap/bin/anysnap-tool",
        "anysnap/lib/", "anysnap/lib/libzip.so.4", "anysnap/lib/libstdc++.so.6",
        "nodejs/node_modules/anysnap-hooks/index.js", "python/anysnap_hooks.py",
        "runtime/bin/runtime", "runtime/bin/rt"}) {
    EXPECT_TRUE(Has(names, name)) << name;
  }
  for (const char* name :
       {"anysnap/bin/anysnap-notes.txt", "anysnap/bin/other-tool", "anysnap/bin/anysnap-local",
        "anysnap/bin/anysnap-layer", "anysnap/bin/anysnap-bench-invoke", "anysnap/lib/libc.so.6",
        "anysnap/lib/libm.so.6"}) {
    EXPECT_FALSE(Has(names, name)) << name;
  }
  EXPECT_EQ(result.entries, names.size());
  EXPECT_GT(result.unzipped_bytes, result.zipped_bytes);
}

TEST_F(LayerBuilderTest, RebuildIsByteIdentical) {
  Build(Options("a.zip"));
  // Touching the inputs must not matter.
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() + "/rt/bin/runtime").c_str(), nullptr, 0), 0);
  Build(Options("b.zip"));
  auto a = ReadFile(dir_.path() + "/out/a.zip");
  auto b = ReadFile(dir_.path() + "/out/b.zip");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b) << "rebuild differs";

  BuildOptions dated = Options("c.zip");
  dated.source_date_epoch = 1700000000;
  Build(dated);
  EXPECT_NE(*ReadFile(dir_.path() + "/out/c.zip"), *a);
}

TEST_F(LayerBuilderTest, UnzipShowsModesAndSymlinks) {
  Build(Options("layer.zip"));
  auto listing = RunCommand({"unzip", "-Z", dir_.path() + "/out/layer.zip"});
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->exit_code, 0) << listing->err;
  const std::string& out = listing->out;
  auto line_of = [&out](const std::string& name) {
    size_t at = out.find(" " + name + "\n");
    if (at == std::string::npos) return std::string();
    size_t start = out.rfind('\n', at) + 1;
    return out.substr(start, at - start);
  };
  EXPECT_TRUE(line_of("anysnap/bin/anysnap-tool").starts_with("-rwxr-xr-x")) << out;
  EXPECT_TRUE(line_of("runtime/bin/runtime").starts_with("-rwxr-xr-x")) << out;
  EXPECT_TRUE(line_of("anysnap/lib/libzip.so.4").starts_with("-rw-r--r--")) << out;
  EXPECT_TRUE(line_of("python/anysnap_hooks.py").starts_with("-rw-r--r--")) << out;
  EXPECT_TRUE(line_of("anysnap/lib/").starts_with("drwxr-xr-x")) << out;
  EXPECT_TRUE(line_of("runtime/bin/rt").starts_with("lrwxrwxrwx")) << out;
  EXPECT_NE(line_of("anysnap/").find("80-Jan-01 00:00"), std::string::npos) << out;
}

TEST_F(LayerBuilderTest, UnpackedProgramsLoadTheirOwnLibraries) {
  Build(Options("layer.zip"));
  std::string opt = dir_.path() + "/opt";
  auto unzip = RunCommand({"unzip", "-q", dir_.path() + "/out/layer.zip", "-d", opt});
  ASSERT_TRUE(unzip.ok());
  ASSERT_EQ(unzip->exit_code, 0) << unzip->err;
  auto version = RunCommand({opt + "/anysnap/bin/anysnap-tool", "--version"});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->exit_code, 0) << version->err;
  // ld.so lists where each library came from; libzip's own needs (libbz2, libz)
  // come from the layer too.
  auto trace = RunCommand({opt + "/anysnap/bin/anysnap-tool"}, {"LD_TRACE_LOADED_OBJECTS=1"});
  ASSERT_TRUE(trace.ok());
  for (const char* lib : {"libzip.so.4", "libstdc++.so.6", "libz.so.1"}) {
    EXPECT_NE(trace->out.find(std::string(lib) + " => " + opt + "/anysnap/bin/../lib/" + lib),
              std::string::npos)
        << lib << "\n"
        << trace->out;
  }
}

TEST_F(LayerBuilderTest, RemovesALayerThatFailsItsChecks) {
  BuildOptions o = Options("old.zip");
  o.target.glibc = {2, 34, 0};  // Debian 12's libstdc++ needs GLIBC_2.36
  auto result = BuildLayer(o);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->kept);
  EXPECT_TRUE(result->report.HasErrors());
  EXPECT_NE(FormatFindings(result->report).find("anysnap/lib/libstdc++.so.6: needs GLIBC_2.3"),
            std::string::npos)
      << FormatFindings(result->report);
  struct stat st;
  EXPECT_NE(::stat(o.output.c_str(), &st), 0);
}

TEST_F(LayerBuilderTest, RefusesAProgramThatCannotFindItsLibraries) {
  auto program =
      CompileC(dir_.path() + "/bin", "anysnap-norpath",
               "#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n", {"-lz"});
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  auto result = BuildLayer(Options("layer.zip"));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("-Wl,-rpath,'$ORIGIN/../lib'"), std::string::npos)
      << result.status().ToString();
}

TEST_F(LayerBuilderTest, RefusesUnsafeOrMissingInputs) {
  ASSERT_EQ(::symlink("/etc/passwd", (dir_.path() + "/rt/bin/passwd").c_str()), 0);
  auto unsafe = BuildLayer(Options("layer.zip"));
  ASSERT_FALSE(unsafe.ok());
  EXPECT_NE(unsafe.status().message().find("absolute symlink"), std::string::npos);

  BuildOptions empty = Options("layer.zip");
  empty.bin_dir = dir_.path() + "/hooks";
  EXPECT_EQ(BuildLayer(empty).status().code(), Status::Code::kNotFound);

  BuildOptions clash = Options("layer.zip");
  clash.adds.push_back({dir_.path() + "/rt/bin/runtime", "anysnap/bin/anysnap-hello"});
  EXPECT_FALSE(BuildLayer(clash).ok());
}

TEST_F(LayerBuilderTest, BuildsWithoutHooksWhenThereIsNoHooksDirectory) {
  for (const std::string& hooks_dir : {dir_.path() + "/no-hooks", std::string()}) {
    BuildOptions o = Options("layer.zip");
    o.hooks_dir = hooks_dir;
    Build(o);
    auto names = Names(o.output);
    EXPECT_FALSE(Has(names, "python/")) << hooks_dir;
    EXPECT_FALSE(Has(names, "nodejs/")) << hooks_dir;
    ASSERT_EQ(::unlink(o.output.c_str()), 0);
  }
}

// The build's reseed folder (beside its bin folder unless named) goes to
// anysnap/reseed/, file by file, where anysnap-wrapper looks for it.
TEST_F(LayerBuilderTest, ShipsTheReseedBesideThePrograms) {
  BuildOptions o = Options("layer.zip");
  Build(o);
  EXPECT_FALSE(Has(Names(o.output), "anysnap/reseed/")) << "a build without a reseed folder";
  ASSERT_EQ(::unlink(o.output.c_str()), 0);

  for (const char* d : {"/reseed", "/reseed/nodejs", "/reseed/python", "/reseed/CMakeFiles"})
    ASSERT_EQ(::mkdir((dir_.path() + d).c_str(), 0755), 0);
  for (const char* file : kReseedFiles)
    ASSERT_TRUE(WriteFile(dir_.path() + "/reseed/" + file, "x\n").ok());
  ASSERT_TRUE(WriteFile(dir_.path() + "/reseed/CMakeFiles/junk", "x\n").ok());
  Build(o);
  auto names = Names(o.output);
  std::vector<std::string> reseed;
  std::copy_if(names.begin(), names.end(), std::back_inserter(reseed),
               [](const std::string& n) { return n.starts_with("anysnap/reseed/"); });
  const std::vector<std::string> shipped = {"anysnap/reseed/",
                                            "anysnap/reseed/nodejs/",
                                            "anysnap/reseed/nodejs/anysnap-reseed.js",
                                            "anysnap/reseed/nodejs/anysnap_reseed.node",
                                            "anysnap/reseed/nodejs/channel.js",
                                            "anysnap/reseed/python/",
                                            "anysnap/reseed/python/sitecustomize.py"};
  EXPECT_EQ(reseed, shipped);
  ASSERT_EQ(::unlink(o.output.c_str()), 0);

  ASSERT_EQ(::unlink((dir_.path() + "/reseed/python/sitecustomize.py").c_str()), 0);
  auto result = BuildLayer(o);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("python/sitecustomize.py"), std::string::npos)
      << result.status().ToString();
}

TEST_F(LayerBuilderTest, RefusesAHooksDirectoryMissingAClient) {
  ASSERT_EQ(::unlink((dir_.path() + "/hooks/python/anysnap_hooks.py").c_str()), 0);
  auto result = BuildLayer(Options("layer.zip"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kNotFound) << result.status().ToString();
  EXPECT_NE(result.status().message().find("python/anysnap_hooks.py"), std::string::npos)
      << result.status().ToString();
}

// The clients of samples/hooks land where Node.js and Python find a layer's
// modules, and load from there.
TEST_F(LayerBuilderTest, ShipsTheHookClientsWhereRuntimesFindThem) {
  BuildOptions o = Options("layer.zip");
  o.hooks_dir = ANYSNAP_SOURCE_DIR "/samples/hooks";
  Build(o);
  auto names = Names(o.output);
  std::vector<std::string> hooks;
  std::copy_if(names.begin(), names.end(), std::back_inserter(hooks), [](const std::string& n) {
    return n.starts_with("nodejs/") || n.starts_with("python/");
  });
  EXPECT_EQ(hooks, (std::vector<std::string>{"nodejs/", "nodejs/node_modules/",
                                             "nodejs/node_modules/anysnap-hooks/",
                                             "nodejs/node_modules/anysnap-hooks/channel.js",
                                             "nodejs/node_modules/anysnap-hooks/index.d.ts",
                                             "nodejs/node_modules/anysnap-hooks/index.js",
                                             "nodejs/node_modules/anysnap-hooks/index.mjs",
                                             "nodejs/node_modules/anysnap-hooks/package.json",
                                             "python/", "python/anysnap_hooks.py"}));

  std::string opt = dir_.path() + "/opt";
  auto unzip = RunCommand({"unzip", "-q", o.output, "-d", opt});
  ASSERT_TRUE(unzip.ok());
  ASSERT_EQ(unzip->exit_code, 0) << unzip->err;
  auto node =
      RunCommand({"node", "-e",
                  "const h = require('anysnap-hooks');"
                  "console.log(typeof h.registerBeforeSnapshot, typeof h.registerAfterRestore)"},
                 {"NODE_PATH=" + opt + "/nodejs/node_modules"});
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->exit_code, 0) << node->err;
  EXPECT_EQ(node->out, "function function\n");
  auto python = RunCommand(
      {"python3", "-c",
       "import anysnap_hooks as h;"
       "print(callable(h.register_before_snapshot), callable(h.register_after_restore))"},
      {"PYTHONPATH=" + opt + "/python", "PYTHONDONTWRITEBYTECODE=1"});
  ASSERT_TRUE(python.ok());
  EXPECT_EQ(python->exit_code, 0) << python->err;
  EXPECT_EQ(python->out, "True True\n");
}

}  // namespace
}  // namespace anysnap::layer
