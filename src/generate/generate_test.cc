#include "generate/generate.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/hash.h"

namespace sextant::generate {
namespace {

GenerateOptions SmallOptions() {
  GenerateOptions o;
  o.seed = 7;
  o.customers = 2000;
  o.target_events = 60000;
  o.days = 30;
  return o;
}

uint64_t DatasetHash(const GenerateOptions& o, uint64_t* records = nullptr) {
  uint64_t h = 0, n = 0;
  Status st = GenerateDataset(o, [&](std::string_view r) {
    h = HashCombine(h, Hash64(r));
    ++n;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (records) *records = n;
  return h;
}

TEST(GenerateTest, SameSeedSameBytes) {
  GenerateOptions o = SmallOptions();
  EXPECT_EQ(DatasetHash(o), DatasetHash(o));
  GenerateOptions other = o;
  other.seed = 8;
  EXPECT_NE(DatasetHash(o), DatasetHash(other));
}

TEST(GenerateTest, RejectsBadOptions) {
  GenerateOptions o = SmallOptions();
  o.customers = 0;
  EXPECT_FALSE(GenerateDataset(o, [](std::string_view) {}).ok());
  o = SmallOptions();
  o.days = 0;
  EXPECT_FALSE(GenerateDataset(o, [](std::string_view) {}).ok());
}

struct Summary {
  std::map<std::string, uint64_t> by_event;
  std::map<std::string, uint64_t> by_type;
  std::set<std::string> risk_levels, fund_types, cities, libs;
  uint64_t records = 0;
  bool times_ordered_per_user = true;
  bool times_in_range = true;
  bool unique_track_ids = true;
  bool all_parse = true;
  uint64_t signup_with_original_id = 0;
  uint64_t binds_with_mobile = 0;
  uint64_t unsuitable = 0, subscriptions = 0;
};

Summary Summarise(const GenerateOptions& o, GenerateStats* stats) {
  Summary s;
  simdjson::dom::parser parser;
  std::unordered_set<int64_t> track_ids;
  std::unordered_map<std::string, int64_t> last_time;
  const int64_t start = o.end_time_ms - int64_t{o.days} * 86'400'000;
  Status st = GenerateDataset(o, [&](std::string_view r) {
    ++s.records;
    simdjson::dom::element doc;
    if (parser.parse(r.data(), r.size()).get(doc) != simdjson::SUCCESS) {
      s.all_parse = false;
      return;
    }
    std::string type(doc["type"].get_string().value());
    ++s.by_type[type];
    int64_t tid = doc["_track_id"].get_int64().value();
    if (!track_ids.insert(tid).second) s.unique_track_ids = false;
    int64_t time = doc["time"].get_int64().value();
    if (time < start || time >= o.end_time_ms) s.times_in_range = false;
    if (type == "item_set") {
      s.risk_levels.insert(std::string(doc["properties"]["risk_level"].get_string().value()));
      s.fund_types.insert(std::string(doc["properties"]["fund_type"].get_string().value()));
      return;
    }
    if (type == "profile_set") {
      s.cities.insert(std::string(doc["properties"]["city"].get_string().value()));
      return;
    }
    std::string event(doc["event"].get_string().value());
    ++s.by_event[event];
    s.libs.insert(std::string(doc["lib"]["$lib"].get_string().value()));
    // Per device (anonymous id) the records must be in time order.
    std::string anon(doc["identities"]["$identity_anonymous_id"].get_string().value());
    auto [it, fresh] = last_time.emplace(anon, time);
    if (!fresh) {
      if (time < it->second) s.times_ordered_per_user = false;
      it->second = time;
    }
    if (type == "track_signup" && !doc["original_id"].get_string().value().empty())
      ++s.signup_with_original_id;
    if (type == "track_id_bind" &&
        doc["identities"]["$identity_mobile"].error() == simdjson::SUCCESS)
      ++s.binds_with_mobile;
    if (event == "subscribe_fund") {
      ++s.subscriptions;
      if (!doc["properties"]["is_suitable"].get_bool().value()) ++s.unsuitable;
    }
  }, stats);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

TEST(GenerateTest, CountsJourneysAndFunnels) {
  GenerateOptions o = SmallOptions();
  GenerateStats stats;
  Summary s = Summarise(o, &stats);
  ASSERT_TRUE(s.all_parse);
  EXPECT_TRUE(s.unique_track_ids);
  EXPECT_TRUE(s.times_in_range);
  EXPECT_TRUE(s.times_ordered_per_user);

  EXPECT_EQ(stats.events, o.target_events);
  EXPECT_EQ(stats.items, o.funds);
  EXPECT_EQ(s.by_type["item_set"], o.funds);
  EXPECT_EQ(s.by_type["track"] + s.by_type["track_signup"] + s.by_type["track_id_bind"],
            o.target_events);
  EXPECT_EQ(s.by_type["profile_set"], stats.profiles);
  EXPECT_GT(stats.profiles, o.customers * 8 / 10);
  EXPECT_EQ(s.records, stats.items + stats.profiles + stats.events);

  EXPECT_EQ(s.risk_levels.size(), 5u);
  EXPECT_EQ(s.fund_types.size(), 5u);
  EXPECT_GE(s.cities.size(), 15u);
  EXPECT_EQ(s.libs, (std::set<std::string>{"Android", "iOS", "js"}));

  for (const char* e : {"$AppStart", "$AppViewScreen", "$pageview", "$AppEnd", "search",
                        "read_article", "view_fund_detail", "compare_funds", "subscribe_fund",
                        "start_auto_invest", "deposit", "withdraw", "loan_view", "loan_apply",
                        "open_account_start", "id_upload", "risk_assessment",
                        "open_account_submit", "open_account_success", "$SignUp", "$BindID"}) {
    EXPECT_GT(s.by_event[e], 0u) << e;
  }
  // Funnels shrink step by step.
  auto& n = s.by_event;
  EXPECT_GT(n["open_account_start"], n["id_upload"]);
  EXPECT_GT(n["id_upload"], n["risk_assessment"]);
  EXPECT_GT(n["risk_assessment"], n["open_account_submit"]);
  EXPECT_GT(n["open_account_submit"], n["open_account_success"]);
  EXPECT_GT(n["loan_view"], n["loan_apply"]);
  EXPECT_GE(n["loan_apply"], n["loan_approved"]);
  EXPECT_GE(n["loan_approved"], n["loan_drawdown"]);
  EXPECT_GT(n["view_fund_detail"], 5 * n["subscribe_fund"]);
  EXPECT_GT(n["subscribe_fund"], n["start_auto_invest"]);
  EXPECT_EQ(s.signup_with_original_id, n["$SignUp"]);
  EXPECT_EQ(s.binds_with_mobile, n["$BindID"]);
  // Suitability: most subscriptions match the customer's risk tolerance.
  EXPECT_LT(s.unsuitable * 4, s.subscriptions);
}

TEST(GenerateTest, TinyAndSkewedSizes) {
  GenerateOptions o;
  o.customers = 1;
  o.target_events = 50;
  o.days = 1;
  GenerateStats stats;
  ASSERT_TRUE(GenerateDataset(o, [](std::string_view) {}, &stats).ok());
  EXPECT_EQ(stats.events, 50u);

  o.customers = 100000;
  o.target_events = 1000;
  ASSERT_TRUE(GenerateDataset(o, [](std::string_view) {}, &stats).ok());
  EXPECT_EQ(stats.events, 1000u);
}

}  // namespace
}  // namespace sextant::generate
