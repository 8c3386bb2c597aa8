#include "decode/form.h"

#include <gtest/gtest.h>

namespace sextant::decode {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(UrlDecodeTest, PercentAndPlus) {
  EXPECT_EQ(UrlDecode("a%2Bb%2fc%3D+d"), "a+b/c= d");
  EXPECT_EQ(UrlDecode("%E7%A5%9E"), "\xE7\xA5\x9E");
  EXPECT_EQ(UrlDecode(""), "");
}

TEST(UrlDecodeTest, StrayPercentKeptLiterally) {
  EXPECT_EQ(UrlDecode("100%"), "100%");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UrlDecode("%%41"), "%A");
}

TEST(UrlEncodeTest, RoundTrip) {
  std::string bytes = "a+b/c= d&\x01\xff~._-";
  EXPECT_EQ(UrlEncode("a+b/="), "a%2Bb%2F%3D");
  EXPECT_EQ(UrlDecode(UrlEncode(bytes)), bytes);
}

TEST(ParseUrlEncodedTest, PairsInOrderWithEmptyAndBareKeys) {
  Params params;
  ASSERT_TRUE(ParseUrlEncoded("a=1&&b=&c&d=x%3Dy=z&a=2", &params).ok());
  Params expected = {{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "x=y=z"}, {"a", "2"}};
  EXPECT_EQ(params, expected);
  EXPECT_EQ(*FindParam(params, "a"), "1");
  EXPECT_EQ(FindParam(params, "zz"), nullptr);
}

TEST(ParseUrlEncodedTest, EmptyInput) {
  Params params;
  ASSERT_TRUE(ParseUrlEncoded("", &params).ok());
  EXPECT_TRUE(params.empty());
}

TEST(ParseUrlEncodedTest, TooManyParamsIsBadForm) {
  std::string text;
  for (size_t i = 0; i <= kMaxFormParams; ++i) text += "a=1&";
  Params params;
  Status st = ParseUrlEncoded(text, &params);
  EXPECT_EQ(st.code(), ErrorCode::kBadForm);
}

}  // namespace
}  // namespace sextant::decode
