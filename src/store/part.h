// Immutable columnar part files: PartWriter builds one from rows sorted by (user_id, time_ms);
// Part reads its footer once and decompresses only the columns a reader asks for.
// Byte layout: docs/storage-format.md, "Part files".
//
// Thread-safety: PartWriter is single-threaded. Part is immutable after Open and safe to read
// from many threads (pread on a shared fd). Parts are shared as shared_ptr<const Part>; a part
// replaced by compaction or dropped by retention is MarkObsolete()d and its file is unlinked
// when the last reader releases it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/event_row.h"

namespace sextant::store {

struct PartInfo {
  uint32_t rows = 0;
  UserId min_user = 0;
  UserId max_user = 0;
  int64_t min_time_ms = 0;
  int64_t max_time_ms = 0;
  uint64_t file_bytes = 0;
};

// Column ids of the built-in columns (directory entries of kind 0).
enum class BuiltinColumn : uint32_t {
  kUser = 1,
  kTime = 2,
  kEvent = 3,
  kTrack = 4,
  kReceive = 5,
  kDistinct = 6,
};

struct PartColumns;

// For one input part of a merge: the output code of each of its dictionary codes, filled in as
// its rows are added (PartWriter::AddFromColumns). A merge then hashes each distinct string of
// an input once, where adding decoded rows copied and hashed every string of every row.
struct MergeCodeMap {
  static constexpr uint32_t kUnmapped = UINT32_MAX;
  struct Column {
    size_t builder = SIZE_MAX;    // the writer's PropBuilder of this column; SIZE_MAX = not yet
    std::vector<uint32_t> codes;  // input code → output code (STRING and LIST columns)
  };
  std::vector<uint32_t> distinct;                // input distinct_id code → output code
  std::vector<std::vector<Column>> properties;  // parallel to PartColumns::properties
};

class PartWriter {
 public:
  // `day_start_ms`: epoch ms of the part's day start (time offsets are relative to it).
  PartWriter(int64_t day_start_ms, int zstd_level);
  ~PartWriter();
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  // REQUIRES: rows arrive in non-decreasing (user_id, time_ms) order.
  void Add(const EventRow& row);
  // Adds row `row` of `columns` (a part read with ColumnRequest::all_properties, track, receive
  // and distinct) as Add would add that row decoded, with `track_id` in place of its own.
  // `codes` belongs to `columns` and to this writer: one per input part, empty at first.
  void AddFromColumns(const PartColumns& columns, size_t row, int64_t track_id,
                      MergeCodeMap* codes);
  size_t rows() const { return users_.size(); }
  // Encodes the part, writes it to `path` and fdatasyncs it (not its directory).
  Result<PartInfo> Finish(const std::string& path);

  // Encoded size per column of the last Finish (name → stored bytes), for tuning.
  const std::vector<std::pair<std::string, uint64_t>>& column_sizes() const {
    return column_sizes_;
  }

 private:
  struct StringDict {
    std::deque<std::string> strings;
    std::unordered_map<std::string_view, uint32_t> codes;
    uint32_t Code(std::string_view s);
  };
  struct PropBuilder {
    PropertyId property_id = 0;
    ValueType type = ValueType::kNumber;
    std::vector<uint32_t> rows;
    std::vector<double> numbers;
    std::vector<uint8_t> bools;
    std::vector<int64_t> ints;
    std::vector<uint32_t> codes;      // STRING: one per value; LIST: elements of all values
    std::vector<uint32_t> list_lens;  // LIST: element count per value
    StringDict dict;
  };
  // The builder of property `property_id` with values of `type`, made on first use.
  size_t BuilderIndex(PropertyId property_id, ValueType type);

  const int64_t day_start_ms_;
  const int zstd_level_;
  std::vector<UserId> users_;
  std::vector<int64_t> times_;
  std::vector<EventId> events_;
  std::vector<int64_t> tracks_;
  std::vector<int64_t> receives_;
  std::vector<uint32_t> distinct_codes_;
  StringDict distinct_dict_;
  std::unordered_map<uint64_t, size_t> prop_index_;  // (property_id << 8 | type) → props_
  std::vector<std::unique_ptr<PropBuilder>> props_;
  std::vector<std::pair<std::string, uint64_t>> column_sizes_;
  void* cctx_ = nullptr;  // ZSTD_CCtx*
};

// One decoded property column of a part.
struct PropColumn {
  ValueType type = ValueType::kNumber;
  std::vector<int32_t> slot;  // per row: index of its value, or -1 when absent
  std::vector<double> numbers;
  std::vector<uint8_t> bools;
  std::vector<int64_t> ints;  // DATETIME ms / DATE days
  std::vector<std::string> dict;
  std::vector<uint32_t> codes;
  std::vector<uint32_t> list_begin;  // LIST: value v has codes[list_begin[v] .. list_begin[v+1])
  Value Get(int32_t value_idx) const;
};

struct ColumnRequest {
  // false = skip the user, time and event columns (a reader that already holds them and
  // wants more property columns of the same part).
  bool base = true;
  bool track = false;
  bool receive = false;
  bool distinct = false;
  bool all_properties = false;          // every property column in the part (compaction)
  std::vector<PropertyId> properties;   // else these
};

struct PartColumns {
  size_t rows = 0;
  std::vector<UserId> users;
  std::vector<int64_t> times;
  std::vector<EventId> events;
  std::vector<int64_t> tracks;
  std::vector<int64_t> receives;
  std::vector<uint32_t> distinct_codes;
  std::vector<std::string> distinct_dict;
  // Parallel: property_ids[k] → its columns in the part (usually one; empty if absent).
  std::vector<PropertyId> property_ids;
  std::vector<std::vector<PropColumn>> properties;
};

// The user, time and event columns of a part in the fixed-width form the analysis engine
// reads: one entry per user run (run_user, run_begin with a final sentinel = rows), and per row
// the time as ms after the part's day start and the event code.
struct CompactColumns {
  std::vector<UserId> run_user;
  std::vector<uint32_t> run_begin;
  std::vector<uint32_t> time_offset_ms;
  std::vector<EventId> event;
};

class Part {
 public:
  // Opens and validates the footer. `project`, `day`, `seq` identify the part in the manifest.
  static Result<std::shared_ptr<Part>> Open(const std::string& path, uint32_t project,
                                            int32_t day, uint64_t seq);
  ~Part();
  Part(const Part&) = delete;
  Part& operator=(const Part&) = delete;

