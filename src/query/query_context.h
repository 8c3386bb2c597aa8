// QueryContext: what every analysis needs once a query is parsed — the days to read (as
// DayColumns), the user-id space cut into shards, the ID-Mapping merges, compiled filters,
// and per-user profile values (condition results and `by` values) read once per query.
//
// Thread-safety: built on one thread; after Prepare() its members are read-only except the
// interners (internally locked), so analysis threads may share it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "query/day_columns.h"
#include "query/query_spec.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"

namespace sextant::query {

// Interns JSON renderings of property values ("\"bond\"", "12.5"); id 0 is null (absent).
class ValueInterner {
 public:
  ValueInterner() {
    json_.push_back("null");
    ids_.emplace("null", 0);
  }
  uint32_t Intern(const std::string& json);
  std::string Json(uint32_t id) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint32_t> ids_;  // guarded by mu_
  std::vector<std::string> json_;                  // guarded by mu_
};

struct CompiledCondition {
  CompareOp op = CompareOp::kEq;
  bool user = false;
  int user_index = -1;          // user conditions: index into QueryContext::user_condition_bits
  PropertyId property = 0;      // event conditions: 0 = property unknown (always absent)
  ValueType type = ValueType::kString;
  std::vector<double> numbers;  // NUMBER / BOOL (0/1) / DATETIME (ms) / DATE (days) literals
  std::vector<std::string> strings;  // STRING / LIST literals
};

struct CompiledFilter {
  struct Node {
    FilterNode::Kind kind = FilterNode::Kind::kAll;
    std::vector<int> children;
    int condition = -1;
  };
  std::vector<Node> nodes;
  std::vector<CompiledCondition> conditions;
  int root = -1;  // -1 = matches everything
  bool matches_all() const { return root < 0; }
  // True when a condition reads an event property of the row (false: the filter depends on
  // the user only, and BoundFilter::Matches ignores its row argument).
  bool reads_rows() const {
    for (const CompiledCondition& condition : conditions) {
      if (!condition.user && condition.property != 0) return true;
    }
    return false;
  }
};

// The literals of `condition` typed as `type` (a property unknown to the schema is compiled as
// STRING: it is absent everywhere). Errors name `path` (the condition's JSON path).
Result<CompiledCondition> CompileLiterals(const Condition& condition, ValueType type,
                                          const TimeZone& zone, const std::string& path);

// True when the number `value` (NaN = absent) satisfies `condition` — EvaluateValue for values
// held as numbers (NUMBER, BOOL as 0/1, DATETIME ms, DATE days), without building a Value.
bool EvaluateNumber(const CompiledCondition& condition, double value);

// True when `value` (nullptr = absent) satisfies `condition`.
bool EvaluateValue(const CompiledCondition& condition, const Value* value);

// Rows [begin, end) of one user in one day (the common case) ...
struct ContiguousRows {
  uint32_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
  uint32_t operator[](size_t i) const { return begin + static_cast<uint32_t>(i); }
};
// ... or an explicit time-ordered row list (a user with ID-Mapping merges).
struct IndexedRows {
  const uint32_t* rows = nullptr;
  size_t count = 0;
  size_t size() const { return count; }
  uint32_t operator[](size_t i) const { return rows[i]; }
};

class QueryContext;

// Starts loading the cache line at `address` (any address: nothing is dereferenced). Inline asm
// on x86-64 because GCC 12 silently drops some __builtin_prefetch calls in the analyses' hot
// loops (seen in RunFunnel: its prefetch compiled to nothing).
inline void PrefetchForRead(const void* address) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(address));
#else
  __builtin_prefetch(address);
#endif
}

// A compiled filter bound to the columns of one day; cheap to evaluate per row.
class BoundFilter {
 public:
  static Result<BoundFilter> Bind(const CompiledFilter* filter, const QueryContext& context,
                                  const DayColumns& day);
  bool matches_all() const { return filter_ == nullptr || filter_->matches_all(); }
  bool Matches(uint32_t row, UserId user) const {
    return matches_all() || Evaluate(filter_->root, row, user);
  }

 private:
  struct Bound {
    const CompiledCondition* condition = nullptr;
    const store::PropColumn* column = nullptr;
    std::vector<uint8_t> code_match;  // STRING / LIST: positive form of the op per dict code
    const std::vector<uint64_t>* user_bits = nullptr;
  };
  bool Evaluate(int node, uint32_t row, UserId user) const;
  bool EvaluateCondition(const Bound& bound, uint32_t row, UserId user) const;

