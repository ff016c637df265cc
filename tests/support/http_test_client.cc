#include "http_test_client.h"

#include <http_parser.h>
#include <sys/socket.h>

#include <cerrno>

namespace anysnap::testing {

namespace {

struct ParseState {
  TestResponse response;
  std::string field, value;
  bool in_value = false;
  bool headers_done = false;
  bool complete = false;

  void Push() {
    if (field.empty()) return;
    (headers_done ? response.trailers : response.headers).push_back({field, value});
    field.clear();
    value.clear();
    in_value = false;
  }
};

ParseState* State(http_parser* p) { return static_cast<ParseState*>(p->data); }

}  // namespace

Result<TestResponse> ReadResponse(int fd, bool head_request) {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_header_field = [](http_parser* p, const char* at, size_t n) {
    ParseState* st = State(p);
    if (st->in_value) st->Push();
    st->field.append(at, n);
    return 0;
  };
  s.on_header_value = [](http_parser* p, const char* at, size_t n) {
    ParseState* st = State(p);
    st->in_value = true;
    st->value.append(at, n);
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    ParseState* st = State(p);
    st->Push();
    st->headers_done = true;
    st->response.status = p->status_code;
    st->response.chunked = (p->flags & F_CHUNKED) != 0;
    st->response.keep_alive = http_should_keep_alive(p) != 0;
    return st->response.status < 200 ? 0 : 0;
  };
  s.on_body = [](http_parser* p, const char* at, size_t n) {
    State(p)->response.body.append(at, n);
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    ParseState* st = State(p);
    st->Push();
    if (st->response.status >= 100 && st->response.status < 200) {
      // An interim answer: start over for the final one.
      *st = ParseState();
      return 0;
    }
    st->complete = true;
    http_parser_pause(p, 1);
    return 0;
  };

  ParseState st;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &st;
  if (head_request) {
    s.on_headers_complete = [](http_parser* p) {
      ParseState* state = State(p);
      state->Push();
      state->headers_done = true;
      state->response.status = p->status_code;
      state->response.keep_alive = http_should_keep_alive(p) != 0;
      return 1;  // no body follows a HEAD answer
    };
  }
  char buf[64 * 1024];
  while (!st.complete) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("recv", errno);
    }
    size_t parsed = http_parser_execute(&parser, &s, buf, static_cast<size_t>(n));
    if (st.complete) break;
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK)
      return Status::ProtocolError(http_errno_description(HTTP_PARSER_ERRNO(&parser)));
    if (n == 0) return Status::Unavailable("connection closed before a complete response");
    (void)parsed;
  }
  return st.response;
}

Result<TestResponse> RoundTrip(const HostPort& to, const std::string& raw, bool head_request) {
  auto fd = ConnectTcp(to);
  if (!fd.ok()) return fd.status();
  ANYSNAP_RETURN_IF_ERROR(SendAll(fd->get(), raw));
  return ReadResponse(fd->get(), head_request);
}

std::string BuildRequest(const std::string& method, const std::string& target,
                         const HttpHeaders& headers, const std::string& body) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
  for (const auto& h : headers) raw += h.name + ": " + h.value + "\r\n";
  if (!body.empty() || method == "POST")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n";
  raw += body;
  return raw;
}

std::string ReadUntilClose(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace anysnap::testing
