// What anysnap's two users of the http_parser library share: HttpServer parses
// requests with it, UpstreamClient the upstream's answers. Internal to the
// core library.
#ifndef ANYSNAP_SRC_HTTP_PARSING_H_
#define ANYSNAP_SRC_HTTP_PARSING_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "anysnap/http.h"

struct http_parser;

namespace anysnap {

// http_parser's header limit is process-wide (80 KB by default). anysnap's
// parsers count header bytes themselves against their own limits, so this
// lifts the library's well above them. Idempotent and thread-safe.
void LiftHttpParserHeaderLimit();

// Fills what `p` knows once a request's head is complete into `r` (whose
// target and fields are already in): method, version, framing, keep-alive.
void FillRequestHead(const http_parser* p, HttpRequest& r);

// Header fields of a typical Runtime API message. Parsers reserve room for
// this many up front: one allocation per message instead of a growth series.
inline constexpr size_t kTypicalHeaderCount = 16;

// Assembles header fields from the pieces http_parser's on_header_field and
// on_header_value callbacks hand out (a name or value that spans two reads
// arrives in two pieces), keeping names as spelled and fields in order.
class HeaderAssembler {
 public:
  // A piece of a name. The first piece after a value completes the field
  // before it, which goes to `into`.
  void OnField(std::string_view piece, HttpHeaders& into);
  // A piece of a value.
  void OnValue(std::string_view piece);
  // Appends the field in progress, if any, to `into`.
  void Finish(HttpHeaders& into);
  // Forgets the field in progress.
  void Clear();

 private:
  std::string field_, value_;
  bool in_value_ = false;
};

}  // namespace anysnap

#endif  // ANYSNAP_SRC_HTTP_PARSING_H_
