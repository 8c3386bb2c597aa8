#include "ingest/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "decode/record_parser.h"

namespace sextant::ingest {
namespace {

// Runs the pipeline on real stores in a temporary directory, with a simulated clock.
class IngestPipelineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'700'000'000'000;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_ingest_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    kv_ = std::move(state::KvStore::Open((dir_ / "state").string()).value());
    projects_ = std::move(state::ProjectRegistry::Open(kv_.get()).value());
    schemas_ = std::move(state::SchemaRegistry::Open(kv_.get(), *projects_).value());
    errors_ = std::make_unique<state::IngestErrorLog>(kv_.get());
    identities_ = std::make_unique<identity::IdentityStore>(kv_.get());
    profiles_ = std::make_unique<profile::ProfileStore>(kv_.get());
    store::EventStoreOptions options;
    options.dir = (dir_ / "events").string();
    options.clock = &clock_;
    options.background_maintenance = false;
    state::KvStore* kv = kv_.get();
    options.pre_sync_hooks.push_back([kv] { return kv->SyncWal(); });
    events_ = std::move(store::EventStore::Open(options).value());
    pipeline_ = std::make_unique<IngestPipeline>(IngestOptions(), &clock_, kv_.get(),
                                                 projects_.get(), schemas_.get(), errors_.get(),
                                                 identities_.get(), profiles_.get(), events_.get());
    ASSERT_TRUE(pipeline_->RebuildDedupe().ok());
  }
  void Close() {
    pipeline_.reset();
    if (events_) (void)events_->Close();
    events_.reset();
    profiles_.reset();
    identities_.reset();
    errors_.reset();
    schemas_.reset();
    projects_.reset();
    kv_.reset();
  }

  IngestOutcome Ingest(const std::vector<std::string>& jsons, RequestContext context = {},
                       const std::string& project = "default") {
    std::vector<RecordInput> inputs;
    for (const std::string& json : jsons) {
      RecordInput input;
      input.raw_json = json;
      input.parsed = decode::ParseSensorsRecord(json, TimeZone());
      inputs.push_back(std::move(input));
    }
    if (context.source.empty()) context.source = "batch";
    std::promise<IngestOutcome> result;
    pipeline_->Ingest(project, std::move(inputs), context, [&](IngestOutcome outcome, Status status) {
      EXPECT_TRUE(status.ok()) << status.ToString();
      result.set_value(std::move(outcome));
    });
    return result.get_future().get();
  }

  size_t CountEvents(state::ProjectId project) {
    auto range = events_->DayRange(project);
    if (!range) return 0;
    store::ScanSpec spec;
    spec.first_day = range->first;
    spec.last_day = range->second;
    size_t rows = 0;
    EXPECT_TRUE(events_->Scan(project, spec, [&](const store::EventBatch& batch) {
      rows += batch.size;
      return true;
    }).ok());
    return rows;
  }

  std::string Track(const std::string& event, int track_id, const std::string& props = "{}") {
    return R"({"type":"track","event":")" + event + R"(","distinct_id":"d1","time":)" +
           std::to_string(kNow - 1000) + R"(,"_track_id":)" + std::to_string(track_id) +
           R"(,"properties":)" + props + "}";
  }

  SimulatedClock clock_{kNow};
  std::filesystem::path dir_;
  std::unique_ptr<state::KvStore> kv_;
  std::unique_ptr<state::ProjectRegistry> projects_;
  std::unique_ptr<state::SchemaRegistry> schemas_;
  std::unique_ptr<state::IngestErrorLog> errors_;
  std::unique_ptr<identity::IdentityStore> identities_;
  std::unique_ptr<profile::ProfileStore> profiles_;
  std::unique_ptr<store::EventStore> events_;
  std::unique_ptr<IngestPipeline> pipeline_;
};

