#include "decode/segment_spec.h"

#include <gtest/gtest.h>

#include "common/hash.h"
#include "decode/record_validator.h"

namespace sextant::decode {
namespace {

const TimeZone kZone;

Record One(std::string_view kind, std::string_view body) {
  auto r = DecodeSegment(kind, body, kZone);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r->size() != 1) return Record{};
  EXPECT_TRUE((*r)[0].ok()) << (*r)[0].status().ToString();
  return (*r)[0].ok() ? (*r)[0].value() : Record{};
}

TEST(SegmentTest, Track) {
  Record r = One("track", R"({"userId":"u1","anonymousId":"a1","event":"Order Completed",
      "messageId":"m-1","timestamp":"2024-01-02T03:04:05.678Z",
      "properties":{"revenue":9.5,"items":[{"sku":"x"}],"meta":{"a":1},"tags":["a",2],"Order ID":"o1","n":null},
      "context":{"ip":"1.2.3.4","userAgent":"UA","library":{"name":"analytics-node","version":"6.0"}}})");
  EXPECT_EQ(r.type, RecordType::kTrack);
  EXPECT_EQ(r.event, "Order_Completed");
  EXPECT_EQ(*r.FindProperty("$segment_event"), Value::String("Order Completed"));
  EXPECT_EQ(r.distinct_id, "u1");
  ASSERT_EQ(r.identities.size(), 2u);
  EXPECT_EQ(r.identities[0], (Identity{"$identity_login_id", "u1"}));
  EXPECT_EQ(r.identities[1], (Identity{"$identity_anonymous_id", "a1"}));
  EXPECT_EQ(*r.track_id, static_cast<int64_t>(Hash64("m-1") & ((uint64_t{1} << 62) - 1)));
  EXPECT_EQ(r.time_ms, 1704164645678);
  EXPECT_EQ(*r.FindProperty("revenue"), Value::Number(9.5));
  EXPECT_EQ(*r.FindProperty("meta"), Value::String(R"({"a":1})"));
  EXPECT_EQ(*r.FindProperty("items"), Value::List({R"({"sku":"x"})"}));
  EXPECT_EQ(*r.FindProperty("tags"), Value::List({"a", "2"}));
  EXPECT_EQ(*r.FindProperty("Order_ID"), Value::String("o1"));
  EXPECT_EQ(r.FindProperty("n"), nullptr);
  EXPECT_EQ(*r.FindProperty("$ip"), Value::String("1.2.3.4"));
  EXPECT_EQ(*r.FindProperty("$user_agent"), Value::String("UA"));
  EXPECT_EQ(r.lib, "analytics-node");
  EXPECT_EQ(r.lib_version, "6.0");
  ValidationOptions options;
  options.now_ms = 1704164645678;
  EXPECT_TRUE(ValidateRecord(&r, options).ok());
}

