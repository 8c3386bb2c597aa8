#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "state/hash_chain.h"
#include "state/ingest_error_log.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "state/state_cipher.h"

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

TEST_F(StateTest, ScanPrefixFromResumesInsideThePrefix) {
  KvStore::Batch batch;
  for (std::string key : {"q/a", "q/b", "q/c", "q/d", "r/a"}) batch.Put(key, "v");
  batch.Put("p/z", "v");
  ASSERT_TRUE(kv_->Write(&batch).ok());
  auto scan = [&](std::string_view start) {
    std::vector<std::string> keys;
    EXPECT_TRUE(kv_->ScanPrefixFrom("q/", start, [&](std::string_view key, std::string_view) {
      keys.emplace_back(key);
      return true;
    }).ok());
    return keys;
  };
  EXPECT_EQ(scan("q/c"), (std::vector<std::string>{"q/c", "q/d"}));
  EXPECT_EQ(scan(std::string("q/b") + '\0'), (std::vector<std::string>{"q/c", "q/d"}));
  // A start before the prefix (or empty) is the prefix's first key; past it, nothing.
  EXPECT_EQ(scan(""), (std::vector<std::string>{"q/a", "q/b", "q/c", "q/d"}));
  EXPECT_EQ(scan("p/z"), (std::vector<std::string>{"q/a", "q/b", "q/c", "q/d"}));
  EXPECT_TRUE(scan("q/e").empty());
}

