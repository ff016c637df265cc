#include "layer/zip_status.h"

#include <cerrno>
#include <string>

namespace anysnap::layer {
namespace {

// Builds a Status with `code` and `message`; the factories are the only way in.
Status StatusWithCode(Status::Code code, const std::string& message) {
  switch (code) {
    case Status::Code::kNotFound:
      return Status::NotFound(message);
    case Status::Code::kPermissionDenied:
      return Status::PermissionDenied(message);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(message);
    case Status::Code::kInternal:
      return Status::Internal(message);
    case Status::Code::kAborted:
      return Status::Aborted(message);
    default:
      return Status::IoError(message);
  }
}

}  // namespace

Status ZipErrorStatus(std::string_view context, zip_error_t* error) {
  int code = zip_error_code_zip(error);
  if (code == ZIP_ER_OK) return Status::Ok();
  // zip_error_strerror names the libzip error and, for system errors, strerror.
  std::string message = std::string(context) + ": " + zip_error_strerror(error);
  if (zip_error_system_type(error) == ZIP_ET_SYS && zip_error_code_system(error) != 0) {
    return StatusWithCode(PosixError(context, zip_error_code_system(error)).code(), message);
  }
  switch (code) {
    case ZIP_ER_NOENT:
      return Status::NotFound(message);
    case ZIP_ER_EXISTS:
    case ZIP_ER_INVAL:
    case ZIP_ER_NOZIP:
    case ZIP_ER_INCONS:
    case ZIP_ER_CRC:
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_ZIPCLOSED:
    case ZIP_ER_DELETED:
      return Status::InvalidArgument(message);
    case ZIP_ER_MEMORY:
    case ZIP_ER_INTERNAL:
      return Status::Internal(message);
    case ZIP_ER_CANCELLED:
      return Status::Aborted(message);
    default:
      return Status::IoError(message);
  }
}

Status ZipOpenErrorStatus(std::string_view context, int code, int sys_errno) {
  zip_error_t error;
  zip_error_init(&error);
  zip_error_set(&error, code, sys_errno);
  Status status = ZipErrorStatus(context, &error);
  zip_error_fini(&error);
  return status;
}

}  // namespace anysnap::layer
