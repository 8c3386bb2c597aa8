#include "decode/record_parser.h"

#include <gtest/gtest.h>

#include "decode/json_util.h"

namespace sextant::decode {
namespace {

const TimeZone kShanghai;  // +08:00
const TimeZone kUtc = *TimeZone::FromName("UTC");

Record Parse(std::string_view json, const TimeZone& zone = kShanghai) {
  Result<Record> r = ParseSensorsRecord(json, zone);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Record{};
}

Status ParseError(std::string_view json) { return ParseSensorsRecord(json, kShanghai).status(); }

TEST(RecordParserTest, NodeSdkRecord) {
  // Verbatim from protocol §3 (sa-sdk-node 1.2.6).
  Record r = Parse(R"({"_track_id":1040007018,"type":"track","event":"ViewProduct","time":1795352291310,"distinct_id":"anon-1",
 "properties":{"$lib":"Node","$lib_version":"1.2.6","env":"test","product_id":"p1","price":9.5,"tags":["a","b"],
               "ok":true,"when":"2024-01-02 03:04:05.006"},
 "lib":{"$lib":"Node","$lib_version":"1.2.6","$lib_method":"code","$lib_detail":"Object##<anonymous>##/path/t1.js##6,4"}})");
  EXPECT_EQ(r.type, RecordType::kTrack);
  EXPECT_EQ(r.event, "ViewProduct");
  EXPECT_EQ(r.distinct_id, "anon-1");
  EXPECT_EQ(r.time_ms, 1795352291310);
  EXPECT_TRUE(r.has_time);
  ASSERT_TRUE(r.track_id.has_value());
  EXPECT_EQ(*r.track_id, 1040007018);
  EXPECT_EQ(r.lib, "Node");
  EXPECT_EQ(r.lib_version, "1.2.6");
  ASSERT_EQ(r.properties.size(), 8u);
  EXPECT_EQ(r.properties[0].first, "$lib");
  EXPECT_EQ(*r.FindProperty("price"), Value::Number(9.5));
  EXPECT_EQ(*r.FindProperty("tags"), Value::List({"a", "b"}));
  EXPECT_EQ(*r.FindProperty("ok"), Value::Bool(true));
  EXPECT_EQ(*r.FindProperty("product_id"), Value::String("p1"));
  // 2024-01-02 03:04:05.006 in +08:00 = 2024-01-01T19:04:05.006Z
  EXPECT_EQ(*r.FindProperty("when"), Value::Datetime(1704135845006));
}

TEST(RecordParserTest, WebSignupWithIdentities) {
  Record r = Parse(R"({"identities":{"$identity_cookie_id":"C","$identity_login_id":"user-1","$identity_anonymous_id":"C"},
    "distinct_id":"user-1","original_id":"C","login_id":"user-1","anonymous_id":"C","type":"track_signup",
    "event":"$SignUp","properties":{"$lib":"js","$is_first_day":true,"$screen_width":1280},
    "lib":{"$lib":"js","$lib_method":"code","$lib_version":"1.27.11"},"_track_id":123456789,"_flush_time":1700000000123})");
  EXPECT_EQ(r.type, RecordType::kTrackSignup);
  EXPECT_EQ(r.original_id, "C");
  EXPECT_EQ(r.login_id, "user-1");
  EXPECT_EQ(r.anonymous_id, "C");
  ASSERT_EQ(r.identities.size(), 3u);
  EXPECT_EQ(r.identities[1], (Identity{"$identity_login_id", "user-1"}));
  EXPECT_EQ(r.flush_time_ms, 1700000000123);
  EXPECT_FALSE(r.has_time);
}

TEST(RecordParserTest, DatetimeMillisecondQuirk) {
  // ".6", ".06", ".006" are all 6 ms; ".45" is 45 ms; ".123" is 123 ms.
  Record r = Parse(R"({"type":"track","properties":{"a":"2024-01-02 03:04:05.6","b":"2024-01-02 03:04:05.06",
      "c":"2024-01-02 03:04:05.006","d":"2024-01-02 03:04:05.45","e":"2024-01-02 03:04:05.123",
      "f":"2024-01-02 03:04:05","g":"2024-01-02"}})", kUtc);
  const int64_t base = 1704164645000;  // 2024-01-02T03:04:05Z
  EXPECT_EQ(*r.FindProperty("a"), Value::Datetime(base + 6));
  EXPECT_EQ(*r.FindProperty("b"), Value::Datetime(base + 6));
  EXPECT_EQ(*r.FindProperty("c"), Value::Datetime(base + 6));
  EXPECT_EQ(*r.FindProperty("d"), Value::Datetime(base + 45));
  EXPECT_EQ(*r.FindProperty("e"), Value::Datetime(base + 123));
  EXPECT_EQ(*r.FindProperty("f"), Value::Datetime(base));
  EXPECT_EQ(*r.FindProperty("g"), Value::Date(19724));
}

