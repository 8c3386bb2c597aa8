// The audience engine in a running Application (real stores, real ingest pipeline):
//  * property-based: after random streams of events and profile changes, every realtime
//    segment's membership (kept current event by event) equals a full recompute — a refresh
//    finds nobody to add or remove;
//  * lookalike: on generated people whose seed membership is decided by hidden profile
//    features, the model's held-out AUC is well above 0.5 and its expansion finds the hidden
//    members far above their base rate.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <future>
#include <random>

#include "server/application.h"

namespace sextant::audience {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kDay = 86'400'000;

class AudienceEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sextant-audience-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    server::ServeOptions options;
    options.data_dir = dir_.string();
    options.port = 0;
    options.projects = {"prop"};
    app_ = std::make_unique<server::Application>(options);
    ASSERT_TRUE(app_->Start().ok());
    project_ = app_->projects().Find("prop");
    ASSERT_NE(project_, nullptr);
  }
  void TearDown() override {
    ASSERT_TRUE(app_->Stop().ok());
    app_.reset();
    fs::remove_all(dir_);
  }

  // Ingests `records` and waits until they are durable (and handed to the audience engine).
  void Ingest(std::vector<Record> records) {
    std::vector<ingest::RecordInput> inputs;
    for (Record& record : records) {
      ingest::RecordInput input;
      input.parsed = std::move(record);
      inputs.push_back(std::move(input));
    }
    const size_t count = inputs.size();
    std::promise<std::pair<ingest::IngestOutcome, Status>> done;
    ingest::RequestContext context;
    context.source = "test";
    context.peer_ip = "127.0.0.1";
    context.all_projects_authorized = true;
    app_->pipeline().Ingest("prop", std::move(inputs), context,
                            [&](ingest::IngestOutcome outcome, Status status) {
                              done.set_value({std::move(outcome), std::move(status)});
                            });
    auto [outcome, status] = done.get_future().get();
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_EQ(outcome.accepted, count)
        << (outcome.rejected.empty() ? "" : outcome.rejected[0].status.message());
  }

  static Record Event(const std::string& user, const std::string& event, int64_t time_ms,
                      std::vector<std::pair<std::string, Value>> properties = {}) {
    Record record;
    record.type = RecordType::kTrack;
    record.event = event;
    record.distinct_id = user;
    record.time_ms = time_ms;
    record.has_time = true;
    record.time_free = true;
    record.properties = std::move(properties);
    return record;
  }
  static Record Profile(const std::string& user,
                        std::vector<std::pair<std::string, Value>> properties) {
    Record record = Event(user, "", 0, std::move(properties));
    record.type = RecordType::kProfileSet;
    record.event.clear();
    record.has_time = false;
    return record;
  }

  // The answer's JSON (asserting success).
  std::string Answer(const Result<AudienceAnswer>& answer) {
    EXPECT_TRUE(answer.ok()) << answer.status().message();
    return answer.ok() ? answer->body : std::string("{}");
  }

  fs::path dir_;
  std::unique_ptr<server::Application> app_;
  std::shared_ptr<const state::ProjectInfo> project_;
};

TEST_F(AudienceEngineTest, RealtimeMembershipEqualsFullRecomputeAfterRandomStreams) {
  std::mt19937_64 random(20261122);
  const int64_t now = app_->clock().NowMs();
  const char* kEvents[] = {"BuyFund", "ViewFund", "Deposit"};
  auto user = [&] { return "u" + std::to_string(random() % 40); };
  // Times from 40 days ago to now, so that some events fall outside every window.
  auto when = [&] { return now - static_cast<int64_t>(random() % (40 * kDay)); };
  auto random_event = [&] {
    const char* event = kEvents[random() % 3];
    std::vector<std::pair<std::string, Value>> properties;
    if (std::string(event) != "ViewFund") {
      properties.emplace_back("amount", Value::Number(static_cast<double>(random() % 3000)));
    }
    return Event(user(), event, when(), std::move(properties));
  };
  std::vector<Record> initial;
  for (int u = 0; u < 40; ++u) {
    initial.push_back(Profile("u" + std::to_string(u),
                              {{"aum", Value::Number(static_cast<double>(random() % 1'000'000))}}));
  }
  for (int i = 0; i < 300; ++i) initial.push_back(random_event());
  Ingest(std::move(initial));

  AudienceEngine& engine = app_->audience();
  const auto tag = engine.CreateTag(*project_, R"({"name": "deposits_30d", "kind": "statistic",
      "event": "Deposit", "aggregate": "sum", "property": "amount", "within": {"last": "30d"}})");
  ASSERT_TRUE(tag.ok()) << tag.status().message();
  const char* kRules[] = {
      R"({"did": "BuyFund", "count": {"op": ">=", "value": 2}, "within": {"last": "30d"}})",
      R"({"did": "BuyFund", "where": [{"property": "amount", "op": ">", "value": 500}],
          "sum": {"property": "amount", "op": ">=", "value": 2000}, "within": {"last": "7d"}})",
      R"({"all": [{"profile": "aum", "op": ">=", "value": 500000},
                  {"not": {"did": "ViewFund", "within": {"last": "3d"}}}]})",
      R"({"any": [{"segment": "s1"}, {"tag": "deposits_30d", "op": ">=", "value": 3000}]})",
      R"({"all": [{"not": {"segment": "s2"}},
                  {"did": "Deposit", "count": {"op": "<", "value": 3}, "within": {"last": "30d"}}]})",
      R"({"did": "$any", "count": {"op": "between", "value": [3, 6]}, "within": {"last": "14d"}})",
  };
  std::vector<std::string> ids;
  for (size_t i = 0; i < std::size(kRules); ++i) {
    const std::string body =
        "{\"name\": \"s" + std::to_string(i + 1) + "\", \"rule\": " + kRules[i] + "}";
    auto created = engine.CreateSegment(*project_, body);
    ASSERT_TRUE(created.ok()) << created.status().message();
    simdjson::dom::parser parser;
    ids.emplace_back(std::string(parser.parse(created->body)["id"].get_string().value()));
  }

  int changes_seen = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<Record> records;
    for (int i = 0; i < 40; ++i) records.push_back(random_event());
    for (int i = 0; i < 4; ++i) {
      records.push_back(
          Profile(user(), {{"aum", Value::Number(static_cast<double>(random() % 1'000'000))}}));
    }
    // Sent as several requests, as clients would.
    for (size_t begin = 0; begin < records.size(); begin += 11) {
      std::vector<Record> part(records.begin() + begin,
                               records.begin() + std::min(records.size(), begin + 11));
      Ingest(std::move(part));
    }
    engine.Drain();
    // The tag first (segment s4 reads it), then every segment: a full recompute must find
    // exactly the members the realtime updates left.
    simdjson::dom::parser parser;
    auto run = engine.RunTag(*project_, "deposits_30d");
    ASSERT_TRUE(run.ok()) << run.status().message();
    for (const std::string& id : ids) {
      auto before = engine.GetSegment(*project_, id);
      ASSERT_TRUE(before.ok());
      const uint64_t size_before = parser.parse(before->body)["size"].get_uint64().value();
      auto refreshed = engine.RefreshSegment(*project_, id);
      ASSERT_TRUE(refreshed.ok()) << refreshed.status().message();
      auto doc = parser.parse(refreshed->body);
      EXPECT_EQ(doc["entered"].get_uint64().value(), 0u) << "round " << round << " segment " << id;
      EXPECT_EQ(doc["exited"].get_uint64().value(), 0u) << "round " << round << " segment " << id;
      EXPECT_EQ(doc["size"].get_uint64().value(), size_before);
      changes_seen += static_cast<int>(size_before);
    }
    engine.Drain();
  }
  // The streams did move people around (the test is not vacuous).
  EXPECT_GT(changes_seen, 0);
  EXPECT_GT(engine.membership_latency().count(), 0u);
}

