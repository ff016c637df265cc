#include "anysnap/http.h"

#include <charconv>

#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

bool HeaderListContains(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = TrimBlanks(value.substr(0, comma));
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool IsFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

bool IsHopByHop(std::string_view name, const HttpHeaders& headers) {
  static constexpr std::string_view kFixed[] = {
      "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"};
  for (auto f : kFixed) {
    if (EqualsIgnoreCase(name, f)) return true;
  }
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, "connection") && HeaderListContains(h.value, name)) return true;
  }
  return false;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::optional<uint64_t> ParseContentLength(std::string_view value) {
  value = TrimBlanks(value);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return n;
}

Result<std::string> RequestBody::ReadAll(size_t limit) {
  std::string out;
  char buf[16 * 1024];
  for (;;) {
    auto n = Read(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    if (out.size() + *n > limit)
      return Status::TooLarge("request body exceeds " + std::to_string(limit) + " bytes");
    out.append(buf, *n);
  }
}

Status ResponseWriter::Respond(int status, const HttpHeaders& headers, std::string_view body) {
  ANYSNAP_RETURN_IF_ERROR(Begin(status, headers, body.size()));
  if (!body.empty()) ANYSNAP_RETURN_IF_ERROR(Write(body));
  return End();
}

Status ResponseWriter::RespondError(int status, std::string_view error_type,
                                    std::string_view message) {
  return Respond(status, {{"Content-Type", "application/json"}},
                 RuntimeErrorDocument(error_type, message));
}

}  // namespace anysnap
