#include "invoke_endpoint.h"

#include "anysnap/base64.h"
#include "anysnap/log.h"
#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

// Lambda's Invoke API takes at most 6 MB of event.
constexpr size_t kMaxEventBytes = 6 * 1024 * 1024;

// Returns true iff `path` is /2015-03-31/functions/<name>/invocations.
bool IsInvokePath(std::string_view path) {
  constexpr std::string_view kPrefix = "/2015-03-31/functions/";
  constexpr std::string_view kSuffix = "/invocations";
  if (path.size() <= kPrefix.size() + kSuffix.size()) return false;
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  if (path.substr(path.size() - kSuffix.size()) != kSuffix) return false;
  std::string_view name =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return !name.empty() && name.find('/') == std::string_view::npos;
}

}  // namespace

void InvokeEndpoint::Handle(HttpRequest& request, RequestBody& body, ResponseWriter& out) {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (!IsInvokePath(path)) {
    out.Respond(404, {{"Content-Type", "text/plain; charset=utf-8"}}, "404 page not found\n");
    return;
  }
  if (request.method != "POST") {
    out.Respond(405, {{"Allow", "POST"}}, "");
    return;
  }
  auto event = body.ReadAll(kMaxEventBytes);
  if (!event.ok()) {
    if (event.status().code() == Status::Code::kTooLarge) {
      out.CloseAfterResponse();
      out.RespondError(413, "RequestEntityTooLargeException",
                       "Request must be smaller than " + std::to_string(kMaxEventBytes) +
                           " bytes for the InvokeFunction operation");
    } else {
      out.CloseAfterResponse();
      out.RespondError(400, "InvalidRequestContentException", event.status().message());
    }
    return;
  }

  InvokeRequest invoke;
  invoke.request_id = function_->NewRequestId();
  invoke.event = std::move(*event);
  if (invoke.event.empty()) invoke.event = "{}";  // as the emulator does for an empty body
  // The caller's Content-Type stays here: invocation/next always says
  // application/json, as Lambda and the emulator do.
  if (const std::string* context = FindHeader(request.headers, "X-Amz-Client-Context")) {
    // The Invoke API carries it in base64, the Runtime API as JSON.
    auto decoded = Base64Decode(TrimBlanks(*context));
    if (!decoded.ok()) {
      out.RespondError(400, "InvalidRequestContentException",
                       "X-Amz-Client-Context must be base64: " + decoded.status().message());
      return;
    }
    invoke.client_context = std::move(*decoded);
  }
  const HttpHeaders common = {{"X-Amzn-RequestId", invoke.request_id},
                              {"X-Amz-Executed-Version", "$LATEST"}};
  invoke.on_stream_begin = [&out, &common](const HttpHeaders& runtime_headers) {
    HttpHeaders headers = common;
    const std::string* type = FindHeader(runtime_headers, "Content-Type");
    headers.push_back({"Content-Type", type ? *type : "application/octet-stream"});
    headers.push_back({"Trailer",
                       "X-Amz-Function-Error, Lambda-Runtime-Function-Error-Type, "
                       "Lambda-Runtime-Function-Error-Body"});
    (void)out.Begin(200, headers, std::nullopt);
  };
  invoke.on_stream_data = [&out](std::string_view piece) { (void)out.Write(piece); };

  InvokeResult result = function_->Invoke(std::move(invoke));

  if (out.started()) {  // streamed
    HttpHeaders trailers;
    if (!result.ok) {
      trailers.push_back({"X-Amz-Function-Error", "Unhandled"});
      trailers.push_back({std::string(kErrorTypeHeader), result.error_type});
      trailers.push_back({std::string(kErrorBodyTrailer), Base64Encode(result.body)});
    }
    (void)out.End(trailers);
    return;
  }
  HttpHeaders headers = common;
  headers.push_back({"Content-Type", result.ok && !result.content_type.empty()
                                         ? result.content_type
                                         : "application/json"});
  if (!result.ok) headers.push_back({"X-Amz-Function-Error", "Unhandled"});
  out.Respond(200, headers, result.body);
}

}  // namespace anysnap
