#include "http_parsing.h"

#include <http_parser.h>

#include <mutex>

namespace anysnap {

void LiftHttpParserHeaderLimit() {
  static std::once_flag once;
  std::call_once(once, [] { http_parser_set_max_header_size(64u * 1024 * 1024); });
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