  const CompiledFilter* filter_ = nullptr;
  std::vector<Bound> bound_;
};

class QueryContext {
 public:
  QueryContext(const state::ProjectInfo& project, state::ProjectSchema* schema,
               const state::KvStore* kv, const QuerySpec& spec);

  const state::ProjectInfo& project() const { return project_; }
  const TimeZone& zone() const { return project_.time_zone; }
  state::ProjectSchema& schema() const { return *schema_; }
  // 1 per event id of Sextant's own events (analyses.h kOwnEvents), which "$any" leaves out.
  const std::vector<uint8_t>& own_events() const { return own_events_; }
  const QuerySpec& spec() const { return spec_; }

  // --- set up by the engine: SetDays, SetUsers; then by the analysis: Compile (every
  // filter), CompileBy, LoadProfiles ---
  void SetDays(std::vector<std::shared_ptr<const DayColumns>> days) { days_ = std::move(days); }
  void SetUsers(UserId user_limit, const std::vector<std::pair<UserId, UserId>>& merges,
                int threads);
  // Resolves a filter's names; user conditions are registered for LoadProfiles.
  Result<CompiledFilter> Compile(const std::optional<FilterNode>& filter, const std::string& path);
  // Registers the `by` properties (user ones get per-user value ids from LoadProfiles).
  Status CompileBy();
  // Reads every profile once if any user condition or user `by` was registered.
  Status LoadProfiles();

  // --- read by analyses ---
  const std::vector<std::shared_ptr<const DayColumns>>& days() const { return days_; }
  UserId user_limit() const { return user_limit_; }
  // ID-Mapping merges: merged (stored) user id → the person it belongs to now.
  const std::unordered_map<UserId, UserId>& merged_into() const { return merged_into_; }
  // Shard s covers users [shard_begin(s), shard_begin(s + 1)).
  size_t shard_count() const { return shard_bounds_.size() - 1; }
  UserId shard_begin(size_t shard) const { return shard_bounds_[shard]; }
  // Rows the analysis walked: every row of the days read, or — after PrepareEventSet — the
  // rows of that event set.
  uint64_t rows_scanned() const;
  // Every row of the days read (the events an engine without per-event lists would consider).
  uint64_t rows_in_range() const;

  // Users of the drilled cell (spec().users), filled by the analysis, one ascending list per
  // shard (each shard thread writes only its own list).
  std::vector<UserId>& drilled(size_t shard) const { return drilled_[shard]; }
  bool drilling() const { return spec_.users.enabled; }

  // Runs fn(shard) on one thread per shard; returns the first error.
  Status ForEachShard(const std::function<Status(size_t shard)>& fn) const;
  // Readies every day for the analysis's walk, on several threads at once, before the shards
  // start: a cold query decodes parts here, and doing it inside the shards' walk would make
  // them wait on each other day by day. PrepareEventSet: the rows of `events` (sorted,
  // distinct; DayColumns::RowsOfEvents) — a lazily built day reads only those events' blocks.
  // PrepareFullColumns: every row's time and event. Failures show in DaysStatus().
  // `needs_times(day)` false: the analysis reads no row's time on that day (e.g. the whole day
  // falls in one bucket of the range), so a lazily built day does not read its time column;
  // ForEachRowOfEventSet then passes 0 as the time offset of that day's rows. Null: every day
  // needs times.
  // `counts_only(day)` true: the analysis reads nothing per row on that day but each user's
  // number of rows of each event (no time, position or event property) and walks it with
  // ForEachUserCountOfEventSet; a lazily built day then reads only its part's index blocks of
  // `events` (DayColumns::UserCountsOf). Null: no such day.
  void PrepareEventSet(const std::vector<EventId>& events,
                       const std::function<bool(const DayColumns& day)>& needs_times = {},
                       const std::function<bool(const DayColumns& day)>& counts_only = {}) const;
  void PrepareFullColumns() const;
  // Ok, or the first failed lazy read of a day (the analysis's answer is then not valid).
  Status DaysStatus() const;

  // Calls visit(user, rows) for every user of [user_begin, user_end) with rows in day
  // `day_idx`, users ascending except that users with ID-Mapping merges come last; `rows`
  // (ContiguousRows or IndexedRows) are in time order. `user` is the canonical user.
  template <class Visit>
  void ForEachUser(size_t day_idx, UserId user_begin, UserId user_end,
                   std::vector<uint32_t>* scratch, Visit&& visit) const;

