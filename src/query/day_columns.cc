#include "common/clock.h"
#include "query/day_columns.h"

#include <cstdint>
#include <string_view>
#include <utility>

namespace sextant::query {
namespace {


// Appends `value` (of the column's type) as the next value of `column`.
void AppendValue(const Value& value, store::PropColumn* column,
                 std::unordered_map<std::string, uint32_t>* dict_codes) {
  auto code_of = [&](const std::string& s) {
    auto [it, inserted] = dict_codes->try_emplace(s, static_cast<uint32_t>(column->dict.size()));
    if (inserted) column->dict.push_back(s);
    return it->second;
  };
  switch (column->type) {
    case ValueType::kNumber: column->numbers.push_back(value.number()); break;
    case ValueType::kBool: column->bools.push_back(value.boolean() ? 1 : 0); break;
    case ValueType::kString: column->codes.push_back(code_of(value.str())); break;
    case ValueType::kList:
      if (column->list_begin.empty()) column->list_begin.push_back(0);
      for (const std::string& item : value.list()) column->codes.push_back(code_of(item));
      column->list_begin.push_back(static_cast<uint32_t>(column->codes.size()));
      break;
    case ValueType::kDatetime: column->ints.push_back(value.datetime_ms()); break;
    case ValueType::kDate: column->ints.push_back(value.date_days()); break;
  }
}

size_t ColumnBytes(const store::PropColumn& column) {
  size_t bytes = column.slot.size() * 4 + column.numbers.size() * 8 + column.bools.size() +
                 column.ints.size() * 8 + column.codes.size() * 4 + column.list_begin.size() * 4;
  for (const std::string& s : column.dict) bytes += s.size() + sizeof(std::string);
  return bytes;
}

}  // namespace

Result<std::shared_ptr<const DayColumns>> DayColumns::Build(store::DaySnapshot snapshot) {
  std::shared_ptr<DayColumns> day(new DayColumns());
  day->day_ = snapshot.day;
  day->day_start_ms_ = snapshot.day_start_ms;
  day->parts_ = std::move(snapshot.parts);
  day->head_rows_ = std::move(snapshot.head_rows);

  // One part and no head (every compacted day): only the user runs now; the rest as queries
  // ask for it.
  if (day->parts_.size() == 1 && day->head_rows_.empty()) {
    if (day->parts_[0]->has_event_index()) {
      day->runs_ready_.store(false, std::memory_order_release);
    } else {
      SEXTANT_RETURN_IF_ERROR(day->parts_[0]->ReadUserRuns(&day->run_user_, &day->run_begin_));
    }
    day->rows_ = day->parts_[0]->info().rows;
    day->full_.store(false, std::memory_order_release);
    return std::shared_ptr<const DayColumns>(std::move(day));
  }
  // Base columns of every source.
  std::vector<store::PartColumns> part_columns(day->parts_.size());
  for (size_t part_idx = 0; part_idx < day->parts_.size(); ++part_idx) {
    store::ColumnRequest request;
    SEXTANT_RETURN_IF_ERROR(day->parts_[part_idx]->Read(request, &part_columns[part_idx]));
  }
  const size_t source_count = day->parts_.size() + (day->head_rows_.empty() ? 0 : 1);
  if (source_count > UINT16_MAX) return Status(ErrorCode::kInternal, "too many parts in one day");
  size_t total = day->head_rows_.size();
  for (const auto& columns : part_columns) total += columns.rows;
  day->time_offset_ms_.reserve(total);
  day->event_.reserve(total);

  auto emit = [&](UserId user, int64_t time_ms, EventId event) {
    if (day->run_user_.empty() || day->run_user_.back() != user) {
      day->run_user_.push_back(user);
      day->run_begin_.push_back(static_cast<uint32_t>(day->event_.size()));
    }
    int64_t offset = time_ms - day->day_start_ms_;
    // A row outside its day cannot come from the store; clamp rather than wrap.
    offset = std::clamp<int64_t>(offset, 0, kDayMs - 1);
    day->time_offset_ms_.push_back(static_cast<uint32_t>(offset));
    day->event_.push_back(event);
  };

  {
    // k-way merge by (user, time, source); k is small (a few parts and a head), so a linear
    // pick of the minimum is cheaper than a heap.
    struct Cursor {
      size_t row = 0;
      size_t rows = 0;
    };
    std::vector<Cursor> cursors(source_count);
    for (size_t source = 0; source < part_columns.size(); ++source) {
      cursors[source].rows = part_columns[source].rows;
    }
    if (!day->head_rows_.empty()) cursors.back().rows = day->head_rows_.size();
    auto key = [&](size_t source, size_t row) -> std::pair<UserId, int64_t> {
      if (source < part_columns.size()) {
        return {part_columns[source].users[row], part_columns[source].times[row]};
      }
      return {day->head_rows_[row].user_id, day->head_rows_[row].time_ms};
    };
    day->merge_source_.reserve(total);
    day->merge_row_.reserve(total);
    for (;;) {
      size_t best = source_count;
      std::pair<UserId, int64_t> best_key;
      for (size_t source = 0; source < source_count; ++source) {
        if (cursors[source].row >= cursors[source].rows) continue;
        auto candidate = key(source, cursors[source].row);
        if (best == source_count || candidate < best_key) {
          best = source;
          best_key = candidate;
        }
      }
      if (best == source_count) break;
      const size_t row = cursors[best].row++;
      const EventId event = best < part_columns.size() ? part_columns[best].events[row]
                                                       : day->head_rows_[row].event_id;
      emit(best_key.first, best_key.second, event);
      day->merge_source_.push_back(static_cast<uint16_t>(best));
      day->merge_row_.push_back(static_cast<uint32_t>(row));
    }
  }
  day->run_begin_.push_back(static_cast<uint32_t>(day->event_.size()));
  day->rows_ = day->event_.size();
  return std::shared_ptr<const DayColumns>(std::move(day));
}

void DayColumns::DecodeRuns() const {
  std::lock_guard lock(runs_mu_);
  if (runs_ready_.load(std::memory_order_relaxed)) return;
  Status status = parts_[0]->ReadUserRuns(&run_user_, &run_begin_);
  if (!status.ok()) {
    // No runs: every walk finds no user; the engine fails the query on LazyStatus.
    NoteLazyError(status);
    run_user_.clear();
    run_begin_.assign(1, 0);
  }
  runs_ready_.store(true, std::memory_order_release);
}

void DayColumns::DecodeFullColumns() const {
  EnsureRuns();
  std::lock_guard lock(full_mu_);
  if (full_.load(std::memory_order_relaxed)) return;
  const store::Part& part = *parts_[0];
  Status status = part.ReadTimeOffsets(run_begin_, &time_offset_ms_);
  if (status.ok()) status = part.ReadEvents(&event_);
  if (!status.ok()) {
    // Rows of no event: every analysis skips them; the engine fails the query on LazyStatus.
    NoteLazyError(status);
    time_offset_ms_.assign(rows_, 0);
    event_.assign(rows_, kNoEvent);
  }
  full_.store(true, std::memory_order_release);
}

void DayColumns::PrefetchLazyColumns(bool with_times) const {
  if (!full_.load(std::memory_order_acquire)) parts_[0]->PrefetchBase(with_times);
}

void DayColumns::NoteLazyError(const Status& status) const {
  std::lock_guard lock(lazy_status_mu_);
  if (lazy_status_.ok()) lazy_status_ = status;
}

Status DayColumns::LazyStatus() const {
  std::lock_guard lock(lazy_status_mu_);
  return lazy_status_;
}

void DayColumns::UsersOfRows(const std::vector<uint32_t>& rows, std::vector<UserId>* users) const {
  EnsureRuns();
  users->resize(rows.size());
  if (rows.empty()) return;
  // A walk over the runs costs O(runs); a binary search per row O(rows · log runs): take the
  // cheaper (rare events have few rows among many runs).
  const size_t runs = run_user_.size();
  if (rows.size() * 16 < runs) {
    for (size_t i = 0; i < rows.size(); ++i) {
      const size_t run =
          std::upper_bound(run_begin_.begin(), run_begin_.end(), rows[i]) - run_begin_.begin() - 1;
      (*users)[i] = run_user_[run];
    }
    return;
  }
  size_t run = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    while (run_begin_[run + 1] <= rows[i]) ++run;
    (*users)[i] = run_user_[run];
  }
}

