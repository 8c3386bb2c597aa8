// Segment and tag definitions: parsing (every rule kind and its errors with the field path),
// window boundaries, schedules, and UserColumn selection with absent values.
#include "audience/definitions.h"

#include <gtest/gtest.h>

#include <cmath>

#include "audience/user_column.h"

namespace sextant::audience {
namespace {

constexpr int64_t kDay = 86'400'000;

Status ParseError(std::string_view json) {
  auto parsed = ParseSegmentDefinition(json);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

TEST(SegmentDefinitionTest, ParsesTheIssueExample) {
  auto parsed = ParseSegmentDefinition(R"({"name": "active_rich", "rule": {"all": [
      {"profile": "aum", "op": ">=", "value": 500000},
      {"did": "BuyFund", "where": [{"property": "amount", "op": ">", "value": 10000}],
       "count": {"op": ">=", "value": 2}, "within": {"last": "30d"}},
      {"not": {"tag": "risk_tier", "op": "in", "value": ["C1", "C2"]}}]}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const RuleNode& rule = parsed->rule;
  ASSERT_EQ(rule.kind, RuleNode::Kind::kAll);
  ASSERT_EQ(rule.children.size(), 3u);
  EXPECT_EQ(rule.children[0].kind, RuleNode::Kind::kProfile);
  EXPECT_EQ(rule.children[0].name, "aum");
  EXPECT_EQ(rule.children[0].condition.op, query::CompareOp::kGe);
  const RuleNode& did = rule.children[1];
  EXPECT_EQ(did.kind, RuleNode::Kind::kDid);
  EXPECT_EQ(did.step.event, "BuyFund");
  ASSERT_TRUE(did.step.where.has_value());
  EXPECT_EQ(did.step.where->children[0].condition.property.name, "amount");
  EXPECT_FALSE(did.step.where->children[0].condition.property.user);
  EXPECT_EQ(did.threshold.op, query::CompareOp::kGe);
  EXPECT_EQ(did.threshold.values[0].number, 2);
  EXPECT_EQ(did.within.kind, Window::Kind::kLastDays);
  EXPECT_EQ(did.within.days, 30);
  EXPECT_EQ(rule.children[2].kind, RuleNode::Kind::kNot);
  EXPECT_EQ(rule.children[2].children[0].kind, RuleNode::Kind::kTag);
  EXPECT_EQ(rule.children[2].children[0].condition.values.size(), 2u);
  EXPECT_EQ(parsed->kind, SegmentDefinition::Kind::kRule);
  EXPECT_TRUE(parsed->realtime);
  EXPECT_FALSE(parsed->refresh_given);
}

TEST(SegmentDefinitionTest, ParsesSequencesSumsDidNotAndReferences) {
  auto parsed = ParseSegmentDefinition(R"({"name": "x", "refresh": {"every_minutes": 15},
      "realtime": false, "rule": {"any": [
      {"sequence": [{"event": "ViewFund"}, {"event": "BuyFund", "where": {"any": [
          {"property": "amount", "op": ">", "value": 1}]}}], "window": "2h",
       "within": {"from": "2026-01-01", "to": "2026-01-31"}},
      {"did_not": "Login", "within": {"last": "12h"}},
      {"did": "Deposit", "sum": {"property": "amount", "op": "between", "value": [1, 9]}},
      {"segment": 12}]}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto& children = parsed->rule.children;
  EXPECT_EQ(children[0].kind, RuleNode::Kind::kSequence);
  EXPECT_EQ(children[0].steps.size(), 2u);
  EXPECT_EQ(children[0].step_window_ms, 2 * 3'600'000);
  EXPECT_EQ(children[0].within.kind, Window::Kind::kDays);
  EXPECT_EQ(children[1].kind, RuleNode::Kind::kNot);
  EXPECT_EQ(children[1].children[0].within.kind, Window::Kind::kLastMs);
  EXPECT_EQ(children[1].children[0].within.ms, 12 * 3'600'000);
  EXPECT_EQ(children[2].measure, RuleNode::Measure::kSum);
  EXPECT_EQ(children[2].sum_property, "amount");
  EXPECT_EQ(children[2].within.kind, Window::Kind::kAll);
  EXPECT_EQ(children[3].kind, RuleNode::Kind::kSegment);
  EXPECT_EQ(children[3].name, "12");
  EXPECT_FALSE(parsed->realtime);
  EXPECT_EQ(parsed->refresh.kind, Schedule::Kind::kEveryMinutes);
  EXPECT_EQ(parsed->refresh.minutes, 15);
}

TEST(SegmentDefinitionTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"rule": {"profile": "a", "op": "is_set"}})", "name"},
      {R"({"name": "x", "rule": {"all": []}})", "rule.all"},
      {R"({"name": "x", "rule": {"all": [{"profile": "a", "op": "~"}]}})", "rule.all[0].op"},
      {R"({"name": "x", "rule": {"profile": "a", "op": "in", "value": 3}})", "rule.value"},
      {R"({"name": "x", "rule": {"did": "E", "count": {"op": ">", "value": "2"}}})",
       "rule.count.value"},
      {R"({"name": "x", "rule": {"did": "E", "count": {"op": ">"}, "sum": {}}})", "rule"},
      {R"({"name": "x", "rule": {"did": "E", "within": {"last": "0d"}}})", "rule.within.last"},
      {R"({"name": "x", "rule": {"did": "E", "within": {"from": "2026-02-01", "to": "2026-01-01"}}})",
       "rule.within.to"},
      {R"({"name": "x", "rule": {"did": "E", "where": [{"property": "a", "op": "=", "value": {}}]}})",
       "rule.where[0].value"},
      {R"({"name": "x", "rule": {"sequence": [{"event": "A"}, {"event": "B"}], "window": "soon"}})",
       "rule.window"},
      {R"({"name": "x", "rule": {"not": {"segment": true}}})", "rule.not.segment"},
      {R"({"name": "x", "rule": {"profile": "a", "op": "=", "value": 1}, "refresh": {"daily_at": "25:00"}})",
       "refresh.daily_at"},
      {R"({"name": "x", "rule": {"profile": "a", "op": "=", "value": 1}, "realtime": "yes"})",
       "realtime"},
  };
  for (const Case& c : cases) {
    Status status = ParseError(c.json);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidQuery) << c.json;
    EXPECT_EQ(status.field(), c.field) << c.json << " → " << status.message();
  }
  EXPECT_EQ(ParseError("[1]").code(), ErrorCode::kInvalidQuery);
  EXPECT_EQ(ParseError("{").code(), ErrorCode::kBadJson);
}

