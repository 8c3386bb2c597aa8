// Retention: cohorts by the period of the initial event, returns k periods later.
//
// Per user two bit sets over periods, relative to the first cohort: "did the initial event in
// period p" (cohort periods only) and "did the return event in period p" (cohort periods plus
// the `periods` that follow). With first_time, only the period of the user's first initial
// event ever counts, so the scan starts at the project's first day and a "seen" bit per user
// remembers earlier initial events. At the end each user adds 1 to retained[c][k] for every
// cohort c it is in and every k whose return bit c + k is set — the same numbers as
// ClickHouse's retention(initial in c, return in c+1, ..., return in c+N) per cohort.
//
// `by` on event properties groups by the values of the initial event (Sensors' grouping by the
// initial behaviour's property): a person is in cohort c of group g when an initial event of
// theirs in period c (their first ever one with first_time) carries g's values; a person can be
// in several groups, so `cohorts` is the ungrouped table. Per person, an initial bit set per
// group they entered with (a short list).
//
// Cost: O(rows of the initial and return events) — the walk reads each day's list of those
// rows (every row when either is "$any"; on days walked as counts, one entry per user and
// event) — plus O(users × words); state 2 × ceil((cohorts +
// periods) / 64) words per user.
#include <algorithm>
#include <bit>
#include <map>
#include <optional>

#include "query/analyses.h"

namespace sextant::query {

Status RunRetention(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const RetentionQuery& query = spec.retention;
  const TimeBuckets cohorts(query.unit, spec.range, context.zone());
  const size_t cohort_count = cohorts.count();
  const size_t period_count = cohort_count + static_cast<size_t>(query.periods);
  const size_t words = (period_count + 63) / 64;

  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  auto initial_filter = context.Compile(query.initial.filter, "initial");
  if (!initial_filter.ok()) return initial_filter.status();
  auto return_filter = context.Compile(query.return_event.filter, "return");
  if (!return_filter.ok()) return return_filter.status();
  const EventId initial_event = ResolveEvent(context.schema(), query.initial.event);
  const EventId return_event = ResolveEvent(context.schema(), query.return_event.event);
  SEXTANT_RETURN_IF_ERROR(context.CompileBy());
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());

  const auto& by = context.by();
  const bool entry_grouped = context.by_has_event_property();
  const QueryContext::UserGroups groups =
      entry_grouped ? QueryContext::UserGroups{{{}}, {}} : context.GroupUsers();
  std::vector<std::vector<uint32_t>> group_keys = groups.keys;
  const size_t group_count = group_keys.size();
  using EntryKey = RowGroupKeys::Key;
  const size_t width = static_cast<size_t>(query.periods) + 1;
  // The drilled cell: cohort index and group (-1 = every group).
  size_t drill_cohort = cohort_count;
  int64_t drill_group = -1;
  if (spec.users.enabled) {
    for (size_t c = 0; c < cohort_count; ++c) {
      if (cohorts.Label(c) == spec.users.cohort) drill_cohort = c;
    }
    if (drill_cohort == cohort_count) {
      return Status(ErrorCode::kInvalidQuery,
                    "users.cell.cohort: \"" + spec.users.cohort + "\" is not a cohort of the range",
                    "users.cell.cohort");
    }
    if (spec.users.period >= width) {
      return Status(ErrorCode::kInvalidQuery, "users.cell.period: beyond `periods`",
                    "users.cell.period");
    }
    drill_group = entry_grouped ? -1 : context.FindGroup(groups);
  }
  const bool drill_entry_group = entry_grouped && spec.users.enabled && spec.users.has_group;
  EntryKey drill_key{0, 0, 0};
  if (drill_entry_group) {
    for (size_t b = 0; b < by.size(); ++b) drill_key[b] = by[b]->values.Intern(spec.users.group[b]);
  }

