// EventStore: the durable columnar event store of all projects (see docs/storage-format.md).
//
// Write path: Append() encodes rows into the shared write-ahead log; a single commit thread
// groups concurrent appends, writes them, runs the registered pre-sync hooks (the state KV
// store syncs its own log there), fdatasyncs the WAL, applies the rows to the in-memory head
// of each (project, day) and only then calls each append's completion. So a completion with
// OK means: durable and visible to Scan().
//
// Heads are flushed into immutable parts sorted by (user_id, time_ms) when large or old
// (a checkpoint); small parts of a day are compacted in the background; days older than the
// retention are dropped. On Open() the manifest is read and WAL records newer than the last
// checkpoint are replayed into heads.
//
// Thread-safety: all public methods are thread-safe. Completions run on the commit thread and
// must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time_zone.h"
#include "store/event_row.h"
#include "store/part.h"

namespace sextant::store {

using ProjectId = uint32_t;

struct EventStoreOptions {
  std::string dir;                        // owned exclusively by this store
  Clock* clock = &SystemClock::Instance();
  // Project time zone used to cut day partitions (one zone for the whole store for now).
  TimeZone time_zone;
  // false = "relaxed durability": the WAL is written but fsynced only every
  // relaxed_sync_interval_ms; completions do not wait for the fsync.
  bool sync_wal = true;
  int64_t relaxed_sync_interval_ms = 200;
  // A head is flushed into a part once it holds this many rows ...
  size_t head_flush_rows = 1 << 20;
  // ... or once its oldest row is this old ...
  int64_t head_flush_age_ms = 60'000;
  // ... or, for a day before today (time_zone), once nothing was added to it for this long:
  // back-filled history (an import, late events) is read as columns soon after it stops
  // arriving rather than decoded row by row by every query for a minute. 0 = off.
  int64_t past_day_head_idle_ms = 5'000;
  // A day with more than this many parts gets its newest parts merged in the background
  // (size-tiered: see EventStoreImpl::PartsToMerge and docs/storage-format.md).
  size_t compaction_trigger_parts = 4;
  // Backpressure: while the heads (rows not yet written into parts) hold more rows than this,
  // commit groups wait before they are written, so acknowledgements slow down to what the
  // maintenance thread can turn into parts (~100 B of memory per head row: 8 M ≈ 0.8 GiB).
  // Over half of it, every head is flushed whatever its size or age. A group waits at most 10 s
  // (flushes may be failing). 0 = unbounded. Without background_maintenance the caller's
  // FlushHeads is what makes room.
  uint64_t max_head_rows = 8 << 20;
  // No compaction makes a part of more rows than this: a merge holds every column of its inputs
  // in memory (~130 B per row with a few properties; 16 M rows ≈ 2 GiB). A day larger than this
  // keeps several parts.
  uint64_t max_merged_part_rows = 16 << 20;
  // A day with more than one part and no rows in memory is merged into one part once no part
  // has been added to it for this long (a settled day reads as one sorted run; a day still
  // receiving a history import is not rewritten again and again). 0 = never.
  int64_t compaction_quiet_ms = 300'000;
  // Days whose end is older than this many days before now are deleted; 0 = keep forever.
  // A project's own setting (retention_days_by_project, SetRetentionDays) overrides it.
  int retention_days = 0;
  std::map<ProjectId, int> retention_days_by_project;
  // Called on the commit thread before each WAL fsync; an error fails that group.
  std::vector<std::function<Status()>> pre_sync_hooks;
  // Start background threads (flush, compaction, retention). Tests may turn them off and call
  // the maintenance methods directly.
  bool background_maintenance = true;
  // zstd level of part columns (1-3 measured best for size/CPU; see docs/storage-format.md).
  int zstd_level = 3;
  // A row's `track_id` exists only for deduplication of client resends, which happen within
  // the deduplication window of the row's receive time. Parts drop (store 0 for) the track id
  // of rows whose event time is more than this before their receive time — history imports —
  // since no rebuild of the window can need them (the window is scanned by event time, and
  // such rows lie outside it). 0 = keep every track id.
  int64_t track_id_horizon_ms = 0;
  // The WAL rolls to a new segment once the current one is larger than this.
  uint64_t wal_segment_bytes = 64ull << 20;
  // Users erased before this open (see EventStore::EraseUsers), per project: their rows are
  // skipped by WAL replay and dropped by every flush and compaction.
  std::map<ProjectId, std::vector<UserId>> erased_users;
};

// What EventStore::EraseUsers removed.
struct EraseResult {
  uint64_t rows_removed = 0;     // rows of the users found in parts and heads
  uint64_t parts_rewritten = 0;  // parts replaced by ones without those rows
  uint64_t days_rewritten = 0;
};

// What a scan reads. Days are day numbers in the store's time zone, inclusive.
struct ScanSpec {
  int32_t first_day = 0;
  int32_t last_day = 0;
  std::vector<EventId> event_ids;          // empty = every event
  std::vector<PropertyId> property_ids;    // property columns to materialise
  bool with_distinct_id = false;
  bool with_track_id = false;
  bool with_receive_time = false;
  std::optional<UserId> only_user;         // restrict to one user (uses the user ordering)
};

// One batch of scan output in (user_id, time_ms) order, also across batches: a scan
// is one k-way merged stream over every part and head in the day range.
// Arrays are valid only during the visitor call.
struct EventBatch {
  size_t size = 0;
  const UserId* user_ids = nullptr;
  const int64_t* times_ms = nullptr;
  const EventId* event_ids = nullptr;
  const int64_t* track_ids = nullptr;            // only if with_track_id
  const int64_t* receive_times_ms = nullptr;     // only if with_receive_time
  const std::string* distinct_ids = nullptr;     // only if with_distinct_id
  // For ScanSpec::property_ids[k]: values[k][row] is the value or nullopt (absent).
  std::vector<const std::optional<Value>*> property_values;
};

// Everything one (project, day) holds at the moment of a snapshot, for readers that want
// whole columns rather than a merged row stream (the analysis engine). Parts are immutable
// and stay readable (their files are kept) while the snapshot holds them.
struct DaySnapshot {
  int32_t day = 0;
  int64_t day_start_ms = 0;
  std::vector<std::shared_ptr<const Part>> parts;  // by seq (older first)
  // Rows still in memory (not yet in a part), decoded and sorted by (user_id, time_ms),
  // arrival order on ties. Empty for days with no head.
  std::vector<EventRow> head_rows;
};

struct StoreStats {
  uint64_t parts = 0;
  uint64_t part_bytes = 0;
  uint64_t head_rows = 0;
  uint64_t wal_bytes = 0;
  uint64_t rows_total = 0;          // rows in parts + heads
  uint64_t compactions = 0;
  uint64_t compacted_rows = 0;      // rows rewritten by compactions (their inputs' rows)
  uint64_t throttled_us = 0;        // time commits waited for head room (max_head_rows)
  uint64_t wal_syncs = 0;
  // Histogram of WAL fsync latency: bucket upper bounds in µs and counts (cumulative not).
  std::vector<double> fsync_bucket_upper_us;
  std::vector<uint64_t> fsync_bucket_counts;
  double fsync_sum_us = 0;
};

class EventStore {
 public:
  // Opens (creating if needed) the store in options.dir and recovers from the WAL.
  // `on_recovered_row` (may be empty) is called for every row replayed from the WAL, so
  // callers can rebuild derived state (e.g. the deduplication filter).
  static Result<std::unique_ptr<EventStore>> Open(
      EventStoreOptions options,
      std::function<void(ProjectId, const EventRow&)> on_recovered_row = {});
  virtual ~EventStore() = default;

