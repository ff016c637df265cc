#include "layer/zip_status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace anysnap::layer {
namespace {

TEST(ZipStatusTest, NoErrorIsOk) {
  zip_error_t error;
  zip_error_init(&error);
  EXPECT_TRUE(ZipErrorStatus("ctx", &error).ok());
  zip_error_fini(&error);
}

TEST(ZipStatusTest, SystemErrorsKeepTheirErrnoClass) {
  Status status = ZipOpenErrorStatus("open x.zip", ZIP_ER_OPEN, ENOENT);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_NE(status.message().find("open x.zip: "), std::string::npos);
  EXPECT_NE(status.message().find("No such file"), std::string::npos);
}

TEST(ZipStatusTest, ArchiveErrorsAreInvalidInput) {
  Status status = ZipOpenErrorStatus("open x.zip", ZIP_ER_NOZIP, 0);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "open x.zip: Not a zip archive");
}

}  // namespace
}  // namespace anysnap::layer
