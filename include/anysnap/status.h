// Status is anysnap's one error type: OK costs nothing, anything else carries a
// code and a message of the form "context: detail". Result<T> is a value or a
// non-OK Status. errno becomes a Status in exactly one place (PosixError).
//
// Thread-compatible: distinct objects may be used from distinct threads.
#ifndef ANYSNAP_STATUS_H_
#define ANYSNAP_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace anysnap {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input: a setting, a request, a path
    kNotFound,
    kPermissionDenied,
    kIoError,        // a system call failed
    kUnavailable,    // a peer is gone or unreachable
    kProtocolError,  // a peer broke HTTP or the Runtime API
    kTooLarge,       // a size limit was exceeded
    kTimedOut,
    kAborted,  // stopped on purpose (shutdown)
    kFailed,   // a program or hook ran and reported failure
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return {Code::kInvalidArgument, msg}; }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status PermissionDenied(std::string_view msg) { return {Code::kPermissionDenied, msg}; }
  static Status IoError(std::string_view msg) { return {Code::kIoError, msg}; }
  static Status Unavailable(std::string_view msg) { return {Code::kUnavailable, msg}; }
  static Status ProtocolError(std::string_view msg) { return {Code::kProtocolError, msg}; }
  static Status TooLarge(std::string_view msg) { return {Code::kTooLarge, msg}; }
  static Status TimedOut(std::string_view msg) { return {Code::kTimedOut, msg}; }
  static Status Aborted(std::string_view msg) { return {Code::kAborted, msg}; }
  static Status Failed(std::string_view msg) { return {Code::kFailed, msg}; }
  static Status Internal(std::string_view msg) { return {Code::kInternal, msg}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: <this message>".
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }

  // Returns a copy whose message is `prefix` followed by this message.
  Status WithPrefix(std::string_view prefix) const {
    if (ok()) return *this;
    return Status(code_, std::string(prefix) + message_);
  }

  // "OK" or the message.
  std::string ToString() const { return ok() ? "OK" : message_; }

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Turns errno value `err` from the call described by `context` into a Status.
Status PosixError(std::string_view context, int err);

// Result<T> holds a T or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must be an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace anysnap

// Returns early from the enclosing function when `expr` is not OK.
#define ANYSNAP_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::anysnap::Status anysnap_status_ = (expr);        \
    if (!anysnap_status_.ok()) return anysnap_status_; \
  } while (0)

#endif  // ANYSNAP_STATUS_H_
