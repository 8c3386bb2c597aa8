#include "store/row_codec.h"

#include <gtest/gtest.h>

namespace sextant::store {
namespace {

EventRow FullRow() {
  EventRow row;
  row.user_id = 42;
  row.time_ms = 1'704'067'200'123;
  row.event_id = 7;
  row.track_id = -5;
  row.receive_time_ms = 1'704'067'200'000;
  row.distinct_id = "device-abc";
  row.properties = {
      {1, Value::Number(3.25)},
      {2, Value::Bool(true)},
      {3, Value::String("上海")},
      {4, Value::List({"a", "", "c"})},
      {5, Value::Datetime(-12345)},
      {6, Value::Date(19'000)},
  };
  return row;
}

TEST(RowCodecTest, RoundTripsEveryValueType) {
  std::vector<EventRow> rows = {FullRow(), EventRow()};
  std::string bytes;
  EncodeRows(9, rows, &bytes);
  ProjectId project = 0;
  std::vector<EventRow> decoded;
  ASSERT_TRUE(DecodeRows(bytes, &project, &decoded).ok());
  EXPECT_EQ(project, 9u);
  EXPECT_EQ(decoded, rows);
}

TEST(RowCodecTest, DecodeRowReusesTarget) {
  std::string bytes;
  EncodeRow(FullRow(), &bytes);
  EventRow other;
  other.properties = {{3, Value::String("previous value")}};
  std::string_view in = bytes;
  ASSERT_TRUE(DecodeRow(&in, &other));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(other, FullRow());
}

TEST(RowCodecTest, VarintsAndZigZag) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  }
  std::string out;
  PutVarint(&out, UINT64_MAX);
  EXPECT_EQ(out.size(), 10u);
  std::string_view in = out;
  uint64_t v = 0;
  ASSERT_TRUE(GetVarint(&in, &v));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(RowCodecTest, EveryTruncationIsRejectedNotCrashing) {
  std::string bytes;
  EncodeRows(1, {FullRow(), FullRow()}, &bytes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    ProjectId project;
    std::vector<EventRow> rows;
    Status st = DecodeRows(std::string_view(bytes).substr(0, len), &project, &rows);
    EXPECT_EQ(st.code(), ErrorCode::kCorruption) << "len " << len;
  }
  // Flipping bytes never crashes (the result may or may not decode).
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0xff);
    ProjectId project;
    std::vector<EventRow> rows;
    (void)DecodeRows(damaged, &project, &rows);
  }
}

}  // namespace
}  // namespace sextant::store
