// BehaviourScan: the one pass over stored events that behaviour conditions of segments and
// event-based tags need. It reads the day columns of a QueryContext (so it shares the analysis
// engine's cache, shards and ID-Mapping handling) and calls back, per shard thread, for each
// row that matches one of a few event patterns inside a time interval, each person's rows in
// time order.
//
// Thread-safety: Run calls `visit` concurrently from one thread per shard; a shard's calls
// are sequential and cover users [shard_begin(s), shard_begin(s + 1)) only, so per-user state
// indexed by (user - shard_begin) needs no locking.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "audience/definitions.h"
#include "query/analyses.h"
#include "query/query_context.h"

namespace sextant::audience {

using store::EventId;
using store::PropertyId;
using store::UserId;

// A zero-filled array of a trivially copyable T from calloc. Per-user scan state is sized by the
// whole user-id space but touched only for people with matching events: large calloc blocks
// come straight from fresh (already zero) pages, so untouched pages cost neither a memset nor
// a page fault.
template <class T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t size)
      : data_(static_cast<T*>(std::calloc(size == 0 ? 1 : size, sizeof(T)))), size_(size) {
    if (!data_) throw std::bad_alloc();
  }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* pointer) const { std::free(pointer); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
};

// An event pattern compiled against a project schema.
struct CompiledStep {
  EventId event = 0;            // query::kAnyEvent, an event id, or 0 (never seen: no match)
  query::CompiledFilter where;  // event properties only
  // "$any" leaves out the audience engine's own $segment_enter / $segment_exit events: they
  // are not customer behaviour, and counting them would let a segment's changes feed back
  // into itself. They still match when named.
  std::vector<EventId> any_excludes;
};

// One property's values for the rows a shard thread visits: the day's column is looked up once
// per day (DayColumns::Property locks), not once per row. One reader per shard.
class PropertyReader {
 public:
  explicit PropertyReader(PropertyId property = 0) : property_(property) {}
  // The value at `row` of `day`; nullopt when absent (or the property is unknown).
  std::optional<Value> Get(const query::DayColumns& day, uint32_t row);
  // The NUMBER value at `row`, or NaN.
  double Number(const query::DayColumns& day, uint32_t row);

 private:
  const store::PropColumn* ColumnOf(const query::DayColumns& day);
  PropertyId property_;
  const query::DayColumns* day_ = nullptr;
  const store::PropColumn* column_ = nullptr;
};

// Compiles `step` for `context` (its where clause may name event properties only).
Result<CompiledStep> CompileStep(query::QueryContext& context, const EventStep& step,
                                 const std::string& path);

// True when `row` (a freshly ingested event, properties by id) matches `step`'s where clause.
bool RowMatches(const CompiledStep& step, const store::EventRow& row);

// Per-row view handed to visitors: the day and the row inside it.
struct MatchedRow {
  const query::DayColumns* day;
  uint32_t row;
  int64_t time_ms;
  uint32_t step_mask;  // bit i: the row matches steps[i]
};

// Runs visit(shard, user, MatchedRow) for every row of the context's days inside `interval`
// that matches at least one of `steps` (at most 32). Rows of one person arrive in time order.
template <class Visit>
Status ScanSteps(const query::QueryContext& context, const std::vector<CompiledStep>& steps,
                 Interval interval, Visit&& visit);

// ---- template implementation ----

template <class Visit>
Status ScanSteps(const query::QueryContext& context, const std::vector<CompiledStep>& steps,
                 Interval interval, Visit&& visit) {
  // Per event id: the steps whose event matches (before their where clauses).
  EventId max_event = 0;
  uint32_t any_mask = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].event == query::kAnyEvent) {
      any_mask |= 1u << i;
    } else {
      max_event = std::max(max_event, steps[i].event);
    }
  }
  const auto& days = context.days();
  for (const CompiledStep& step : steps) {
    for (EventId excluded : step.any_excludes) max_event = std::max(max_event, excluded);
  }
  // Events above the table (none of the named or excluded ones) match only the "$any" steps.
  std::vector<uint32_t> mask_of(max_event + 1, any_mask);
  for (size_t i = 0; i < steps.size(); ++i) {
    for (EventId excluded : steps[i].any_excludes) mask_of[excluded] &= ~(1u << i);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].event != query::kAnyEvent && steps[i].event != 0)
      mask_of[steps[i].event] |= 1u << i;
  }
  const size_t table = mask_of.size();
  std::vector<EventId> named;  // the distinct events the steps name
  for (const CompiledStep& step : steps) {
    if (step.event != query::kAnyEvent && step.event != 0 &&
        std::find(named.begin(), named.end(), step.event) == named.end()) {
      named.push_back(step.event);
    }
  }
  auto tag_of = [&](EventId event) -> uint32_t {
    return event < table ? mask_of[event] : any_mask;
  };
  // The walk reads every row's time: decode the days' columns now, on several threads, rather
  // than day by day inside the shards' walk (where one shard would wait for the other).
  context.PrepareFullColumns();
  const Status walked = context.ForEachShard([&](size_t shard) -> Status {
    std::vector<uint32_t> scratch;
    const UserId begin = context.shard_begin(shard);
    const UserId end = context.shard_begin(shard + 1);
    for (size_t d = 0; d < days.size(); ++d) {
      const query::DayColumns& day = *days[d];
      const int64_t day_start = day.day_start_ms();
      if (day_start + 86'400'000 <= interval.start_ms || day_start >= interval.end_ms) continue;
      std::vector<query::BoundFilter> filters;
      filters.reserve(steps.size());
      for (const CompiledStep& step : steps) {
        auto bound = query::BoundFilter::Bind(&step.where, context, day);
        if (!bound.ok()) return bound.status();
        filters.push_back(std::move(*bound));
      }
      const uint32_t* offsets = day.time_offset_ms().data();
      auto on_row = [&](UserId user, uint32_t row, uint32_t mask) {
        const int64_t time_ms = day_start + offsets[row];
        if (!interval.Contains(time_ms)) return;
        uint32_t matched = 0;
        for (uint32_t bits = mask; bits != 0; bits &= bits - 1) {
          const int i = __builtin_ctz(bits);
          if (filters[i].Matches(row, user)) matched |= 1u << i;
        }
        if (matched != 0) visit(shard, user, MatchedRow{&day, row, time_ms, matched});
      };
      // Without "$any", only the rows of the named events are read (DayColumns::RowsOf).
      if (any_mask == 0) {
        context.ForEachRowOfEvents(d, begin, end, named, &scratch, tag_of, on_row);
      } else {
        context.ForEachTaggedRow(d, begin, end, &scratch, tag_of, on_row);
      }
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(walked);
  return context.DaysStatus();  // a failed lazy read of a day leaves its rows out: an error
}

}  // namespace sextant::audience
