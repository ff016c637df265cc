// InvokeEndpoint is the invoke API of anysnap-local serve, compatible with the
// Runtime Interface Emulator's: POST /2015-03-31/functions/function/invocations
// with the event as the body (any function name is accepted in the path, so
// SDK clients pointed at the endpoint work too). Beyond the emulator:
//   - a failed invoke answers 200 with the error document and
//     X-Amz-Function-Error: Unhandled, as Lambda's Invoke API does;
//   - a runtime that dies answers a Runtime.ExitError document, a timeout a
//     Sandbox.Timedout one;
//   - a streamed response (Lambda-Runtime-Function-Response-Mode: streaming)
//     goes out chunk by chunk as the runtime sends it; an error after the
//     first bytes arrives as trailers (X-Amz-Function-Error,
//     Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body
//     in base64, as the Runtime API carries it).
// Every answer carries X-Amzn-RequestId and X-Amz-Executed-Version.
//
// Thread-safe: each connection's thread runs its own invoke.
#ifndef ANYSNAP_EMULATOR_INVOKE_ENDPOINT_H_
#define ANYSNAP_EMULATOR_INVOKE_ENDPOINT_H_

#include <string_view>

#include "anysnap/http_server.h"
#include "local_function.h"

namespace anysnap {

inline constexpr std::string_view kInvokePath = "/2015-03-31/functions/function/invocations";

class InvokeEndpoint final : public HttpHandler {
 public:
  explicit InvokeEndpoint(LocalFunction* function) : function_(function) {}
  void Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) override;

 private:
  LocalFunction* const function_;
};

}  // namespace anysnap

#endif  // ANYSNAP_EMULATOR_INVOKE_ENDPOINT_H_
