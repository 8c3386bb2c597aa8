// Unit tests of the journey module's pure parts: definition parsing and validation, the touch
// rules (caps, quiet hours, suitability, template lint) and the hash-chained decision ledger.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "journey/decision_ledger.h"
#include "journey/journey_definition.h"
#include "journey/touch_rules.h"

namespace sextant::journey {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
// 2026-01-05 00:00 Asia/Shanghai (a Monday).
constexpr int64_t kMondayMidnight = 1767542400000;

std::string Journey(const std::string& nodes, const std::string& extra = "") {
  return R"({"name":"t","entry":{"type":"event","event":"deposit"},"start":"a","nodes":)" + nodes +
         extra + "}";
}

TEST(JourneyDefinitionTest, ParsesEveryNodeKind) {
  auto definition = ParseJourneyDefinition(Journey(R"({
    "a": {"type": "split", "condition": {"all": [{"profile": "tier", "op": "=", "value": "gold"},
                                                 {"event": {"property": "amount", "op": ">=", "value": 100}}]},
          "yes": "b", "no": "x"},
    "b": {"type": "ab", "branches": [{"name": "A", "weight": 1, "next": "c"}, {"name": "B", "weight": 3, "next": "d"}]},
    "c": {"type": "wait", "duration": "2h", "next": "d"},
    "d": {"type": "wait", "until": {"time": "09:30", "weekdays": [1, 2, 3, 4, 5]}, "next": "e"},
    "e": {"type": "wait", "event": "buy", "where": [{"property": "amount", "op": ">", "value": 0}], "timeout": "1d", "next": "f", "timeout_next": "g"},
    "f": {"type": "send", "channels": ["push", "sms"], "best_channel": true, "template": "t1", "item": {"type": "fund", "id_from": "event.fund_id"}, "next": "g"},
    "g": {"type": "task", "title": "call", "assign": {"property": "advisor_id", "pool": "desk"}, "sla": "4h", "next": "h"},
    "h": {"type": "update_profile", "set": {"contacted": true, "campaign": "spring"}, "next": "i"},
    "i": {"type": "webhook", "channel": "crm", "payload": {"k": 1}, "next": "j"},
    "j": {"type": "goal"},
    "x": {"type": "exit"}
  })"));
  ASSERT_TRUE(definition.ok()) << definition.status().ToString();
  EXPECT_EQ(definition->nodes.size(), 11u);
  const JourneyNode& until = definition->nodes[definition->NodeIndex("d")];
  EXPECT_EQ(until.kind, JourneyNode::Kind::kWaitUntil);
  EXPECT_EQ(until.until_minute, 9 * 60 + 30);
  EXPECT_EQ(until.weekdays, 0x1f);
  const JourneyNode& send = definition->nodes[definition->NodeIndex("f")];
  EXPECT_EQ(send.channels, (std::vector<std::string>{"push", "sms"}));
  EXPECT_EQ(send.item.id_from, "event.fund_id");
  EXPECT_EQ(definition->nodes[definition->NodeIndex("a")].condition.children[1].kind,
            SplitCondition::Kind::kEvent);
}

// An entry's `where` is compiled once, in the filter's shape, for the value types whose
// literals do not depend on the time zone; a type its literal cannot have is left empty (the
// condition is then false for such a value, as when compiled at evaluation).
TEST(JourneyDefinitionTest, EntryConditionsArePrecompiledInTheFiltersShape) {
  auto definition = ParseJourneyDefinition(R"({"name":"t","entry":{"type":"event","event":"buy",
      "where":{"all":[{"property":"amount","op":">=","value":100},
                      {"any":[{"property":"fund","op":"=","value":"F3"},
                              {"not":{"property":"name","op":"contains","value":"x"}}]}]}},
      "start":"x","nodes":{"x":{"type":"exit"}}})");
  ASSERT_TRUE(definition.ok()) << definition.status().ToString();
  const EventMatcher& entry = definition->entry.event;
  ASSERT_TRUE(entry.where.has_value());
  ASSERT_NE(entry.compiled_where, nullptr);
  const PrecompiledFilter& all = *entry.compiled_where;
  ASSERT_EQ(all.children.size(), 2u);
  const PrecompiledFilter& amount = all.children[0];
  ASSERT_TRUE(amount.number.has_value());
  EXPECT_EQ(amount.number->numbers, (std::vector<double>{100}));
  ASSERT_TRUE(amount.string.has_value());  // a STRING value compares with the text "100"
  EXPECT_EQ(amount.string->strings, (std::vector<std::string>{"100"}));
  EXPECT_FALSE(amount.boolean.has_value());
  const PrecompiledFilter& any = all.children[1];
  ASSERT_EQ(any.children.size(), 2u);
  EXPECT_FALSE(any.children[0].number.has_value());  // "F3" is not a number
  EXPECT_EQ(any.children[0].string->strings, (std::vector<std::string>{"F3"}));
  ASSERT_EQ(any.children[1].children.size(), 1u);   // not → its condition
  EXPECT_FALSE(any.children[1].children[0].number.has_value());  // contains needs a STRING
  EXPECT_TRUE(any.children[1].children[0].list.has_value());
}

