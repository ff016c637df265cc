#include "anysnap/runtime_api.h"

#include "anysnap/log.h"

namespace anysnap {

RuntimeTarget ClassifyRuntimeTarget(std::string_view target) {
  RuntimeTarget t;
  target = target.substr(0, target.find('?'));
  if (target == kNextPath) {
    t.endpoint = RuntimeEndpoint::kNext;
  } else if (target == kInitErrorPath) {
    t.endpoint = RuntimeEndpoint::kInitError;
  } else if (target == kRestoreNextPath) {
    t.endpoint = RuntimeEndpoint::kRestoreNext;
  } else if (target == kRestoreErrorPath) {
    t.endpoint = RuntimeEndpoint::kRestoreError;
  } else {
    constexpr std::string_view kInvocation = "/2018-06-01/runtime/invocation/";
    if (target.substr(0, kInvocation.size()) != kInvocation) return t;
    std::string_view rest = target.substr(kInvocation.size());
    size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return t;
    std::string_view id = rest.substr(0, slash);
    std::string_view verb = rest.substr(slash + 1);
    if (verb == "response") {
      t.endpoint = RuntimeEndpoint::kResponse;
    } else if (verb == "error") {
      t.endpoint = RuntimeEndpoint::kInvocationError;
    } else {
      return t;
    }
    t.request_id = std::string(id);
  }
  return t;
}

std::string RuntimeErrorDocument(std::string_view error_type, std::string_view message) {
  std::string doc = "{\"errorMessage\":\"";
  AppendJsonEscaped(doc, message);
  doc += "\",\"errorType\":\"";
  AppendJsonEscaped(doc, error_type);
  doc += "\",\"stackTrace\":[]}";
  return doc;
}

}  // namespace anysnap