  // Calls visit(user, row, tag) for every row of day `day_idx` of the users in
  // [user_begin, user_end) whose event has a non-zero tag (tag_of(event_id)), each user's rows
  // in time order; users ascend, except that users with ID-Mapping merges come last.
  // This is the hot loop of most analyses: it reads the event column sequentially and touches
  // the user runs only for tagged rows, so rows of events a query ignores cost one table
  // lookup each.
  template <class TagOf, class Visit>
  void ForEachTaggedRow(size_t day_idx, UserId user_begin, UserId user_end,
                        std::vector<uint32_t>* scratch, TagOf&& tag_of, Visit&& visit) const;

  // As ForEachTaggedRow, but reads only the rows of `events` (through DayColumns::RowsOf), so a
  // scan for rare events costs in proportion to their rows rather than to the day's. Every
  // listed event must have a non-zero tag.
  template <class TagOf, class Visit>
  void ForEachRowOfEvents(size_t day_idx, UserId user_begin, UserId user_end,
                          const std::vector<EventId>& events, std::vector<uint32_t>* scratch,
                          TagOf&& tag_of, Visit&& visit) const;

  // As ForEachRowOfEvents, over the day's one list for the whole set (DayColumns::RowsOfEvents:
  // no per-row merge of per-event lists, no gathers from the day's columns), calling
  // visit(user, row, tag, time_offset_ms). `events` must be sorted and distinct and be the set
  // of PrepareEventSet, whose `needs_times` decides whether time_offset_ms is the row's (or 0
  // on a day that needs none — possibly the row's too, if a list with times was cached). Before
  // visiting a row it calls prefetch(near, far) with the users of the rows kPrefetchRows and
  // 2 × kPrefetchRows ahead (the last row's user near the end), so a visit that reaches
  // per-user state through an index (user → slot → state) can fetch the index entry of `far`
  // and the state of `near` and find both in cache when their rows come.
  static constexpr size_t kPrefetchRows = 16;
  template <class TagOf, class Visit, class Prefetch>
  void ForEachRowOfEventSet(size_t day_idx, UserId user_begin, UserId user_end,
                            const std::vector<EventId>& events, std::vector<uint32_t>* scratch,
                            TagOf&& tag_of, Visit&& visit, Prefetch&& prefetch) const;

  // For a day that PrepareEventSet marked counts-only: calls visit(user, row_count, tag) for
  // every user of [user_begin, user_end) with rows of the set's events in day `day_idx`, once
  // per (user, event), event by event in the order of `events`, users ascending within an
  // event — except that people with ID-Mapping merges come last, once per row (row_count 1),
  // from the day's full columns, for rows whose event has a non-zero tag (as for
  // ForEachRowOfEventSet, tag_of must give the events of `events` a non-zero tag and others
  // none). Before a user it calls prefetch(user kPrefetchRows ahead).
  template <class TagOf, class Visit, class Prefetch>
  void ForEachUserCountOfEventSet(size_t day_idx, UserId user_begin, UserId user_end,
                                  const std::vector<EventId>& events,
                                  std::vector<uint32_t>* scratch, TagOf&& tag_of, Visit&& visit,
                                  Prefetch&& prefetch) const;
  bool WalkCountsOnly(size_t day_idx) const {
    return day_idx < walked_events_counts_only_.size() && walked_events_counts_only_[day_idx];
  }

  // `by` support.
  struct ByColumn {
    PropertyRef ref;
    PropertyId property = 0;      // event properties; 0 = unknown
    ValueType type = ValueType::kString;
    ValueInterner values;
    std::vector<uint32_t> user_values;  // user properties: value id per user
  };
  std::vector<std::unique_ptr<ByColumn>>& by() { return by_; }
  const std::vector<std::unique_ptr<ByColumn>>& by() const { return by_; }
  bool by_has_event_property() const;
  // The user-property part of the group key of `user` (value ids, 0 for event-property slots).
  std::vector<std::vector<uint64_t>>& user_condition_bits() { return user_condition_bits_; }
  const std::vector<std::vector<uint64_t>>& user_condition_bits() const {
    return user_condition_bits_;
  }

