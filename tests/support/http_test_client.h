// A deliberately raw HTTP/1.1 client for tests: sends exactly the bytes a test
// writes and parses the answer with http_parser, keeping headers, body and
// trailers as they arrived, so tests can see framing the way a runtime does.
#ifndef ANYSNAP_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_
#define ANYSNAP_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_

#include <string>

#include "anysnap/http.h"
#include "anysnap/net.h"
#include "anysnap/status.h"

namespace anysnap::testing {

struct TestResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // decoded
  HttpHeaders trailers;
  bool chunked = false;
  bool keep_alive = true;
};

// Reads one complete response from `fd` (a HEAD request's answer has no body).
Result<TestResponse> ReadResponse(int fd, bool head_request = false);

// Connects, sends `raw`, reads one response, closes.
Result<TestResponse> RoundTrip(const HostPort& to, const std::string& raw,
                               bool head_request = false);

// Builds "METHOD target HTTP/1.1" with the headers, a Content-Length and body.
std::string BuildRequest(const std::string& method, const std::string& target,
                         const HttpHeaders& headers, const std::string& body);

// Reads until the peer closes; returns everything read.
std::string ReadUntilClose(int fd);

}  // namespace anysnap::testing

#endif  // ANYSNAP_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_
