#include <gtest/gtest.h>

#include <filesystem>

#include "state/ingest_error_log.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"

namespace sextant::state {
namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sextant_state_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    kv_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    kv_.reset();
    auto kv = KvStore::Open(dir_.string());
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(kv.value());
  }
  std::filesystem::path dir_;
  std::unique_ptr<KvStore> kv_;
};

TEST_F(StateTest, ProjectsPersistAndDefaultExists) {
  {
    auto projects = ProjectRegistry::Open(kv_.get());
    ASSERT_TRUE(projects.ok());
    ASSERT_NE((*projects)->Find("default"), nullptr);
    auto created = (*projects)->Create("bank_a", "secret", "UTC");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_EQ((*projects)->Create("bank_a", "", "").status().code(), ErrorCode::kConflict);
    EXPECT_EQ((*projects)->Create("1bad", "", "").status().code(), ErrorCode::kInvalidName);
    EXPECT_EQ((*projects)->Create("ok", "", "Nowhere/City").status().code(),
              ErrorCode::kBadRequest);
  }
  Reopen();
  auto projects = ProjectRegistry::Open(kv_.get());
  ASSERT_TRUE(projects.ok());
  auto bank = (*projects)->Find("bank_a");
  ASSERT_NE(bank, nullptr);
  EXPECT_EQ(bank->token, "secret");
  EXPECT_EQ(bank->time_zone.offset_ms(), 0);
  EXPECT_NE(bank->id, (*projects)->Find("default")->id);
}

TEST_F(StateTest, SchemaFixesTypesAtFirstSightAndSurvivesReopen) {
  auto projects = ProjectRegistry::Open(kv_.get());
  ASSERT_TRUE(projects.ok());
  auto project = (*projects)->Find("default");
  uint32_t price_id;
  {
    auto registry = SchemaRegistry::Open(kv_.get(), **projects);
    ASSERT_TRUE(registry.ok());
    ProjectSchema* schema = (*registry)->ForProject(*project);
    KvStore::Batch batch;
    std::vector<std::pair<std::string, Value>> props = {{"price", Value::Number(1.5)},
                                                        {"when", Value::Date(19000)}};
    ASSERT_TRUE(schema->CheckAndCoerce(SchemaKind::kEventProperty, &props).ok());
    price_id = schema->Register(SchemaKind::kEventProperty, "price", ValueType::kNumber, 1000, &batch);
    schema->Register(SchemaKind::kEventProperty, "when", ValueType::kDatetime, 1000, &batch);
    EXPECT_EQ(schema->Register(SchemaKind::kEvent, "Buy", ValueType::kString, 1000, &batch), 1u);
    ASSERT_TRUE(kv_->Write(&batch).ok());
    ASSERT_TRUE((*registry)->SaveCounts().ok());
  }
  Reopen();
  projects = ProjectRegistry::Open(kv_.get());
  auto registry = SchemaRegistry::Open(kv_.get(), **projects);
  ASSERT_TRUE(registry.ok());
  ProjectSchema* schema = (*registry)->ForProject(*(*projects)->Find("default"));
  EXPECT_EQ(schema->FindProperty("price"), price_id);
  EXPECT_EQ(schema->EventName(1), "Buy");
  std::vector<std::pair<std::string, Value>> bad = {{"price", Value::String("x")}};
  Status conflict = schema->CheckAndCoerce(SchemaKind::kEventProperty, &bad);
  EXPECT_EQ(conflict.code(), ErrorCode::kTypeConflict);
  EXPECT_EQ(conflict.field(), "properties.price");
  // DATE into a DATETIME property is widened to local midnight.
  std::vector<std::pair<std::string, Value>> widen = {{"when", Value::Date(1)}};
  ASSERT_TRUE(schema->CheckAndCoerce(SchemaKind::kEventProperty, &widen).ok());
  EXPECT_EQ(widen[0].second.type(), ValueType::kDatetime);
  EXPECT_EQ(widen[0].second.datetime_ms(), 86'400'000 - 8 * 3'600'000);
  auto listed = schema->List(SchemaKind::kEventProperty);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "price");
  EXPECT_EQ(listed[0].count, 1u);
}

TEST_F(StateTest, ErrorLogNewestFirstAndTrimmed) {
  IngestErrorLog log(kv_.get(), /*max_entries_per_project=*/3);
  for (int i = 0; i < 5; ++i) {
    KvStore::Batch batch;
    log.Append(7, {i, ErrorCode::kInvalidName, "event", "bad " + std::to_string(i), "{}", "sa"},
               &batch);
    ASSERT_TRUE(kv_->Write(&batch).ok());
  }
  ASSERT_TRUE(log.Trim().ok());
  auto listed = log.List(7, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].reason, "bad 4");
  EXPECT_EQ((*listed)[2].reason, "bad 2");
  EXPECT_EQ(log.List(8, 10)->size(), 0u);
}

}  // namespace
}  // namespace sextant::state
