#include "anysnap/environment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace anysnap {
namespace {

TEST(EnvironmentTest, EnvFromEnvironSplitsAtTheFirstEquals) {
  char a[] = "A=1";
  char b[] = "B=x=y";
  char c[] = "EMPTY=";
  char* envp[] = {a, b, c, nullptr};
  EnvMap env = EnvFromEnviron(envp);
  EXPECT_EQ(env, (EnvMap{{"A", "1"}, {"B", "x=y"}, {"EMPTY", ""}}));
}

TEST(EnvironmentTest, EnvFromEnvironKeepsTheFirstOfDuplicates) {
  char a1[] = "A=first";
  char a2[] = "A=second";
  char* envp[] = {a1, a2, nullptr};
  EXPECT_EQ(EnvFromEnviron(envp).at("A"), "first");
}

TEST(EnvironmentTest, EnvFromEnvironSkipsMalformedEntries) {
  char no_eq[] = "NOEQUALS";
  char no_name[] = "=value";
  char ok[] = "OK=1";
  char* envp[] = {no_eq, no_name, ok, nullptr};
  EXPECT_EQ(EnvFromEnviron(envp), (EnvMap{{"OK", "1"}}));
  EXPECT_TRUE(EnvFromEnviron(nullptr).empty());
}

TEST(EnvironmentTest, ToEnvironStringsRendersSortedPairs) {
  EnvMap env{{"B", "2"}, {"A", "x=y"}, {"C", ""}};
  EXPECT_EQ(ToEnvironStrings(env), (std::vector<std::string>{"A=x=y", "B=2", "C="}));
}

TEST(EnvironmentTest, RoundTripsThroughEnvironStrings) {
  EnvMap env{{"PATH", "/usr/bin:/bin"}, {"X", "a b\nc"}};
  std::vector<std::string> strings = ToEnvironStrings(env);
  std::vector<char*> envp;
  for (auto& s : strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  EXPECT_EQ(EnvFromEnviron(envp.data()), env);
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/anysnap-env-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(EnvironmentTest, ReadWholeFileReadsEveryByte) {
  std::string content(100000, 'x');
  content[5] = '\0';
  content.back() = '\n';
  TempFile file(content);
  auto got = ReadWholeFile(file.path());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, content);
  EXPECT_TRUE(FileExists(file.path()));
}

TEST(EnvironmentTest, ReadWholeFileReadsAnEmptyFile) {
  TempFile file("");
  auto got = ReadWholeFile(file.path());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "");
}

TEST(EnvironmentTest, ReadWholeFileReportsAMissingFile) {
  auto got = ReadWholeFile("/nonexistent/anysnap.json");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(got.status().message(), "open /nonexistent/anysnap.json: No such file or directory");
  EXPECT_FALSE(FileExists("/nonexistent/anysnap.json"));
}

TEST(EnvironmentTest, ReadWholeFileReportsADirectory) {
  auto got = ReadWholeFile("/tmp");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "read /tmp: Is a directory");
  EXPECT_TRUE(FileExists("/tmp"));
}

}  // namespace
}  // namespace anysnap
