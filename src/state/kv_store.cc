#include "state/kv_store.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

namespace sextant::state {

namespace {

// RocksDB's informational log goes to stderr (warnings and errors only) rather than to a LOG
// file in the store: its file logger asserts when it writes again after a failed write (a full
// disk), and a full disk is exactly when its messages matter.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list arguments) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, arguments);
    std::fprintf(stderr, "sextant: state store: %s\n", line);
  }
};

// The decision ledger's entries ("led/<pid>/<sequence BE64>", about half of what a mass send
// writes) live in a column family of their own. Their keys only grow, so the ledger family's
// flushed files never overlap and RocksDB moves them down the levels without rewriting them;
// in the default family every small memtable flush spans the whole key space and each
// compaction rewrites the ledger entries with everything else. Routing is by key prefix, so a
// key always lives in the same family and callers never name one.
constexpr std::string_view kLedgerPrefix = "led/";
constexpr const char* kLedgerFamilyName = "ledger";
// The ledger family is created right after the default one (ID 0) and so has ID 1; Open
// checks this. A batch records the family by ID only, which lets Batch — which has no store
// — address it through this stand-in handle.
constexpr uint32_t kLedgerFamilyId = 1;

bool InLedgerFamily(std::string_view key) { return key.starts_with(kLedgerPrefix); }

class LedgerFamilyOfBatch final : public rocksdb::ColumnFamilyHandle {
 public:
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return kLedgerFamilyId; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported("batch-only handle");
  }
  const rocksdb::Comparator* GetComparator() const override {
    return rocksdb::BytewiseComparator();
  }

 private:
  const std::string name_ = kLedgerFamilyName;
};

// The handle a batch operation is recorded under, by family id or by key: nullptr = the
// default family.
rocksdb::ColumnFamilyHandle* BatchFamilyById(uint32_t family_id) {
  static LedgerFamilyOfBatch ledger;
  return family_id == kLedgerFamilyId ? &ledger : nullptr;
}
rocksdb::ColumnFamilyHandle* BatchFamilyOf(std::string_view key) {
  return BatchFamilyById(InLedgerFamily(key) ? kLedgerFamilyId : 0);
}

// WriteBatch::Put/Delete into the default family when `family` is null.
rocksdb::Status BatchPut(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family,
                         const rocksdb::Slice& key, const rocksdb::Slice& value) {
  return family ? batch->Put(family, key, value) : batch->Put(key, value);
}
rocksdb::Status BatchDelete(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family,
                            const rocksdb::Slice& key) {
  return family ? batch->Delete(family, key) : batch->Delete(key);
}

Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNotFound()) return Status(ErrorCode::kNotFound, std::string(what) + ": not found");
  if (status.IsCorruption())
    return Status(ErrorCode::kCorruption, std::string(what) + ": " + status.ToString());
  return Status(ErrorCode::kIoError, std::string(what) + ": " + status.ToString());
}
}  // namespace

KvStore::KvStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* ledger_family)
    : db_(db), ledger_family_(ledger_family) {}

KvStore::~KvStore() {
  // After a failed log write RocksDB's close path asserts (its log writer refuses reuse after
  // an error): the store is left unclosed instead. Nothing is lost — every acknowledged change
  // was synced, and the next open recovers from the log as after a crash.
  if (Failed()) {
    (void)db_.release();
    return;
  }
  (void)db_->DestroyColumnFamilyHandle(ledger_family_);
}

rocksdb::ColumnFamilyHandle* KvStore::FamilyOf(std::string_view key_or_prefix) const {
  return InLedgerFamily(key_or_prefix) ? ledger_family_ : db_->DefaultColumnFamily();
}

bool KvStore::Failed() const {
  uint64_t errors = 0;
  db_->GetIntProperty("rocksdb.background-errors", &errors);
  return log_failed_.load() || errors > resumed_errors_.load();
}