  const std::string& path() const { return path_; }
  uint32_t project() const { return project_; }
  int32_t day() const { return day_; }
  uint64_t seq() const { return seq_; }
  const PartInfo& info() const { return info_; }

  Status Read(const ColumnRequest& request, PartColumns* out) const;
  // The base columns decoded straight into CompactColumns (no 64-bit intermediate). Times
  // outside [day start, day start + 24 h) — which the store never writes — are clamped.
  Status ReadCompact(CompactColumns* out) const;
  // The pieces of ReadCompact, for a reader that wants less than all of it.
  // User runs: run_user[r] owns rows [run_begin[r], run_begin[r + 1]); run_begin ends with rows.
  Status ReadUserRuns(std::vector<UserId>* run_user, std::vector<uint32_t>* run_begin) const;
  // Time offsets of every row. REQUIRES: `run_begin` from ReadUserRuns of this part.
  Status ReadTimeOffsets(const std::vector<uint32_t>& run_begin,
                         std::vector<uint32_t>* time_offset_ms) const;
  // The time offsets of `rows` only (ascending), into out[0 .. rows.size()): decodes a user
  // run up to its last listed row and skips the varints of the rest of it, and of runs with
  // no listed row, a word at a time — a few events' times cost less than the whole column.
  // REQUIRES: `run_begin` from ReadUserRuns of this part.
  Status ReadTimeOffsetsOfRows(const std::vector<uint32_t>& run_begin,
                               const std::vector<uint32_t>& rows, uint32_t* out) const;
  // The event of every row.
  Status ReadEvents(std::vector<EventId>* events) const;
  // The rows whose event is one of `events` (sorted, distinct), ascending, with their events:
  // the event column decoded and filtered in one pass, nothing stored for the other rows.
  Status ReadRowsOfEvents(const std::vector<EventId>& events, std::vector<uint32_t>* rows,
                          std::vector<EventId>* row_events) const;
  // True when the part carries the per-event user index (every part written since the index
  // was added; see docs/storage-format.md). ReadEventUsers needs it.
  bool has_event_index() const { return has_event_index_; }
  // The users with rows of `event`, ascending and distinct, with how many rows each has (both
  // empty when no row has the event): read from the event's own index block, so a reader of a
  // few events touches nothing else. REQUIRES: has_event_index() (else an error).
  Status ReadEventUsers(EventId event, std::vector<UserId>* users,
                        std::vector<uint32_t>* row_counts) const;
  // posix_fadvise WILLNEED for the index blocks of `events`.
  void PrefetchEventIndex(const std::vector<EventId>& events) const;
  // Asks the kernel to start reading the user, time and event blocks now (posix_fadvise
  // WILLNEED), so a reader about to load many parts has their I/O in flight at once.
  // `with_times` false leaves the time block out.
  void PrefetchBase(bool with_times = true) const;

  // The file is deleted when this object is destroyed.
  void MarkObsolete() const { obsolete_.store(true); }

 private:
  struct ColumnEntry {
    uint8_t kind = 0;        // 0 built-in, 1 property, 2 event index
    uint8_t value_type = 0;  // property columns
    uint8_t compression = 0; // 0 none, 1 zstd
    uint32_t id = 0;
    uint64_t offset = 0;
    uint32_t stored_bytes = 0;
    uint32_t raw_bytes = 0;
    uint32_t crc = 0;
  };
  Part() = default;
  Status ReadBlock(const ColumnEntry& entry, std::string* raw) const;
  // Like ReadBlock, into per-thread buffers that only grow (no zero-fill, no fresh pages per
  // block); the view is valid until the thread's next ReadBlockView.
  Status ReadBlockView(const ColumnEntry& entry, std::string_view* raw) const;
  const ColumnEntry* Builtin(BuiltinColumn column) const;
  const ColumnEntry* EventIndexBlock(EventId event) const;  // null: no row of `event`
  Status Corrupt(const std::string& what) const;

  std::string path_;
  uint32_t project_ = 0;
  int32_t day_ = 0;
  uint64_t seq_ = 0;
  int fd_ = -1;
  int64_t day_start_ms_ = 0;
  PartInfo info_;
  std::vector<ColumnEntry> columns_;
  // (event id, index in columns_ of its event index block), sorted; events without rows absent.
  std::vector<std::pair<EventId, uint32_t>> event_index_;
  bool has_event_index_ = false;
  mutable std::atomic<bool> obsolete_{false};
};

}  // namespace sextant::store
