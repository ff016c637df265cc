#include "anysnap/runtime_api.h"

#include <rapidjson/document.h>

#include "anysnap/log.h"
#include "anysnap/uuid.h"

namespace anysnap {

namespace {

constexpr std::string_view kInvocationPrefix = "/2018-06-01/runtime/invocation/";

}  // namespace

std::string InvocationResponsePath(std::string_view request_id) {
  return std::string(kInvocationPrefix) + std::string(request_id) + "/response";
}

std::string InvocationErrorPath(std::string_view request_id) {
  return std::string(kInvocationPrefix) + std::string(request_id) + "/error";
}

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
    if (target.substr(0, kInvocationPrefix.size()) != kInvocationPrefix) return t;
    std::string_view rest = target.substr(kInvocationPrefix.size());
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

std::string_view RuntimeEndpointMethod(RuntimeEndpoint endpoint) {
  switch (endpoint) {
    case RuntimeEndpoint::kNext:
    case RuntimeEndpoint::kRestoreNext:
      return "GET";
    case RuntimeEndpoint::kResponse:
    case RuntimeEndpoint::kInvocationError:
    case RuntimeEndpoint::kInitError:
    case RuntimeEndpoint::kRestoreError:
      return "POST";
    case RuntimeEndpoint::kOther:
      break;
  }
  return {};
}

RequestIdGenerator::RequestIdGenerator() {
  std::random_device seed;
  rng_.seed((static_cast<uint64_t>(seed()) << 32) ^ seed());
}

std::string RequestIdGenerator::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t hi = rng_();
  return FormatUuidV4(hi, rng_());
}

std::string RuntimeErrorDocument(std::string_view error_type, std::string_view message) {
  std::string doc = "{\"errorType\":\"";
  AppendJsonEscaped(doc, error_type);
  doc += "\",\"errorMessage\":\"";
  AppendJsonEscaped(doc, message);
  doc += "\"}";
  return doc;
}

Result<RuntimeErrorFields> ParseRuntimeErrorDocument(std::string_view document) {
  rapidjson::Document doc;
  doc.Parse(document.data(), document.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Status::InvalidArgument("the error document is not a JSON object");
  }
  auto string_member = [&](const char* name) -> std::string {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  return RuntimeErrorFields{string_member("errorType"), string_member("errorMessage")};
}

}  // namespace anysnap