TEST(RecordParserTest, DatetimeLookalikesStayStrings) {
  Record r = Parse(R"({"type":"track","properties":{"a":"2024-01-02T03:04:05","b":"2024-13-02",
      "c":"2024-01-02 03:04:05.1234","d":"2024-02-30","e":"2024-01-02 24:00:00","f":"2024-1-2","g":"2024-01-02 03:04:05."}})");
  for (const auto& [name, value] : r.properties) {
    EXPECT_EQ(value.type(), ValueType::kString) << name;
  }
}

TEST(RecordParserTest, GoStyleEmptyEventAndProject) {
  Record r = Parse(R"({"type":"profile_set","event":"","project":"","distinct_id":"u1","time":1700000000000,
      "properties":{"name":"Alice","age":30}})");
  EXPECT_EQ(r.type, RecordType::kProfileSet);
  EXPECT_EQ(r.event, "");
  EXPECT_EQ(r.project, "");
  EXPECT_EQ(*r.FindProperty("age"), Value::Number(30));
}

TEST(RecordParserTest, TrackIdBeyondInt32AndAsString) {
  EXPECT_EQ(*Parse(R"({"type":"track","_track_id":9876543210})").track_id, 9876543210);
  EXPECT_EQ(*Parse(R"({"type":"track","_track_id":"-42"})").track_id, -42);
  EXPECT_EQ(ParseError(R"({"type":"track","_track_id":"12x"})").field(), "_track_id");
  EXPECT_EQ(ParseError(R"({"type":"track","_track_id":18446744073709551615})").code(),
            ErrorCode::kInvalidValue);
}

TEST(RecordParserTest, TenDigitSecondsAreMultiplied) {
  EXPECT_EQ(Parse(R"({"type":"track","time":1700000000})").time_ms, 1700000000000);
  EXPECT_EQ(Parse(R"({"type":"track","time":1700000000000})").time_ms, 1700000000000);
  EXPECT_EQ(Parse(R"({"type":"track","time":1.7e12})").time_ms, 1700000000000);
  EXPECT_EQ(ParseError(R"({"type":"track","time":"1700000000000"})").field(), "time");
  EXPECT_EQ(ParseError(R"({"type":"track","time":1.5})").code(), ErrorCode::kInvalidValue);
}

TEST(RecordParserTest, NumericIdsAreStringified) {
  Record r = Parse(R"({"type":"track","distinct_id":12345,"identities":{"$identity_mobile":13800000000}})");
  EXPECT_EQ(r.distinct_id, "12345");
  EXPECT_EQ(r.identities[0].value, "13800000000");
}

TEST(RecordParserTest, NullsAndUnknownFields) {
  Record r = Parse(R"({"type":"track","distinct_id":null,"whatever":{"x":[1]},"version":2,
      "properties":{"a":null,"b":1}})");
  EXPECT_EQ(r.distinct_id, "");
  ASSERT_EQ(r.properties.size(), 1u);
  EXPECT_EQ(r.properties[0].first, "b");
}

TEST(RecordParserTest, DuplicatePropertyKeepsLastValueFirstPosition) {
  Record r = Parse(R"({"type":"track","properties":{"a":1,"b":2,"a":3}})");
  ASSERT_EQ(r.properties.size(), 2u);
  EXPECT_EQ(r.properties[0], (std::pair<std::string, Value>{"a", Value::Number(3)}));
}

TEST(RecordParserTest, TypeErrors) {
  EXPECT_EQ(ParseError(R"({"event":"x"})").code(), ErrorCode::kMissingField);
  EXPECT_EQ(ParseError(R"({"type":"track_everything"})").code(), ErrorCode::kInvalidType);
  EXPECT_EQ(ParseError(R"({"type":5})").code(), ErrorCode::kInvalidValue);
  Status st = ParseError(R"({"type":"track","properties":{"price":{"amount":1}}})");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(st.field(), "properties.price");
  st = ParseError(R"({"type":"track","properties":{"tags":["a",1]}})");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(st.field(), "properties.tags[1]");
  st = ParseError(R"({"type":"track","identities":{"$identity_mobile":["x"]}})");
  EXPECT_EQ(st.field(), "identities.$identity_mobile");
  EXPECT_EQ(ParseError(R"({"type":"track","properties":[1]})").field(), "properties");
  EXPECT_EQ(ParseError(R"({"type":"track","lib":"js"})").field(), "lib");
  EXPECT_EQ(ParseError(R"({"type":"track","time_free":"yes"})").field(), "time_free");
  EXPECT_EQ(ParseError(R"({"type":"track","distinct_id":true})").field(), "distinct_id");
}