TEST_F(StateTest, SortedBatchHasTheSameEffectAsWrittenInOrder) {
  ASSERT_TRUE(kv_->Put("k/gone", "old").ok());
  KvStore::Batch batch;
  batch.Put("k/b", "1");
  batch.Put("k/a", "first");
  batch.Delete("k/b");       // after its put: k/b ends deleted
  batch.Put("k/gone", "x");
  batch.Delete("k/gone");
  batch.Put("k/a", "second");  // the last put of a key wins
  batch.Put("k/c", "3");
  batch.Delete("k/c");
  batch.Put("k/c", "again");  // a put after the delete stays
  batch.SortByKey();
  std::vector<std::string> order;
  class Lister final : public rocksdb::WriteBatch::Handler {
   public:
    explicit Lister(std::vector<std::string>* out) : out_(out) {}
    rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
      out_->push_back("put " + key.ToString() + "=" + value.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& key) override {
      out_->push_back("delete " + key.ToString());
      return rocksdb::Status::OK();
    }

   private:
    std::vector<std::string>* out_;
  } lister(&order);
  ASSERT_TRUE(batch.rep()->Iterate(&lister).ok());
  EXPECT_EQ(order, (std::vector<std::string>{"put k/a=first", "put k/a=second", "put k/b=1",
                                             "delete k/b", "put k/c=3", "delete k/c",
                                             "put k/c=again", "put k/gone=x", "delete k/gone"}));
  ASSERT_TRUE(kv_->Write(&batch).ok());
  EXPECT_EQ(kv_->Get("k/a").value(), "second");
  EXPECT_EQ(kv_->Get("k/b").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(kv_->Get("k/c").value(), "again");
  EXPECT_EQ(kv_->Get("k/gone").status().code(), ErrorCode::kNotFound);
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

// Every byte of the files of the state store right now (its log holds recent writes verbatim).
std::string StoreBytes(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

std::shared_ptr<const StateCipher> Keyring(const std::string& text) {
  auto cipher = StateCipher::FromKeyring(text, "test keyring");
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  return cipher.ok() ? std::shared_ptr<const StateCipher>(std::move(cipher.value())) : nullptr;
}

TEST_F(StateTest, KeyringLinesAreCheckedAndNamedInErrors) {
  auto line = StateCipher::GenerateKeyLine(7);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->substr(0, 2), "7:");
  auto cipher = StateCipher::FromKeyring("# comment\n1:" + line->substr(2) + "\n\n" + *line + "\n", "k");
  ASSERT_TRUE(cipher.ok()) << cipher.status().ToString();
  EXPECT_EQ((*cipher)->active_id(), 7);  // the last line
  EXPECT_TRUE((*cipher)->Has(1));
  for (const char* bad : {"7", "0:AAAA", "300:AAAA", "x:AAAA", "3:c2hvcnQ="}) {
    auto refused = StateCipher::FromKeyring(bad, "keys.txt");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("keys.txt line 1"), std::string::npos)
        << refused.status().ToString();
  }
  EXPECT_FALSE(StateCipher::FromKeyring("# nothing\n", "k").ok());
}

TEST_F(StateTest, PersonalDataIsSealedAtRestAndReadBackThroughEveryPath) {
  const std::string key1 = StateCipher::GenerateKeyLine(1).value();
  kv_->SetCipher(Keyring(key1));
  const std::string phone = "13912345678";
  const std::string index_key = "idm/1/$identity_mobile\x1f" + phone;
  KvStore::Batch batch;
  batch.Put(index_key, std::string("\0\0\0\x07", 4));
  batch.Put(std::string("prof/1/") + std::string("\0\0\0\x07", 4), "phone=" + phone);
  batch.Put("proj/demo", "not personal " + phone.substr(0, 3));
  ASSERT_TRUE(kv_->Write(&batch).ok());
  ASSERT_TRUE(kv_->Put("jrn/1/o/msg", "to " + phone).ok());
  // Reads see plaintext: get, scan (key and value).
  EXPECT_EQ(kv_->Get(index_key).value(), std::string("\0\0\0\x07", 4));
  EXPECT_EQ(kv_->Get(std::string("prof/1/") + std::string("\0\0\0\x07", 4)).value(), "phone=" + phone);
  EXPECT_EQ(kv_->Get("jrn/1/o/msg").value(), "to " + phone);
  std::vector<std::string> keys;
  ASSERT_TRUE(kv_->ScanPrefix("idm/1/", [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  }).ok());
  EXPECT_EQ(keys, std::vector<std::string>{index_key});
  // On disk (the store's log), the phone number appears nowhere.
  EXPECT_EQ(StoreBytes(dir_).find(phone), std::string::npos);

  // Without the keyring, a read is an error naming the key id, not a silent miss of the value.
  Reopen();
  auto sealed = kv_->Get(std::string("prof/1/") + std::string("\0\0\0\x07", 4));
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(sealed.status().message().find("key 1"), std::string::npos);
  EXPECT_EQ(kv_->FirstSealedKeyId().value(), 1);

  // Rotation: key 2 becomes active; old entries still read; Reseal moves everything to key 2,
  // after which key 1 can go.
  const std::string key2 = StateCipher::GenerateKeyLine(2).value();
  kv_->SetCipher(Keyring(key1 + "\n" + key2));
  EXPECT_EQ(kv_->Get(index_key).value(), std::string("\0\0\0\x07", 4));
  ASSERT_TRUE(kv_->Put("uid/1/\x01", "ids " + phone).ok());  // written under key 2
  auto resealed = kv_->Reseal();
  ASSERT_TRUE(resealed.ok()) << resealed.status().ToString();
  EXPECT_EQ(resealed->keys, 1u);
  EXPECT_EQ(resealed->values, 2u);  // the profile and the outbox record; uid was already key 2
  Reopen();
  kv_->SetCipher(Keyring(key2));
  EXPECT_EQ(kv_->Get(index_key).value(), std::string("\0\0\0\x07", 4));
  EXPECT_EQ(kv_->Get("jrn/1/o/msg").value(), "to " + phone);
  EXPECT_EQ(kv_->Get("uid/1/\x01").value(), "ids " + phone);
  // Deleting an index key removes it whatever form it is stored in.
  ASSERT_TRUE(kv_->Delete(index_key).ok());
  EXPECT_EQ(kv_->Get(index_key).status().code(), ErrorCode::kNotFound);

  // Plaintext written before encryption was on stays readable and is sealed by Reseal.
  Reopen();
  ASSERT_TRUE(kv_->Put("prof/1/old", "plain " + phone).ok());
  kv_->SetCipher(Keyring(key2));
  EXPECT_EQ(kv_->Get("prof/1/old").value(), "plain " + phone);
  EXPECT_EQ(kv_->Reseal().value().values, 1u);
  EXPECT_EQ(kv_->Get("prof/1/old").value(), "plain " + phone);
}

TEST_F(StateTest, ASealedValueMovedToAnotherKeyDoesNotAuthenticate) {
  kv_->SetCipher(Keyring(StateCipher::GenerateKeyLine(1).value()));
  ASSERT_TRUE(kv_->Put("prof/1/a", "alice").ok());
  std::string stored = kv_->cipher()->SealValue("prof/1/a", "alice");
  auto moved = kv_->cipher()->OpenValue("prof/1/b", stored);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(kv_->cipher()->OpenValue("prof/1/a", stored).value(), "alice");
}

// The keys of each column family of the store at `dir`, read with RocksDB itself (the store
// must be closed): family name → keys in order.
std::map<std::string, std::vector<std::string>> KeysByFamily(const std::filesystem::path& dir) {
  std::map<std::string, std::vector<std::string>> out;
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir.string(), families, &handles, &db).ok());
  if (db == nullptr) return out;
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    std::vector<std::string>& keys = out[handle->GetName()];
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handle));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    (void)db->DestroyColumnFamilyHandle(handle);
  }
  delete db;
  return out;
}

