// Event analysis: measures of events per time bucket and group.
//
// Cost: one pass over the rows of the range. Unique users without `by` use one "last bucket
// counted" int per user and measure (buckets only grow while a shard walks its days in time
// order, so a user is counted once per bucket without a set); with `by`, a Roaring bitmap per
// cell. Shards hold disjoint users, so their unique counts add up.
#include <roaring/roaring.hh>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "query/analyses.h"

namespace sextant::query {
namespace {

using GroupKey = RowGroupKeys::Key;

struct GroupKeyHash {
  size_t operator()(const GroupKey& key) const {
    uint64_t h = key[0] * 0x9E3779B97F4A7C15ULL;
    h ^= (key[1] + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (key[2] + 0x165667B19E3779F9ULL) * 0x27D4EB2F165667C5ULL;
    return h ^ (h >> 29);
  }
};

struct Cell {
  double count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  uint64_t values = 0;  // rows that had a numeric value (avg)
  uint64_t uniq = 0;    // without `by`
  std::unique_ptr<Roaring> users;                            // with `by`
  std::unique_ptr<std::unordered_set<std::string>> distinct;  // distinct aggregator
};

struct ShardResult {
  std::unordered_map<GroupKey, size_t, GroupKeyHash> group_index;
  std::vector<GroupKey> groups;
  std::vector<Cell> cells;  // [group][bucket][measure]
};

struct CompiledMeasure {
  const Measure* measure = nullptr;
  CompiledFilter filter;
  PropertyId property = 0;
  ValueType property_type = ValueType::kNumber;
  bool needs_uniq = false;
};

}  // namespace

Status RunEvents(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const EventsQuery& query = spec.events;
  const TimeBuckets buckets(query.unit, spec.range, context.zone());
  const size_t bucket_count = buckets.count();
  const size_t measure_count = query.measures.size();

  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  std::vector<CompiledMeasure> measures(measure_count);
  // Per event id: the measures it feeds.
  std::vector<std::vector<uint16_t>> measures_of_event;
  std::vector<uint16_t> any_event_measures;
  for (size_t m = 0; m < measure_count; ++m) {
    const Measure& measure = query.measures[m];
    const std::string path = "measures[" + std::to_string(m) + "]";
    CompiledMeasure& compiled = measures[m];
    compiled.measure = &measure;
    auto filter = context.Compile(measure.filter, path);
    if (!filter.ok()) return filter.status();
    compiled.filter = std::move(*filter);
    compiled.needs_uniq = measure.aggregator == Aggregator::kUniqUsers ||
                          measure.aggregator == Aggregator::kPerUserAvg;
    if (measure.property) {
      auto entry = context.schema().Find(state::SchemaKind::kEventProperty, measure.property->name);
      if (entry) {
        compiled.property = entry->id;
        compiled.property_type = entry->type;
      }
      const bool numeric = measure.aggregator == Aggregator::kSum ||
                           measure.aggregator == Aggregator::kAvg ||
                           measure.aggregator == Aggregator::kMin ||
                           measure.aggregator == Aggregator::kMax;
      if (numeric && entry && entry->type != ValueType::kNumber) {
        return Status(ErrorCode::kInvalidQuery,
                      path + ".property: " + measure.property->name + " is " +
                          std::string(ValueTypeName(entry->type)) + ", this aggregator needs NUMBER",
                      path + ".property");
      }
    }
    if (measure.event == "$any") {
      any_event_measures.push_back(static_cast<uint16_t>(m));
      continue;
    }
    const EventId event = context.schema().FindEvent(measure.event);
    if (event == 0) continue;  // never seen: the measure is 0 everywhere
    if (measures_of_event.size() <= event) measures_of_event.resize(event + 1);
    measures_of_event[event].push_back(static_cast<uint16_t>(m));
  }
  // "$any" measures count every event but Sextant's own (sized to cover them, so that the
  // fallback for ids past the end does not give them the "$any" measures).
  const std::vector<uint8_t>& own = context.own_events();
  if (measures_of_event.size() < own.size()) measures_of_event.resize(own.size());
  for (size_t event = 0; event < measures_of_event.size(); ++event) {
    if (IsOwnEvent(own, static_cast<EventId>(event))) continue;
    measures_of_event[event].insert(measures_of_event[event].end(), any_event_measures.begin(),
                                    any_event_measures.end());
  }
  // Without a "$any" measure only the rows of the measured events count: the scan reads the
  // day's list of their rows (DayColumns::RowsOfEvents, kept with the cached day) instead of
  // every row of the day — a dashboard asking for three of fifty event names touches a tenth
  // of the rows.
  std::vector<EventId> measured_events;
  if (any_event_measures.empty()) {
    for (size_t event = 0; event < measures_of_event.size(); ++event) {
      if (!measures_of_event[event].empty()) measured_events.push_back(static_cast<EventId>(event));
    }
  }
  // A store day wholly inside the range and inside one bucket (every unit but hour, over whole
  // days) counts its rows without looking at their times (the walk's `constant_bucket`), so a
  // cold query does not read those days' time columns.
  auto day_needs_times = [&](const DayColumns& day) {
    const int64_t day_start = day.day_start_ms();
    const int64_t day_end = day_start + 86'400'000 - 1;
    const bool inside = day_start >= buckets.range_start_ms() && day_end <= buckets.range_end_ms();
    return !(inside && query.unit != TimeUnit::kHour &&
             buckets.BucketOfMs(day_end) == buckets.BucketOfMs(day_start));
  };
  SEXTANT_RETURN_IF_ERROR(context.CompileBy());
  // Nothing per row but its user and event when no filter, group or measure reads an event
  // property: on a day that needs no row time either, the walk takes each user's row count
  // per event (DayColumns::UserCountsOf — on a compacted day, the part's small per-event
  // index instead of its user and event columns) and visits a user once per event, not once
  // per row.
  bool rows_matter = global_filter->reads_rows() || context.by_has_event_property();
  for (const CompiledMeasure& measure : measures) {
    rows_matter = rows_matter || measure.filter.reads_rows() || measure.property != 0 ||
                  measure.measure->property.has_value();
  }
  auto counts_only = [&](const DayColumns& day) { return !rows_matter && !day_needs_times(day); };
  if (any_event_measures.empty()) {
    context.PrepareEventSet(measured_events, day_needs_times, counts_only);  // none: no row walked
  } else {
    context.PrepareFullColumns();
  }
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  const bool grouped = !context.by().empty();
  const auto& by = context.by();

  // The drilled cell: bucket, group key and measure.
  int64_t drill_bucket = -1;
  GroupKey drill_key{0, 0, 0};
  const UserDrill& drill = spec.users;
  if (drill.enabled) {
    for (size_t b = 0; b < bucket_count; ++b) {
      if (buckets.Label(b) == drill.time) drill_bucket = static_cast<int64_t>(b);
    }
    if (drill_bucket < 0) {
      return Status(ErrorCode::kInvalidQuery,
                    "users.cell.time: \"" + drill.time + "\" is not a time of the answer",
                    "users.cell.time");
    }
    if (drill.measure >= measure_count) {
      return Status(ErrorCode::kInvalidQuery, "users.cell.measure: no such measure",
                    "users.cell.measure");
    }
    for (size_t b = 0; b < by.size(); ++b) drill_key[b] = by[b]->values.Intern(drill.group[b]);
  }

  std::vector<ShardResult> results(context.shard_count());
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    ShardResult& result = results[shard];
    auto group_of = [&](const GroupKey& key) -> size_t {
      auto [it, inserted] = result.group_index.try_emplace(key, result.groups.size());
      if (inserted) {
        result.groups.push_back(key);
        result.cells.resize(result.groups.size() * bucket_count * measure_count);
      }
      return it->second;
    };
    if (!grouped) group_of(GroupKey{0, 0, 0});
    // Last bucket in which each user was counted, per measure that counts users: one entry per
    // (user, counting measure), a user's entries side by side, so the one prefetch of a user's
    // entries ahead of its row serves whichever measure the row feeds.
    std::vector<uint32_t> uniq_slot(measure_count, 0);
    size_t uniq_count = 0;
    for (size_t m = 0; m < measure_count; ++m) {
      if (measures[m].needs_uniq) uniq_slot[m] = static_cast<uint32_t>(uniq_count++);
    }
    std::vector<int32_t> last_bucket(grouped ? 0 : (user_end - user_begin) * uniq_count, -1);
    std::vector<uint8_t> in_cell(drill.enabled ? user_end - user_begin : 0, 0);
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      const int64_t day_start = day.day_start_ms();
      const int64_t day_end = day_start + 86'400'000 - 1;
      if (day_end < buckets.range_start_ms() || day_start > buckets.range_end_ms()) continue;
      // Whole store day inside one bucket and inside the range: no per-row time work.
      const int32_t day_bucket = buckets.BucketOfMs(day_start);
      const bool constant_bucket = !day_needs_times(day);

      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      std::vector<BoundFilter> measure_filters;
      std::vector<const store::PropColumn*> measure_columns(measure_count, nullptr);
      for (size_t m = 0; m < measure_count; ++m) {
        auto bound = BoundFilter::Bind(&measures[m].filter, context, day);
        if (!bound.ok()) return bound.status();
        measure_filters.push_back(std::move(*bound));
        if (measures[m].property != 0) {
          auto column = day.Property(measures[m].property);
          if (!column.ok()) return column.status();
          measure_columns[m] = *column;
        }
      }
      auto row_keys = RowGroupKeys::Bind(context, day);
      if (!row_keys.ok()) return row_keys.status();
      // Tag of an event: the list of measures it feeds (null = none).
      auto tag_of = [&](EventId event) -> const std::vector<uint16_t>* {
        const std::vector<uint16_t>& list =
            event < measures_of_event.size() ? measures_of_event[event] : any_event_measures;
        return list.empty() ? nullptr : &list;
      };
      // `row_count` rows of `user` with the same row-independent answers (counts-only days;
      // `row` is then not a row, and nothing below reads it: see rows_matter).
      auto visit = [&](UserId user, uint32_t row, const std::vector<uint16_t>* measure_list,
                       uint32_t time_offset_ms, uint32_t row_count) {
        const uint32_t local_user = user - user_begin;
        const std::vector<uint16_t>& row_measures = *measure_list;
        {
          int32_t bucket = day_bucket;
          if (!constant_bucket) {
            const int64_t time = day_start + time_offset_ms;
            if (time < buckets.range_start_ms() || time > buckets.range_end_ms()) return;
            bucket = buckets.BucketOfMs(time);
          }
          if (!global->Matches(row, user)) return;
          size_t group = 0;
          GroupKey key{0, 0, 0};
          if (grouped) {
            key = row_keys->Of(row, user);
            group = group_of(key);
          }
          Cell* cells = &result.cells[(group * bucket_count + bucket) * measure_count];
          for (uint16_t m : row_measures) {
            if (!measure_filters[m].Matches(row, user)) continue;
            Cell& cell = cells[m];
            cell.count += row_count;
            if (drill.enabled && m == drill.measure && bucket == drill_bucket && key == drill_key) {
              in_cell[local_user] = 1;
            }
            if (measures[m].needs_uniq) {
              if (grouped) {
                if (!cell.users) cell.users = std::make_unique<Roaring>();
                cell.users->add(user);
              } else if (int32_t& last = last_bucket[local_user * uniq_count + uniq_slot[m]];
                         last != bucket) {
                last = bucket;
                ++cell.uniq;
              }
            }
            const store::PropColumn* column = measure_columns[m];
            if (column == nullptr) continue;
            const int32_t slot = column->slot[row];
            if (slot < 0) continue;
            if (measures[m].measure->aggregator == Aggregator::kDistinct) {
              if (!cell.distinct) cell.distinct = std::make_unique<std::unordered_set<std::string>>();
              cell.distinct->insert(column->type == ValueType::kString
                                        ? column->dict[column->codes[slot]]
                                        : QueryContext::ValueJson(column->Get(slot), context.zone()));
            } else if (column->type == ValueType::kNumber) {
              const double value = column->numbers[slot];
              cell.sum += value;
              cell.min = std::min(cell.min, value);
              cell.max = std::max(cell.max, value);
              ++cell.values;
            }
          }
        }
      };
      // The per-user "last counted bucket" entries lie scattered over the shard's users:
      // fetch the entries of the row one stride ahead so they are in cache when it comes.
      const bool prefetch_uniq = !last_bucket.empty();
      auto prefetch = [&](UserId near_user) {
        if (prefetch_uniq) PrefetchForRead(&last_bucket[(near_user - user_begin) * uniq_count]);
      };
      if (any_event_measures.empty() && context.WalkCountsOnly(day_idx)) {
        if (measured_events.empty()) continue;  // no measured event was ever seen
        context.ForEachUserCountOfEventSet(
            day_idx, user_begin, user_end, measured_events, &scratch, tag_of,
            [&](UserId user, uint32_t row_count, const std::vector<uint16_t>* measure_list) {
              visit(user, 0, measure_list, 0, row_count);
            },
            prefetch);
      } else if (any_event_measures.empty()) {
        if (measured_events.empty()) continue;  // no measured event was ever seen
        context.ForEachRowOfEventSet(
            day_idx, user_begin, user_end, measured_events, &scratch, tag_of,
            [&](UserId user, uint32_t row, const std::vector<uint16_t>* measure_list,
                uint32_t time_offset_ms) { visit(user, row, measure_list, time_offset_ms, 1); },
            [&](UserId near_user, UserId) { prefetch(near_user); });
      } else {
        const auto& offsets = day.time_offset_ms();
        context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                                 [&](UserId user, uint32_t row,
                                     const std::vector<uint16_t>* measure_list) {
                                   visit(user, row, measure_list, offsets[row], 1);
                                 });
      }
    }
    for (size_t local = 0; local < in_cell.size(); ++local) {
      if (in_cell[local]) context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);

