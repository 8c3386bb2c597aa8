// DayColumns: one (project, day) of the event store as the analysis engine reads it — every row
// of the day (all parts and the in-memory head merged) sorted by (user, time), in fixed-width
// columns that a query walks at memory speed. DayColumnsCache keeps the columns of days that
// consist of parts only (immutable), so a hot query decodes nothing.
//
// Layout and cost: per row a 32-bit time offset and a 32-bit event code (8 bytes); per user
// run (consecutive rows of one user) a user id and a row offset. Property columns are decoded
// on first use and kept with the day.
//
// A day that is one part (every compacted day) is built lazily: Build decodes only the user
// runs (nothing at all when the part has the per-event user index: the runs then wait for
// their first use, and UserCountsOf reads the index); RowsOf / RowsOfEvents then pick the
// asked events' rows from the event column (about a byte a row) and decode only those rows'
// times (the time column is skipped past the others a word at a time), and the full time and
// event columns are decoded on the first call of time_offset_ms() or event() (or
// EnsureFullColumns()). So a cold query of a few events does
// not decode, or keep in memory, every row's time. A lazy read that fails (I/O, corruption)
// cannot return an error through these accessors: it leaves empty lists or rows of no event,
// and LazyStatus() reports it — the engine checks it after every analysis and fails the query.
//
// Thread-safety: a DayColumns is immutable after Build except for the lazily added columns,
// which are guarded by internal mutexes; every accessor may be called from any thread.
// DayColumnsCache is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <roaring/roaring.hh>

#include "common/status.h"
#include "store/event_store.h"
#include "store/part.h"

namespace sextant::query {

using store::EventId;
using store::PropertyId;
using store::UserId;

class DayColumns {
 public:
  // Decodes and merges everything in `snapshot`. Rows with equal (user, time) keep the order
  // parts-then-head, older part first: arrival order.
  static Result<std::shared_ptr<const DayColumns>> Build(store::DaySnapshot snapshot);

  int32_t day() const { return day_; }
  int64_t day_start_ms() const { return day_start_ms_; }
  size_t rows() const { return rows_; }

  // Run r holds rows [run_begin(r), run_begin(r + 1)), all of user run_user(r); users ascend.
  // A lazily built day whose part has the per-event user index decodes its runs on the first
  // call of one of these three (a query answered from that index never needs them).
  size_t runs() const {
    EnsureRuns();
    return run_user_.size();
  }
  const std::vector<UserId>& run_user() const {
    EnsureRuns();
    return run_user_;
  }
  const std::vector<uint32_t>& run_begin() const {  // runs() + 1 entries
    EnsureRuns();
    return run_begin_;
  }
  // True when the runs are decoded (the three accessors above would not read the part).
  bool HasRuns() const { return runs_ready_.load(std::memory_order_acquire); }
  // Event time minus day_start_ms(), in ms (0 <= offset < 86'400'000).
  const std::vector<uint32_t>& time_offset_ms() const {
    EnsureFullColumns();
    return time_offset_ms_;
  }
  // A row whose event could not be read (LazyStatus() not ok) holds kNoEvent.
  const std::vector<EventId>& event() const {
    EnsureFullColumns();
    return event_;
  }
  static constexpr EventId kNoEvent = UINT32_MAX - 1;  // not kAnyEvent (UINT32_MAX)
  // Decodes the full time and event columns of a lazily built day now (no-op otherwise).
  void EnsureFullColumns() const {
    if (!full_.load(std::memory_order_acquire)) DecodeFullColumns();
  }
  // True when the time and event columns are decoded (a lazily built day not yet asked).
  bool HasFullColumns() const { return full_.load(std::memory_order_acquire); }
  // Ok, or the first failure of a lazy read (see the class comment).
  Status LazyStatus() const;
  // Starts the I/O of a lazily built day's base columns (posix_fadvise), so many days' reads
  // are in flight at once; `with_times` false leaves the time column out.
  void PrefetchLazyColumns(bool with_times = true) const;
  // True when Build reads nothing of the snapshot's parts (one part with the per-event user
  // index and no head): its loader need not start any I/O for it.
  static bool BuildsWithoutReading(const store::DaySnapshot& snapshot) {
    return snapshot.parts.size() == 1 && snapshot.head_rows.empty() &&
           snapshot.parts[0]->has_event_index();
  }