  // People grouped by their `by` values (user properties only): group_of_user[user] indexes
  // keys[g] (value ids per `by` column). Without `by`: one group, and group_of_user is empty.
  struct UserGroups {
    std::vector<std::vector<uint32_t>> keys;
    std::vector<uint32_t> group_of_user;
    uint32_t GroupOf(UserId user) const { return group_of_user.empty() ? 0 : group_of_user[user]; }
  };
  UserGroups GroupUsers() const;
  // The group whose values render as `json_values` (the drill-down's cell.group); -1 without
  // a cell group (every group), keys.size() when no group has those values.
  int64_t FindGroup(const UserGroups& groups) const;

  // Renders a value of a day's property column as JSON and interns it.
  static std::string ValueJson(const Value& value, const TimeZone& zone);

 private:
  Status CompileNode(const FilterNode& node, const std::string& path, CompiledFilter* out,
                     int* index);
  Result<CompiledCondition> CompileCondition(const Condition& condition, const std::string& path);
  // For each person of [user_begin, user_end) with ID-Mapping merges and rows in the day: fills
  // *scratch with their rows of the day in time order and calls fn(person).
  template <class Fn>
  void ForEachMergedUser(size_t day_idx, UserId user_begin, UserId user_end,
                         std::vector<uint32_t>* scratch, Fn&& fn) const;
  // For each such person, visit(person, row, tag) for their rows in time order whose event
  // (event_column[row]) has a non-zero tag.
  template <class TagOf, class Visit>
  void ForEachMergedTaggedRow(size_t day_idx, UserId user_begin, UserId user_end,
                              const EventId* event_column, std::vector<uint32_t>* scratch,
                              TagOf&& tag_of, Visit&& visit) const;
  bool IsSpecial(UserId user) const {
    return user < special_.size() * 64 && ((special_[user >> 6] >> (user & 63)) & 1);
  }
  UserId Canonical(UserId user) const {
    auto it = merged_into_.find(user);
    return it == merged_into_.end() ? user : it->second;
  }

  const state::ProjectInfo& project_;
  state::ProjectSchema* schema_;
  const state::KvStore* kv_;
  const QuerySpec& spec_;
  std::vector<uint8_t> own_events_;
  std::vector<std::shared_ptr<const DayColumns>> days_;
  // The event set of PrepareEventSet (the rows an analysis walks), for rows_scanned.
  mutable std::optional<std::vector<EventId>> walked_events_;
  // Per day: whether the walk of walked_events_ reads the rows' times (PrepareEventSet).
  mutable std::vector<uint8_t> walked_events_need_times_;
  // Per day: whether the walk reads only user row counts (PrepareEventSet's counts_only).
  mutable std::vector<uint8_t> walked_events_counts_only_;
  bool WalkNeedsTimes(size_t day_idx) const {
    return day_idx >= walked_events_need_times_.size() || walked_events_need_times_[day_idx];
  }
  UserId user_limit_ = 1;
  std::vector<UserId> shard_bounds_ = {1, 1};
  mutable std::vector<std::vector<UserId>> drilled_ = {{}};

  // ID-Mapping merges: merged user → its user now; `special_` marks both sides.
  std::unordered_map<UserId, UserId> merged_into_;
  std::vector<uint64_t> special_;
  // Per day: (canonical user, run) of every run of a special user, sorted.
  std::vector<std::vector<std::pair<UserId, uint32_t>>> special_runs_;

  // User conditions registered by Compile, evaluated by LoadProfiles.
  std::vector<CompiledCondition> user_conditions_;
  std::vector<std::string> user_condition_names_;
  std::vector<std::vector<uint64_t>> user_condition_bits_;
  std::vector<std::unique_ptr<ByColumn>> by_;
};

// The `by` values of one day's event rows as value ids of the `by` columns (QueryContext::by(),
// in `by` order, 0 for an absent value): user properties from the person's profile, event
// properties from the row. String dictionaries are mapped to value ids once per day.
// Thread-safe to use from several shards (the interners lock).
class RowGroupKeys {
 public:
  using Key = std::array<uint32_t, 3>;
  static Result<RowGroupKeys> Bind(QueryContext& context, const DayColumns& day);
  Key Of(uint32_t row, UserId user) const;

 private:
  QueryContext* context_ = nullptr;
  std::vector<const store::PropColumn*> columns_;  // event-property columns (null: absent)
  std::vector<std::vector<uint32_t>> code_ids_;    // string dictionary code -> value id
};

// ---- template implementation ----

