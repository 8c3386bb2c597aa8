#include <gtest/gtest.h>

#include "query/analyses.h"
#include "query/query_spec.h"

namespace sextant::query {
namespace {

TEST(ParseQueryTest, ParsesFunnel) {
  auto spec = ParseQuery(R"({"type":"funnel","from":"2026-01-01","to":"2026-01-31",
      "window_seconds":3600,"steps":[{"event":"A"},{"event":"B","filter":{"all":[
      {"property":"event.amount","op":">","value":10}]}}]})", 0);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->type, QueryType::kFunnel);
  EXPECT_EQ(spec->funnel.window_ms, 3'600'000);
  ASSERT_EQ(spec->funnel.steps.size(), 2u);
  ASSERT_TRUE(spec->funnel.steps[1].filter.has_value());
  EXPECT_EQ(spec->range.last_day - spec->range.first_day, 30);
}

TEST(ParseQueryTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"({"type":"cube","from":"2026-01-01","to":"2026-01-02"})", "type"},
      {R"({"type":"events","from":"2026-13-01","to":"2026-01-02","measures":[{"event":"A"}]})", "from"},
      {R"({"type":"events","from":"2026-01-03","to":"2026-01-02","measures":[{"event":"A"}]})", "to"},
      {R"({"type":"events","last":"30x","measures":[{"event":"A"}]})", "last"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A","aggregator":"sum"}]})", "measures[0].property"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A"}],"filter":{"all":[{"property":"event.x","op":"~","value":1}]}})", "filter.all[0].op"},
      {R"({"type":"events","last":"3d","measures":[{"event":"A"}],"by":["x"]})", "by[0]"},
      {R"({"type":"funnel","last":"3d","steps":[{"event":"A"}]})", "steps"},
      {R"({"type":"retention","last":"3d","initial":{"event":"A"}})", "return"},
  };
  for (const Case& c : cases) {
    auto spec = ParseQuery(c.json, 20000);
    ASSERT_FALSE(spec.ok()) << c.json;
    EXPECT_EQ(spec.status().code(), ErrorCode::kInvalidQuery) << c.json;
    EXPECT_EQ(spec.status().field(), c.field) << c.json << " → " << spec.status().ToString();
  }
  EXPECT_EQ(ParseQuery("{nope", 0).status().code(), ErrorCode::kBadJson);
}

TEST(ParseQueryTest, RelativeRangeEndsToday) {
  auto spec = ParseQuery(R"({"type":"events","last":"2w","measures":[{"event":"A"}]})", 20000);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->range.last_day, 20000);
  EXPECT_EQ(spec->range.first_day, 20000 - 13);
}

TEST(TimeBucketsTest, WeeksStartOnMondayAndMonthsOnTheFirst) {
  const int32_t thursday = *ParseDate("2026-01-01");
  TimeBuckets weeks(TimeUnit::kWeek, {thursday, thursday + 13}, TimeZone());
  EXPECT_EQ(weeks.count(), 3u);
  EXPECT_EQ(weeks.Label(0), "2025-12-29");
  EXPECT_EQ(weeks.Label(1), "2026-01-05");
  TimeBuckets months(TimeUnit::kMonth, {thursday + 20, thursday + 40}, TimeZone());
  EXPECT_EQ(months.count(), 2u);
  EXPECT_EQ(months.Label(1), "2026-02-01");
  TimeBuckets hours(TimeUnit::kHour, {thursday, thursday}, TimeZone());
  // 2026-01-01 13:30 in Shanghai is 05:30 UTC.
  const int64_t instant = TimeZone().DayStartMs(thursday) + 13 * 3'600'000 + 1'800'000;
  EXPECT_EQ(hours.BucketOfMs(instant), 13);
  EXPECT_EQ(hours.Label(13), "2026-01-01 13:00");
}

}  // namespace
}  // namespace sextant::query