TEST(RecordParserTest, GarbageBytesAreBadJson) {
  EXPECT_EQ(ParseError("").code(), ErrorCode::kBadJson);
  EXPECT_EQ(ParseError("[]").code(), ErrorCode::kBadJson);
  EXPECT_EQ(ParseError("{\"type\":\"track\",\"event\":\"\xff\xfe\"}").code(), ErrorCode::kBadJson);
  EXPECT_EQ(ParseError(std::string("{\"type\"\0:1}", 11)).code(), ErrorCode::kBadJson);
  EXPECT_EQ(ParseError("{\"type\":\"track\"").code(), ErrorCode::kBadJson);
}

TEST(RecordParserTest, ItemRecord) {
  Record r = Parse(R"({"type":"item_set","item_type":"book","item_id":"0321714113","properties":{"price":31.54},"time":1700000000000})");
  EXPECT_EQ(r.type, RecordType::kItemSet);
  EXPECT_EQ(r.item_type, "book");
  EXPECT_EQ(r.item_id, "0321714113");
}

TEST(ParseSensorsDatetimeTest, ZoneApplied) {
  Value v;
  ASSERT_TRUE(internal::ParseSensorsDatetime("1970-01-01 08:00:00", kShanghai, &v));
  EXPECT_EQ(v, Value::Datetime(0));
  ASSERT_TRUE(internal::ParseSensorsDatetime("2024-02-29", kShanghai, &v));
  EXPECT_EQ(v.type(), ValueType::kDate);
  EXPECT_FALSE(internal::ParseSensorsDatetime("2023-02-29", kShanghai, &v));
}

}  // namespace
}  // namespace sextant::decode

namespace sextant::decode {
namespace {

TEST(ParseSensorsRecordListTest, ParsesArrayElementsIndependentlyInOnePass) {
  auto parsed = ParseSensorsRecordList(
      R"([{"type":"track","event":"A","distinct_id":"u","properties":{"p":1}},
          {"type":"nope"}, 7,
          {"type":"profile_set","distinct_id":"u","properties":{"n":"x"}}])",
      TimeZone(), 10);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_TRUE((*parsed)[0].parsed.ok());
  EXPECT_EQ((*parsed)[0].parsed->event, "A");
  EXPECT_EQ((*parsed)[0].raw_json, "");  // text is kept only for records that failed to parse
  EXPECT_EQ((*parsed)[1].raw_json, R"({"type":"nope"})");
  EXPECT_EQ((*parsed)[1].parsed.status().code(), ErrorCode::kInvalidType);
  EXPECT_EQ((*parsed)[2].parsed.status().code(), ErrorCode::kBadJson);
  EXPECT_EQ((*parsed)[3].parsed->type, RecordType::kProfileSet);
}

TEST(ParseSensorsRecordListTest, SingleObjectLimitsAndBadJson) {
  auto single = ParseSensorsRecordList(R"({"type":"track","event":"A","distinct_id":"u"})",
                                       TimeZone(), 10);
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_TRUE((*single)[0].parsed.ok());
  EXPECT_EQ(ParseSensorsRecordList("[{},{},{}]", TimeZone(), 2).status().code(),
            ErrorCode::kTooManyRecords);
  EXPECT_EQ(ParseSensorsRecordList("[{", TimeZone(), 2).status().code(), ErrorCode::kBadJson);
}

}  // namespace
}  // namespace sextant::decode

namespace sextant::decode {
namespace {

TEST(ParseSensorsRecordTest, RepeatedPropertyKeysKeepLastValueAtFirstPositionInLargeObjects) {
  std::string json = R"({"type":"track","event":"E","distinct_id":"u","properties":{)";
  for (int i = 0; i < 100; ++i) json += "\"p" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  json += R"("p3":"again","p70":true,"p1":[1]}})";
  auto bad = ParseSensorsRecord(json, TimeZone());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "properties.p1[0]");
  json.replace(json.find(R"("p1":[1])"), 8, R"("p1":["x"])");
  auto record = ParseSensorsRecord(json, TimeZone());
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  ASSERT_EQ(record->properties.size(), 100u);
  EXPECT_EQ(record->properties[3].second, Value::String("again"));
  EXPECT_EQ(record->properties[70].second, Value::Bool(true));
  EXPECT_EQ(record->properties[1].second, Value::List({"x"}));
  EXPECT_EQ(record->properties[99].first, "p99");
}

}  // namespace
}  // namespace sextant::decode