  // Merge shards into shard 0's layout, group by group.
  ShardResult merged;
  auto merged_group = [&](const GroupKey& key) {
    auto [it, inserted] = merged.group_index.try_emplace(key, merged.groups.size());
    if (inserted) {
      merged.groups.push_back(key);
      merged.cells.resize(merged.groups.size() * bucket_count * measure_count);
    }
    return it->second;
  };
  if (!grouped) merged_group(GroupKey{0, 0, 0});
  for (ShardResult& result : results) {
    for (size_t g = 0; g < result.groups.size(); ++g) {
      const size_t target = merged_group(result.groups[g]);
      for (size_t i = 0; i < bucket_count * measure_count; ++i) {
        Cell& from = result.cells[g * bucket_count * measure_count + i];
        Cell& to = merged.cells[target * bucket_count * measure_count + i];
        to.count += from.count;
        to.sum += from.sum;
        to.min = std::min(to.min, from.min);
        to.max = std::max(to.max, from.max);
        to.values += from.values;
        to.uniq += from.uniq + (from.users ? from.users->cardinality() : 0);
        if (from.distinct) {
          if (!to.distinct) {
            to.distinct = std::move(from.distinct);
          } else {
            to.distinct->insert(from.distinct->begin(), from.distinct->end());
          }
        }
      }
    }
  }

