#include "anysnap/uuid.h"

#include <gtest/gtest.h>

namespace anysnap {
namespace {

TEST(UuidTest, SetsVersionAndVariant) {
  EXPECT_EQ(FormatUuidV4(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(FormatUuidV4(~uint64_t{0}, ~uint64_t{0}), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(FormatUuidV4(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "01234567-89ab-4def-bedc-ba9876543210");
}

}  // namespace
}  // namespace anysnap
