#include "random_draws.h"

#include <sys/random.h>

#include <array>

namespace anysnap {

namespace {

enum class Runtime { kNode, kPython, kBun };

constexpr uint64_t kAnySize = 0;
constexpr int kAnyFlags = -1;

// One kind of draw a runtime makes for itself (see the header for how each
// was measured).
struct Rule {
  Runtime runtime;
  std::string_view call;  // "getrandom" or "openat"
  uint64_t bytes;         // kAnySize, or getrandom's exact length
  int flags;              // kAnyFlags, or getrandom's exact flags
  bool first_only;        // only the process's first draw of this shape
  bool needs_reseed;      // made only by anysnap's reseed preload
  bool reseedable;        // anysnap's reseed refreshes what it seeds
  bool fixable;           // something can be done when it is not reseeded
  std::string_view source;
  std::string_view remedy;  // when not reseeded
};

constexpr std::string_view kLeaveReseedOn =
    "leave ANYSNAP_RESEED at auto (its default): anysnap then reseeds it after every restore";

const std::array<Rule, 6> kRules = {{
    {Runtime::kNode, "getrandom", kAnySize, kAnyFlags, false, false, true, true,
     "Node.js start-up: OpenSSL's generator, which crypto.randomUUID (and its cache), "
     "randomBytes, getRandomValues and Math.random draw from",
     kLeaveReseedOn},
    {Runtime::kNode, "openat", kAnySize, kAnyFlags, true, true, true, true,
     "anysnap's reseed: the seed of its Math.random", kLeaveReseedOn},
    {Runtime::kPython, "getrandom", 24, GRND_NONBLOCK, true, false, false, false,
     "Python start-up: the str and bytes hash secret (hash() values, set order)",
     "Python fixes it at start and no running process can change it: hash() values and set "
     "order repeat in every restored environment, so derive no id or secret from them"},
    {Runtime::kPython, "getrandom", 2496, GRND_NONBLOCK, true, false, true, true,
     "Python's random module: its hidden generator (random.random, randint, choice, shuffle)",
     "leave ANYSNAP_RESEED at auto (its default), or call random.seed() in an after-restore "
     "hook"},
    {Runtime::kPython, "getrandom", 48, 0, true, false, true, true,
     "Python's OpenSSL: its generator (ssl.RAND_bytes, TLS handshakes)",
     "leave ANYSNAP_RESEED at auto (its default), or call ssl.RAND_add(os.urandom(48), 48.0) "
     "in an after-restore hook"},
    {Runtime::kBun, "getrandom", kAnySize, kAnyFlags, false, false, false, true,
     "Bun start-up: the seeds of crypto.randomUUID, getRandomValues and Math.random",
     "Bun's generators cannot be reseeded from outside the process: remake values that must "
     "differ between environments from /dev/urandom after the restore (an after-restore hook), "
     "and see which repeat with anysnap-local check"},
}};

bool IsRuntime(std::string_view program, Runtime runtime) {
  switch (runtime) {
    case Runtime::kNode:
      return program == "node" || program == "nodejs";
    case Runtime::kPython:  // python, python3, python3.11
      return program.substr(0, 6) == "python" &&
             program.find_first_not_of("0123456789.", 6) == std::string_view::npos;
    case Runtime::kBun:
      return program == "bun";
  }
  return false;
}

bool Matches(const Rule& rule, const RandomDraw& draw) {
  if (!IsRuntime(draw.program, rule.runtime) || draw.call != rule.call) return false;
  if (rule.call != "getrandom") return true;
  return (rule.bytes == kAnySize || rule.bytes == draw.bytes) &&
         (rule.flags == kAnyFlags || static_cast<unsigned>(rule.flags) == draw.flags);
}

}  // namespace

std::string_view DrawVerdictName(DrawVerdict verdict) {
  switch (verdict) {
    case DrawVerdict::kYours:
      return "yours";
    case DrawVerdict::kRuntime:
      return "runtime";
    case DrawVerdict::kReseeded:
      return "reseeded";
  }
  return "yours";
}

DrawOrigin RandomDraws::Classify(const RandomDraw& draw) {
  for (size_t i = 0; i < kRules.size(); ++i) {
    const Rule& rule = kRules[i];
    if (!Matches(rule, draw) || (rule.needs_reseed && !reseed_)) continue;
    int earlier = seen_[{draw.process, static_cast<int>(i)}]++;
    if (rule.first_only && earlier > 0) break;  // a later one is the function's
    DrawOrigin origin;
    origin.source = rule.source;
    if (reseed_ && rule.reseedable) {
      origin.verdict = DrawVerdict::kReseeded;
      origin.remedy = "reseeded by anysnap after every restore";
    } else {
      origin.verdict = DrawVerdict::kRuntime;
      origin.remedy = rule.remedy;
      origin.fixable = rule.fixable;
    }
    return origin;
  }
  return DrawOrigin{};
}

}  // namespace anysnap
