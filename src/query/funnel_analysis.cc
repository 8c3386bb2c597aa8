// Funnel analysis with a conversion window.
//
// Default mode is ClickHouse's windowFunnel(window) with the first step restricted to the query
// range: per user and step k, `chain_start[k]` is the start time of the latest-started chain
// that has reached step k. An event of step 1 inside the range starts a chain
// (chain_start[0] = t); an event of step k+1 at time t extends chain_start[k] if
// t <= chain_start[k] + window. An event matching several steps is applied from the highest
// step down, so one event never advances a chain twice; events are applied in time order, ties
// in arrival order. The user's level is the highest step with a chain.
//
// Strict mode additionally breaks a chain when an event of any other funnel step (not the
// chain's current step, not its next) arrives before the next step.
//
// `by` on event properties groups by the values of the first-step event (Sensors' funnel
// grouping): for each group, the same funnel with its first step restricted to events carrying
// that group's values (user properties in `by` take the person's value). A person counts in
// every group one of their first-step events opened, so groups need not add up to the total;
// the overall steps are the ungrouped funnel. Per person, one chain set per group they entered
// with (a short list, like the trend's per entry day).
//
// Cost: O(rows). Per user a 4-byte slot index (flat array, touched in user order); people who
// start a chain get a slot of steps × 16 bytes (chain starts and first-conversion times) in a
// pool, so memory and cache traffic follow the people in the funnel, not the user-id space.
// No hash table, no sort.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <map>
#include <optional>

#include "query/analyses.h"

namespace sextant::query {

Status RunFunnel(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const FunnelQuery& query = spec.funnel;
  const size_t steps = query.steps.size();
  const int64_t window = query.window_ms;
  const int64_t range_start = context.zone().DayStartMs(spec.range.first_day);
  const int64_t range_end = context.zone().DayStartMs(spec.range.last_day + 1) - 1;

  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  std::vector<CompiledFilter> step_filters(steps);
  std::vector<uint32_t> step_mask_of_event;
  uint32_t any_event_steps = 0;  // steps of "$any"
  uint32_t filtered_steps = 0;
  for (size_t k = 0; k < steps; ++k) {
    const std::string path = "steps[" + std::to_string(k) + "]";
    auto filter = context.Compile(query.steps[k].filter, path);
    if (!filter.ok()) return filter.status();
    step_filters[k] = std::move(*filter);
    if (!step_filters[k].matches_all()) filtered_steps |= 1u << k;
    const EventId event = ResolveEvent(context.schema(), query.steps[k].event);
    if (event == kAnyEvent) any_event_steps |= 1u << k;
    if (event == 0 || event == kAnyEvent) continue;
    if (step_mask_of_event.size() <= event) step_mask_of_event.resize(event + 1, 0);
    step_mask_of_event[event] |= 1u << k;
  }
  // The steps of each event id, "$any" included (own events left out); ids at or past the end
  // of the table are no step's event and match only "$any".
  const std::vector<uint8_t>& own = context.own_events();
  std::vector<uint32_t> tag_of_event(std::max(step_mask_of_event.size(), own.size()), 0);
  for (size_t event = 0; event < tag_of_event.size(); ++event) {
    tag_of_event[event] = (event < step_mask_of_event.size() ? step_mask_of_event[event] : 0u) |
                          (IsOwnEvent(own, static_cast<EventId>(event)) ? 0u : any_event_steps);
  }
  std::vector<EventId> step_events;  // sorted: the events some step names
  for (size_t event = 0; event < step_mask_of_event.size(); ++event) {
    if (step_mask_of_event[event] != 0) step_events.push_back(static_cast<EventId>(event));
  }
  SEXTANT_RETURN_IF_ERROR(context.CompileBy());
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());

  // Groups: the combination of the user's `by` values; with an event property in `by`, the
  // first-step event's values ("entry groups", computed below instead).
  const auto& by = context.by();
  const bool entry_grouped = context.by_has_event_property();
  const QueryContext::UserGroups groups =
      entry_grouped ? QueryContext::UserGroups{{{}}, {}} : context.GroupUsers();
  std::vector<std::vector<uint32_t>> group_keys = groups.keys;
  size_t group_count = group_keys.size();
  const int64_t drill_group = entry_grouped ? -1 : context.FindGroup(groups);  // -1 = every group
  using EntryKey = RowGroupKeys::Key;  // value ids of the `by` columns
  EntryKey drill_key{0, 0, 0};
  const bool drill_entry_group = entry_grouped && spec.users.enabled && spec.users.has_group;
  if (drill_entry_group) {
    for (size_t b = 0; b < by.size(); ++b) drill_key[b] = by[b]->values.Intern(spec.users.group[b]);
  }
  if (spec.users.enabled && spec.users.step >= steps) {
    return Status(ErrorCode::kInvalidQuery, "users.cell.step: the funnel has " +
                                                std::to_string(steps) + " steps",
                  "users.cell.step");
  }