// MultiGet answers each key as Get would, in the keys' order: values, misses, keys of two
// column families, sealed values, index keys stored in sealed form, and a sealed value without
// its key.
TEST_F(StateTest, MultiGetAnswersEachKeyAsGetDoes) {
  std::string ledger_key = "led/1/";
  AppendBigEndian64(1, &ledger_key);
  KvStore::Batch batch;
  batch.Put("prof/1/a", "alpha");
  batch.Put("prof/1/c", "gamma");
  batch.Put(ledger_key, "entry");
  ASSERT_TRUE(kv_->Write(&batch).ok());
  auto multi_get = [&](const std::vector<std::string>& keys) { return kv_->MultiGet(keys); };
  auto expect_like_get = [&](const std::vector<std::string>& keys) {
    std::vector<Result<std::string>> answers = kv_->MultiGet(keys);
    ASSERT_EQ(answers.size(), keys.size());
    for (size_t index = 0; index < keys.size(); ++index) {
      Result<std::string> one = kv_->Get(keys[index]);
      EXPECT_EQ(answers[index].ok(), one.ok()) << keys[index];
      EXPECT_EQ(answers[index].status().code(), one.status().code()) << keys[index];
      if (one.ok() && answers[index].ok()) {
        EXPECT_EQ(*answers[index], *one) << keys[index];
      }
    }
  };
  std::vector<Result<std::string>> plain = multi_get({"prof/1/c", "prof/1/b", "prof/1/a"});
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].value(), "gamma");
  EXPECT_EQ(plain[1].status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(plain[2].value(), "alpha");
  EXPECT_TRUE(multi_get({}).empty());
  expect_like_get({"prof/1/a", ledger_key, "prof/1/zz"});  // two families

  const std::string phone_key = std::string("idm/1/$identity_mobile\x1f") + "13912345678";
  kv_->SetCipher(Keyring(StateCipher::GenerateKeyLine(1).value()));
  ASSERT_TRUE(kv_->Put("prof/1/b", "sealed beta").ok());
  ASSERT_TRUE(kv_->Put(phone_key, "7").ok());
  EXPECT_EQ(StoreBytes(dir_).find("sealed beta"), std::string::npos);
  std::vector<Result<std::string>> mixed = multi_get({"prof/1/a", "prof/1/b"});
  EXPECT_EQ(mixed[0].value(), "alpha");
  EXPECT_EQ(mixed[1].value(), "sealed beta");
  expect_like_get({"prof/1/a", "prof/1/b", phone_key, "prof/1/none"});

  Reopen();  // no keyring: the sealed value is an error naming its key id, the rest still read
  std::vector<Result<std::string>> locked = multi_get({"prof/1/a", "prof/1/b"});
  EXPECT_EQ(locked[0].value(), "alpha");
  EXPECT_EQ(locked[1].status().code(), ErrorCode::kUnavailable);
  expect_like_get({"prof/1/a", "prof/1/b", "prof/1/c"});
}

