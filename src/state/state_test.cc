#include <gtest/gtest.h>

#include <filesystem>

#include "state/hash_chain.h"
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

TEST_F(StateTest, HashChainEntriesCanBeRedactedWithoutBreakingItButNotEdited) {
  const std::string prefix = "chain/";
  std::string head = ZeroChainHash();
  auto append = [&](uint64_t sequence, const std::string& body) {
    std::string key = prefix;
    AppendBigEndian64(sequence, &key);
    std::string hash;
    ASSERT_TRUE(kv_->Put(key, ChainValue(head, body, &hash)).ok());
    head = hash;
  };
  append(1, R"({"kind":"touch","distinct_id":"13800001234","content":"张三您好"})");
  append(2, R"({"kind":"touch","distinct_id":"other"})");
  std::string key2 = prefix;
  AppendBigEndian64(2, &key2);
  // An entry in the earlier form (hash over the body itself, not its digest) still verifies.
  {
    const std::string body = R"({"kind":"lifecycle"})";
    const std::string old_hash = [&] {
      // SHA-256(prev || body), computed through the digest helper on the concatenation.
      return Sha256Hex(head + body);
    }();
    std::string key = prefix;
    AppendBigEndian64(3, &key);
    ASSERT_TRUE(kv_->Put(key, old_hash + head + body).ok());
    head = old_hash;
  }
  auto verified = VerifyChain(*kv_, prefix);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->valid) << verified->reason;
  EXPECT_EQ(verified->entries, 3u);
  EXPECT_EQ(verified->redacted, 0u);

  // Redaction of entry 1: the personal fields go, the chain still verifies and counts it.
  std::string key1 = prefix;
  AppendBigEndian64(1, &key1);
  const std::string original = kv_->Get(key1).value();
  const std::string redacted = RedactChainEntry(original, R"({"kind":"touch","erased":true})");
  ASSERT_TRUE(kv_->Put(key1, redacted).ok());
  EXPECT_TRUE(IsRedactedChainEntry(redacted));
  EXPECT_EQ(ChainEntryBody(redacted), R"({"kind":"touch","erased":true})");
  EXPECT_EQ(redacted.find("13800001234"), std::string::npos);
  const std::string rendered = RenderChainEntry(1, redacted);
  EXPECT_NE(rendered.find("\"redacted\":true"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("\"erased\":true"), std::string::npos) << rendered;
  verified = VerifyChain(*kv_, prefix);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->valid) << verified->reason;
  EXPECT_EQ(verified->redacted, 1u);
  // Redacting again keeps the original digest.
  EXPECT_EQ(RedactChainEntry(redacted, "{}").substr(0, 128 + 65), redacted.substr(0, 128 + 65));

  // Editing an entry is still found, as is forging a redaction with a wrong digest.
  std::string edited = kv_->Get(key2).value();
  edited.replace(edited.find("other"), 5, "forge");
  ASSERT_TRUE(kv_->Put(key2, edited).ok());
  verified = VerifyChain(*kv_, prefix);
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->first_bad_sequence, 2u);
  std::string forged = edited.substr(0, 128) + "#" + std::string(64, 'a') + "{}";
  ASSERT_TRUE(kv_->Put(key2, forged).ok());
  verified = VerifyChain(*kv_, prefix);
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->valid);
  EXPECT_EQ(verified->first_bad_sequence, 2u);
}

TEST_F(StateTest, ErrorLogEntriesQuotingAnErasedPersonAreDeleted) {
  IngestErrorLog log(kv_.get());
  KvStore::Batch batch;
  for (const char* record : {R"({"distinct_id":"13800001234","event":"A"})",
                             R"({"distinct_id":"someone-else"})", R"({"x":"ab"})"}) {
    IngestError error;
    error.record = record;
    error.reason = "bad";
    log.Append(1, error, &batch);
  }
  ASSERT_TRUE(kv_->Write(&batch).ok());
  KvStore::Batch erase;
  auto erased = log.EraseMentioning(1, {"13800001234", "ab"}, &erase);  // "ab": too short to match
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(*erased, 1u);
  ASSERT_TRUE(kv_->Write(&erase).ok());
  auto left = log.List(1, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  for (const IngestError& error : *left) EXPECT_EQ(error.record.find("13800001234"), std::string::npos);
}

}  // namespace
}  // namespace sextant::state