Status DayColumns::ReadEventSet(const std::vector<EventId>& events, bool with_times,
                                EventSetRows* list) const {
  const store::Part& part = *parts_[0];
  // The event column is cheap to decode (about a byte a row, eight rows per word); the listed
  // rows are picked from it as it is decoded, and only their times are decoded from the time
  // column. Nothing is allocated per row of the day (fresh pages cost ~3 µs each on a VM).
  SEXTANT_RETURN_IF_ERROR(part.ReadRowsOfEvents(events, &list->rows, &list->events));
  UsersOfRows(list->rows, &list->users);
  list->has_times = with_times;
  if (!with_times || list->rows.empty()) return Status::Ok();
  list->time_offset_ms.resize(list->rows.size());
  return part.ReadTimeOffsetsOfRows(run_begin_, list->rows, list->time_offset_ms.data());
}

Result<const store::PropColumn*> DayColumns::Property(PropertyId property) const {
  std::lock_guard lock(property_mu_);
  if (auto it = properties_.find(property); it != properties_.end()) return it->second.get();

  store::ColumnRequest request;
  request.base = false;
  request.properties = {property};
  std::unique_ptr<store::PropColumn> result;
  if (merge_source_.empty()) {
    if (!parts_.empty()) {
      store::PartColumns columns;
      SEXTANT_RETURN_IF_ERROR(parts_[0]->Read(request, &columns));
      if (!columns.properties[0].empty()) {
        result = std::make_unique<store::PropColumn>(std::move(columns.properties[0][0]));
      }
    }
  } else {
    // Decode the property in every part, then lay the values out in merged row order.
    std::vector<store::PropColumn> source_columns(parts_.size());
    std::vector<bool> source_has(parts_.size(), false);
    std::optional<ValueType> type;
    for (size_t part_idx = 0; part_idx < parts_.size(); ++part_idx) {
      store::PartColumns columns;
      SEXTANT_RETURN_IF_ERROR(parts_[part_idx]->Read(request, &columns));
      if (columns.properties[0].empty()) continue;
      source_columns[part_idx] = std::move(columns.properties[0][0]);
      source_has[part_idx] = true;
      if (!type) type = source_columns[part_idx].type;
    }
    auto head_value = [&](uint32_t row) -> const Value* {
      for (const store::PropertyCell& cell : head_rows_[row].properties) {
        if (cell.property_id == property) return &cell.value;
      }
      return nullptr;
    };
    if (!type) {
      for (uint32_t row = 0; row < head_rows_.size() && !type; ++row) {
        if (const Value* value = head_value(row)) type = value->type();
      }
    }
    if (type) {
      result = std::make_unique<store::PropColumn>();
      result->type = *type;
      result->slot.assign(rows(), -1);
      std::unordered_map<std::string, uint32_t> dict_codes;
      int32_t next = 0;
      for (size_t row = 0; row < rows(); ++row) {
        const uint16_t source = merge_source_[row];
        const uint32_t source_row = merge_row_[row];
        if (source < parts_.size()) {
          if (!source_has[source]) continue;
          const store::PropColumn& column = source_columns[source];
          const int32_t slot = column.slot[source_row];
          if (slot < 0 || column.type != *type) continue;
          AppendValue(column.Get(slot), result.get(), &dict_codes);
        } else {
          const Value* value = head_value(source_row);
          if (value == nullptr || value->type() != *type) continue;
          AppendValue(*value, result.get(), &dict_codes);
        }
        result->slot[row] = next++;
      }
      if (result->type == ValueType::kList && result->list_begin.empty()) {
        result->list_begin.push_back(0);
      }
    }
  }
  const store::PropColumn* pointer = result.get();
  if (result) property_bytes_ += ColumnBytes(*result);
  properties_.emplace(property, std::move(result));
  return pointer;
}

