// Base64 of RFC 4648 §4 (the standard alphabet, "=" padding). The Runtime API
// carries binary-free text only in trailers, so a streamed function error
// arrives as the base64 of its JSON document (Lambda-Runtime-Function-Error-Body).
//
// Pure functions; thread-safe.
#ifndef ANYSNAP_BASE64_H_
#define ANYSNAP_BASE64_H_

#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap {

// Returns the padded base64 text of `data`.
std::string Base64Encode(std::string_view data);

// Decodes `text`. Padding may be left out; anything else outside the alphabet
// (whitespace included), misplaced padding, an impossible length or non-zero
// bits past the last byte is kInvalidArgument.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace anysnap

#endif  // ANYSNAP_BASE64_H_