  // Period of an instant relative to the first cohort: by day, Monday week or month.
  auto period_of = [&](int64_t time) -> int64_t {
    const int32_t day = cohorts.DayOfMs(time);
    switch (query.unit) {
      case TimeUnit::kWeek:
        return TimeBuckets::WeekOf(day) - TimeBuckets::WeekOf(spec.range.first_day);
      case TimeUnit::kMonth:
        return TimeBuckets::MonthOf(day) - TimeBuckets::MonthOf(spec.range.first_day);
      default: return day - spec.range.first_day;
    }
  };

  // Without "$any" only the rows of the initial and return events matter: the walk reads the
  // day's list of them (a lazily built day decodes nothing else). Unknown events (id 0) match
  // nothing and are left out.
  std::optional<std::vector<EventId>> set_events;
  if (initial_event != kAnyEvent && return_event != kAnyEvent) {
    set_events.emplace();
    for (EventId event : {initial_event, return_event}) {
      if (event != 0) set_events->push_back(event);
    }
    std::sort(set_events->begin(), set_events->end());
    set_events->erase(std::unique(set_events->begin(), set_events->end()), set_events->end());
    // A store day inside one period (every store day, for whole-day periods in the project's
    // zone) gives each of its rows the period of its start: no row's time is read. When no
    // filter or group reads an event property either, such a day is walked as each user's row
    // counts per event (a user's rows of one event on one day all set the same bit), which a
    // compacted day reads from its part's per-event user index.
    auto needs_times = [&](const DayColumns& day) {
      return period_of(day.day_start_ms()) != period_of(day.day_start_ms() + 86'400'000 - 1);
    };
    const bool rows_matter = global_filter->reads_rows() || initial_filter->reads_rows() ||
                             return_filter->reads_rows() || entry_grouped;
    context.PrepareEventSet(*set_events, needs_times, [&](const DayColumns& day) {
      return !rows_matter && !needs_times(day);
    });
  } else {
    context.PrepareFullColumns();
  }

