// The soak run: many invocations through the built anysnap-wrapper (which
// hosts the delegator) against the project's Runtime API server, sampling
// the wrapper process's resident memory and open descriptors. After a
// warm-up both must stay flat: a leak of a few bytes or one descriptor per
// invocation shows as growth in proportion to the count.
//
// ANYSNAP_SOAK_INVOCATIONS sets the count (default 10000, the bounded run of
// the test command; scripts/soak.sh --invocations 100000 for the long one).
// Two runtimes: a C++ loop that opens a new connection for every request
// (connection and thread churn in the delegator) and the Python fixture,
// which keeps one connection alive as real runtime clients do (a tenth of
// the count). Every invocation must come back answered with its own event.
#include <gtest/gtest.h>
#include <signal.h>

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "wrapped_function.h"

namespace anysnap {
namespace {

using testing::kBin;
using testing::kFixtures;
using Function = testing::WrappedFunction;

const std::string kTestBin = kBin + "/../tests";

// Growth of the floor allowed after the warm-up, whatever the count: a fixed
// slack for the allocator's arenas settling, far below what a per-invocation
// leak adds over 10 000 invocations (a 200-byte leak alone is 2 MB).
constexpr long kRssSlackKb = 1024;
constexpr int kFdSlack = 1;  // a connection closing while the sample is taken
// The delegator's upstream pool keeps as many idle connections as requests
// were ever in flight upstream at once: with timing as slow as a sanitizer's,
// a runtime's next request can still race the return of the connection its
// last answer came on. Bounded, unlike a leak, which over thousands of
// invocations adds thousands of descriptors.
constexpr int kPoolSlack = 2;

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

int OpenFds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

int Invocations() {
  const char* text = std::getenv("ANYSNAP_SOAK_INVOCATIONS");
  int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 10000;
}

struct Sample {
  int done;
  long rss_kb;
  int fds;
};

std::string Describe(const std::vector<Sample>& samples) {
  std::ostringstream out;
  for (const Sample& s : samples)
    out << s.done << " invocations: " << s.rss_kb << " kB, " << s.fds << " fds\n";
  return out.str();
}

void Soak(const std::string& runtime, int invocations) {
  Function fn;
  fn.Set("ANYSNAP_RUNTIME", runtime);
  fn.Start();
  const pid_t pid = fn.wrapper().pid();
  const int warm_up = std::max(invocations / 10, 100);
  const int every = std::max(invocations / 50, 1);
  std::vector<Sample> samples;
  for (int i = 1; i <= invocations; ++i) {
    std::string event = "{\"soak\":" + std::to_string(i) + "}";
    InvocationResult r = fn.Invoke(event);
    ASSERT_EQ(r.kind, InvocationResult::Kind::kResponse) << i << ": " << r.body << fn.Stderr();
    ASSERT_EQ(r.body, event) << "invocation " << i << " answered with another's body";
    if (i >= warm_up && (i - warm_up) % every == 0)
      samples.push_back({i, RssKb(pid), OpenFds(pid)});
  }
  samples.push_back({invocations, RssKb(pid), OpenFds(pid)});
  ASSERT_GE(samples.size(), 5u);
  // A leak raises the floor, while connections still closing only make peaks:
  // compare the lowest of the last fifth of the samples with the first.
  const Sample& base = samples.front();
  long floor_rss = samples.back().rss_kb;
  int floor_fds = samples.back().fds;
  for (size_t i = samples.size() - samples.size() / 5; i < samples.size(); ++i) {
    floor_rss = std::min(floor_rss, samples[i].rss_kb);
    floor_fds = std::min(floor_fds, samples[i].fds);
  }
  std::cout << runtime << ": " << invocations << " invocations; RSS " << base.rss_kb << " kB after "
            << base.done << ", " << floor_rss << " kB at the end; fds " << base.fds << ", "
            << floor_fds << " at the end\n";
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine grows the heap by design
  EXPECT_LE(floor_rss - base.rss_kb, kRssSlackKb) << Describe(samples);
#endif
  EXPECT_LE(floor_fds - base.fds, kFdSlack + kPoolSlack) << Describe(samples);
  // Nothing lost, nothing extra: the platform saw one response per invocation.
  auto calls = fn.server().calls();
  EXPECT_EQ(std::count_if(calls.begin(), calls.end(),
                          [](const RuntimeApiCall& c) {
                            return c.path.find("/response") != std::string::npos && c.status == 202;
                          }),
            invocations);
  fn.wrapper().Signal(SIGTERM);
  EXPECT_EQ(fn.Wait(), 128 + SIGTERM) << fn.Stderr().substr(0, 4000);
}

TEST(Soak, ConnectionPerRequestRuntime) {
  Soak(kTestBin + "/anysnap-plain-runtime", Invocations());
}

TEST(Soak, KeepAliveRuntime) {
  Soak("python3 " + kFixtures + "/python/runtime.py", std::max(Invocations() / 10, 200));
}

}  // namespace
}  // namespace anysnap