  // Makes `rows` durable and visible, then calls `done`. `rows` may be empty: `done` is then
  // called after the next group commit (used to make state-only changes durable).
  virtual void Append(ProjectId project, std::vector<EventRow> rows,
                      std::function<void(Status)> done) = 0;

  // Streams matching rows to `visitor` in (user_id, time_ms) order. Stops early if the
  // visitor returns false.
  virtual Status Scan(ProjectId project, const ScanSpec& spec,
                      const std::function<bool(const EventBatch&)>& visitor) const = 0;

  // Snapshots every day in [first_day, last_day] that holds data, in day order.
  virtual Status SnapshotDays(ProjectId project, int32_t first_day, int32_t last_day,
                              std::vector<DaySnapshot>* out) const = 0;

  // Maintenance, also run by the background threads.
  virtual Status FlushHeads(bool force) = 0;  // checkpoint: heads → parts, trim the WAL
  virtual Status CompactOnce() = 0;           // merges one day's small parts, if any
  virtual Status ApplyRetention() = 0;
  // Sets `project`'s retention by age in days (0 = the store's default, retention_days;
  // negative = keep forever whatever the default). Takes effect at the next ApplyRetention.
  virtual void SetRetentionDays(ProjectId project, int days) = 0;

  // Erasure of customers (data-subject deletion): from now on rows of `users` are dropped
  // when they reach a head, at WAL replay, and by every flush and compaction; the heads are
  // flushed, every part holding a row of theirs is rewritten without it, and the WAL is rolled
  // and trimmed, so that their rows are in no live file. The caller persists the erasure
  // first (EventStoreOptions::erased_users at the next open), so a crash midway is finished by
  // calling this again. Rows of these users appended concurrently (resolved before the
  // erasure) never reach a head or a part; their WAL records go with the next checkpoint.
  virtual Result<EraseResult> EraseUsers(ProjectId project, const std::vector<UserId>& users) = 0;

  virtual StoreStats Stats() const = 0;
  // Day range that holds data for `project` (nullopt if none).
  virtual std::optional<std::pair<int32_t, int32_t>> DayRange(ProjectId project) const = 0;

  // Flushes what must be flushed and stops background threads. Idempotent.
  virtual Status Close() = 0;
};

}  // namespace sextant::store