Status KvStore::Checked(Status status) {
  if (!status.ok() && status.code() == ErrorCode::kIoError) log_failed_.store(true);
  return status;
}

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + dir + ": " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kZSTD;
  options.info_log = std::make_shared<StderrLogger>();
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // The state store's writes are small records (profiles, identities, journey state, ledger):
  // 16 MiB memtables (RocksDB's default is 64 MiB, two of them) keep its memory small and
  // steady; the 30-minute soak showed RSS climbing by a memtable's worth between flushes.
  options.write_buffer_size = 16 << 20;
  // Level-0 files are compacted 16 at a time (RocksDB's default is 4). Every small memtable
  // flush of the default family spans most of its key space (journey state, identities,
  // profiles; the ledger has a family of its own, see kLedgerPrefix), so each L0 → L1
  // compaction rewrites most of L1: with 4, compaction took a third of the CPU of a 500 K
  // customer send (bench/journey_bench.sh, part 3). With 16 it rewrites L1 a quarter as often:
  // the send decided 29 K/s instead of 25.5 K/s and delivered 13.0 K/s instead of 11.0 K/s,
  // and the 200 K events/s trigger run used 1.36 cores instead of 1.53 (2026-11-24). Reads
  // that miss check up to 16 more bloom filters; no memory is added (memtables unchanged).
  options.level0_file_num_compaction_trigger = 16;
  options.level0_slowdown_writes_trigger = 40;
  options.level0_stop_writes_trigger = 60;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  options.create_missing_column_families = true;
  // The ledger family's flushes do not overlap, so its L0 → L1 work is small and frequent
  // (RocksDB's default trigger of 4), and it gets a compaction slot of its own beside the
  // default family's long jobs (2 compactions, 1 flush, on the 2 low-priority threads): with one
  // slot, a 5 M customer send stalled writes on 40 ledger L0 files waiting behind them.
  options.max_background_jobs = 3;
  rocksdb::ColumnFamilyOptions ledger_options(options);
  ledger_options.level0_file_num_compaction_trigger = 4;
  ledger_options.level0_slowdown_writes_trigger = 20;
  ledger_options.level0_stop_writes_trigger = 36;
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {kLedgerFamilyName, ledger_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir, families, &handles, &db);
  if (!status.ok()) return FromRocks(status, "open state store " + dir);
  // The default family's handle is the DB's own; only the ledger's is ours to destroy.
  (void)db->DestroyColumnFamilyHandle(handles[0]);
  std::unique_ptr<KvStore> store(new KvStore(db, handles[1]));
  if (handles[1]->GetID() != kLedgerFamilyId) {
    return Status(ErrorCode::kCorruption,
                  "open state store " + dir + ": column family \"ledger\" has id " +
                      std::to_string(handles[1]->GetID()) + ", expected " +
                      std::to_string(kLedgerFamilyId));
  }
  SEXTANT_RETURN_IF_ERROR(store->MoveLedgerIntoItsFamily());
  return store;
}

Status KvStore::MoveLedgerIntoItsFamily() {
  const rocksdb::Slice prefix(kLedgerPrefix.data(), kLedgerPrefix.size());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch batch;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    // Moved as stored (a sealed value stays sealed), put and delete in one batch: after a
    // crash in between, every entry is in exactly one family and the next open goes on.
    batch.Put(ledger_family_, it->key(), it->value());
    batch.Delete(it->key());
    if (batch.Count() >= 20'000) {
      SEXTANT_RETURN_IF_ERROR(
          FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "move ledger"));
      batch.Clear();
    }
  }
  SEXTANT_RETURN_IF_ERROR(FromRocks(it->status(), "move ledger"));
  if (batch.Count() == 0) return Status::Ok();
  SEXTANT_RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "move ledger"));
  return SyncWal();
}