template <class Visit>
void QueryContext::ForEachUser(size_t day_idx, UserId user_begin, UserId user_end,
                               std::vector<uint32_t>* scratch, Visit&& visit) const {
  const DayColumns& day = *days_[day_idx];
  const std::vector<UserId>& users = day.run_user();
  const std::vector<uint32_t>& begins = day.run_begin();
  size_t run = std::lower_bound(users.begin(), users.end(), user_begin) - users.begin();
  const size_t run_end = std::lower_bound(users.begin(), users.end(), user_end) - users.begin();
  if (merged_into_.empty()) {
    for (; run < run_end; ++run) visit(users[run], ContiguousRows{begins[run], begins[run + 1]});
    return;
  }
  for (; run < run_end; ++run) {
    if (IsSpecial(users[run])) continue;
    visit(users[run], ContiguousRows{begins[run], begins[run + 1]});
  }
  ForEachMergedUser(day_idx, user_begin, user_end, scratch, [&](UserId user) {
    visit(user, IndexedRows{scratch->data(), scratch->size()});
  });
}

template <class Fn>
void QueryContext::ForEachMergedUser(size_t day_idx, UserId user_begin, UserId user_end,
                                     std::vector<uint32_t>* scratch, Fn&& fn) const {
  const DayColumns& day = *days_[day_idx];
  const std::vector<uint32_t>& begins = day.run_begin();
  const std::vector<uint32_t>& offsets = day.time_offset_ms();
  const auto& specials = special_runs_[day_idx];
  auto it = std::lower_bound(specials.begin(), specials.end(),
                             std::make_pair(user_begin, uint32_t{0}));
  while (it != specials.end() && it->first < user_end) {
    const UserId user = it->first;
    scratch->clear();
    for (; it != specials.end() && it->first == user; ++it) {
      for (uint32_t row = begins[it->second]; row < begins[it->second + 1]; ++row) {
        scratch->push_back(row);
      }
    }
    std::stable_sort(scratch->begin(), scratch->end(),
                     [&](uint32_t a, uint32_t b) { return offsets[a] < offsets[b]; });
    fn(user);
  }
}

template <class TagOf, class Visit>
void QueryContext::ForEachMergedTaggedRow(size_t day_idx, UserId user_begin, UserId user_end,
                                          const EventId* event_column,
                                          std::vector<uint32_t>* scratch, TagOf&& tag_of,
                                          Visit&& visit) const {
  ForEachMergedUser(day_idx, user_begin, user_end, scratch, [&](UserId user) {
    for (uint32_t row : *scratch) {
      const auto tag = tag_of(event_column[row]);
      if (tag) visit(user, row, tag);
    }
  });
}

template <class TagOf, class Visit>
void QueryContext::ForEachTaggedRow(size_t day_idx, UserId user_begin, UserId user_end,
                                    std::vector<uint32_t>* scratch, TagOf&& tag_of,
                                    Visit&& visit) const {
  const DayColumns& day = *days_[day_idx];
  const std::vector<UserId>& users = day.run_user();
  const std::vector<uint32_t>& begins = day.run_begin();
  const EventId* events = day.event().data();
  size_t run = std::lower_bound(users.begin(), users.end(), user_begin) - users.begin();
  const size_t run_end = std::lower_bound(users.begin(), users.end(), user_end) - users.begin();
  if (run == run_end) return;
  const bool merges = !merged_into_.empty();
  const uint32_t row_end = begins[run_end];
  for (uint32_t row = begins[run]; row < row_end; ++row) {
    const auto tag = tag_of(events[row]);
    if (!tag) continue;
    while (begins[run + 1] <= row) ++run;
    const UserId user = users[run];
    if (merges && IsSpecial(user)) continue;
    visit(user, row, tag);
  }
  if (!merges) return;
  ForEachMergedTaggedRow(day_idx, user_begin, user_end, events, scratch, tag_of, visit);
}