  auto value_of = [&](const Cell& cell, const Measure& measure) -> std::optional<double> {
    switch (measure.aggregator) {
      case Aggregator::kCount: return cell.count;
      case Aggregator::kUniqUsers: return static_cast<double>(cell.uniq);
      case Aggregator::kPerUserAvg:
        return cell.uniq == 0 ? 0.0 : cell.count / static_cast<double>(cell.uniq);
      case Aggregator::kSum: return cell.sum;
      case Aggregator::kAvg:
        if (cell.values == 0) return std::nullopt;
        return cell.sum / static_cast<double>(cell.values);
      case Aggregator::kMin:
        if (cell.values == 0) return std::nullopt;
        return cell.min;
      case Aggregator::kMax:
        if (cell.values == 0) return std::nullopt;
        return cell.max;
      case Aggregator::kDistinct:
        return static_cast<double>(cell.distinct ? cell.distinct->size() : 0);
    }
    return std::nullopt;
  };

  // Groups ranked by the first measure over the whole range; at most `limit` are kept.
  std::vector<size_t> order(merged.groups.size());
  std::vector<double> totals(merged.groups.size(), 0);
  for (size_t g = 0; g < merged.groups.size(); ++g) {
    order[g] = g;
    for (size_t b = 0; b < bucket_count; ++b) {
      totals[g] += value_of(merged.cells[(g * bucket_count + b) * measure_count],
                            query.measures[0]).value_or(0);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (totals[a] != totals[b]) return totals[a] > totals[b];
    return merged.groups[a] < merged.groups[b];
  });
  const bool truncated = grouped && order.size() > query.limit;
  if (truncated) order.resize(query.limit);

