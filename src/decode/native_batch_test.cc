#include "decode/native_batch.h"

#include <gtest/gtest.h>

#include "decode/record_parser.h"

namespace sextant::decode {
namespace {

TEST(NativeBatchTest, JsonArray) {
  auto r = SplitNativeBatch(R"( [{"type":"track","event":"A"}, {"type":"profile_set"}, 3] )", 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], R"({"type":"track","event":"A"})");
  EXPECT_EQ((*r)[2], "3");
}

TEST(NativeBatchTest, NdjsonSkipsBlankLinesAndKeepsBadLines) {
  auto r = SplitNativeBatch("{\"type\":\"track\"}\r\n\n   \n{broken\n{\"type\":\"item_set\"}\n", 100);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], "{\"type\":\"track\"}");
  EXPECT_EQ((*r)[1], "{broken");  // its own entry: the per-record parser reports index 1
  EXPECT_EQ(ParseSensorsRecord((*r)[1], TimeZone()).status().code(), ErrorCode::kBadJson);
  EXPECT_EQ((*r)[2], "{\"type\":\"item_set\"}");
}

TEST(NativeBatchTest, SinglePrettyObject) {
  auto r = SplitNativeBatch("\xEF\xBB\xBF{\n  \"type\": \"track\",\n  \"event\": \"A\"\n}\n", 100);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE(ParseSensorsRecord((*r)[0], TimeZone()).ok());
}

TEST(NativeBatchTest, Errors) {
  EXPECT_EQ(SplitNativeBatch("", 10).status().code(), ErrorCode::kMissingPayload);
  EXPECT_EQ(SplitNativeBatch(" \n\t", 10).status().code(), ErrorCode::kMissingPayload);
  EXPECT_EQ(SplitNativeBatch("[{\"a\":1},", 10).status().code(), ErrorCode::kBadJson);
  EXPECT_EQ(SplitNativeBatch("hello", 10).status().code(), ErrorCode::kBadJson);
  EXPECT_EQ(SplitNativeBatch("[1,2,3]", 2).status().code(), ErrorCode::kTooManyRecords);
  EXPECT_EQ(SplitNativeBatch("{}\n{}\n{}", 2).status().code(), ErrorCode::kTooManyRecords);
  EXPECT_TRUE(SplitNativeBatch("[]", 2).ok());
}

}  // namespace
}  // namespace sextant::decode
