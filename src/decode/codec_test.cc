// base64, gzip, Java hashCode.
#include <gtest/gtest.h>

#include "decode/base64.h"
#include "decode/gzip.h"
#include "decode/java_hash.h"

namespace sextant::decode {
namespace {

TEST(Base64Test, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(Base64Decode("aGVsbG8=").value(), "hello");
  EXPECT_EQ(Base64Decode("aGVsbG8").value(), "hello");
  EXPECT_EQ(Base64Decode("aGk=").value(), "hi");
  EXPECT_EQ(Base64Decode("aGk").value(), "hi");
  EXPECT_EQ(Base64Decode("").value(), "");
  EXPECT_EQ(Base64Decode("+/+/").value(), "\xfb\xff\xbf");
}

TEST(Base64Test, IgnoresLineBreaks) {
  EXPECT_EQ(Base64Decode("aGVs\r\nbG8=\n").value(), "hello");
}

TEST(Base64Test, RejectsBadInput) {
  EXPECT_EQ(Base64Decode("aGVs!G8=").status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64Decode("a").status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64Decode("aGk=aGk=").status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64Decode("aGk===").status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64Decode("aGVsbG8==").status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64Decode("aG k=").status().code(), ErrorCode::kBadBase64);
}

TEST(Base64Test, LenientRetriesSpacesAsPlus) {
  std::string b64 = Base64Encode("\xfb\xef\xbe?>");  // contains '+' and '/'
  ASSERT_NE(b64.find('+'), std::string::npos);
  std::string spaced = b64;
  for (char& c : spaced) if (c == '+') c = ' ';
  EXPECT_EQ(Base64Decode(spaced).status().code(), ErrorCode::kBadBase64);
  EXPECT_EQ(Base64DecodeLenient(spaced).value(), "\xfb\xef\xbe?>");
  EXPECT_EQ(Base64DecodeLenient("!!!").status().code(), ErrorCode::kBadBase64);
}

TEST(Base64Test, OutputLimit) {
  EXPECT_EQ(Base64Decode(Base64Encode(std::string(100, 'x')), 50).status().code(),
            ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(Base64Decode(Base64Encode(std::string(100, 'x')), 100).ok());
}

TEST(Base64Test, EncodeRoundTrip) {
  for (size_t n = 0; n < 20; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i * 37 + 11));
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)).value(), bytes);
  }
}

TEST(GzipTest, RoundTripAndMagic) {
  std::string text = "[{\"type\":\"track\"}]";
  std::string gz = GzipCompress(text);
  EXPECT_TRUE(HasGzipMagic(gz));
  EXPECT_FALSE(HasGzipMagic(text));
  EXPECT_EQ(Gunzip(gz, 1 << 20).value(), text);
}

TEST(GzipTest, ConcatenatedMembersAndTrailingJunk) {
  std::string two = GzipCompress("ab") + GzipCompress("cd");
  EXPECT_EQ(Gunzip(two, 100).value(), "abcd");
  EXPECT_EQ(Gunzip(GzipCompress("ab") + "\n\0junk", 100).value(), "ab");
}

TEST(GzipTest, CorruptAndTruncated) {
  std::string gz = GzipCompress(std::string(1000, 'a') + "xyz");
  EXPECT_EQ(Gunzip(gz.substr(0, gz.size() / 2), 1 << 20).status().code(), ErrorCode::kBadGzip);
  EXPECT_EQ(Gunzip("not gzip", 1 << 20).status().code(), ErrorCode::kBadGzip);
  EXPECT_EQ(Gunzip("", 1 << 20).status().code(), ErrorCode::kBadGzip);
  std::string broken = gz;
  broken[12] ^= 0x55;
  broken[13] ^= 0x55;
  Result<std::string> r = Gunzip(broken, 1 << 20);
  EXPECT_FALSE(r.ok() && r.value() == std::string(1000, 'a') + "xyz");
}

TEST(GzipTest, BombIsStoppedAtLimit) {
  std::string bomb = GzipCompress(std::string(50 << 20, '\0'));  // 50 MiB → ~50 KB
  EXPECT_LT(bomb.size(), 100u << 10);
  Result<std::string> r = Gunzip(bomb, 1 << 20);
  EXPECT_EQ(r.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(r.status().field(), "gzip");
}

TEST(JavaHashTest, MatchesJava) {
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("a"), 97);
  EXPECT_EQ(JavaStringHashCode("hello"), 99162322);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE
  EXPECT_EQ(JavaStringHashCode("polygenelubricants"), INT32_MIN);
  // Non-ASCII: "神" is U+795E → one UTF-16 unit; "😀" is a surrogate pair.
  EXPECT_EQ(JavaStringHashCode("\xE7\xA5\x9E"), 0x795E);
  EXPECT_EQ(JavaStringHashCode("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
}

}  // namespace
}  // namespace sextant::decode
