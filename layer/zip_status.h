// The one place where libzip's errors become a Status: a zip_error_t (from an
// archive, a file in it or a source), or the bare error code zip_open reports.
// A system error carried by libzip goes through PosixError, so ENOENT stays
// kNotFound whether it came from libzip or from our own calls.
#ifndef ANYSNAP_LAYER_ZIP_STATUS_H_
#define ANYSNAP_LAYER_ZIP_STATUS_H_

#include <zip.h>

#include <string_view>

#include "anysnap/status.h"

namespace anysnap::layer {

// Returns the Status for `error` from the call described by `context`; OK when
// `error` holds no error.
Status ZipErrorStatus(std::string_view context, zip_error_t* error);

// Returns the Status for the error code `code` zip_open stored, with `sys_errno` the
// errno libzip left behind.
Status ZipOpenErrorStatus(std::string_view context, int code, int sys_errno);

}  // namespace anysnap::layer

#endif  // ANYSNAP_LAYER_ZIP_STATUS_H_