  // The property's values in row order (PropColumn::slot[row] < 0 = absent), or nullptr when
  // no row of the day carries it.
  Result<const store::PropColumn*> Property(PropertyId property) const;

  // The rows of one event, ascending, each with its run's user: an index that lets a scan of a
  // rare event skip every other row. Built from the event column on first use (one pass),
  // then kept with the day.
  struct EventRows {
    std::vector<uint32_t> rows;
    std::vector<UserId> users;  // users[i] owns rows[i]; ascending, like the day's runs
  };
  const EventRows& RowsOf(EventId event) const;
  // The rows of any of a set of events, ascending, with each row's user, event and time offset
  // copied next to it: a scan for a few events reads this one sequence instead of merging
  // per-event lists and gathering from the day's columns row by row. On a lazily built day it
  // is read from the part without decoding the full columns.
  struct EventSetRows {
    std::vector<uint32_t> rows;
    std::vector<UserId> users;           // ascending, like the day's runs
    std::vector<EventId> events;         // event()[rows[i]]
    std::vector<uint32_t> time_offset_ms;  // time_offset_ms()[rows[i]]; empty when !has_times
    bool has_times = true;
  };
  // `events` sorted and distinct. Built in one pass over the event column on first use and
  // kept with the day, per set (16 bytes per listed row, counted in MemoryBytes).
  // `with_times` false: the caller needs no row's time (e.g. a count by day over whole days),
  // so a lazily built day does not read its time column at all — about half of what a cold
  // query of a few events decodes. The answer may still carry times (when a list with times
  // was built before); a later call with times builds a second list from this one and reads
  // only the times. A returned list is never modified afterwards (concurrent queries read it).
  const EventSetRows& RowsOfEvents(const std::vector<EventId>& events,
                                   bool with_times = true) const;
  // True when RowsOfEvents(events, with_times) is already built (a call would not read or
  // decode).
  bool HasRowsOfEvents(const std::vector<EventId>& events, bool with_times = true) const;
  // The users with at least one row of `event` (stored ids), built from UserCountsOf on first
  // use.
  const Roaring& UsersOf(EventId event) const;
  // The users with rows of `event`, ascending and distinct, with each one's row count: all a
  // count or unique-user measure over whole days needs. A lazily built day reads it from the
  // part's per-event user index (one small block per event: no user, time or event column is
  // decoded); other days derive it from RowsOf. Kept with the day (8 bytes per entry).
  struct EventUserCounts {
    std::vector<UserId> users;
    std::vector<uint32_t> row_counts;
    uint64_t rows = 0;  // sum of row_counts
  };
  const EventUserCounts& UserCountsOf(EventId event) const;
  bool HasUserCountsOf(EventId event) const;
  // Starts the I/O of the index blocks of `events` on a lazily built day (posix_fadvise).
  void PrefetchUserCounts(const std::vector<EventId>& events) const;

  // Approximate bytes held (for the cache budget).
  size_t MemoryBytes() const;

 private:
  DayColumns() = default;
  void EnsureRuns() const {
    if (!runs_ready_.load(std::memory_order_acquire)) DecodeRuns();
  }
  void DecodeRuns() const;
  void DecodeFullColumns() const;
  // Lazily built day: reads the rows of `events` (sorted) from the part into `list`, and their
  // times when `with_times`.
  Status ReadEventSet(const std::vector<EventId>& events, bool with_times,
                      EventSetRows* list) const;
  // users[i] = the user of run holding rows[i] (rows ascending).
  void UsersOfRows(const std::vector<uint32_t>& rows, std::vector<UserId>* users) const;
  void NoteLazyError(const Status& status) const;

