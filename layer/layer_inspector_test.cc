#include "layer/layer_inspector.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <map>

#include "layer/temp_dir.h"
#include "layer/test_command.h"
#include "layer/test_elf.h"
#include "layer/zip_writer.h"

namespace anysnap::layer {
namespace {

// One entry of a zip made for a test: a file copied from `source`, a directory
// (name ends with '/') or a symlink (`link` set).
struct Planted {
  Planted() = default;
  Planted(std::string source, uint32_t mode, std::optional<std::string> link = std::nullopt)
      : source(std::move(source)), mode(mode), link(std::move(link)) {}

  std::string source;
  uint32_t mode = 0644;
  std::optional<std::string> link;
};

class LayerInspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("inspect-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    auto hello = CompileC(dir_.path(), "hello", kHelloProgram);
    ASSERT_TRUE(hello.ok()) << hello.status().ToString();
    hello_ = *hello;
    auto lib = CompileC(dir_.path(), "libfoo.so.1", "int foo(void) { return 1; }\n",
                        {"-shared", "-fPIC", "-Wl,-soname,libfoo.so.1"});
    ASSERT_TRUE(lib.ok());
    lib_ = *lib;
    script_ = dir_.path() + "/script";
    ASSERT_TRUE(WriteFile(script_, "#!/bin/sh\necho hi\n", 0755).ok());
    text_ = dir_.path() + "/text";
    ASSERT_TRUE(WriteFile(text_, "plain data\n").ok());
  }

  // A layer that passes every check.
  std::map<std::string, Planted> CleanLayer() {
    return {
        {"bin/", {"", 0755}},
        {"bin/hello", {hello_, 0755}},
        {"bin/run", {script_, 0755}},
        {"lib/", {"", 0755}},
        {"lib/libfoo.so", {"", 0777, "libfoo.so.1"}},
        {"lib/libfoo.so.1", {lib_, 0644}},
        {"share/notes.txt", {text_, 0644}},
    };
  }

  std::string MakeZip(const std::map<std::string, Planted>& entries) {
    std::string path = dir_.path() + "/layer" + std::to_string(++zips_) + ".zip";
    auto writer = ZipWriter::Create(path, {});
    EXPECT_TRUE(writer.ok());
    for (const auto& [name, p] : entries) {  // std::map: already bytewise sorted
      Status s;
      if (p.link) {
        s = (*writer)->AddSymlink(name, *p.link);
      } else if (name.ends_with('/')) {
        s = (*writer)->AddDirectory(name, p.mode);
      } else {
        auto bytes = ReadFile(p.source);
        EXPECT_TRUE(bytes.ok());
        s = (*writer)->AddFile(name, p.source, bytes->size(), p.mode);
      }
      EXPECT_TRUE(s.ok()) << name << ": " << s.ToString();
    }
    EXPECT_TRUE((*writer)->Close().ok());
    return path;
  }

  InspectReport Inspect(const std::string& zip, LambdaTarget target = {}) {
    auto report = InspectLayer(zip, {target, dir_.path()});
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return std::move(*report);
  }

  // The findings of `report` as "severity check entry: message" lines.
  static std::string Describe(const InspectReport& report) {
    return FormatReportText(report, false);
  }

  static const Finding* FindingFor(const InspectReport& report, const std::string& check,
                                   const std::string& entry) {
    for (const Finding& f : report.findings) {
      if (f.check == check && f.entry == entry) return &f;
    }
    return nullptr;
  }