Result<std::string> KvStore::Get(std::string_view key) const {
  std::string value;
  if (cipher_ && StateCipher::SealsKey(key)) {
    // The index key may be stored under any key of the keyring, or in plaintext.
    for (const std::string& form : cipher_->KeyForms(key)) {
      rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), FamilyOf(form), form, &value);
      if (status.ok()) return value;
      if (!status.IsNotFound()) return FromRocks(status, "get");
    }
    return Status(ErrorCode::kNotFound, "get: not found");
  }
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), FamilyOf(key),
                                    rocksdb::Slice(key.data(), key.size()), &value);
  if (!status.ok()) return FromRocks(status, "get");
  if (!StateCipher::IsSealedValue(value)) return value;
  if (!cipher_) return MissingKeyError(StateCipher::KeyIdOfValue(value));
  return cipher_->OpenValue(key, value);
}

std::vector<Result<std::string>> KvStore::MultiGet(std::span<const std::string> keys) const {
  std::vector<Result<std::string>> out;
  out.reserve(keys.size());
  // Keys that may be stored in several forms (sealed index keys), or that live in different
  // families, are read one by one: Get knows their forms, and MultiGet takes one family.
  rocksdb::ColumnFamilyHandle* family = keys.empty() ? nullptr : FamilyOf(keys.front());
  const bool one_by_one =
      keys.size() < 2 || std::any_of(keys.begin(), keys.end(), [&](const std::string& key) {
        return (cipher_ && StateCipher::SealsKey(key)) || FamilyOf(key) != family;
      });
  if (one_by_one) {
    for (const std::string& key : keys) out.push_back(Get(key));
    return out;
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), family, keys.size(), slices.data(), values.data(),
                statuses.data());
  for (size_t index = 0; index < keys.size(); ++index) {
    if (!statuses[index].ok()) {
      out.push_back(FromRocks(statuses[index], "get"));
      continue;
    }
    std::string value = values[index].ToString();
    if (!StateCipher::IsSealedValue(value)) {
      out.push_back(std::move(value));
    } else if (!cipher_) {
      out.push_back(MissingKeyError(StateCipher::KeyIdOfValue(value)));
    } else {
      out.push_back(cipher_->OpenValue(keys[index], value));
    }
  }
  return out;
}

Status KvStore::Put(std::string_view key, std::string_view value) {
  Batch batch;
  batch.Put(key, value);
  return Write(&batch);
}

Status KvStore::Delete(std::string_view key) {
  Batch batch;
  batch.Delete(key);
  return Write(&batch);
}

KvStore::Batch::Batch() : rep_(std::make_unique<rocksdb::WriteBatch>()) {}
KvStore::Batch::~Batch() = default;
void KvStore::Batch::Put(std::string_view key, std::string_view value) {
  (void)BatchPut(rep_.get(), BatchFamilyOf(key), rocksdb::Slice(key.data(), key.size()),
                 rocksdb::Slice(value.data(), value.size()));
}
void KvStore::Batch::Delete(std::string_view key) {
  (void)BatchDelete(rep_.get(), BatchFamilyOf(key), rocksdb::Slice(key.data(), key.size()));
}
bool KvStore::Batch::empty() const { return rep_->Count() == 0; }