  int32_t day_ = 0;
  int64_t day_start_ms_ = 0;
  size_t rows_ = 0;
  // Decoded at Build, or — lazily built days with an event index — by DecodeRuns under
  // runs_mu_, published by runs_ready_ (release); read only after runs_ready_ is seen true.
  mutable std::vector<UserId> run_user_;
  mutable std::vector<uint32_t> run_begin_;
  mutable std::atomic<bool> runs_ready_{true};
  mutable std::mutex runs_mu_;
  // Decoded at Build, or — lazily built days — by DecodeFullColumns under full_mu_, published
  // by full_ (release); read only after full_ is seen true (acquire).
  mutable std::vector<uint32_t> time_offset_ms_;
  mutable std::vector<EventId> event_;
  mutable std::atomic<bool> full_{true};
  mutable std::mutex full_mu_;
  mutable std::mutex lazy_status_mu_;
  mutable Status lazy_status_;  // guarded by lazy_status_mu_

  // Where the rows came from, to decode property columns later. When the day is one part,
  // row i is the part's row i and merge_source_ is empty; otherwise row i is row
  // merge_row_[i] of source merge_source_[i] (sources: parts in order, then the head).
  std::vector<std::shared_ptr<const store::Part>> parts_;
  std::vector<store::EventRow> head_rows_;
  std::vector<uint16_t> merge_source_;
  std::vector<uint32_t> merge_row_;

  mutable std::mutex property_mu_;
  mutable std::map<PropertyId, std::unique_ptr<store::PropColumn>> properties_;  // null = absent
  mutable std::map<EventId, std::unique_ptr<EventRows>> event_rows_;  // guarded by property_mu_
  mutable std::map<EventId, std::unique_ptr<Roaring>> event_users_;   // guarded by property_mu_
  mutable std::map<EventId, std::unique_ptr<EventUserCounts>>
      event_user_counts_;  // guarded by property_mu_
  mutable std::map<std::vector<EventId>, std::unique_ptr<EventSetRows>>
      event_set_rows_;  // with times; guarded by property_mu_
  mutable std::map<std::vector<EventId>, std::unique_ptr<EventSetRows>>
      event_set_rows_without_times_;  // lazily built days only; guarded by property_mu_
  mutable size_t property_bytes_ = 0;  // guarded by property_mu_ (event rows included)
};

// Caches DayColumns of days made of parts only (a day with a head changes with every append
// and is rebuilt per query). An entry is valid while the day's part list is unchanged; the
// least recently used entries are dropped beyond `budget_bytes`.
class DayColumnsCache {
 public:
  explicit DayColumnsCache(size_t budget_bytes) : budget_bytes_(budget_bytes) {}

  Result<std::shared_ptr<const DayColumns>> Get(store::ProjectId project,
                                                store::DaySnapshot snapshot);
  void Clear();
  // Drops the cached days of `project` before `first_day` (days deleted by retention: without
  // this they would hold memory until the budget is reached, since nothing reads them again).
  void DropDaysBefore(store::ProjectId project, int32_t first_day);
  // True when Get would answer `snapshot` from the cache.
  bool Contains(store::ProjectId project, const store::DaySnapshot& snapshot);

 private:
  struct Entry {
    std::vector<uint64_t> part_seqs;
    std::shared_ptr<const DayColumns> columns;
    std::list<std::pair<store::ProjectId, int32_t>>::iterator lru;
  };
  void EvictLocked();

  const size_t budget_bytes_;
  std::mutex mu_;
  std::map<std::pair<store::ProjectId, int32_t>, Entry> entries_;  // guarded by mu_
  std::list<std::pair<store::ProjectId, int32_t>> lru_;           // front = most recent
};

}  // namespace sextant::query