  // Trend by entry day: for each day d of the range, the same funnel with its first step
  // restricted to day d. Per person, one chain set per entry day still inside its window
  // (at most window / 1 day + 2 at once), kept in a per-shard pool.
  const TimeBuckets entry_days(TimeUnit::kDay, spec.range, context.zone());
  const size_t trend_days = query.trend ? entry_days.count() : 0;
  struct TrendChains {
    int32_t day;      // entry day index in the range
    uint32_t offset;  // first of `steps` chain starts in the shard's trend pool
  };

  struct EntryChains {
    uint32_t group;   // the shard's entry group index
    uint32_t offset;  // first of `steps` chain starts, then the strict level, in the entry pool
  };
  // Advances one chain set by an event of the steps in `bits` at `time` (the rules above);
  // `level` is the strict mode's highest level reached.
  auto advance = [&](int64_t* chain_starts, int64_t* level, uint32_t bits, int64_t time,
                     bool strict) {
    if (!strict) {
      while (bits != 0) {
        const int k = 31 - std::countl_zero(bits);
        bits &= ~(1u << k);
        if (k == 0) {
          chain_starts[0] = time;
        } else if (chain_starts[k - 1] >= 0 && time <= chain_starts[k - 1] + window) {
          chain_starts[k] = chain_starts[k - 1];
        }
      }
      return;
    }
    for (int k = static_cast<int>(steps) - 1; k >= 1; --k) {
      if (chain_starts[k - 1] < 0) continue;
      if ((bits >> k) & 1u) {
        if (time <= chain_starts[k - 1] + window) {
          chain_starts[k] = chain_starts[k - 1];
          *level = std::max<int64_t>(*level, k + 1);
        }
      } else if (bits & ~(1u << (k - 1))) {
        chain_starts[k - 1] = -1;
      }
    }
    if (bits & 1u) {
      chain_starts[0] = time;
      *level = std::max<int64_t>(*level, 1);
    }
  };