void KvStore::Batch::SortByKey() {
  if (rep_->Count() < 2) return;  // the usual single-record request: nothing to order, no copy
  struct Operation {
    rocksdb::Slice key;
    rocksdb::Slice value;
    bool is_delete;
    uint32_t family_id;
  };
  // The slices point into rep_, which stays alive until the sorted copy replaces it.
  class Collector final : public rocksdb::WriteBatch::Handler {
   public:
    std::vector<Operation> operations;
    rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      operations.push_back({key, value, false, family_id});
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
      operations.push_back({key, {}, true, family_id});
      return rocksdb::Status::OK();
    }
  };
  Collector collector;
  collector.operations.reserve(rep_->Count());
  // Put and Delete are the only operations a Batch records, so iterating cannot fail. A key
  // always lives in one family (by its prefix), so ordering by key alone keeps each family's
  // operations on a key in order.
  (void)rep_->Iterate(&collector);
  std::stable_sort(collector.operations.begin(), collector.operations.end(),
                   [](const Operation& a, const Operation& b) { return a.key.compare(b.key) < 0; });
  std::unique_ptr<rocksdb::WriteBatch> sorted = std::move(spare_);
  if (sorted == nullptr) {
    sorted = std::make_unique<rocksdb::WriteBatch>(rep_->GetDataSize());
  } else {
    sorted->Clear();  // keeps the buffer's capacity
  }
  for (const Operation& operation : collector.operations) {
    rocksdb::ColumnFamilyHandle* family = BatchFamilyById(operation.family_id);
    if (operation.is_delete) {
      (void)BatchDelete(sorted.get(), family, operation.key);
    } else {
      (void)BatchPut(sorted.get(), family, operation.key, operation.value);
    }
  }
  spare_ = std::move(rep_);  // the slices above pointed into it; reused by the next sort
  rep_ = std::move(sorted);
}

namespace {

// Rewrites a batch into its stored form: sealed values, sealed index keys (a put also deletes
// the forms the key may have had before, so an id is stored once).
class SealingHandler final : public rocksdb::WriteBatch::Handler {
 public:
  SealingHandler(const StateCipher& cipher, rocksdb::DB* db) : cipher_(cipher), db_(db) {}
  rocksdb::WriteBatch sealed;

  // Index keys (the only keys sealed) are never ledger keys, so they stay in the default family.
  rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key_slice,
                        const rocksdb::Slice& value_slice) override {
    const std::string_view key(key_slice.data(), key_slice.size());
    const std::string_view value(value_slice.data(), value_slice.size());
    if (StateCipher::SealsKey(key)) {
      std::vector<std::string> forms = cipher_.KeyForms(key);
      DeleteOtherForms(forms, 1);
      return sealed.Put(forms.front(), value_slice);
    }
    rocksdb::ColumnFamilyHandle* family = BatchFamilyById(family_id);
    if (StateCipher::SealsValueOf(key))
      return BatchPut(&sealed, family, key_slice, cipher_.SealValue(key, value));
    return BatchPut(&sealed, family, key_slice, value_slice);
  }
  rocksdb::Status DeleteCF(uint32_t family_id, const rocksdb::Slice& key_slice) override {
    const std::string_view key(key_slice.data(), key_slice.size());
    if (StateCipher::SealsKey(key)) {
      DeleteOtherForms(cipher_.KeyForms(key), 0);
      return rocksdb::Status::OK();
    }
    return BatchDelete(&sealed, BatchFamilyById(family_id), key_slice);
  }

 private:
  // Deletes forms[from..] that are stored. Only stored ones: a delete record of the plaintext
  // form would itself write the id in clear into the log.
  void DeleteOtherForms(const std::vector<std::string>& forms, size_t from) {
    std::string ignored;
    for (size_t i = from; i < forms.size(); ++i)
      if (db_->Get(rocksdb::ReadOptions(), forms[i], &ignored).ok()) sealed.Delete(forms[i]);
  }
  const StateCipher& cipher_;
  rocksdb::DB* db_;
};

}  // namespace

Status KvStore::Write(Batch* batch) {
  if (batch->empty()) return Status::Ok();
  if (!cipher_)
    return Checked(FromRocks(db_->Write(rocksdb::WriteOptions(), batch->rep()), "write batch"));
  SealingHandler handler(*cipher_, db_.get());
  SEXTANT_RETURN_IF_ERROR(FromRocks(batch->rep()->Iterate(&handler), "seal batch"));
  return Checked(FromRocks(db_->Write(rocksdb::WriteOptions(), &handler.sealed), "write batch"));
}

