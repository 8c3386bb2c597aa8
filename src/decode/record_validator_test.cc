#include "decode/record_validator.h"

#include <gtest/gtest.h>

#include "decode/record_parser.h"

namespace sextant::decode {
namespace {

constexpr int64_t kNow = 1700000000000;

ValidationOptions Options() {
  ValidationOptions options;
  options.now_ms = kNow;
  return options;
}

Status Validate(std::string_view json, Record* out = nullptr) {
  Result<Record> r = ParseSensorsRecord(json, TimeZone());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return r.status();
  Status st = ValidateRecord(&r.value(), Options());
  if (out) *out = std::move(r).value();
  return st;
}

void ExpectError(std::string_view json, ErrorCode code, std::string_view field) {
  Status st = Validate(json);
  EXPECT_EQ(st.code(), code) << json << " → " << st.ToString();
  EXPECT_EQ(st.field(), field) << json;
}

TEST(CheckNameTest, Shapes) {
  EXPECT_TRUE(CheckName("ViewProduct", "event").ok());
  EXPECT_TRUE(CheckName("$pageview", "event").ok());
  EXPECT_TRUE(CheckName("_a1$", "x").ok());
  EXPECT_TRUE(CheckName(std::string(100, 'a'), "x").ok());
  EXPECT_EQ(CheckName(std::string(101, 'a'), "x").code(), ErrorCode::kInvalidName);
  EXPECT_EQ(CheckName("1abc", "x").code(), ErrorCode::kInvalidName);
  EXPECT_EQ(CheckName("", "x").code(), ErrorCode::kInvalidName);
  EXPECT_EQ(CheckName("a-b", "x").code(), ErrorCode::kInvalidName);
  EXPECT_EQ(CheckName("Order Completed", "x").code(), ErrorCode::kInvalidName);
  EXPECT_EQ(CheckName("名字", "x").code(), ErrorCode::kInvalidName);
}

TEST(CheckNameTest, ReservedCaseInsensitive) {
  for (std::string_view name : {"distinct_id", "original_id", "time", "properties", "id", "first_id",
                                "second_id", "users", "events", "event", "user_id", "date",
                                "datetime", "USER_ID", "Time", "user_tag_x", "user_group", "User_Group9"}) {
    Status st = CheckName(name, "properties.x");
    EXPECT_EQ(st.code(), ErrorCode::kReservedName) << name;
    EXPECT_EQ(st.field(), "properties.x");
  }
  EXPECT_TRUE(CheckName("user_ids", "x").ok());
  EXPECT_TRUE(CheckName("times", "x").ok());
  EXPECT_TRUE(CheckName("$time", "x").ok());
}

TEST(ValidateRecordTest, ValidTrack) {
  EXPECT_TRUE(Validate(R"({"type":"track","event":"Buy","distinct_id":"u1","time":1700000000000,
      "properties":{"price":9.5,"tags":["a"],"when":"2024-01-02 03:04:05.006"}})").ok());
}

TEST(ValidateRecordTest, RecordWithoutTimeIsValid) {
  EXPECT_TRUE(Validate(R"({"type":"track","event":"Buy","distinct_id":"u1"})").ok());
}

TEST(ValidateRecordTest, GoStyleProfileSetAccepted) {
  Record r;
  EXPECT_TRUE(Validate(R"({"type":"profile_set","event":"","project":"","distinct_id":"u1",
      "time":1700000000000,"properties":{"name":"Alice"}})", &r).ok());
  EXPECT_EQ(r.event, "");
}

TEST(ValidateRecordTest, EventNames) {
  ExpectError(R"({"type":"track","distinct_id":"u"})", ErrorCode::kMissingField, "event");
  ExpectError(R"({"type":"track","event":"1bad","distinct_id":"u"})", ErrorCode::kInvalidName, "event");
  ExpectError(R"({"type":"track","event":"events","distinct_id":"u"})", ErrorCode::kReservedName, "event");
  Record r;
  EXPECT_TRUE(Validate(R"({"type":"track_signup","distinct_id":"u","original_id":"a"})", &r).ok());
  EXPECT_EQ(r.event, "$SignUp");
}

TEST(ValidateRecordTest, PropertyNames) {
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"user_id":"x"}})",
              ErrorCode::kReservedName, "properties.user_id");
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"1abc":"x"}})",
              ErrorCode::kInvalidName, "properties.1abc");
}

TEST(ValidateRecordTest, Ids) {
  ExpectError(R"({"type":"track","event":"E"})", ErrorCode::kMissingField, "distinct_id");
  ExpectError(R"({"type":"profile_set","distinct_id":""})", ErrorCode::kMissingField, "distinct_id");
  ExpectError(R"({"type":"track","event":"E","distinct_id":")" + std::string(256, 'x') + "\"}",
              ErrorCode::kInvalidId, "distinct_id");
  EXPECT_TRUE(Validate(R"({"type":"track","event":"E","distinct_id":")" + std::string(255, 'x') + "\"}").ok());
  ExpectError(R"({"type":"track_signup","event":"$SignUp","distinct_id":"u"})", ErrorCode::kMissingField,
              "original_id");
  ExpectError(R"({"type":"track","event":"E","identities":{"$identity_mobile":""}})", ErrorCode::kInvalidId,
              "identities.$identity_mobile");
  ExpectError(R"({"type":"track","event":"E","identities":{"bad key":"1"}})", ErrorCode::kInvalidName,
              "identities.bad key");
  EXPECT_TRUE(Validate(R"({"type":"track","event":"E","identities":{"$identity_cookie_id":"C"}})").ok());
}

