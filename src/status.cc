#include "anysnap/status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace anysnap {

Status PosixError(std::string_view context, int err) {
  std::string msg = std::string(context) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return Status::NotFound(msg);
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(msg);
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
      return Status::Unavailable(msg);
    case EINVAL:
      return Status::InvalidArgument(msg);
    case ETIMEDOUT:
      return Status::TimedOut(msg);
    default:
      return Status::IoError(msg);
  }
}

}  // namespace anysnap