TEST(SegmentTest, IdentifyPageScreenAliasGroup) {
  Record r = One("identify", R"({"anonymousId":"a1","traits":{"email":"x@y","address":{"city":"SH"},"id":"7"}})");
  EXPECT_EQ(r.type, RecordType::kProfileSet);
  EXPECT_EQ(r.distinct_id, "a1");
  EXPECT_EQ(*r.FindProperty("address"), Value::String(R"({"city":"SH"})"));
  EXPECT_EQ(*r.FindProperty("segment_id"), Value::String("7"));

  r = One("page", R"({"userId":"u","name":"Home","properties":{"url":"http://x/a","title":"T","referrer":"r","path":"/a","search":"?q"}})");
  EXPECT_EQ(r.event, "$pageview");
  EXPECT_EQ(*r.FindProperty("$url"), Value::String("http://x/a"));
  EXPECT_EQ(*r.FindProperty("$title"), Value::String("T"));
  EXPECT_EQ(*r.FindProperty("$referrer"), Value::String("r"));
  EXPECT_EQ(*r.FindProperty("$url_path"), Value::String("/a"));
  EXPECT_EQ(*r.FindProperty("page_name"), Value::String("Home"));
  EXPECT_EQ(*r.FindProperty("search"), Value::String("?q"));

  r = One("screen", R"({"userId":"u","name":"Cart"})");
  EXPECT_EQ(r.event, "$AppViewScreen");
  EXPECT_EQ(*r.FindProperty("$screen_name"), Value::String("Cart"));

  r = One("alias", R"({"userId":"u","previousId":"a"})");
  EXPECT_EQ(r.type, RecordType::kTrackSignup);
  EXPECT_EQ(r.event, "$SignUp");
  EXPECT_EQ(r.distinct_id, "u");
  EXPECT_EQ(r.original_id, "a");

  r = One("group", R"({"userId":"u","groupId":"g1","traits":{"name":"Acme"}})");
  EXPECT_EQ(r.type, RecordType::kProfileSet);
  EXPECT_EQ(*r.FindProperty("group_id"), Value::String("g1"));
  EXPECT_EQ(*r.FindProperty("group_name"), Value::String("Acme"));
}

TEST(SegmentTest, BatchWithPerMessageErrors) {
  auto r = DecodeSegment("batch", R"({"batch":[
      {"type":"track","userId":"u","event":"A","timestamp":"2024-01-02T11:04:05+08:00"},
      {"type":"track","event":"NoIds"},
      {"type":"bogus","userId":"u"},
      {"userId":"u"},
      7,
      {"type":"identify","userId":"u","traits":{"x":1}}],
      "context":{"ip":"9.9.9.9"}})", kZone);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 6u);
  ASSERT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[0]->time_ms, 1704164645000);
  EXPECT_EQ(*(*r)[0]->FindProperty("$ip"), Value::String("9.9.9.9"));  // batch-level context
  EXPECT_EQ((*r)[1].status().code(), ErrorCode::kMissingField);
  EXPECT_EQ((*r)[2].status().code(), ErrorCode::kInvalidType);
  EXPECT_EQ((*r)[3].status().code(), ErrorCode::kMissingField);
  EXPECT_EQ((*r)[4].status().code(), ErrorCode::kBadJson);
  EXPECT_TRUE((*r)[5].ok());
}

TEST(SegmentTest, BodyErrors) {
  EXPECT_EQ(DecodeSegment("batch", "{", kZone).status().code(), ErrorCode::kBadJson);
  EXPECT_EQ(DecodeSegment("batch", "[]", kZone).status().code(), ErrorCode::kBadJson);
  EXPECT_EQ(DecodeSegment("batch", "{}", kZone).status().code(), ErrorCode::kMissingPayload);
  EXPECT_EQ(DecodeSegment("nope", "{}", kZone).status().code(), ErrorCode::kInvalidType);
  auto r = DecodeSegment("track", R"({"userId":"u","event":"A","timestamp":"yesterday"})", kZone);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].status().field(), "timestamp");
}

TEST(SegmentTest, SegmentName) {
  EXPECT_EQ(SegmentName("Order Completed"), "Order_Completed");
  EXPECT_EQ(SegmentName("1st-visit"), "_1st_visit");
  EXPECT_EQ(SegmentName("event"), "segment_event");
  EXPECT_EQ(SegmentName(""), "_");
  EXPECT_EQ(SegmentName(std::string(150, 'a')).size(), 100u);
  EXPECT_TRUE(CheckName(SegmentName("user_tag x"), "x").ok());
}

TEST(SegmentTest, Iso8601) {
  int64_t ms = 0;
  ASSERT_TRUE(ParseIso8601Ms("2024-01-02T03:04:05Z", kZone, &ms));
  EXPECT_EQ(ms, 1704164645000);
  ASSERT_TRUE(ParseIso8601Ms("2024-01-02T03:04:05.1Z", kZone, &ms));
  EXPECT_EQ(ms, 1704164645100);  // decimal fraction, unlike the Sensors DATETIME quirk
  ASSERT_TRUE(ParseIso8601Ms("2024-01-02T03:04:05.123456789-0130", kZone, &ms));
  EXPECT_EQ(ms, 1704164645123 + 5400000);
  ASSERT_TRUE(ParseIso8601Ms("2024-01-02 11:04:05", kZone, &ms));  // no offset: zone (+08)
  EXPECT_EQ(ms, 1704164645000);
  EXPECT_FALSE(ParseIso8601Ms("2024-01-02T03:04", kZone, &ms));
  EXPECT_FALSE(ParseIso8601Ms("2024-01-02T03:04:05Q", kZone, &ms));
  EXPECT_FALSE(ParseIso8601Ms("", kZone, &ms));
}

}  // namespace
}  // namespace sextant::decode
