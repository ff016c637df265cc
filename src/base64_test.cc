#include "anysnap/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace anysnap {
namespace {

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  const char* pairs[][2] = {{"", ""},
                            {"Zg==", "f"},
                            {"Zm8=", "fo"},
                            {"Zm9v", "foo"},
                            {"Zm9vYg==", "foob"},
                            {"Zm9vYmE=", "fooba"},
                            {"Zm9vYmFy", "foobar"}};
  for (const auto& [encoded, plain] : pairs) {
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain) << encoded;
  }
}

TEST(Base64Test, AcceptsMissingPadding) {
  EXPECT_EQ(*Base64Decode("Zg"), "f");
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");
  EXPECT_EQ(*Base64Decode("Zm9vYmE"), "fooba");
}

TEST(Base64Test, RoundTripsEveryByteValueAtEveryLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t len = 0; len <= all.size(); ++len) {
    std::string data = all.substr(all.size() - len);
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.ok()) << len;
    ASSERT_EQ(*decoded, data) << len;
  }
}

TEST(Base64Test, DecodesALambdaErrorTrailer) {
  const std::string doc = R"({"errorType":"Error","errorMessage":"boom","trace":["at x"]})";
  EXPECT_EQ(*Base64Decode(Base64Encode(doc)), doc);
}

TEST(Base64Test, RejectsMalformedText) {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Z===", "Zg==Zg==", "=Zg=", "Zm 9v", "Zm9v\n",
                          "Zm9v-_==", "Zh==", "Zm9=", "Zm8=x"}) {
    auto decoded = Base64Decode(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace anysnap