TEST_F(StateTest, LedgerEntriesLiveInTheirOwnColumnFamilyBehindTheSameApi) {
  std::string led1 = "led/1/", led2 = "led/1/";
  AppendBigEndian64(1, &led1);
  AppendBigEndian64(2, &led2);
  KvStore::Batch batch;
  batch.Put("ledu/1/a", "");
  batch.Put(led2, "second");
  batch.Put("jrn/1/i/a", "instance");
  batch.Put(led1, "first");
  batch.SortByKey();  // keeps each operation in its family
  ASSERT_TRUE(kv_->Write(&batch).ok());
  ASSERT_TRUE(kv_->Put("led/2/x", "other project").ok());
  ASSERT_TRUE(kv_->Delete("led/2/x").ok());
  EXPECT_EQ(kv_->Get(led1).value(), "first");
  EXPECT_EQ(kv_->Get("led/2/x").status().code(), ErrorCode::kNotFound);
  std::vector<std::string> forward, backward;
  ASSERT_TRUE(kv_->ScanPrefix("led/1/", [&](std::string_view, std::string_view value) {
    forward.emplace_back(value);
    return true;
  }).ok());
  ASSERT_TRUE(kv_->ScanPrefix("led/1/", [&](std::string_view, std::string_view value) {
    backward.emplace_back(value);
    return true;
  }, /*reverse=*/true).ok());
  EXPECT_EQ(forward, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(backward, (std::vector<std::string>{"second", "first"}));
  ASSERT_TRUE(kv_->Compact().ok());
  kv_.reset();
  auto families = KeysByFamily(dir_);
  EXPECT_EQ(families["ledger"], (std::vector<std::string>{led1, led2}));
  EXPECT_EQ(families["default"], (std::vector<std::string>{"jrn/1/i/a", "ledu/1/a"}));
  Reopen();
  EXPECT_EQ(kv_->Get(led2).value(), "second");

  // Sealed at rest like before, and resealed by a key rotation.
  const std::string key1 = StateCipher::GenerateKeyLine(1).value();
  const std::string key2 = StateCipher::GenerateKeyLine(2).value();
  kv_->SetCipher(Keyring(key1));
  ASSERT_TRUE(kv_->Put("led/1/secret", "13912345678 was contacted").ok());
  EXPECT_EQ(StoreBytes(dir_).find("13912345678"), std::string::npos);
  EXPECT_EQ(kv_->Get("led/1/secret").value(), "13912345678 was contacted");
  kv_->SetCipher(Keyring(key1 + "\n" + key2));
  // The two plaintext entries and the one sealed under key 1 (the ledger family's only).
  EXPECT_EQ(kv_->Reseal().value().values, 3u);
  Reopen();
  kv_->SetCipher(Keyring(key2));
  EXPECT_EQ(kv_->Get("led/1/secret").value(), "13912345678 was contacted");
}

TEST_F(StateTest, LedgerEntriesOfAnOlderStoreMoveIntoTheirFamilyOnOpen) {
  kv_.reset();
  std::filesystem::remove_all(dir_);
  {  // A store as written before the ledger family existed: everything in "default".
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), &db).ok());
    for (int i = 0; i < 3; ++i) {
      std::string key = "led/1/";
      AppendBigEndian64(i + 1, &key);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "entry " + std::to_string(i)).ok());
    }
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "ledj/1/j1", "").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "proj/demo", "{}").ok());
    delete db;
  }
  Reopen();
  std::vector<std::string> values;
  ASSERT_TRUE(kv_->ScanPrefix("led/", [&](std::string_view, std::string_view value) {
    values.emplace_back(value);
    return true;
  }).ok());
  EXPECT_EQ(values, (std::vector<std::string>{"entry 0", "entry 1", "entry 2"}));
  EXPECT_EQ(kv_->Get("proj/demo").value(), "{}");
  kv_.reset();
  auto families = KeysByFamily(dir_);
  EXPECT_EQ(families["ledger"].size(), 3u);
  EXPECT_EQ(families["default"], (std::vector<std::string>{"ledj/1/j1", "proj/demo"}));
  Reopen();  // nothing left to move: opens as usual
  EXPECT_EQ(kv_->Get("ledj/1/j1").value(), "");
}

}  // namespace
}  // namespace sextant::state