TEST(TagDefinitionTest, ParsesKindsAndDerivesValueTypes) {
  auto rule = ParseTagDefinition(R"({"name": "aum_tier", "kind": "rule", "category": "资产",
      "values": [{"value": "A", "rule": {"profile": "aum", "op": ">=", "value": 1}}], "default": "C",
      "schedule": {"daily_at": "02:30"}})");
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->value_type, ValueType::kString);
  EXPECT_EQ(rule->schedule.minute_of_day, 150);
  auto numeric_rule = ParseTagDefinition(R"({"name": "score", "kind": "rule",
      "values": [{"value": 3, "rule": {"profile": "aum", "op": ">=", "value": 1}}]})");
  ASSERT_TRUE(numeric_rule.ok());
  EXPECT_EQ(numeric_rule->value_type, ValueType::kNumber);
  auto statistic = ParseTagDefinition(R"({"name": "n", "kind": "statistic", "event": "E",
      "aggregate": "distinct", "property": "p", "within": {"last": "4w"}})");
  ASSERT_TRUE(statistic.ok());
  EXPECT_EQ(statistic->aggregate, StatisticAggregate::kDistinct);
  EXPECT_EQ(statistic->within.days, 28);
  auto first =
      ParseTagDefinition(R"({"name": "f", "kind": "first_last", "event": "E", "which": "first"})");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->first);
  EXPECT_EQ(first->value_type, ValueType::kDatetime);
  EXPECT_EQ(
      ParseTagDefinition(R"({"name": "p", "kind": "preference", "event": "E"})").status().field(),
      "property");
  EXPECT_EQ(ParseTagDefinition(R"({"name": "x y", "kind": "imported"})").status().field(), "name");
  EXPECT_EQ(ParseTagDefinition(R"({"name": "i", "kind": "imported", "value_type": "LIST"})")
                .status()
                .field(),
            "value_type");
  EXPECT_EQ(ParseTagDefinition(R"({"name": "l", "kind": "lookalike"})").status().field(), "seed");
  EXPECT_EQ(
      ParseTagDefinition(R"({"name": "s", "kind": "statistic", "event": "E", "status": "live"})")
          .status()
          .field(),
      "status");
}

