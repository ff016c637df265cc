// The HTTP/1.1 message model shared by anysnap's servers and clients: header
// lists kept in arrival order with their original spelling (a proxy must pass
// them on byte for byte), case-insensitive lookup, reason phrases, and the
// hop-by-hop rules of RFC 9110 §7.6.1.
#ifndef ANYSNAP_HTTP_H_
#define ANYSNAP_HTTP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/ascii.h"

namespace anysnap {

struct HttpHeader {
  std::string name;
  std::string value;
};
using HttpHeaders = std::vector<HttpHeader>;

// Returns the value of the first header named `name` (any case), or nullptr.
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name);

// Returns true iff a comma-separated header value lists `token` (any case).
bool HeaderListContains(std::string_view value, std::string_view token);

// Returns true iff `name` is a valid field name: a non-empty token of
// RFC 9110 §5.6.2 (no whitespace, no separators, no control bytes).
bool IsFieldName(std::string_view name);

// Returns true iff `name` is hop-by-hop in a message with `headers`: the fixed
// set of RFC 9110 §7.6.1 (Connection, Keep-Alive, Proxy-Connection, TE,
// Transfer-Encoding, Upgrade), plus every field the Connection header names.
// Content-Length is not hop-by-hop but is re-derived from the framing, so
// callers treat it apart.
bool IsHopByHop(std::string_view name, const HttpHeaders& headers);

// The standard reason phrase of `status` ("OK", "Not Found", ...).
std::string_view ReasonPhrase(int status);

// Parses a Content-Length value; nullopt when it is not a plain decimal.
std::optional<uint64_t> ParseContentLength(std::string_view value);

// {"errorType":"<type>","errorMessage":"<message>"}: the error document of the
// Runtime API, also used for every answer anysnap makes up itself.
std::string ErrorDocument(std::string_view type, std::string_view message);

}  // namespace anysnap

#endif  // ANYSNAP_HTTP_H_