TEST_F(IngestPipelineTest, StoresEventsAndDeduplicatesResendsAcrossRestart) {
  IngestOutcome first = Ingest({Track("Buy", 1), Track("Buy", 2)});
  EXPECT_EQ(first.accepted, 2u);
  IngestOutcome resend = Ingest({Track("Buy", 1), Track("Buy", 2), Track("Buy", 3)});
  EXPECT_EQ(resend.accepted, 1u);
  EXPECT_EQ(resend.duplicates, 2u);
  EXPECT_EQ(CountEvents(1), 3u);
  Close();
  Open();  // the filter is rebuilt from the WAL-recovered heads
  IngestOutcome after = Ingest({Track("Buy", 3)});
  EXPECT_EQ(after.duplicates, 1u);
  EXPECT_EQ(CountEvents(1), 3u);
}

TEST_F(IngestPipelineTest, RecordsWithOnlyIdentitiesAreDeduplicatedAfterRestartToo) {
  std::string bind = R"({"type":"track","event":"Buy","time":)" + std::to_string(kNow - 1000) +
                     R"(,"_track_id":77,"identities":{"$identity_login_id":"L1"}})";
  EXPECT_EQ(Ingest({bind}).accepted, 1u);
  Close();
  Open();
  IngestOutcome again = Ingest({bind});
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(CountEvents(1), 1u);
}

TEST_F(IngestPipelineTest, TypeConflictRejectsRecordIntoErrorLogAndKeepsFirst) {
  IngestOutcome outcome = Ingest({Track("Buy", 1, R"({"price":9.5})"),
                                  Track("Buy", 2, R"({"price":"x"})"), "not json"});
  EXPECT_EQ(outcome.accepted, 1u);
  ASSERT_EQ(outcome.rejected.size(), 2u);
  EXPECT_EQ(outcome.rejected[0].index, 1u);
  EXPECT_EQ(outcome.rejected[0].status.code(), ErrorCode::kTypeConflict);
  EXPECT_EQ(outcome.rejected[0].status.field(), "properties.price");
  EXPECT_EQ(outcome.rejected[1].status.code(), ErrorCode::kBadJson);
  auto logged = errors_->List(1, 10);
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->size(), 2u);
  const state::IngestError& conflict =
      (*logged)[0].code == ErrorCode::kTypeConflict ? (*logged)[0] : (*logged)[1];
  EXPECT_EQ(conflict.code, ErrorCode::kTypeConflict);
  EXPECT_EQ(conflict.field, "properties.price");
  EXPECT_NE(conflict.record.find("\"x\""), std::string::npos);
  EXPECT_EQ(CountEvents(1), 1u);
}

TEST_F(IngestPipelineTest, DryRunValidatesWithoutStoring) {
  RequestContext context;
  context.dry_run = true;
  IngestOutcome outcome = Ingest({Track("Buy", 1, R"({"price":1})"),
                                  R"({"type":"profile_set","distinct_id":"d1","properties":{"a":1}})"},
                                 context);
  EXPECT_EQ(outcome.accepted, 2u);
  EXPECT_EQ(CountEvents(1), 0u);
  EXPECT_EQ(identities_->LookupDistinctId(1, "d1").value(), 0u);
  EXPECT_EQ(schemas_->ForProject(*projects_->Find("default"))->FindEvent("Buy"), 0u);
}

TEST_F(IngestPipelineTest, ProjectTokenAndRecordLevelProjectAreEnforced) {
  ASSERT_TRUE(projects_->Create("bank", "s3cret", "").ok());
  std::string to_bank = R"({"type":"track","event":"Buy","distinct_id":"d","project":"bank"})";
  IngestOutcome denied = Ingest({to_bank});
  ASSERT_EQ(denied.rejected.size(), 1u);
  EXPECT_EQ(denied.rejected[0].status.code(), ErrorCode::kBadToken);
  RequestContext context;
  context.url_token = "s3cret";
  IngestOutcome allowed = Ingest({to_bank}, context);
  EXPECT_EQ(allowed.accepted, 1u);
  state::ProjectId bank = projects_->Find("bank")->id;
  EXPECT_EQ(CountEvents(bank), 1u);
  EXPECT_EQ(CountEvents(1), 0u);
  IngestOutcome unknown = Ingest({R"({"type":"track","event":"E","distinct_id":"d","project":"nope"})"});
  ASSERT_EQ(unknown.rejected.size(), 1u);
  EXPECT_EQ(unknown.rejected[0].status.code(), ErrorCode::kUnknownProject);
}