TEST(ValidateRecordTest, BindUnbind) {
  ExpectError(R"({"type":"track_id_bind","event":"$BindID","identities":{"$identity_login_id":"u"}})",
              ErrorCode::kInvalidValue, "identities");
  EXPECT_TRUE(Validate(R"({"type":"track_id_bind","event":"$BindID","distinct_id":"u",
      "identities":{"$identity_login_id":"u","$identity_mobile":"138"}})").ok());
  ExpectError(R"({"type":"track_id_unbind","event":"$UnbindID","identities":{"a":"1","b":"2"}})",
              ErrorCode::kInvalidValue, "identities");
  EXPECT_TRUE(Validate(R"({"type":"track_id_unbind","identities":{"$identity_mobile":"138"}})").ok());
}

TEST(ValidateRecordTest, Items) {
  EXPECT_TRUE(Validate(R"({"type":"item_set","item_type":"book","item_id":"b1","properties":{"price":31.54}})").ok());
  EXPECT_TRUE(Validate(R"({"type":"item_delete","item_type":"book","item_id":"b1"})").ok());
  ExpectError(R"({"type":"item_set","item_id":"b1"})", ErrorCode::kMissingField, "item_type");
  ExpectError(R"({"type":"item_set","item_type":"book"})", ErrorCode::kMissingField, "item_id");
  ExpectError(R"({"type":"item_set","item_type":"date","item_id":"b1"})", ErrorCode::kReservedName, "item_type");
}

TEST(ValidateRecordTest, TimeWindow) {
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","time":1000000000000})",
              ErrorCode::kTimeOutOfWindow, "time");
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","time":1700003600001})",
              ErrorCode::kTimeOutOfWindow, "time");
  EXPECT_TRUE(Validate(R"({"type":"track","event":"E","distinct_id":"u","time":1700003600000})").ok());
  EXPECT_TRUE(Validate(R"({"type":"track","event":"E","distinct_id":"u","time":1000000000000,"time_free":true})").ok());
}

TEST(ValidateRecordTest, ValueLimits) {
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"n":9000000000000001}})",
              ErrorCode::kInvalidValue, "properties.n");
  EXPECT_TRUE(Validate(R"({"type":"track","event":"E","distinct_id":"u","properties":{"n":-9000000000000000}})").ok());
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"s":")" + std::string(8193, 'x') + "\"}}",
              ErrorCode::kValueTooLong, "properties.s");
  std::string list = "[";
  for (int i = 0; i < 501; ++i) list += (i ? ",\"x\"" : "\"x\"");
  list += "]";
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"l":)" + list + "}}",
              ErrorCode::kValueTooLong, "properties.l");
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","properties":{"l":["a",")" + std::string(8193, 'x') + "\"]}}",
              ErrorCode::kValueTooLong, "properties.l[1]");
  Record r;
  r.type = RecordType::kTrack;
  r.event = "E";
  r.distinct_id = "u";
  for (int i = 0; i < 1001; ++i) r.properties.emplace_back("p" + std::to_string(i), Value::Bool(true));
  Status st = ValidateRecord(&r, Options());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidValue);
  EXPECT_EQ(st.field(), "properties");
}

TEST(ValidateRecordTest, ProfileOperations) {
  ExpectError(R"({"type":"profile_increment","distinct_id":"u","properties":{"points":"5"}})",
              ErrorCode::kInvalidValue, "properties.points");
  EXPECT_TRUE(Validate(R"({"type":"profile_increment","distinct_id":"u","properties":{"points":5}})").ok());
  Record r;
  EXPECT_TRUE(Validate(R"({"type":"profile_append","distinct_id":"u","properties":{"interests":"books"}})", &r).ok());
  EXPECT_EQ(*r.FindProperty("interests"), Value::List({"books"}));
  ExpectError(R"({"type":"profile_append","distinct_id":"u","properties":{"n":1}})", ErrorCode::kInvalidValue,
              "properties.n");
  EXPECT_TRUE(Validate(R"({"type":"profile_unset","distinct_id":"u","properties":{"age":true,"x":1}})").ok());
  ExpectError(R"({"type":"profile_unset","distinct_id":"u","properties":{"1x":true}})", ErrorCode::kInvalidName,
              "properties.1x");
  EXPECT_TRUE(Validate(R"({"type":"profile_delete","distinct_id":"u","properties":{"1x":true}})").ok());
}

TEST(ValidateRecordTest, ProjectOverrideName) {
  ExpectError(R"({"type":"track","event":"E","distinct_id":"u","project":"bad project"})",
              ErrorCode::kInvalidName, "project");
}

}  // namespace
}  // namespace sextant::decode
