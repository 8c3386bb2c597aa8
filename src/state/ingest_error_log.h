// IngestErrorLog: every record the server refused (or accepted only in part) with the reason,
// so nothing is dropped silently. Entries are kept per project, newest readable first, and
// trimmed to the newest `max_entries_per_project`.
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "state/kv_store.h"
#include "state/project_registry.h"

namespace sextant::state {

struct IngestError {
  int64_t time_ms = 0;
  ErrorCode code = ErrorCode::kOk;
  std::string field;
  std::string reason;
  std::string record;  // excerpt of the offending record / payload (at most kMaxExcerptBytes)
  std::string source;  // "sa", "debug", "batch", "segment"
};

class IngestErrorLog {
 public:
  static constexpr size_t kMaxExcerptBytes = 2048;

  explicit IngestErrorLog(KvStore* kv, size_t max_entries_per_project = 100'000)
      : kv_(kv), max_entries_(max_entries_per_project) {}

  // Adds the entry into `batch` (durable with the request that caused it).
  void Append(ProjectId project, IngestError error, KvStore::Batch* batch);
  // Newest first.
  Result<std::vector<IngestError>> List(ProjectId project, size_t limit) const;
  // Deletes entries beyond the newest max_entries_per_project.
  Status Trim();
  // Erasure of a person: deletes (in `batch`) every entry whose record excerpt contains one of
  // `needles` (the person's ids, each at least 3 bytes; shorter ones are ignored as they would
  // match unrelated records). Returns the number of entries deleted.
  Result<uint64_t> EraseMentioning(ProjectId project, const std::vector<std::string>& needles,
                                   KvStore::Batch* batch) const;

 private:
  uint64_t NextSeq(ProjectId project);
  KvStore* kv_;
  const size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<ProjectId, uint64_t> next_seq_;  // guarded by mu_
};

}  // namespace sextant::state