TEST_F(IngestPipelineTest, AdminCallersNeedNoProjectToken) {
  ASSERT_TRUE(projects_->Create("bank", "s3cret", "").ok());
  RequestContext admin;
  admin.all_projects_authorized = true;
  IngestOutcome outcome =
      Ingest({R"({"type":"track","event":"Buy","distinct_id":"d","project":"bank"})"}, admin);
  EXPECT_EQ(outcome.accepted, 1u);
  EXPECT_TRUE(outcome.rejected.empty());
}

TEST_F(IngestPipelineTest, EnrichesIpAndWebUserAgentAndCorrectsFirstDay) {
  RequestContext context;
  context.peer_ip = "127.0.0.1";
  context.forwarded_for = "203.0.113.7, 10.0.0.1";
  context.user_agent =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  std::string day_one = R"({"type":"track","event":"V","distinct_id":"w","time":)" +
                        std::to_string(kNow - 86'400'000) +
                        R"(,"lib":{"$lib":"js"},"properties":{"$is_first_day":true}})";
  std::string day_two = R"({"type":"track","event":"V","distinct_id":"w","time":)" +
                        std::to_string(kNow - 1000) +
                        R"(,"lib":{"$lib":"js"},"properties":{"$is_first_day":true}})";
  EXPECT_EQ(Ingest({day_one, day_two}, context).accepted, 2u);
  store::UserId user = identities_->LookupDistinctId(1, "w").value();
  state::ProjectSchema* schema = schemas_->ForProject(*projects_->Find("default"));
  store::ScanSpec spec;
  auto range = events_->DayRange(1);
  ASSERT_TRUE(range.has_value());
  spec.first_day = range->first;
  spec.last_day = range->second;
  spec.only_user = user;
  for (const char* name : {"$ip", "$browser", "$os", "$is_first_day"})
    spec.property_ids.push_back(schema->FindProperty(name));
  std::vector<std::vector<std::optional<Value>>> rows;
  ASSERT_TRUE(events_->Scan(1, spec, [&](const store::EventBatch& batch) {
    for (size_t row = 0; row < batch.size; ++row) {
      std::vector<std::optional<Value>> values;
      for (size_t k = 0; k < spec.property_ids.size(); ++k)
        values.push_back(batch.property_values[k][row]);
      rows.push_back(values);
    }
    return true;
  }).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0]->str(), "203.0.113.7");
  EXPECT_EQ(rows[0][1]->str(), "Chrome");
  EXPECT_EQ(rows[0][2]->str(), "Windows");
  EXPECT_TRUE(rows[0][3]->boolean());
  EXPECT_FALSE(rows[1][3]->boolean());  // second day: corrected by the server
}

}  // namespace
}  // namespace sextant::ingest

namespace sextant::ingest {
namespace {

TEST(DedupeFilterTest, RemembersKeysAcrossGrowthAndForgetsAfterTwoGenerations) {
  SimulatedClock clock(1'000'000);
  DedupeFilter filter(&clock, /*window_ms=*/1000, /*max_keys_per_generation=*/100'000);
  for (uint64_t key = 0; key < 50'000; ++key) filter.Insert(key * 7919);
  EXPECT_EQ(filter.size(), 50'000u);
  for (uint64_t key = 0; key < 50'000; ++key) ASSERT_TRUE(filter.Contains(key * 7919)) << key;
  EXPECT_FALSE(filter.Contains(3));
  EXPECT_TRUE(filter.Contains(0));  // key 0 is a valid key too
  clock.AdvanceMs(600);             // past window/2: the next insert starts a new generation
  filter.Insert(42);
  EXPECT_TRUE(filter.Contains(7919));  // still in the previous generation
  clock.AdvanceMs(600);
  filter.Insert(43);
  EXPECT_FALSE(filter.Contains(7919));  // two rotations: forgotten
  EXPECT_TRUE(filter.Contains(42));
}

}  // namespace
}  // namespace sextant::ingest