Status KvStore::OpenEntry(std::string_view key, std::string_view value, std::string* plain_key,
                          std::string* plain_value) const {
  if (StateCipher::IsSealedKey(key)) {
    if (!cipher_) return MissingKeyError(StateCipher::KeyIdOfKey(key));
    auto opened = cipher_->OpenKey(key);
    if (!opened.ok()) return opened.status();
    *plain_key = std::move(*opened);
  } else {
    plain_key->assign(key);
  }
  if (StateCipher::IsSealedValue(value)) {
    if (!cipher_) return MissingKeyError(StateCipher::KeyIdOfValue(value));
    auto opened = cipher_->OpenValue(*plain_key, value);
    if (!opened.ok()) return opened.status();
    *plain_value = std::move(*opened);
  } else {
    plain_value->assign(value);
  }
  return Status::Ok();
}

Result<uint8_t> KvStore::FirstSealedKeyId() const {
  for (std::string_view prefix : {"prof/", "uid/", "idm/", "led/"}) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), FamilyOf(prefix)));
    const rocksdb::Slice slice(prefix.data(), prefix.size());
    for (it->Seek(slice); it->Valid() && it->key().starts_with(slice); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const std::string_view value(it->value().data(), it->value().size());
      if (StateCipher::IsSealedKey(key)) return StateCipher::KeyIdOfKey(key);
      if (StateCipher::IsSealedValue(value)) return StateCipher::KeyIdOfValue(value);
      break;  // one entry per key space tells whether it is sealed
    }
    SEXTANT_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  }
  return uint8_t{0};
}

Result<KvStore::ResealResult> KvStore::Reseal() {
  if (!cipher_) return Status(ErrorCode::kBadRequest, "no keyring: nothing to seal with");
  ResealResult result;
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> Status {
    if (batch.Count() == 0) return Status::Ok();
    SEXTANT_RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "reseal"));
    batch.Clear();
    return Status::Ok();
  };
  const uint8_t active = cipher_->active_id();
  for (rocksdb::ColumnFamilyHandle* family : {db_->DefaultColumnFamily(), ledger_family_}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const std::string_view value(it->value().data(), it->value().size());
      std::string plain_key, plain_value;
      SEXTANT_RETURN_IF_ERROR(OpenEntry(key, value, &plain_key, &plain_value));
      if (StateCipher::SealsKey(plain_key)) {
        if (StateCipher::IsSealedKey(key) && StateCipher::KeyIdOfKey(key) == active) continue;
        batch.Delete(family, it->key());
        batch.Put(family, cipher_->SealKey(plain_key, active), value);
        ++result.keys;
      } else if (StateCipher::SealsValueOf(plain_key)) {
        if (StateCipher::IsSealedValue(value) && StateCipher::KeyIdOfValue(value) == active)
          continue;
        batch.Put(family, it->key(), cipher_->SealValue(plain_key, plain_value));
        ++result.values;
      }
      if (batch.Count() >= 10'000) SEXTANT_RETURN_IF_ERROR(flush());
    }
    SEXTANT_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  }
  SEXTANT_RETURN_IF_ERROR(flush());
  SEXTANT_RETURN_IF_ERROR(SyncWal());
  // The old forms must leave the files too.
  SEXTANT_RETURN_IF_ERROR(Compact());
  return result;
}

Status KvStore::ScanPrefix(
    std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& visitor,
    bool reverse) const {
  return Scan(prefix, prefix, visitor, reverse);
}

Status KvStore::ScanPrefixFrom(
    std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view key, std::string_view value)>& visitor) const {
  return Scan(prefix, start < prefix ? prefix : start, visitor, /*reverse=*/false);
}