const Roaring& DayColumns::UsersOf(EventId event) const {
  // The distinct users of UserCountsOf: on a compacted day, the part's index block of `event`.
  const EventUserCounts& counts = UserCountsOf(event);
  std::lock_guard lock(property_mu_);
  auto& slot = event_users_[event];
  if (slot) return *slot;
  slot = std::make_unique<Roaring>();
  slot->addMany(counts.users.size(), counts.users.data());
  slot->runOptimize();
  property_bytes_ += slot->getSizeInBytes();
  return *slot;
}

const DayColumns::EventUserCounts& DayColumns::UserCountsOf(EventId event) const {
  {
    std::lock_guard lock(property_mu_);
    if (auto it = event_user_counts_.find(event); it != event_user_counts_.end()) {
      return *it->second;
    }
  }
  auto counts = std::make_unique<EventUserCounts>();
  if (!full_.load(std::memory_order_acquire) && parts_[0]->has_event_index()) {
    Status status = parts_[0]->ReadEventUsers(event, &counts->users, &counts->row_counts);
    if (!status.ok()) {
      NoteLazyError(status);
      *counts = EventUserCounts();
    }
  } else {
    const EventRows& rows = RowsOf(event);
    for (UserId user : rows.users) {
      if (counts->users.empty() || counts->users.back() != user) {
        counts->users.push_back(user);
        counts->row_counts.push_back(0);
      }
      ++counts->row_counts.back();
    }
  }
  for (uint32_t count : counts->row_counts) counts->rows += count;
  // Built outside the lock (reads do I/O); a concurrent builder of the same event may have won.
  std::lock_guard lock(property_mu_);
  auto [it, inserted] = event_user_counts_.try_emplace(event, std::move(counts));
  if (inserted) property_bytes_ += it->second->users.size() * 8 + sizeof(EventUserCounts);
  return *it->second;
}