TEST_F(AudienceEngineTest, LookalikeFindsHiddenMembersFromProfileFeatures) {
  std::mt19937_64 random(7);
  std::normal_distribution<double> normal(0, 1);
  std::vector<Record> profiles;
  std::vector<bool> positive(3000);
  std::string seed_csv = "distinct_id\n";
  size_t hidden = 0, seeded = 0;
  std::vector<std::string> hidden_ids;
  for (int u = 0; u < 3000; ++u) {
    const double f1 = normal(random), f2 = normal(random);
    const double noise1 = normal(random), noise2 = normal(random);
    positive[u] = 0.8 * f1 - 0.5 * f2 + 0.3 * normal(random) > 0.9;
    const std::string id = "p" + std::to_string(u);
    profiles.push_back(Profile(id, {{"f1", Value::Number(f1)},
                                    {"f2", Value::Number(f2)},
                                    {"n1", Value::Number(noise1)},
                                    {"n2", Value::Number(noise2)}}));
    // Half of the positives form the seed; the other half is what expansion should find.
    if (positive[u]) {
      if (random() % 2 == 0) {
        seed_csv += id + "\n";
        ++seeded;
      } else {
        ++hidden;
        hidden_ids.push_back(id);
      }
    }
  }
  Ingest(std::move(profiles));
  ASSERT_GT(hidden, 50u);
  AudienceEngine& engine = app_->audience();
  auto seed = engine.CreateStaticSegment(*project_, "seed", "", seed_csv);
  ASSERT_TRUE(seed.ok()) << seed.status().message();
  simdjson::dom::parser parser;
  const std::string seed_id(parser.parse(seed->body)["segment"]["id"].get_string().value());
  auto expanded = engine.SegmentLookalike(
      *project_, seed_id,
      R"({"name": "lookalike", "top": 200, "features": {"profiles": ["f1", "f2", "n1", "n2"]}})");
  ASSERT_TRUE(expanded.ok()) << expanded.status().message();
  auto doc = parser.parse(expanded->body);
  const double auc = doc["lookalike"]["model"]["auc"].get_double().value();
  EXPECT_GT(auc, 0.85) << expanded->body;
  const double lift = doc["lookalike"]["model"]["lift_at_top_10_percent"].get_double().value();
  EXPECT_GT(lift, 2.0) << expanded->body;
  // The strongest features are the hidden ones.
  auto top = doc["lookalike"]["model"]["top_features"].get_array().value();
  std::vector<std::string> names;
  for (auto feature : top) names.emplace_back(feature["name"].get_string().value());
  ASSERT_GE(names.size(), 2u);
  EXPECT_TRUE(
      (names[0].find("f1") != std::string::npos && names[1].find("f2") != std::string::npos) ||
      (names[0].find("f2") != std::string::npos && names[1].find("f1") != std::string::npos))
      << expanded->body;
  // Precision of the expansion on the hidden positives, against their base rate among
  // non-seed people.
  const std::string expanded_id(doc["segment"]["id"].get_string().value());
  auto members = engine.SegmentUsers(*project_, expanded_id, 0, 1000, {}, true);
  ASSERT_TRUE(members.ok());
  size_t found = 0;
  for (const std::string& id : hidden_ids) {
    if (members->body.find("\n" + id + "\n") != std::string::npos) ++found;
  }
  const double base_rate = static_cast<double>(hidden) / static_cast<double>(3000 - seeded);
  const double precision = static_cast<double>(found) / 200.0;
  EXPECT_GT(precision, 3 * base_rate) << "found " << found << " of " << hidden;
}

}  // namespace
}  // namespace sextant::audience