Status KvStore::Scan(
    std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view key, std::string_view value)>& visitor,
    bool reverse) const {
  // Bounds to the prefix, so that RocksDB skips the files and blocks outside it and stops at
  // its end instead of positioning every level on the next key (most scans are a few keys of
  // one customer's or one project's range).
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty()) upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
  const rocksdb::Slice lower_bound(prefix.data(), prefix.size()), upper_bound(upper);
  rocksdb::ReadOptions options;
  options.iterate_lower_bound = &lower_bound;
  if (!upper.empty()) options.iterate_upper_bound = &upper_bound;  // "" = no successor: no bound
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, FamilyOf(prefix)));
  rocksdb::Slice prefix_slice(prefix.data(), prefix.size());
  // Sealed entries are opened before the visitor sees them (two byte compares otherwise).
  std::string plain_key, plain_value;
  Status open_error;
  auto visit = [&]() {
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    if (!StateCipher::IsSealedKey(key) && !StateCipher::IsSealedValue(value))
      return visitor(key, value);
    open_error = OpenEntry(key, value, &plain_key, &plain_value);
    if (!open_error.ok()) return false;
    return visitor(plain_key, plain_value);
  };
  if (!reverse) {
    for (it->Seek(rocksdb::Slice(start.data(), start.size()));
         it->Valid() && it->key().starts_with(prefix_slice); it->Next()) {
      if (!visit()) break;
    }
  } else {
    // The prefix's last key: the last before the upper bound (or, for a prefix of 0xff bytes
    // only, the last before prefix + 0xff…).
    if (!upper.empty()) {
      it->SeekToLast();
    } else {
      std::string last_possible(prefix);
      last_possible.append(9, '\xff');
      it->SeekForPrev(last_possible);
    }
    for (; it->Valid() && it->key().starts_with(prefix_slice); it->Prev()) {
      if (!visit()) break;
    }
  }
  SEXTANT_RETURN_IF_ERROR(open_error);
  return FromRocks(it->status(), "scan");
}

Status KvStore::DeleteRange(std::string_view begin, std::string_view end) {
  return FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), FamilyOf(begin),
                                    rocksdb::Slice(begin.data(), begin.size()),
                                    rocksdb::Slice(end.data(), end.size())),
                   "delete range");
}

Status KvStore::SyncWal() {
  if (Failed()) {
    // The disk may have room again: RocksDB resumes writing if it can.
    uint64_t errors = 0;
    db_->GetIntProperty("rocksdb.background-errors", &errors);
    SEXTANT_RETURN_IF_ERROR(FromRocks(db_->Resume(), "resume the state store after a failed write"));
    resumed_errors_.store(errors);
    log_failed_.store(false);
  }
  return Checked(FromRocks(db_->SyncWAL(), "sync state log"));
}

Status KvStore::Flush() {
  if (Failed())
    return Status(ErrorCode::kIoError, "state store: not flushed after a failed write");
  for (rocksdb::ColumnFamilyHandle* family : {db_->DefaultColumnFamily(), ledger_family_}) {
    SEXTANT_RETURN_IF_ERROR(
        FromRocks(db_->Flush(rocksdb::FlushOptions(), family), "flush state"));
  }
  return Status::Ok();
}

Status KvStore::Compact() {
  if (Failed())
    return Status(ErrorCode::kIoError, "state store: not compacted after a failed write");
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* family : {db_->DefaultColumnFamily(), ledger_family_}) {
    SEXTANT_RETURN_IF_ERROR(
        FromRocks(db_->Flush(rocksdb::FlushOptions(), family), "flush state"));
    SEXTANT_RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(options, family, nullptr, nullptr), "compact state"));
  }
  return Status::Ok();
}

uint64_t KvStore::ApproximateBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* family : {db_->DefaultColumnFamily(), ledger_family_}) {
    uint64_t bytes = 0;
    db_->GetIntProperty(family, "rocksdb.total-sst-files-size", &bytes);
    uint64_t memtable = 0;
    db_->GetIntProperty(family, "rocksdb.cur-size-all-mem-tables", &memtable);
    total += bytes + memtable;
  }
  return total;
}

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}
void AppendBigEndian64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}
uint32_t ReadBigEndian32(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4 && i < bytes.size(); ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}
uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

}  // namespace sextant::state