bool DayColumns::HasUserCountsOf(EventId event) const {
  std::lock_guard lock(property_mu_);
  return event_user_counts_.count(event) != 0;
}

void DayColumns::PrefetchUserCounts(const std::vector<EventId>& events) const {
  if (!full_.load(std::memory_order_acquire) && parts_[0]->has_event_index()) {
    parts_[0]->PrefetchEventIndex(events);
  }
}

const DayColumns::EventRows& DayColumns::RowsOf(EventId event) const {
  std::lock_guard lock(property_mu_);
  auto& slot = event_rows_[event];
  if (slot) return *slot;
  slot = std::make_unique<EventRows>();
  if (!full_.load(std::memory_order_acquire)) {
    std::vector<EventId> row_events;
    Status status = parts_[0]->ReadRowsOfEvents({event}, &slot->rows, &row_events);
    if (!status.ok()) {
      NoteLazyError(status);
      slot->rows.clear();
    }
    UsersOfRows(slot->rows, &slot->users);
    property_bytes_ += slot->rows.capacity() * 4 + slot->users.capacity() * 4;
    return *slot;
  }
  size_t run = 0;
  for (uint32_t row = 0; row < event_.size(); ++row) {
    if (event_[row] != event) continue;
    while (run_begin_[run + 1] <= row) ++run;
    slot->rows.push_back(row);
    slot->users.push_back(run_user_[run]);
  }
  property_bytes_ += slot->rows.capacity() * 4 + slot->users.capacity() * 4;
  return *slot;
}

const DayColumns::EventSetRows& DayColumns::RowsOfEvents(const std::vector<EventId>& events,
                                                         bool with_times) const {
  std::lock_guard lock(property_mu_);
  auto& slot = event_set_rows_[events];
  if (slot) return *slot;
  if (!full_.load(std::memory_order_acquire)) {
    if (!with_times) {
      event_set_rows_.erase(events);  // the empty slot made above
      std::unique_ptr<EventSetRows>& without_times = event_set_rows_without_times_[events];
      if (!without_times) {
        without_times = std::make_unique<EventSetRows>();
        Status status = ReadEventSet(events, /*with_times=*/false, without_times.get());
        if (!status.ok()) {
          NoteLazyError(status);
          *without_times = EventSetRows();
          without_times->has_times = false;
        }
        property_bytes_ += (without_times->rows.size() + 1) * 12;
      }
      return *without_times;
    }
    slot = std::make_unique<EventSetRows>();
    Status status;
    auto without_times = event_set_rows_without_times_.find(events);
    if (without_times != event_set_rows_without_times_.end()) {
      // The rows are known: copy them and read only their times (the list without times may
      // be in use by another query, so it is not changed).
      *slot = *without_times->second;
      slot->has_times = true;
      slot->time_offset_ms.resize(slot->rows.size());
      if (!slot->rows.empty()) {
        EnsureRuns();
        status = parts_[0]->ReadTimeOffsetsOfRows(run_begin_, slot->rows,
                                                  slot->time_offset_ms.data());
      }
    } else {
      status = ReadEventSet(events, /*with_times=*/true, slot.get());
    }
    if (!status.ok()) {
      NoteLazyError(status);
      *slot = EventSetRows();
    }
    property_bytes_ += (slot->rows.size() + 1) * 16;
    return *slot;
  }
  slot = std::make_unique<EventSetRows>();
  std::vector<uint8_t> wanted(events.empty() ? 0 : events.back() + size_t{1}, 0);
  for (EventId event : events) wanted[event] = 1;
  const size_t limit = wanted.size();
  auto is_wanted = [&](EventId event) -> uint32_t { return event < limit ? wanted[event] : 0; };
  // Two passes without a branch per row (the listed rows come at random): count, then write
  // every row at the next free position and advance it only for a listed one.
  size_t count = 0;
  for (const EventId event : event_) count += is_wanted(event);
  EventSetRows& list = *slot;
  list.rows.resize(count + 1);  // + 1: the slot an unlisted last row is written to
  list.users.resize(count + 1);
  list.events.resize(count + 1);
  list.time_offset_ms.resize(count + 1);
  size_t next = 0;
  for (size_t run = 0; run < run_user_.size(); ++run) {
    const UserId user = run_user_[run];
    for (uint32_t row = run_begin_[run]; row < run_begin_[run + 1]; ++row) {
      list.rows[next] = row;
      list.users[next] = user;
      next += is_wanted(event_[row]);
    }
  }
  for (size_t i = 0; i < count; ++i) {
    list.events[i] = event_[list.rows[i]];
    list.time_offset_ms[i] = time_offset_ms_[list.rows[i]];
  }
  list.rows.resize(count);
  list.users.resize(count);
  list.events.resize(count);
  list.time_offset_ms.resize(count);
  property_bytes_ += (count + 1) * 16;
  return *slot;
}