TEST(WindowTest, LastDaysAreCalendarDaysIncludingToday) {
  const TimeZone zone;  // Asia/Shanghai
  const int32_t day = 20'000;
  const int64_t now = zone.DayStartMs(day) + 5 * 3'600'000;  // 05:00 local
  Window window;
  window.kind = Window::Kind::kLastDays;
  window.days = 1;
  Interval today = Resolve(window, now, zone);
  EXPECT_EQ(today.start_ms, zone.DayStartMs(day));
  EXPECT_EQ(today.end_ms, zone.DayStartMs(day + 1));
  EXPECT_TRUE(today.Contains(zone.DayStartMs(day)));       // first instant of today
  EXPECT_FALSE(today.Contains(zone.DayStartMs(day) - 1));  // last instant of yesterday
  EXPECT_FALSE(today.Contains(zone.DayStartMs(day + 1)));
  window.days = 30;
  EXPECT_EQ(Resolve(window, now, zone).start_ms, zone.DayStartMs(day - 29));
  Window rolling;
  rolling.kind = Window::Kind::kLastMs;
  rolling.ms = kDay;
  Interval last_day = Resolve(rolling, now, zone);
  EXPECT_FALSE(last_day.Contains(now - kDay));  // (now - 24h, now]
  EXPECT_TRUE(last_day.Contains(now - kDay + 1));
  EXPECT_TRUE(last_day.Contains(now));
  EXPECT_FALSE(last_day.Contains(now + 1));
  Window fixed;
  fixed.kind = Window::Kind::kDays;
  fixed.first_day = day - 2;
  fixed.last_day = day - 1;
  EXPECT_EQ(Resolve(fixed, now, zone).end_ms, zone.DayStartMs(day));
  EXPECT_TRUE(Resolve(Window{}, now, zone).Contains(INT64_MIN));
}

TEST(ScheduleTest, NextRunTimes) {
  const TimeZone zone;
  const int64_t midnight = zone.DayStartMs(20'000);
  Schedule daily;
  daily.kind = Schedule::Kind::kDailyAt;
  daily.minute_of_day = 0;
  EXPECT_EQ(daily.NextAfter(midnight - 1, zone), midnight);
  EXPECT_EQ(daily.NextAfter(midnight, zone), midnight + kDay);
  daily.minute_of_day = 90;
  EXPECT_EQ(daily.NextAfter(midnight, zone), midnight + 90 * 60'000);
  Schedule every;
  every.kind = Schedule::Kind::kEveryMinutes;
  every.minutes = 5;
  EXPECT_EQ(every.NextAfter(0, zone), 300'000);
  EXPECT_EQ(every.NextAfter(300'000, zone), 600'000);
  EXPECT_EQ(Schedule{}.NextAfter(0, zone), INT64_MAX);
  EXPECT_EQ(ParseDuration("90m"), 90 * 60'000);
  EXPECT_EQ(ParseDuration("2w"), 14 * kDay);
  EXPECT_FALSE(ParseDuration("5"));
  EXPECT_FALSE(ParseDuration("-1d"));
  EXPECT_FALSE(ParseDuration("1y"));
}

TEST(UserColumnTest, SelectsWithAbsentValuesLikeTheQueryLanguage) {
  UserColumn numbers(ValueType::kNumber);
  const Value a = Value::Number(5), b = Value::Number(10);
  numbers.Set(1, &a);
  numbers.Set(3, &b);
  query::CompiledCondition ge;
  ge.op = query::CompareOp::kGe;
  ge.type = ValueType::kNumber;
  ge.numbers = {6};
  Roaring selected = numbers.Select(ge, 6);
  EXPECT_EQ(selected.toString(), "{3}");
  query::CompiledCondition ne = ge;
  ne.op = query::CompareOp::kNe;
  ne.numbers = {5};
  // A condition on an absent value is false (docs/query.md), != included; users beyond the
  // stored slots are absent too.
  EXPECT_EQ(numbers.Select(ne, 6).toString(), "{3}");
  query::CompiledCondition not_set = ge;
  not_set.op = query::CompareOp::kNotSet;
  EXPECT_EQ(numbers.Select(not_set, 6).toString(), "{2,4,5}");

  UserColumn strings(ValueType::kString);
  const Value c1 = Value::String("C1"), c3 = Value::String("C3");
  strings.Set(1, &c1);
  strings.Set(2, &c3);
  strings.Set(4, &c1);
  strings.Set(4, nullptr);
  query::CompiledCondition in;
  in.op = query::CompareOp::kIn;
  in.type = ValueType::kString;
  in.strings = {"C1", "C2"};
  EXPECT_EQ(strings.Select(in, 5).toString(), "{1}");
  in.op = query::CompareOp::kNotIn;
  EXPECT_EQ(strings.Select(in, 5).toString(), "{2}");
  EXPECT_EQ(strings.Present().toString(), "{1,2}");
  ASSERT_TRUE(strings.Get(2).has_value());
  EXPECT_EQ(strings.Get(2)->str(), "C3");
  EXPECT_FALSE(strings.Get(4).has_value());
  // A value of another type is stored as absent.
  strings.Set(3, &a);
  EXPECT_FALSE(strings.Has(3));
}

}  // namespace
}  // namespace sextant::audience
