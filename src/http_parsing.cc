#include "http_parsing.h"

#include <http_parser.h>

#include <mutex>

namespace anysnap {

void LiftHttpParserHeaderLimit() {
  static std::once_flag once;
  std::call_once(once, [] { http_parser_set_max_header_size(64u * 1024 * 1024); });
}

void FillRequestHead(const http_parser* p, HttpRequest& r) {
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.http_major = p->http_major;
  r.http_minor = p->http_minor;
  r.chunked = (p->flags & F_CHUNKED) != 0;
  if (const std::string* cl = FindHeader(r.headers, "Content-Length"))
    r.content_length = ParseContentLength(*cl);
  r.keep_alive = http_should_keep_alive(p) != 0;
}

void HeaderAssembler::OnField(std::string_view piece, HttpHeaders& into) {
  if (in_value_) Finish(into);
  field_.append(piece);
}

void HeaderAssembler::OnValue(std::string_view piece) {
  in_value_ = true;
  value_.append(piece);
}

void HeaderAssembler::Finish(HttpHeaders& into) {
  if (!field_.empty() || !value_.empty()) into.push_back({std::move(field_), std::move(value_)});
  Clear();
}

void HeaderAssembler::Clear() {
  field_.clear();
  value_.clear();
  in_value_ = false;
}

}  // namespace anysnap