struct BadCase {
  std::string json;
  std::string field;
};

TEST(JourneyDefinitionTest, ErrorsNameTheNodeAndField) {
  const std::vector<BadCase> cases = {
      {Journey(
           R"({"a": {"type": "wait", "duration": "10 minutes", "next": "x"}, "x": {"type": "exit"}})"),
       "nodes.a.duration"},
      {Journey(R"({"a": {"type": "send", "channel": "sms", "template": "t", "next": "nowhere"}})"),
       "nodes.a.next"},
      {Journey(R"({"a": {"type": "teleport", "next": "x"}, "x": {"type": "exit"}})"),
       "nodes.a.type"},
      {Journey(R"({"a": {"type": "wait", "duration": "1h", "next": "a"}})"), "nodes.a"},  // no exit
      {Journey(R"({"a": {"type": "exit"}, "orphan": {"type": "exit"}})"), "nodes.orphan"},
      {Journey(
           R"({"a": {"type": "send", "channel": "sms", "template": "t", "purpose": "transactional", "next": "x"}, "x": {"type": "exit"}})"),
       "nodes.a.justification"},
      {Journey(
           R"({"a": {"type": "split", "condition": {"did": "buy"}, "yes": "x", "no": "x"}, "x": {"type": "exit"}})"),
       "nodes.a.condition"},
      {Journey(
           R"({"a": {"type": "ab", "branches": [{"name": "A", "weight": 0, "next": "x"}, {"name": "B", "weight": 1, "next": "x"}]}, "x": {"type": "exit"}})"),
       "nodes.a.branches[0].weight"},
      {Journey(R"({"a": {"type": "exit"}})", R"(,"control_percent": 80)"), "control_percent"},
      {R"({"name":"t","entry":{"type":"breakpoint","event":"a","not_followed_by":"b"},"start":"x","nodes":{"x":{"type":"exit"}}})",
       "entry.wait"},
      {R"({"name":"t","entry":{"type":"schedule","segment":"s","every":"hourly","at":"09:00"},"start":"x","nodes":{"x":{"type":"exit"}}})",
       "entry.every"},
      {R"({"name":"t","entry":{"type":"key_date","property":"birthday","at":"25:00"},"start":"x","nodes":{"x":{"type":"exit"}}})",
       "entry.at"},
  };
  for (const BadCase& bad : cases) {
    auto definition = ParseJourneyDefinition(bad.json);
    ASSERT_FALSE(definition.ok()) << bad.json;
    EXPECT_EQ(definition.status().code(), ErrorCode::kInvalidQuery) << bad.json;
    EXPECT_EQ(definition.status().field(), bad.field) << definition.status().ToString();
  }
  EXPECT_EQ(ParseJourneyDefinition("[1,2").status().code(), ErrorCode::kBadJson);
}

