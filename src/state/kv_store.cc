#include "state/kv_store.h"

#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

namespace sextant::state {

namespace {
Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNotFound()) return Status(ErrorCode::kNotFound, std::string(what) + ": not found");
  if (status.IsCorruption())
    return Status(ErrorCode::kCorruption, std::string(what) + ": " + status.ToString());
  return Status(ErrorCode::kIoError, std::string(what) + ": " + status.ToString());
}
}  // namespace

KvStore::KvStore(rocksdb::DB* db) : db_(db) {}
KvStore::~KvStore() = default;

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + dir + ": " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kZSTD;
  options.keep_log_file_num = 3;
  options.max_log_file_size = 4 << 20;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir, &db);
  if (!status.ok()) return FromRocks(status, "open state store " + dir);
  return std::unique_ptr<KvStore>(new KvStore(db));
}

Result<std::string> KvStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (!status.ok()) return FromRocks(status, "get");
  return value;
}

Status KvStore::Put(std::string_view key, std::string_view value) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())),
                   "put");
}

Status KvStore::Delete(std::string_view key) {
  return FromRocks(db_->Delete(rocksdb::WriteOptions(), rocksdb::Slice(key.data(), key.size())),
                   "delete");
}

KvStore::Batch::Batch() : rep_(std::make_unique<rocksdb::WriteBatch>()) {}
KvStore::Batch::~Batch() = default;
void KvStore::Batch::Put(std::string_view key, std::string_view value) {
  rep_->Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
}
void KvStore::Batch::Delete(std::string_view key) {
  rep_->Delete(rocksdb::Slice(key.data(), key.size()));
}
bool KvStore::Batch::empty() const { return rep_->Count() == 0; }

Status KvStore::Write(Batch* batch) {
  if (batch->empty()) return Status::Ok();
  return FromRocks(db_->Write(rocksdb::WriteOptions(), batch->rep()), "write batch");
}

Status KvStore::ScanPrefix(
    std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& visitor,
    bool reverse) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::Slice prefix_slice(prefix.data(), prefix.size());
  if (!reverse) {
    for (it->Seek(prefix_slice); it->Valid() && it->key().starts_with(prefix_slice); it->Next()) {
      if (!visitor(std::string_view(it->key().data(), it->key().size()),
                   std::string_view(it->value().data(), it->value().size())))
        break;
    }
  } else {
    std::string upper(prefix);
    upper.push_back('\xff');
    upper.append(8, '\xff');
    for (it->SeekForPrev(upper); it->Valid() && it->key().starts_with(prefix_slice); it->Prev()) {
      if (!visitor(std::string_view(it->key().data(), it->key().size()),
                   std::string_view(it->value().data(), it->value().size())))
        break;
    }
  }
  return FromRocks(it->status(), "scan");
}

Status KvStore::DeleteRange(std::string_view begin, std::string_view end) {
  return FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(),
                                    rocksdb::Slice(begin.data(), begin.size()),
                                    rocksdb::Slice(end.data(), end.size())),
                   "delete range");
}

Status KvStore::SyncWal() { return FromRocks(db_->SyncWAL(), "sync state log"); }

Status KvStore::Compact() {
  SEXTANT_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush state"));
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(options, nullptr, nullptr), "compact state");
}

uint64_t KvStore::ApproximateBytes() const {
  uint64_t bytes = 0;
  db_->GetIntProperty("rocksdb.total-sst-files-size", &bytes);
  uint64_t memtable = 0;
  db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &memtable);
  return bytes + memtable;
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
