// Names of the Lambda Runtime API: its paths, headers and error types, and the
// classification of a request target into the endpoint it addresses. Shared by
// the delegator, the wrapper and the local emulator so that all three agree on
// what "the first next" or "a response for id X" is.
#ifndef ANYSNAP_RUNTIME_API_H_
#define ANYSNAP_RUNTIME_API_H_

#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "anysnap/status.h"

namespace anysnap {

inline constexpr std::string_view kRuntimePrefix = "/2018-06-01/runtime/";
inline constexpr std::string_view kNextPath = "/2018-06-01/runtime/invocation/next";
inline constexpr std::string_view kInitErrorPath = "/2018-06-01/runtime/init/error";
inline constexpr std::string_view kRestoreNextPath = "/2018-06-01/runtime/restore/next";
inline constexpr std::string_view kRestoreErrorPath = "/2018-06-01/runtime/restore/error";

inline constexpr std::string_view kRequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
inline constexpr std::string_view kDeadlineHeader = "Lambda-Runtime-Deadline-Ms";
inline constexpr std::string_view kFunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
inline constexpr std::string_view kTraceIdHeader = "Lambda-Runtime-Trace-Id";
inline constexpr std::string_view kClientContextHeader = "Lambda-Runtime-Client-Context";
inline constexpr std::string_view kCognitoIdentityHeader = "Lambda-Runtime-Cognito-Identity";
inline constexpr std::string_view kTenantIdHeader = "Lambda-Runtime-Aws-Tenant-Id";
inline constexpr std::string_view kErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";
inline constexpr std::string_view kErrorBodyTrailer = "Lambda-Runtime-Function-Error-Body";
inline constexpr std::string_view kXrayErrorCauseHeader =
    "Lambda-Runtime-Function-XRay-Error-Cause";
inline constexpr std::string_view kResponseModeHeader = "Lambda-Runtime-Function-Response-Mode";
// Error types anysnap reports for the runtime, as Lambda names them.
inline constexpr std::string_view kBeforeSnapshotErrorType = "Runtime.BeforeSnapshotError";
inline constexpr std::string_view kAfterRestoreErrorType = "Runtime.AfterRestoreError";
inline constexpr std::string_view kInvalidConfigurationErrorType = "Runtime.InvalidConfiguration";
inline constexpr std::string_view kInvalidEntrypointErrorType = "Runtime.InvalidEntrypoint";
inline constexpr std::string_view kUnknownErrorType = "Runtime.Unknown";
inline constexpr std::string_view kUnknownReasonErrorType = "Runtime.UnknownReason";
inline constexpr std::string_view kServerStoppedErrorType = "Runtime.ServerStopped";
// The error type of a runtime that exited: the wrapper reports it, Lambda and
// anysnap-local answer it, and it always ends the execution environment.
inline constexpr std::string_view kExitErrorType = "Runtime.ExitError";

// The Runtime API endpoint a request target addresses (query strings ignored).
enum class RuntimeEndpoint {
  kNext,             // GET invocation/next
  kResponse,         // POST invocation/{id}/response
  kInvocationError,  // POST invocation/{id}/error
  kInitError,        // POST init/error
  kRestoreNext,      // GET restore/next
  kRestoreError,     // POST restore/error
  kOther,            // anything else: other API families, unknown paths
};

struct RuntimeTarget {
  RuntimeEndpoint endpoint = RuntimeEndpoint::kOther;
  std::string request_id;  // kResponse and kInvocationError only
};

// invocation/{id}/response and invocation/{id}/error.
std::string InvocationResponsePath(std::string_view request_id);
std::string InvocationErrorPath(std::string_view request_id);

// Classifies `target` by path alone; the method is the caller's to check.
RuntimeTarget ClassifyRuntimeTarget(std::string_view target);

// The one method `endpoint` takes: "GET" for the two nexts, "POST" for the
// rest; empty for kOther.
std::string_view RuntimeEndpointMethod(RuntimeEndpoint endpoint);

// Lambda's request ids: random version-4 UUIDs, lowercase (uuid.h), drawn
// from a generator seeded once from std::random_device. Thread-safe.
class RequestIdGenerator {
 public:
  RequestIdGenerator();
  std::string Next();

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

// The Runtime API's error document, {"errorType":"...","errorMessage":"..."}:
// what Lambda answers for a failed invoke, what a runtime posts to the error
// endpoints, and every error answer anysnap makes up itself.
std::string RuntimeErrorDocument(std::string_view error_type, std::string_view message);

// The two fields of an error document; a member that is absent or not a
// string is empty.
struct RuntimeErrorFields {
  std::string type;     // errorType
  std::string message;  // errorMessage
};

// Reads an error document. InvalidArgument when `document` is not a JSON
// object (a runtime may post anything).
Result<RuntimeErrorFields> ParseRuntimeErrorDocument(std::string_view document);

}  // namespace anysnap

#endif  // ANYSNAP_RUNTIME_API_H_