  TempDir dir_;
  std::string hello_, lib_, script_, text_;
  int zips_ = 0;
};

TEST_F(LayerInspectorTest, PassesACleanLayer) {
  InspectReport report = Inspect(MakeZip(CleanLayer()));
  EXPECT_TRUE(report.findings.empty()) << Describe(report);
  ASSERT_EQ(report.entries.size(), 7u);
  const InspectedEntry& hello = report.entries[1];
  EXPECT_TRUE(hello.is_elf);
  EXPECT_TRUE(hello.elf_program);
  EXPECT_EQ(hello.elf_machine, EM_X86_64);
  EXPECT_EQ(hello.mode, 0755u);
  EXPECT_TRUE(report.entries[2].is_script);
  EXPECT_EQ(report.entries[4].type, EntryType::kSymlink);
  EXPECT_EQ(report.entries[4].link_target, "libfoo.so.1");
  EXPECT_FALSE(report.entries[5].elf_program);
}

TEST_F(LayerInspectorTest, PassesAZipMadeByInfoZip) {
  ASSERT_EQ(::chmod(hello_.c_str(), 0755), 0);
  auto run = RunCommand({"sh", "-c",
                         "cd " + dir_.path() +
                             " && mkdir -p t/bin && cp hello t/bin/ && "
                             "cd t && zip -qr -X ../info.zip bin"});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  InspectReport report = Inspect(dir_.path() + "/info.zip");
  EXPECT_FALSE(report.HasErrors()) << Describe(report);
}

TEST_F(LayerInspectorTest, CatchesANonExecutableBinary) {
  auto entries = CleanLayer();
  entries["bin/hello"].mode = 0644;
  InspectReport report = Inspect(MakeZip(entries));
  EXPECT_TRUE(report.HasErrors());
  const Finding* f = FindingFor(report, "mode", "bin/hello");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_NE(f->message.find("without execute permission"), std::string::npos);
}

TEST_F(LayerInspectorTest, CatchesProgramsOnlyTheirOwnerCanRun) {
  auto entries = CleanLayer();
  entries["bin/run"].mode = 0744;
  entries["share/notes.txt"].mode = 0600;
  entries["bin/"].mode = 0700;
  InspectReport report = Inspect(MakeZip(entries));
  EXPECT_NE(FindingFor(report, "mode", "bin/run"), nullptr) << Describe(report);
  EXPECT_NE(FindingFor(report, "mode", "share/notes.txt"), nullptr) << Describe(report);
  EXPECT_NE(FindingFor(report, "mode", "bin/"), nullptr) << Describe(report);
}

TEST_F(LayerInspectorTest, CatchesANewerGlibcAndNamesTheSymbol) {
  auto arc4 = CompileC(dir_.path(), "arc4", kArc4randomProgram);
  ASSERT_TRUE(arc4.ok());
  auto entries = CleanLayer();
  entries["bin/arc4"] = Planted(*arc4, 0755);
  InspectReport report = Inspect(MakeZip(entries));
  const Finding* f = FindingFor(report, "glibc", "bin/arc4");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("GLIBC_2.36"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("arc4random"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("2.34"), std::string::npos) << f->message;

  LambdaTarget newer;
  newer.glibc = {2, 36, 0};
  EXPECT_FALSE(Inspect(MakeZip(entries), newer).HasErrors());
}

TEST_F(LayerInspectorTest, CatchesADotDotPath) {
  auto entries = CleanLayer();
  entries["../evil"] = Planted(text_, 0644);
  InspectReport report = Inspect(MakeZip(entries));
  const Finding* f = FindingFor(report, "path", "../evil");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kError);
}

TEST_F(LayerInspectorTest, CatchesUnsafeSymlinks) {
  auto entries = CleanLayer();
  entries["bin/sh"] = Planted("", 0777, "/bin/sh");
  entries["lib/up"] = Planted("", 0777, "../../etc/passwd");
  entries["lib/gone"] = Planted("", 0777, "missing.so");
  InspectReport report = Inspect(MakeZip(entries));
  const Finding* absolute = FindingFor(report, "symlink", "bin/sh");
  ASSERT_NE(absolute, nullptr) << Describe(report);
  EXPECT_EQ(absolute->severity, Severity::kError);
  EXPECT_NE(absolute->message.find("absolute"), std::string::npos);
  ASSERT_NE(FindingFor(report, "symlink", "lib/up"), nullptr);
  const Finding* dangling = FindingFor(report, "symlink", "lib/gone");
  ASSERT_NE(dangling, nullptr);
  EXPECT_EQ(dangling->severity, Severity::kWarning);
}

TEST_F(LayerInspectorTest, CatchesAnArm64BinaryInAnX86Layer) {
  std::string arm = dir_.path() + "/arm";
  ASSERT_TRUE(CopyWithMachine(hello_, arm, EM_AARCH64).ok());
  auto entries = CleanLayer();
  entries["bin/arm"] = Planted(arm, 0755);
  InspectReport report = Inspect(MakeZip(entries));
  const Finding* f = FindingFor(report, "arch", "bin/arm");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_NE(f->message.find("arm64"), std::string::npos);
  EXPECT_EQ(report.CountFindings(Severity::kError), 1u) << Describe(report);

  LambdaTarget arm64;
  arm64.arch = Arch::kArm64;
  InspectReport as_arm = Inspect(MakeZip(CleanLayer()), arm64);
  EXPECT_NE(FindingFor(as_arm, "arch", "bin/hello"), nullptr) << Describe(as_arm);
  EXPECT_NE(FindingFor(as_arm, "arch", "lib/libfoo.so.1"), nullptr) << Describe(as_arm);
}

TEST_F(LayerInspectorTest, CatchesProgramsStoredWithoutUnixModes) {
  std::string zip = dir_.path() + "/nomode.zip";
  auto run = RunCommand({"python3", "-c",
                         "import sys, zipfile\n"
                         "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                         "    i = zipfile.ZipInfo('bin/hello'); i.create_system = 0\n"
                         "    z.writestr(i, open(sys.argv[2], 'rb').read())\n"
                         "    i = zipfile.ZipInfo('data.txt'); i.create_system = 0\n"
                         "    z.writestr(i, 'x')\n",
                         zip, hello_});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  InspectReport report = Inspect(zip);
  EXPECT_NE(FindingFor(report, "mode", "bin/hello"), nullptr) << Describe(report);
  EXPECT_EQ(report.CountFindings(Severity::kError), 1u) << Describe(report);
  EXPECT_FALSE(report.entries[1].mode.has_value());
}

TEST_F(LayerInspectorTest, CatchesMoreThanLambdaUnzips) {
  std::string big = dir_.path() + "/big";
  ASSERT_EQ(::truncate((big).c_str(), 0), -1);  // absent yet
  auto run = RunCommand({"truncate", "-s", std::to_string(kLambdaMaxUnzippedBytes + 1), big});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0);
  std::string zip = dir_.path() + "/big.zip";
  auto writer = ZipWriter::Create(zip, {1, {}});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddFile("big", big, kLambdaMaxUnzippedBytes + 1, 0644).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  InspectReport report = Inspect(zip);
  const Finding* f = FindingFor(report, "size", "");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kError);
}