  struct ShardResult {
    std::vector<uint64_t> trend;                 // [entry day][step]
    std::vector<uint64_t> reached;               // [group][step]
    std::vector<std::vector<int64_t>> convert;   // [step] times to convert (ms)
    std::vector<EntryKey> entry_keys;            // entry groups of this shard
    std::vector<uint64_t> entry_reached;         // [entry group][step]
  };
  std::vector<ShardResult> results(context.shard_count());
  if (any_event_steps == 0) {
    context.PrepareEventSet(step_events);  // none: no step names a known event
  } else {
    context.PrepareFullColumns();
  }
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    const size_t users = user_end - user_begin;
    // slot_of[local] = 1 + the user's slot in `pool`, 0 = no chain started yet. A slot holds
    // `steps` chain starts (-1 = no chain at that step), then `steps` first-conversion times.
    std::vector<uint32_t> slot_of(users, 0);
    std::vector<int64_t> pool;
    // Address space for everyone; pages are touched only as slots are handed out, and the
    // pool never moves.
    pool.reserve(users * 2 * steps);
    std::vector<uint8_t> max_level(query.strict ? users : 0, 0);
    std::vector<std::vector<TrendChains>> trend_chains(query.trend ? users : 0);
    std::vector<int64_t> trend_pool;
    std::vector<uint64_t> trend_counts(trend_days * steps, 0);
    auto close_trend = [&](const TrendChains& chains) {
      const int64_t* chain_starts = &trend_pool[chains.offset];
      size_t level = 0;
      for (size_t k = steps; k > 0; --k) {
        if (chain_starts[k - 1] >= 0) {
          level = k;
          break;
        }
      }
      for (size_t k = 0; k < level; ++k) ++trend_counts[chains.day * steps + k];
    };
    std::vector<std::vector<EntryChains>> entry_chains(entry_grouped ? users : 0);
    std::vector<int64_t> entry_pool;
    std::map<EntryKey, uint32_t> entry_index;
    std::vector<EntryKey> entry_keys;
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      const int64_t day_start = day.day_start_ms();
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      std::optional<RowGroupKeys> row_keys;  // entry groups: the `by` values of a first step
      if (entry_grouped) {
        auto bound = RowGroupKeys::Bind(context, day);
        if (!bound.ok()) return bound.status();
        row_keys = std::move(*bound);
      }
      std::vector<BoundFilter> bound_steps;
      for (size_t k = 0; k < steps; ++k) {
        auto bound = BoundFilter::Bind(&step_filters[k], context, day);
        if (!bound.ok()) return bound.status();
        bound_steps.push_back(std::move(*bound));
      }
      const bool global_all = global->matches_all();
      auto visit = [&](UserId user, uint32_t row, uint32_t mask, uint32_t time_offset_ms) {
        const size_t local = user - user_begin;
        {
          const int64_t time = day_start + time_offset_ms;
          if ((mask & 1u) && (time < range_start || time > range_end)) mask &= ~1u;
          // Without a started chain only a first step matters.
          if (slot_of[local] == 0 && (mask & 1u) == 0) return;
          if (mask & filtered_steps) {
            for (uint32_t bits = mask & filtered_steps; bits != 0; bits &= bits - 1) {
              const int k = std::countr_zero(bits);
              if (!bound_steps[k].Matches(row, user)) mask &= ~(1u << k);
            }
          }
          if (mask == 0 || (!global_all && !global->Matches(row, user))) return;
          if (entry_grouped) {
            auto& chains = entry_chains[local];
            int64_t entry = -1;
            if (mask & 1u) {
              const EntryKey key = row_keys->Of(row, user);
              auto [it, inserted] =
                  entry_index.try_emplace(key, static_cast<uint32_t>(entry_keys.size()));
              if (inserted) entry_keys.push_back(key);
              entry = it->second;
              auto found = std::find_if(chains.begin(), chains.end(),
                                        [&](const EntryChains& c) { return c.group == entry; });
              if (found == chains.end()) {
                chains.push_back({it->second, static_cast<uint32_t>(entry_pool.size())});
                for (size_t i = 0; i < steps; ++i) entry_pool.push_back(-1);
                entry_pool.push_back(0);  // strict level
              }
            }
            for (const EntryChains& chain : chains) {
              int64_t* chain_starts = &entry_pool[chain.offset];
              // The first step only opens chains of its own group.
              advance(chain_starts, chain_starts + steps,
                      static_cast<int64_t>(chain.group) == entry ? mask : (mask & ~1u), time,
                      query.strict);
            }
          }
          if (query.trend) {
            auto& chains = trend_chains[local];
            // Entry days whose last possible chain start is more than a window ago are done.
            while (!chains.empty() &&
                   entry_days.range_start_ms() + (chains.front().day + 1) * 86'400'000LL - 1 +
                           window < time) {
              close_trend(chains.front());
              chains.erase(chains.begin());
            }
            const int32_t entry = (mask & 1u) ? entry_days.BucketOfMs(time) : -1;
            if (entry >= 0 && (chains.empty() || chains.back().day != entry)) {
              chains.push_back({entry, static_cast<uint32_t>(trend_pool.size())});
              for (size_t i = 0; i < steps; ++i) trend_pool.push_back(-1);
            }
            for (const TrendChains& chain : chains) {
              int64_t* chain_starts = &trend_pool[chain.offset];
              // The first step only starts chains of its own entry day.
              advance(chain_starts, nullptr, chain.day == entry ? mask : (mask & ~1u), time,
                      /*strict=*/false);
            }
          }
          if (slot_of[local] == 0) {
            if ((mask & 1u) == 0) return;
            for (size_t i = 0; i < 2 * steps; ++i) pool.push_back(-1);
            slot_of[local] = static_cast<uint32_t>(pool.size() / (2 * steps));
          }
          int64_t* starts = &pool[(slot_of[local] - 1) * 2 * steps];
          int64_t* converts = starts + steps;
          if (!query.strict) {
            // Highest step first: one event advances a chain by one step at most.
            for (uint32_t bits = mask; bits != 0;) {
              const int k = 31 - std::countl_zero(bits);
              bits &= ~(1u << k);
              if (k == 0) {
                starts[0] = time;
              } else if (starts[k - 1] >= 0 && time <= starts[k - 1] + window) {
                starts[k] = starts[k - 1];
                if (converts[k] < 0) converts[k] = time - starts[k];
              }
            }
            return;
          }
          for (int k = static_cast<int>(steps) - 1; k >= 1; --k) {
            if (starts[k - 1] < 0) continue;
            if ((mask >> k) & 1u) {
              if (time <= starts[k - 1] + window) {
                starts[k] = starts[k - 1];
                if (converts[k] < 0) converts[k] = time - starts[k];
                max_level[local] = std::max<uint8_t>(max_level[local], static_cast<uint8_t>(k + 1));
              }
            } else if (mask & ~(1u << (k - 1))) {
              starts[k - 1] = -1;  // another step's event came between: the chain breaks
            }
          }
          if (mask & 1u) {
            starts[0] = time;
            max_level[local] = std::max<uint8_t>(max_level[local], 1);
          }
        }
      };
      const uint32_t* tags = tag_of_event.data();
      const size_t tag_limit = tag_of_event.size();
      if (any_event_steps == 0) {
        // Only the rows of the steps' events matter: read the day's list of them (none when
        // no step names a known event).
        auto tag_of = [&](EventId event) -> uint32_t {
          return event < tag_limit ? tags[event] : 0u;
        };
        // The slot of the user two strides ahead and the chain starts of the user one stride
        // ahead: both lie scattered in memory (slot_of spans the shard's users, the slots of a
        // day's users lie anywhere in the pool), so each visit would otherwise wait for them.
        auto prefetch = [&](UserId near_user, UserId far_user) {
          PrefetchForRead(&slot_of[far_user - user_begin]);
          const uint32_t slot = slot_of[near_user - user_begin];
          if (slot != 0) PrefetchForRead(pool.data() + (size_t{slot} - 1) * 2 * steps);
        };
        if (!step_events.empty()) {
          context.ForEachRowOfEventSet(day_idx, user_begin, user_end, step_events, &scratch,
                                       tag_of, visit, prefetch);
        }
      } else {
        auto tag_of = [&](EventId event) -> uint32_t {
          return event < tag_limit ? tags[event] : any_event_steps;
        };
        const auto& offsets = day.time_offset_ms();
        context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                                 [&](UserId user, uint32_t row, uint32_t mask) {
                                   visit(user, row, mask, offsets[row]);
                                 });
      }
    }
    ShardResult& result = results[shard];
    for (const auto& chains : trend_chains) {
      for (const TrendChains& chain : chains) close_trend(chain);
    }
    result.entry_reached.assign(entry_keys.size() * steps, 0);
    for (size_t local = 0; local < entry_chains.size(); ++local) {
      bool drilled = false;
      for (const EntryChains& chain : entry_chains[local]) {
        const int64_t* chain_starts = &entry_pool[chain.offset];
        size_t level = query.strict ? static_cast<size_t>(chain_starts[steps]) : 0;
        for (size_t k = steps; !query.strict && k > 0; --k) {
          if (chain_starts[k - 1] >= 0) {
            level = k;
            break;
          }
        }
        for (size_t k = 0; k < level; ++k) ++result.entry_reached[chain.group * steps + k];
        if (drill_entry_group && !drilled && level > 0 && entry_keys[chain.group] == drill_key) {
          const size_t step = spec.users.step;
          if (spec.users.lost ? level == step + 1 : level >= step + 1) {
            context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
            drilled = true;
          }
        }
      }
    }
    result.entry_keys = std::move(entry_keys);
    result.trend = std::move(trend_counts);
    result.reached.assign(group_count * steps, 0);
    result.convert.resize(steps);
    constexpr size_t kAhead = 16;  // users: the slots lie scattered in the pool
    for (size_t local = 0; local < users; ++local) {
      if (local + kAhead < users && slot_of[local + kAhead] != 0) {
        PrefetchForRead(pool.data() + (size_t{slot_of[local + kAhead]} - 1) * 2 * steps);
      }
      if (slot_of[local] == 0) continue;
      const int64_t* starts = &pool[(slot_of[local] - 1) * 2 * steps];
      const int64_t* converts = starts + steps;
      size_t level = 0;
      if (query.strict) {
        level = max_level[local];
      } else {
        for (size_t k = steps; k > 0; --k) {
          if (starts[k - 1] >= 0) {
            level = k;
            break;
          }
        }
      }
      if (level == 0) continue;
      const size_t group = groups.GroupOf(user_begin + static_cast<UserId>(local));
      if (context.drilling() && !drill_entry_group &&
          (drill_group < 0 || static_cast<size_t>(drill_group) == group)) {
        const size_t step = context.spec().users.step;
        const bool in_cell = context.spec().users.lost ? level == step + 1 : level >= step + 1;
        if (in_cell) context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
      }
      for (size_t k = 0; k < level; ++k) ++result.reached[group * steps + k];
      for (size_t k = 1; k < level; ++k) {
        const int64_t convert = converts[k];
        if (convert >= 0) result.convert[k].push_back(convert);
      }
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);

  std::vector<uint64_t> reached(group_count * steps, 0);
  std::vector<uint64_t> trend(trend_days * steps, 0);
  std::vector<std::vector<int64_t>> convert(steps);
  for (ShardResult& result : results) {
    for (size_t i = 0; i < trend.size(); ++i) trend[i] += result.trend[i];
    for (size_t i = 0; i < reached.size(); ++i) reached[i] += result.reached[i];
    for (size_t k = 0; k < steps; ++k) {
      convert[k].insert(convert[k].end(), result.convert[k].begin(), result.convert[k].end());
    }
  }
  auto write_steps = [&](size_t group, bool with_median) {
    out->BeginArray();
    const uint64_t first = reached[group * steps];
    for (size_t k = 0; k < steps; ++k) {
      const uint64_t users = reached[group * steps + k];
      const uint64_t previous = k == 0 ? users : reached[group * steps + k - 1];
      out->BeginObject();
      out->Key("event").String(query.steps[k].event);
      out->Key("users").Uint(users);
      out->Key("conversion_from_first").Double(first == 0 ? 0.0 : double(users) / double(first));
      out->Key("conversion_from_previous")
          .Double(previous == 0 ? 0.0 : double(users) / double(previous));
      out->Key("lost").Uint(k + 1 < steps ? users - reached[group * steps + k + 1] : 0);
      if (with_median) {
        out->Key("median_seconds_to_convert");
        if (k == 0 && users > 0) {
          out->Int(0);
        } else if (k == 0 || convert[k].empty()) {
          out->Null();
        } else {
          // Median of the users' first conversion times (lower median for even counts).
          auto& times = convert[k];
          auto middle = times.begin() + static_cast<ptrdiff_t>((times.size() - 1) / 2);
          std::nth_element(times.begin(), middle, times.end());
          out->Double(static_cast<double>(*middle) / 1000.0);
        }
      }
      out->EndObject();
    }
    out->EndArray();
  };
  if (entry_grouped) {
    // Entry groups of every shard under one index; the overall steps are the ungrouped funnel
    // (group 0 of `reached`), since a person can count in several entry groups.
    std::map<EntryKey, size_t> index;
    std::vector<uint64_t> entry_reached;
    group_keys.clear();
    for (const ShardResult& result : results) {
      for (size_t g = 0; g < result.entry_keys.size(); ++g) {
        auto [it, inserted] = index.try_emplace(result.entry_keys[g], group_keys.size());
        if (inserted) {
          group_keys.emplace_back(result.entry_keys[g].begin(),
                                  result.entry_keys[g].begin() + static_cast<ptrdiff_t>(by.size()));
          entry_reached.resize(entry_reached.size() + steps, 0);
        }
        for (size_t k = 0; k < steps; ++k) {
          entry_reached[it->second * steps + k] += result.entry_reached[g * steps + k];
        }
      }
    }
    group_count = group_keys.size();
    entry_reached.insert(entry_reached.end(), reached.begin(), reached.begin() + static_cast<ptrdiff_t>(steps));
    reached = std::move(entry_reached);
  } else if (!by.empty()) {
    // Overall steps: groups added up (a person is in one group).
    std::vector<uint64_t> total(steps, 0);
    for (size_t g = 0; g < group_count; ++g) {
      for (size_t k = 0; k < steps; ++k) total[k] += reached[g * steps + k];
    }
    reached.insert(reached.end(), total.begin(), total.end());
  }
  out->Key("steps");
  write_steps(by.empty() ? 0 : group_count, true);
  if (query.trend) {
    out->Key("trend").BeginArray();
    for (size_t d = 0; d < trend_days; ++d) {
      out->BeginObject().Key("date").String(entry_days.Label(d)).Key("users").BeginArray();
      for (size_t k = 0; k < steps; ++k) out->Uint(trend[d * steps + k]);
      out->EndArray().EndObject();
    }
    out->EndArray();
  }
  out->Key("groups").BeginArray();
  if (!by.empty()) {
    for (size_t g = 0; g < group_count; ++g) {
      if (reached[g * steps] == 0) continue;
      out->BeginObject().Key("values").BeginArray();
      for (size_t b = 0; b < by.size(); ++b) out->Raw(by[b]->values.Json(group_keys[g][b]));
      out->EndArray().Key("steps");
      write_steps(g, false);
      out->EndObject();
    }
  }
  out->EndArray();
  return Status::Ok();
}

}  // namespace sextant::query