TEST(TouchRulesTest, CalendarAndRollingCaps) {
  auto rules = ParseTouchRules(R"({"caps": [{"channel": "sms", "count": 1, "per": "day"},
                                            {"count": 3, "per": "week"},
                                            {"channel": "push", "count": 2, "per": "24h"}]})");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  const TimeZone zone;
  const int64_t monday_10 = kMondayMidnight + 10 * kHour;
  std::vector<TouchRecord> history = {{monday_10 - kHour, "sms", "j1", 50, false}};
  // Same calendar day: the SMS cap is reached; tomorrow it is not.
  EXPECT_EQ(ExceededGlobalCap(*rules, history, "sms", monday_10, zone), "sms: 1 per day");
  EXPECT_FALSE(ExceededGlobalCap(*rules, history, "sms", kMondayMidnight + kDay + kHour, zone));
  // Transactional touches do not count.
  history[0].transactional = true;
  EXPECT_FALSE(ExceededGlobalCap(*rules, history, "sms", monday_10, zone));
  // Three touches this week (any channel) reach the weekly cap, until next Monday.
  history = {{monday_10, "email", "j1", 50, false},
             {monday_10 + kDay, "email", "j2", 50, false},
             {monday_10 + 2 * kDay, "wechat", "j2", 50, false}};
  EXPECT_EQ(ExceededGlobalCap(*rules, history, "email", kMondayMidnight + 6 * kDay, zone),
            "*: 3 per week");
  EXPECT_FALSE(ExceededGlobalCap(*rules, history, "email", kMondayMidnight + 7 * kDay, zone));
  // Rolling 24 h: two pushes 23 h apart block a third until 24 h after the first.
  history = {{monday_10, "push", "j1", 50, false},
             {monday_10 + 23 * kHour, "push", "j1", 50, false}};
  EXPECT_TRUE(ExceededGlobalCap(*rules, history, "push", monday_10 + 23 * kHour + 1, zone));
  EXPECT_FALSE(ExceededGlobalCap(*rules, {history[1]}, "push", monday_10 + 24 * kHour + 1, zone));
}

TEST(TouchRulesTest, QuietHoursWrapPastMidnight) {
  auto rules = ParseTouchRules(R"({"quiet_hours": [{"from": "21:00", "to": "08:00"},
                                                   {"channel": "sms", "from": "12:00", "to": "13:00", "action": "drop"}]})");
  ASSERT_TRUE(rules.ok());
  const TimeZone zone;
  QuietVerdict late = CheckQuietHours(*rules, "push", kMondayMidnight + 22 * kHour, zone);
  EXPECT_TRUE(late.quiet);
  EXPECT_TRUE(late.defer);
  EXPECT_EQ(late.until_ms, kMondayMidnight + kDay + 8 * kHour);
  QuietVerdict early = CheckQuietHours(*rules, "push", kMondayMidnight + 7 * kHour, zone);
  EXPECT_EQ(early.until_ms, kMondayMidnight + 8 * kHour);
  EXPECT_FALSE(CheckQuietHours(*rules, "push", kMondayMidnight + 8 * kHour, zone).quiet);
  QuietVerdict lunch = CheckQuietHours(*rules, "sms", kMondayMidnight + 12 * kHour + 5, zone);
  EXPECT_TRUE(lunch.quiet);
  EXPECT_FALSE(lunch.defer);
  EXPECT_FALSE(CheckQuietHours(*rules, "push", kMondayMidnight + 12 * kHour + 5, zone).quiet);
  EXPECT_EQ(
      ParseTouchRules(R"({"quiet_hours": [{"from": "21:00", "to": "21:00"}]})").status().field(),
      "quiet_hours[0].to");
}

