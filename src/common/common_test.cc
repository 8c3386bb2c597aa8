#include <gtest/gtest.h>

#include "common/hash.h"
#include "common/json_writer.h"
#include "common/record.h"
#include "common/status.h"
#include "common/time_zone.h"

namespace sextant {
namespace {

TEST(StatusTest, CarriesCodeFieldAndMessage) {
  Status status(ErrorCode::kInvalidName, "must start with a letter", "properties.1abc");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.ToString(), "invalid_name (2003) at properties.1abc: must start with a letter");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(TimeZoneTest, ShanghaiDaysAndFormatting) {
  TimeZone zone;  // Asia/Shanghai
  // 2024-01-01 16:00:00 UTC is 2024-01-02 00:00 in Shanghai.
  int64_t ms = 1704124800000;
  EXPECT_EQ(FormatDate(zone.DayOf(ms)), "2024-01-02");
  EXPECT_EQ(FormatDate(zone.DayOf(ms - 1)), "2024-01-01");
  EXPECT_EQ(FormatDatetime(ms + 6, zone), "2024-01-02 00:00:00.006");
  EXPECT_EQ(zone.DayStartMs(zone.DayOf(ms)), ms);
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(FormatDate(DaysFromCivil(2000, 2, 29)), "2000-02-29");
}

TEST(TimeZoneTest, ParsesOffsetsAndRejectsUnknown) {
  auto zone = TimeZone::FromName("-05:30");
  ASSERT_TRUE(zone.has_value());
  EXPECT_EQ(zone->offset_ms(), -(5 * 60 + 30) * 60'000);
  EXPECT_FALSE(TimeZone::FromName("Mars/Olympus").has_value());
  // A zone with daylight saving time is refused, with an answer that says what is accepted.
  EXPECT_FALSE(TimeZone::FromName("America/New_York").has_value());
  const std::string message = UnknownTimeZoneMessage("America/New_York");
  EXPECT_NE(message.find("\"America/New_York\""), std::string::npos);
  EXPECT_NE(message.find("Asia/Shanghai"), std::string::npos);
  EXPECT_NE(message.find("+08:00"), std::string::npos);
  EXPECT_EQ(TimeZone::FromName("UTC")->offset_ms(), 0);
}

TEST(JsonWriterTest, WritesNestedDocumentsWithEscapes) {
  JsonWriter writer;
  writer.BeginObject()
      .Key("a").String("x\"y\n")
      .Key("b").BeginArray().Int(1).Double(1.5).Bool(true).Null().EndArray()
      .Key("c").BeginObject().EndObject()
      .EndObject();
  EXPECT_EQ(writer.str(), R"({"a":"x\"y\n","b":[1,1.5,true,null],"c":{}})");
}

TEST(JsonWriterTest, ReplacesInvalidUtf8AndKeepsValid) {
  std::string out;
  AppendJsonEscaped("ok \xE4\xBD\xA0 bad \xFF", &out);
  EXPECT_EQ(out, "ok \xE4\xBD\xA0 bad \xEF\xBF\xBD");
}

// Plain runs are copied whole; every kind of escape can sit between, before and after them.
TEST(JsonWriterTest, EscapesBetweenPlainRuns) {
  std::string out = "[";
  AppendJsonEscaped("\x01" "ab\\c\"d\te\rf\ng\x1F\xE4\xBD\xA0h\"", &out);
  EXPECT_EQ(out, "[\\u0001ab\\\\c\\\"d\\te\\rf\\ng\\u001f\xE4\xBD\xA0h\\\"");
  out.clear();
  AppendJsonEscaped("", &out);
  AppendJsonEscaped("plain only", &out);
  EXPECT_EQ(out, "plain only");
}

// Found by fuzz_csv_import (corpus crash-*): overlong forms, UTF-16 surrogates and code
// points above U+10FFFF are invalid UTF-8 too and were copied as they were.
TEST(JsonWriterTest, ReplacesOverlongSurrogateAndOutOfRangeSequences) {
  std::string out;
  AppendJsonEscaped("\xC0\x80|\xE0\x80\x80|\xED\xA0\x80|\xF0\x80\x80\x80|\xF4\x90\x80\x80|\xF5", &out);
  const std::string bad = "\xEF\xBF\xBD";
  EXPECT_EQ(out, bad + bad + "|" + bad + bad + bad + "|" + bad + bad + bad + "|" + bad + bad + bad + bad +
                     "|" + bad + bad + bad + bad + "|" + bad);
  out.clear();
  AppendJsonEscaped("\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", &out);
  EXPECT_EQ(out, "\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
}

TEST(JsonWriterTest, PropertyValuesRoundTripDatetime) {
  TimeZone zone;
  JsonWriter writer;
  writer.BeginArray()
      .PropertyValue(Value::Datetime(1704124800006), zone)
      .PropertyValue(Value::List({"a", "b"}), zone)
      .PropertyValue(Value::Number(31.54), zone)
      .EndArray();
  EXPECT_EQ(writer.str(), R"(["2024-01-02 00:00:00.006",["a","b"],31.54])");
}

TEST(RecordTest, TypeNamesRoundTrip) {
  RecordType type;
  ASSERT_TRUE(ParseRecordType("profile_append", &type));
  EXPECT_EQ(type, RecordType::kProfileAppend);
  EXPECT_EQ(RecordTypeName(RecordType::kTrackIdUnbind), "track_id_unbind");
  EXPECT_FALSE(ParseRecordType("detail_set", &type));
  EXPECT_TRUE(IsEventRecord(RecordType::kTrackSignup));
  EXPECT_TRUE(IsProfileRecord(RecordType::kProfileDelete));
  EXPECT_TRUE(IsItemRecord(RecordType::kItemDelete));
}

TEST(HashTest, StableValues) {
  EXPECT_EQ(Hash64("abc"), Hash64("abc"));
  EXPECT_NE(Hash64("abc"), Hash64("abd"));
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
}

}  // namespace
}  // namespace sextant

#include "common/value_codec.h"

namespace sextant {
namespace {

TEST(ValueCodecTest, RoundTripsEveryTypeAndRejectsTruncation) {
  PropertyMap map = {{"n", Value::Number(9.5)},          {"b", Value::Bool(true)},
                     {"s", Value::String("张三")},       {"l", Value::List({"a", "b"})},
                     {"dt", Value::Datetime(1700000000123)}, {"d", Value::Date(19000)}};
  std::string bytes = EncodePropertyMap(map);
  PropertyMap decoded;
  ASSERT_TRUE(DecodePropertyMap(bytes, &decoded));
  EXPECT_EQ(decoded, map);
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(DecodePropertyMap(std::string_view(bytes).substr(0, cut), &decoded)) << cut;
}

}  // namespace
}  // namespace sextant