bool DayColumns::HasRowsOfEvents(const std::vector<EventId>& events, bool with_times) const {
  std::lock_guard lock(property_mu_);
  auto it = event_set_rows_.find(events);
  if (it != event_set_rows_.end() && it->second != nullptr) return true;
  if (with_times) return false;
  auto without = event_set_rows_without_times_.find(events);
  return without != event_set_rows_without_times_.end() && without->second != nullptr;
}

size_t DayColumns::MemoryBytes() const {
  std::lock_guard lock(property_mu_);
  const size_t full_bytes = full_.load(std::memory_order_acquire) ? rows_ * 8 : 0;
  const size_t run_bytes =
      runs_ready_.load(std::memory_order_acquire) ? (run_user_.size() + run_begin_.size()) * 4 : 0;
  return run_bytes + full_bytes + merge_source_.size() * 2 +
         merge_row_.size() * 4 +
         head_rows_.size() * sizeof(store::EventRow) + property_bytes_;
}

Result<std::shared_ptr<const DayColumns>> DayColumnsCache::Get(store::ProjectId project,
                                                               store::DaySnapshot snapshot) {
  if (!snapshot.head_rows.empty()) return DayColumns::Build(std::move(snapshot));
  std::vector<uint64_t> seqs;
  seqs.reserve(snapshot.parts.size());
  for (const auto& part : snapshot.parts) seqs.push_back(part->seq());
  const auto key = std::make_pair(project, snapshot.day);
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.part_seqs == seqs) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.columns;
    }
  }
  auto built = DayColumns::Build(std::move(snapshot));
  if (!built.ok()) return built;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(seqs), *built, lru_.begin()});
  EvictLocked();
  return built;
}

void DayColumnsCache::EvictLocked() {
  size_t total = 0;
  for (const auto& [key, entry] : entries_) total += entry.columns->MemoryBytes();
  while (total > budget_bytes_ && lru_.size() > 1) {
    auto it = entries_.find(lru_.back());
    total -= it->second.columns->MemoryBytes();
    entries_.erase(it);
    lru_.pop_back();
  }
}

bool DayColumnsCache::Contains(store::ProjectId project, const store::DaySnapshot& snapshot) {
  if (!snapshot.head_rows.empty()) return false;
  std::lock_guard lock(mu_);
  auto it = entries_.find({project, snapshot.day});
  if (it == entries_.end() || it->second.part_seqs.size() != snapshot.parts.size()) return false;
  for (size_t i = 0; i < snapshot.parts.size(); ++i) {
    if (it->second.part_seqs[i] != snapshot.parts[i]->seq()) return false;
  }
  return true;
}

void DayColumnsCache::DropDaysBefore(store::ProjectId project, int32_t first_day) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.lower_bound({project, INT32_MIN});
       it != entries_.end() && it->first.first == project && it->first.second < first_day;) {
    lru_.erase(it->second.lru);
    it = entries_.erase(it);
  }
}

void DayColumnsCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  lru_.clear();
}

}  // namespace sextant::query