TEST(TouchRulesTest, SuitabilityComparesLevelsAndAssessmentAge) {
  const SuitabilityRules rules;
  const int64_t now = kMondayMidnight;
  const PropertyMap r4 = {{"risk_level", Value::String("R4")}};
  const PropertyMap r2 = {{"risk_level", Value::String("R2")}};
  const PropertyMap c2 = {{"risk_level", Value::String("C2")},
                          {"risk_assessed_at", Value::Datetime(now - 30 * kDay)}};
  const PropertyMap c4_stale = {{"risk_level", Value::String("C4")},
                                {"risk_assessed_at", Value::Datetime(now - 400 * kDay)}};
  EXPECT_FALSE(CheckSuitability(rules, r4, c2, now).allowed);
  EXPECT_EQ(CheckSuitability(rules, r4, c2, now).reason, "item R4 is above the customer's C2");
  EXPECT_TRUE(CheckSuitability(rules, r2, c2, now).allowed);
  EXPECT_EQ(CheckSuitability(rules, r2, c4_stale, now).reason, "risk assessment expired");
  EXPECT_FALSE(CheckSuitability(rules, r2, {}, now).allowed);
  EXPECT_FALSE(CheckSuitability(rules, {}, c2, now).allowed);
  // A custom mapping: three customer levels for three product levels.
  auto custom = ParseTouchRules(R"({"suitability": {"item_levels": ["low", "mid", "high"],
      "customer_levels": ["conservative", "balanced", "aggressive"], "customer_property": "profile_risk"}})");
  ASSERT_TRUE(custom.ok());
  const PropertyMap mid = {{"risk_level", Value::String("mid")}};
  const PropertyMap balanced = {{"profile_risk", Value::String("balanced")},
                                {"risk_assessed_at", Value::Date(20'450)}};
  EXPECT_TRUE(CheckSuitability(custom->suitability, mid, balanced, int64_t{20'460} * kDay).allowed);
  EXPECT_EQ(
      ParseTouchRules(R"({"suitability": {"item_levels": ["a", "b"], "customer_levels": ["x"]}})")
          .status()
          .field(),
      "suitability.customer_levels");
}

TEST(TouchRulesTest, TemplateLint) {
  const TouchRulesConfig config;
  EXPECT_EQ(LintTemplate(config, "本基金保本保收益", false, "body").field(), "body");
  EXPECT_FALSE(LintTemplate(config, "推荐{{item.name}}", true, "body").ok());
  EXPECT_TRUE(LintTemplate(config, "推荐{{item.name}}，投资有风险，入市需谨慎", true, "body").ok());
  EXPECT_TRUE(LintTemplate(config, "您的账单已出", false, "body").ok());
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant-ledger-test-" + std::to_string(random()));
    auto kv = state::KvStore::Open(dir_.string());
    ASSERT_TRUE(kv.ok());
    kv_ = std::move(*kv);
  }
  void TearDown() override {
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Append(DecisionLedger& ledger, store::UserId user, const std::string& journey,
              const std::string& body) {
    state::KvStore::Batch batch;
    ASSERT_TRUE(ledger.Append(1, user, journey, body, &batch).ok());
    ASSERT_TRUE(kv_->Write(&batch).ok());
  }
  std::filesystem::path dir_;
  std::unique_ptr<state::KvStore> kv_;
};

TEST_F(LedgerTest, ChainVerifiesAndDetectsEditsAndRemovals) {
  {
    DecisionLedger ledger(kv_.get());
    Append(ledger, 7, "j1", R"({"decision":"sent","node":"a"})");
    Append(ledger, 8, "j1", R"({"decision":"suppressed","reason":"consent"})");
  }
  // A new ledger object continues the chain from the store.
  DecisionLedger ledger(kv_.get());
  Append(ledger, 7, "j2", R"({"decision":"sent","node":"b"})");
  auto verified = ledger.Verify(1);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->valid);
  EXPECT_EQ(verified->entries, 3u);
  auto by_user = ledger.Query(1, 7, "", 10);
  ASSERT_TRUE(by_user.ok());
  EXPECT_NE(by_user->find(R"("node":"b")"), std::string::npos);
  EXPECT_EQ(by_user->find("consent"), std::string::npos);

  // Editing an entry's content breaks its hash.
  std::string stored = *kv_->Get(LedgerKey(1, 2));
  std::string edited = stored;
  edited.replace(edited.find("consent"), 7, "cap____");
  ASSERT_TRUE(kv_->Put(LedgerKey(1, 2), edited).ok());
  verified = ledger.Verify(1);
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->first_bad_sequence, 2u);
  EXPECT_EQ(verified->reason, "hash does not match the entry's content");
  // Removing it leaves a gap.
  ASSERT_TRUE(kv_->Delete(LedgerKey(1, 2)).ok());
  verified = ledger.Verify(1);
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->reason, "entry 2 is missing");
  // Restoring the original entry restores the chain.
  ASSERT_TRUE(kv_->Put(LedgerKey(1, 2), stored).ok());
  EXPECT_TRUE(ledger.Verify(1)->valid);
}

}  // namespace
}  // namespace sextant::journey