  std::vector<std::vector<uint64_t>> results(context.shard_count());  // [group][cohort][k]
  // Entry groups per shard: their keys and [entry group][cohort][k] counts.
  std::vector<std::vector<EntryKey>> entry_keys_of(context.shard_count());
  std::vector<std::vector<uint64_t>> entry_counts_of(context.shard_count());
  const std::vector<uint8_t>& own = context.own_events();  // "$any" leaves these out
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    const size_t users = user_end - user_begin;
    std::vector<uint64_t> initial_bits(users * words, 0);
    std::vector<uint64_t> return_bits(users * words, 0);
    std::vector<uint64_t> seen(query.first_time ? (users + 63) / 64 : 0, 0);
    // Entry groups: per person (group, offset of its `words` initial bits in entry_bits).
    std::vector<std::vector<std::pair<uint32_t, uint32_t>>> entries(entry_grouped ? users : 0);
    std::vector<uint64_t> entry_bits;
    std::map<EntryKey, uint32_t> entry_index;
    std::vector<EntryKey>& entry_keys = entry_keys_of[shard];
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      const int64_t day_start = day.day_start_ms();
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      auto bound_initial = BoundFilter::Bind(&*initial_filter, context, day);
      if (!bound_initial.ok()) return bound_initial.status();
      auto bound_return = BoundFilter::Bind(&*return_filter, context, day);
      if (!bound_return.ok()) return bound_return.status();
      std::optional<RowGroupKeys> row_keys;  // entry groups: the `by` values of an initial event
      if (entry_grouped) {
        auto bound = RowGroupKeys::Bind(context, day);
        if (!bound.ok()) return bound.status();
        row_keys = std::move(*bound);
      }
      auto tag_of = [&](EventId event) -> uint32_t {
        return (EventMatches(initial_event, event, own) ? 1u : 0u) |
               (EventMatches(return_event, event, own) ? 2u : 0u);
      };
      auto visit = [&](UserId user, uint32_t row, uint32_t tag, uint32_t time_offset_ms) {
        const size_t local = user - user_begin;
        {
          const bool maybe_initial = (tag & 1u) != 0;
          const bool maybe_return = (tag & 2u) != 0;
          if (!tag || !global->Matches(row, user)) return;
          const int64_t period = period_of(day_start + time_offset_ms);
          if (maybe_initial && bound_initial->Matches(row, user)) {
            bool counts = true;
            if (query.first_time) {
              uint64_t& word = seen[local >> 6];
              const uint64_t bit = uint64_t{1} << (local & 63);
              counts = (word & bit) == 0;
              word |= bit;
            }
            if (counts && period >= 0 && period < static_cast<int64_t>(cohort_count)) {
              initial_bits[local * words + period / 64] |= uint64_t{1} << (period % 64);
              if (entry_grouped) {
                const EntryKey key = row_keys->Of(row, user);
                auto [it, inserted] =
                    entry_index.try_emplace(key, static_cast<uint32_t>(entry_keys.size()));
                if (inserted) entry_keys.push_back(key);
                auto& list = entries[local];
                auto found = std::find_if(list.begin(), list.end(),
                                          [&](const auto& e) { return e.first == it->second; });
                if (found == list.end()) {
                  list.emplace_back(it->second, static_cast<uint32_t>(entry_bits.size()));
                  entry_bits.resize(entry_bits.size() + words, 0);
                  found = list.end() - 1;
                }
                entry_bits[found->second + period / 64] |= uint64_t{1} << (period % 64);
              }
            }
          }
          if (maybe_return && period >= 0 && period < static_cast<int64_t>(period_count) &&
              bound_return->Matches(row, user)) {
            return_bits[local * words + period / 64] |= uint64_t{1} << (period % 64);
          }
        }
      };
      // A user's bit sets lie anywhere in the shard's arrays: fetch those of the row one
      // stride ahead.
      auto prefetch = [&](UserId near_user) {
        const size_t at = (near_user - user_begin) * words;
        PrefetchForRead(&initial_bits[at]);
        PrefetchForRead(&return_bits[at]);
      };
      if (set_events && context.WalkCountsOnly(day_idx)) {
        // `row` is not read (no filter or group reads a row: see rows_matter) and the day lies
        // in one period, which time offset 0 gives.
        context.ForEachUserCountOfEventSet(
            day_idx, user_begin, user_end, *set_events, &scratch, tag_of,
            [&](UserId user, uint32_t, uint32_t tag) { visit(user, 0, tag, 0); }, prefetch);
      } else if (set_events) {
        if (!set_events->empty()) {
          context.ForEachRowOfEventSet(day_idx, user_begin, user_end, *set_events, &scratch,
                                       tag_of, visit,
                                       [&](UserId near_user, UserId) { prefetch(near_user); });
        }
      } else {
        const auto& offsets = day.time_offset_ms();
        context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                                 [&](UserId user, uint32_t row, uint32_t tag) {
                                   visit(user, row, tag, offsets[row]);
                                 });
      }
    }
    std::vector<uint64_t>& counts = results[shard];
    counts.assign(group_count * cohort_count * width, 0);
    auto test = [&](const uint64_t* bits, size_t period) {
      return (bits[period / 64] >> (period % 64)) & 1;
    };
    // Adds one person to a table of `width` counts per cohort (row[0]: in the cohort; row[k]:
    // returned k periods later) for every cohort set in `cohort_bits`.
    auto count_cohorts = [&](const uint64_t* cohort_bits, const uint64_t* returned,
                             uint64_t* table) {
      for (size_t w = 0; w < words; ++w) {
        for (uint64_t bits = cohort_bits[w]; bits != 0; bits &= bits - 1) {
          const size_t cohort = w * 64 + static_cast<size_t>(std::countr_zero(bits));
          uint64_t* row = &table[cohort * width];
          ++row[0];
          for (size_t k = 1; k < width; ++k) row[k] += test(returned, cohort + k);
        }
      }
    };
    std::vector<uint64_t>& entry_counts = entry_counts_of[shard];
    entry_counts.assign(entry_keys.size() * cohort_count * width, 0);
    for (size_t local = 0; local < users; ++local) {
      const uint64_t* initial = &initial_bits[local * words];
      const uint64_t* returned = &return_bits[local * words];
      bool drilled = false;
      for (size_t e = 0; entry_grouped && e < entries[local].size(); ++e) {
        const auto [group, offset] = entries[local][e];
        const uint64_t* group_initial = &entry_bits[offset];
        if (drill_entry_group && !drilled && entry_keys[group] == drill_key &&
            test(group_initial, drill_cohort) &&
            (spec.users.period == 0 || test(returned, drill_cohort + spec.users.period))) {
          context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
          drilled = true;
        }
        count_cohorts(group_initial, returned, &entry_counts[group * cohort_count * width]);
      }
      const size_t group = groups.GroupOf(user_begin + static_cast<UserId>(local));
      if (context.drilling() && !drill_entry_group &&
          (drill_group < 0 || static_cast<size_t>(drill_group) == group) &&
          test(initial, drill_cohort) &&
          (spec.users.period == 0 || test(returned, drill_cohort + spec.users.period))) {
        context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
      }
      count_cohorts(initial, returned, &counts[group * cohort_count * width]);
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);

  std::vector<uint64_t> counts(group_count * cohort_count * width, 0);
  for (const auto& result : results) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += result[i];
  }
  auto write_cohorts = [&](const uint64_t* table) {
    out->BeginArray();
    for (size_t cohort = 0; cohort < cohort_count; ++cohort) {
      const uint64_t* row = &table[cohort * width];
      out->BeginObject();
      out->Key("period").String(cohorts.Label(cohort));
      out->Key("users").Uint(row[0]);
      out->Key("retained").BeginArray();
      for (size_t k = 0; k < width; ++k) out->Uint(row[k]);
      out->EndArray();
      out->EndObject();
    }
    out->EndArray();
  };
  // Without entry groups a person is in one group and the groups add up to the total; with
  // them the total is the ungrouped table (group 0 of `counts`).
  std::vector<uint64_t> total(cohort_count * width, 0);
  for (size_t g = 0; g < group_count; ++g) {
    for (size_t i = 0; i < total.size(); ++i) total[i] += counts[g * cohort_count * width + i];
  }
  size_t table_count = group_count;
  const uint64_t* tables = counts.data();
  std::vector<uint64_t> entry_counts;
  if (entry_grouped) {
    std::map<EntryKey, size_t> index;
    group_keys.clear();
    for (size_t shard = 0; shard < entry_keys_of.size(); ++shard) {
      const auto& keys = entry_keys_of[shard];
      for (size_t g = 0; g < keys.size(); ++g) {
        auto [it, inserted] = index.try_emplace(keys[g], group_keys.size());
        if (inserted) {
          group_keys.emplace_back(keys[g].begin(), keys[g].begin() + static_cast<ptrdiff_t>(by.size()));
          entry_counts.resize(entry_counts.size() + cohort_count * width, 0);
        }
        for (size_t i = 0; i < cohort_count * width; ++i) {
          entry_counts[it->second * cohort_count * width + i] +=
              entry_counts_of[shard][g * cohort_count * width + i];
        }
      }
    }
    table_count = group_keys.size();
    tables = entry_counts.data();
  }
  out->Key("cohorts");
  write_cohorts(total.data());
  out->Key("groups").BeginArray();
  if (!by.empty()) {
    for (size_t g = 0; g < table_count; ++g) {
      out->BeginObject().Key("values").BeginArray();
      for (size_t b = 0; b < by.size(); ++b) out->Raw(by[b]->values.Json(group_keys[g][b]));
      out->EndArray().Key("cohorts");
      write_cohorts(&tables[g * cohort_count * width]);
      out->EndObject();
    }
  }
  out->EndArray();
  return Status::Ok();
}

}  // namespace sextant::query