TEST_F(LayerInspectorTest, ReportsAsJson) {
  auto entries = CleanLayer();
  entries["bin/hello"].mode = 0644;
  entries["odd\x01\xff"] = Planted(text_, 0644);
  InspectReport report = Inspect(MakeZip(entries));
  std::string json = FormatReportJson(report);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_FALSE(doc["ok"].GetBool());
  EXPECT_GE(doc["errors"].GetUint64(), 1u);
  EXPECT_EQ(doc["target"]["glibc"].GetString(), std::string("2.34"));
  EXPECT_EQ(doc["entries"].Size(), 8u);
  const auto& hello = doc["entries"][1];
  EXPECT_EQ(hello["name"].GetString(), std::string("bin/hello"));
  EXPECT_EQ(hello["mode"].GetString(), std::string("0644"));
  EXPECT_EQ(hello["elf"]["kind"].GetString(), std::string("program"));
  // Text output escapes control bytes in names.
  std::string text = FormatReportText(report, true);
  EXPECT_NE(text.find("odd\\x01"), std::string::npos) << text;
}

TEST_F(LayerInspectorTest, RefusesWhatIsNotAZip) {
  EXPECT_FALSE(InspectLayer(text_, {}).ok());
  EXPECT_FALSE(InspectLayer(dir_.path() + "/none.zip", {}).ok());
}

}  // namespace
}  // namespace anysnap::layer