  out->Key("columns").BeginArray().String("time");
  for (const auto& column : by) out->String(column->ref.Display());
  for (size_t m = 0; m < measure_count; ++m) out->String("m" + std::to_string(m));
  out->EndArray();
  out->Key("measure_labels").BeginArray();
  for (const Measure& measure : query.measures) {
    static constexpr std::string_view kNames[] = {"count", "uniq_users", "per_user_avg", "sum",
                                                  "avg",   "min",        "max",          "distinct"};
    std::string label = std::string(kNames[static_cast<int>(measure.aggregator)]) + "(" +
                        measure.event + (measure.property ? "." + measure.property->name : "") + ")";
    out->String(label);
  }
  out->EndArray();
  out->Key("rows").BeginArray();
  for (size_t b = 0; b < bucket_count; ++b) {
    const std::string label = buckets.Label(b);
    for (size_t g : order) {
      const Cell* cells = &merged.cells[(g * bucket_count + b) * measure_count];
      if (grouped) {
        bool any = false;
        for (size_t m = 0; m < measure_count; ++m) any |= cells[m].count > 0;
        if (!any) continue;
      }
      out->BeginArray().String(label);
      for (size_t k = 0; k < by.size(); ++k) out->Raw(by[k]->values.Json(merged.groups[g][k]));
      for (size_t m = 0; m < measure_count; ++m) {
        auto value = value_of(cells[m], query.measures[m]);
        if (!value) {
          out->Null();
        } else if (*value == std::floor(*value) && std::abs(*value) < 9e15) {
          out->Int(static_cast<int64_t>(*value));
        } else {
          out->Double(*value);
        }
      }
      out->EndArray();
    }
  }
  out->EndArray();
  if (grouped) {
    out->Key("groups_total").Uint(merged.groups.size());
    out->Key("groups_truncated").Bool(truncated);
  }
  return Status::Ok();
}

}  // namespace sextant::query
