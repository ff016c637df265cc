// Priming: warm-up events the delegator serves to a held runtime before the
// snapshot (ANYSNAP_PRIME_EVENTS, ANYSNAP_PRIME_ROUNDS), so that what a JIT
// learns from real traffic is in the snapshot. The events never reach the
// platform, nor do the runtime's answers to them.
#ifndef ANYSNAP_DELEGATOR_PRIMING_H_
#define ANYSNAP_DELEGATOR_PRIMING_H_

#include <string>
#include <string_view>
#include <vector>

#include "anysnap/http.h"
#include "anysnap/status.h"

namespace anysnap {

// One warm-up event: the body the runtime gets from invocation/next, and the
// extra Lambda-Runtime-* headers it comes with.
struct PrimeEvent {
  std::string body;
  HttpHeaders headers;
};

// Parses the ANYSNAP_PRIME_EVENTS file: a non-empty JSON array whose elements
// are each either the event itself (any JSON value), or an object with exactly
// the members "event" (the event) and optionally "headers" (an object of string
// values: header fields sent with it, e.g. Lambda-Runtime-Client-Context). The
// request id and framing headers are anysnap's and cannot be set. Errors name
// the element: InvalidArgument "event 3: ...".
Result<std::vector<PrimeEvent>> ParsePrimeEvents(std::string_view json);

}  // namespace anysnap

#endif  // ANYSNAP_DELEGATOR_PRIMING_H_
