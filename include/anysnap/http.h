// The HTTP/1.1 message model shared by anysnap's servers and clients: header
// lists kept in arrival order with their original spelling (a proxy must pass
// them on byte for byte), case-insensitive lookup, reason phrases, the
// hop-by-hop rules of RFC 9110 §7.6.1, and the messages a handler works with:
// a request's head, its body pulled as it arrives, and the writer of its
// answer (HttpServer serves them; UpstreamClient relays into them).
#ifndef ANYSNAP_HTTP_H_
#define ANYSNAP_HTTP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anysnap/ascii.h"
#include "anysnap/status.h"

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

// The head of one request, as it arrived.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: "/2018-06-01/runtime/invocation/next"
  int http_major = 1;
  int http_minor = 1;
  HttpHeaders headers;
  bool chunked = false;                    // Transfer-Encoding: chunked
  std::optional<uint64_t> content_length;  // from Content-Length
  bool keep_alive = true;                  // the client wants the connection kept
  std::string peer;                        // "host:port" of the client

  // Returns true iff the request carries a body (chunked or a non-zero length).
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

// The body of the request being handled, pulled by the handler.
class RequestBody {
 public:
  virtual ~RequestBody() = default;
  // Reads up to `cap` bytes of the decoded body into `buf`. Returns 0 at the end
  // of the body; an error when the client broke the framing or went away.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
  // Trailer fields of a chunked body; complete once Read has returned 0.
  virtual const HttpHeaders& trailers() const = 0;
  // Reads the whole remaining body, failing with kTooLarge past `limit` bytes.
  Result<std::string> ReadAll(size_t limit);
};

// Writes the response to the request being handled. Framing is chosen here:
// a known length gives Content-Length, an unknown one chunked encoding (or a
// close-delimited body for an HTTP/1.0 client).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and `headers` (which must not hold framing headers).
  // `body_length` is the exact body size, or nullopt for a body streamed in
  // chunks. Informational (1xx) statuses are not supported here.
  virtual Status Begin(int status, const HttpHeaders& headers,
                       std::optional<uint64_t> body_length) = 0;
  virtual Status Write(std::string_view data) = 0;
  // Ends the body; `trailers` are sent with a chunked body, dropped otherwise.
  virtual Status End(const HttpHeaders& trailers = {}) = 0;
  // Returns true iff Begin has been called.
  virtual bool started() const = 0;
  // Closes the connection after this response.
  virtual void CloseAfterResponse() = 0;
  // Returns true iff the client is known to have closed its connection (or
  // its sending side): an answer now would most likely be lost. For a handler
  // that waits long before answering (a parked invocation/next).
  virtual bool peer_gone() { return false; }

  // Begin + Write + End.
  Status Respond(int status, const HttpHeaders& headers, std::string_view body);
  // The Runtime API's error document (RuntimeErrorDocument, runtime_api.h).
  Status RespondError(int status, std::string_view error_type, std::string_view message);
};

}  // namespace anysnap

#endif  // ANYSNAP_HTTP_H_