template <class TagOf, class Visit>
void QueryContext::ForEachRowOfEvents(size_t day_idx, UserId user_begin, UserId user_end,
                                      const std::vector<EventId>& events,
                                      std::vector<uint32_t>* scratch, TagOf&& tag_of,
                                      Visit&& visit) const {
  const DayColumns& day = *days_[day_idx];
  const EventId* event_column = day.event().data();
  struct Cursor {
    const uint32_t* rows;
    const UserId* users;
    size_t position, end;
  };
  std::vector<Cursor> cursors;
  cursors.reserve(events.size());
  for (EventId event : events) {
    const DayColumns::EventRows& list = day.RowsOf(event);
    const auto first = std::lower_bound(list.users.begin(), list.users.end(), user_begin);
    const auto last = std::lower_bound(first, list.users.end(), user_end);
    if (first == last) continue;
    cursors.push_back(Cursor{list.rows.data(), list.users.data(),
                             static_cast<size_t>(first - list.users.begin()),
                             static_cast<size_t>(last - list.users.begin())});
  }
  const bool merges = !merged_into_.empty();
  // Rows ascend in each list; merging the lists by row keeps (user, time) order. k is small.
  for (;;) {
    Cursor* next = nullptr;
    for (Cursor& cursor : cursors) {
      if (cursor.position < cursor.end &&
          (next == nullptr || cursor.rows[cursor.position] < next->rows[next->position])) {
        next = &cursor;
      }
    }
    if (next == nullptr) break;
    const uint32_t row = next->rows[next->position];
    const UserId user = next->users[next->position];
    ++next->position;
    if (merges && IsSpecial(user)) continue;
    visit(user, row, tag_of(event_column[row]));
  }
  if (!merges) return;
  ForEachMergedTaggedRow(day_idx, user_begin, user_end, event_column, scratch, tag_of, visit);
}

template <class TagOf, class Visit, class Prefetch>
void QueryContext::ForEachRowOfEventSet(size_t day_idx, UserId user_begin, UserId user_end,
                                        const std::vector<EventId>& events,
                                        std::vector<uint32_t>* scratch, TagOf&& tag_of,
                                        Visit&& visit, Prefetch&& prefetch) const {
  const DayColumns& day = *days_[day_idx];
  const DayColumns::EventSetRows& list = day.RowsOfEvents(events, WalkNeedsTimes(day_idx));
  const size_t begin =
      std::lower_bound(list.users.begin(), list.users.end(), user_begin) - list.users.begin();
  const size_t end =
      std::lower_bound(list.users.begin() + begin, list.users.end(), user_end) - list.users.begin();
  const uint32_t* rows = list.rows.data();
  const UserId* users = list.users.data();
  const EventId* list_events = list.events.data();
  const uint32_t* list_offsets = list.has_times ? list.time_offset_ms.data() : nullptr;
  const bool merges = !merged_into_.empty();
  for (size_t i = begin; i < end; ++i) {
    prefetch(users[std::min(i + kPrefetchRows, end - 1)],
             users[std::min(i + 2 * kPrefetchRows, end - 1)]);
    const UserId user = users[i];
    if (merges && IsSpecial(user)) continue;
    visit(user, rows[i], tag_of(list_events[i]), list_offsets != nullptr ? list_offsets[i] : 0u);
  }
  // Only a day holding rows of merged people reads its full columns (lazily built days decode
  // nothing more otherwise).
  if (!merges || special_runs_[day_idx].empty()) return;
  const EventId* event_column = day.event().data();
  const uint32_t* offsets = day.time_offset_ms().data();
  ForEachMergedTaggedRow(day_idx, user_begin, user_end, event_column, scratch, tag_of,
                         [&](UserId user, uint32_t row, const auto& tag) {
                           visit(user, row, tag, offsets[row]);
                         });
}

template <class TagOf, class Visit, class Prefetch>
void QueryContext::ForEachUserCountOfEventSet(size_t day_idx, UserId user_begin, UserId user_end,
                                              const std::vector<EventId>& events,
                                              std::vector<uint32_t>* scratch, TagOf&& tag_of,
                                              Visit&& visit, Prefetch&& prefetch) const {
  const DayColumns& day = *days_[day_idx];
  const bool merges = !merged_into_.empty();
  for (EventId event : events) {
    const DayColumns::EventUserCounts& list = day.UserCountsOf(event);
    const auto tag = tag_of(event);
    const size_t begin =
        std::lower_bound(list.users.begin(), list.users.end(), user_begin) - list.users.begin();
    const size_t end = std::lower_bound(list.users.begin() + begin, list.users.end(), user_end) -
                       list.users.begin();
    const UserId* users = list.users.data();
    const uint32_t* counts = list.row_counts.data();
    for (size_t i = begin; i < end; ++i) {
      prefetch(users[std::min(i + kPrefetchRows, end - 1)]);
      const UserId user = users[i];
      if (merges && IsSpecial(user)) continue;
      visit(user, counts[i], tag);
    }
  }
  if (!merges || special_runs_[day_idx].empty()) return;
  ForEachMergedTaggedRow(day_idx, user_begin, user_end, day.event().data(), scratch, tag_of,
                         [&](UserId user, uint32_t, const auto& tag) { visit(user, 1u, tag); });
}

}  // namespace sextant::query
