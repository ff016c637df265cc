// RandomDraws tells the audit (audit.h) who made a draw from the kernel's
// random generator during init, and so who can make it safe: the runtime's
// own start-up, seeding a generator of its own (which anysnap's reseed
// refreshes after every restore, or else is a runtime-level hazard with one
// remedy), or the function's code (yours to fix).
//
// How they are told apart: by the draw's signature, not by its time. Each
// runtime seeds its generators with draws of a fixed shape, measured with
// strace on the versions the README names: which program (the basename of
// the process's executable), which call, how many bytes, which getrandom
// flags, and whether only the process's first such draw is the runtime's.
// Time alone cannot decide: runtimes seed lazily (Python's `random` seeds its
// hidden instance at its first import, which a function's own import may
// cause), and what matters is which generator the bytes went into, since that
// decides whether the reseed can refresh it.
//
//   Node.js: every getrandom of a node process. JavaScript never calls it; the
//     runtime draws 48 bytes to seed OpenSSL's generator, from which
//     crypto.randomUUID (and its cache), randomBytes, getRandomValues and
//     V8's Math.random seed come. (A native addon could call it too.)
//     With the reseed on, its preload's first read of /dev/urandom (the seed
//     of its Math.random) is anysnap's own too.
//   Python: getrandom(24, GRND_NONBLOCK), the str/bytes hash secret, fixed at
//     start; the process's first getrandom(2496, GRND_NONBLOCK), `random`'s
//     hidden instance (later ones are random.Random() objects a function made);
//     its first getrandom(48, 0), OpenSSL's generator (ssl). os.urandom,
//     uuid.uuid4 and secrets draw with flags 0 on every call: the function's.
//     A function's own os.urandom(48) before anything touched OpenSSL would be
//     taken for OpenSSL's seed: the one ambiguity.
//   Bun: every getrandom of a bun process (its start-up draws 32, 32 and 128
//     bytes; BoringSSL 48 at its first use).
// Any other draw, and every read of /dev/random or /dev/urandom, is the
// function's.
//
// What no audit of system calls can see: values drawn during init from a
// generator already seeded in user space (a Node.js crypto.randomUUID() kept
// in a variable costs no system call). `anysnap-local check` finds those by
// restoring.
//
// Thread-compatible: one instance per audit, called under its lock.
#ifndef ANYSNAP_WRAPPER_RANDOM_DRAWS_H_
#define ANYSNAP_WRAPPER_RANDOM_DRAWS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace anysnap {

// One draw as the audit saw it.
struct RandomDraw {
  int process = 0;      // thread group id
  std::string program;  // basename of the process's executable: "node", "python3.11"
  std::string call;     // "getrandom", or "openat" of a random device
  uint64_t bytes = 0;   // getrandom's length
  unsigned flags = 0;   // getrandom's flags
};

// Who owns a draw, and so what to do about it.
enum class DrawVerdict {
  kYours,     // the function's code: yours to fix
  kRuntime,   // the runtime's start-up, not reseeded: a runtime-level hazard
  kReseeded,  // the runtime's start-up (or anysnap's own), refreshed after every restore
};

struct DrawOrigin {
  DrawVerdict verdict = DrawVerdict::kYours;
  // For a runtime draw: what it seeds ("Node.js: OpenSSL's generator (...)").
  std::string_view source;
  // What to do: the remedy (kRuntime), what anysnap does (kReseeded), or "".
  std::string_view remedy;
  // kRuntime only: whether anything can be done (a strict audit refuses only
  // a hazard that has a remedy).
  bool fixable = true;
};

class RandomDraws {
 public:
  // `reseed`: anysnap's reseed runs after every restore (ANYSNAP_RESEED is
  // not off, under snap-start).
  explicit RandomDraws(bool reseed) : reseed_(reseed) {}

  // Classifies `draw`, counting it against its process (for first-only rules).
  DrawOrigin Classify(const RandomDraw& draw);

 private:
  const bool reseed_;
  std::map<std::pair<int, int>, int> seen_;  // (process, rule) -> draws so far
};

// "yours", "runtime" or "reseeded": the report's words.
std::string_view DrawVerdictName(DrawVerdict verdict);

}  // namespace anysnap

#endif  // ANYSNAP_WRAPPER_RANDOM_DRAWS_H_
