// Attribution and journey stage maps.
//
// Attribution keeps, per person, the touches since their previous conversion (a short list,
// allocated only for people with touches); each conversion in the range credits the touches
// within the window before it by the chosen model, then starts a new list.
// Stage maps keep two bytes per person: the highest stage reached before the range and by its
// end, over all stored history.
#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_map>

#include "query/analyses.h"

namespace sextant::query {
Status RunAttribution(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const AttributionQuery& query = spec.attribution;
  SEXTANT_RETURN_IF_ERROR(RejectBy(spec, "attribution"));
  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  auto conversion_filter = context.Compile(query.conversion.filter, "conversion");
  if (!conversion_filter.ok()) return conversion_filter.status();
  std::vector<CompiledFilter> touch_filters;
  std::vector<EventId> touch_events;
  for (size_t t = 0; t < query.touches.size(); ++t) {
    auto filter = context.Compile(query.touches[t].filter, "touches[" + std::to_string(t) + "]");
    if (!filter.ok()) return filter.status();
    touch_filters.push_back(std::move(*filter));
    touch_events.push_back(ResolveEvent(context.schema(), query.touches[t].event));
  }
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  const EventId conversion_event = ResolveEvent(context.schema(), query.conversion.event);
  auto property_id = [&](const std::string& name) -> PropertyId {
    if (name.empty()) return 0;
    auto entry = context.schema().Find(state::SchemaKind::kEventProperty, name);
    return entry ? entry->id : 0;
  };
  const PropertyId touch_property = property_id(query.touch_property);
  const PropertyId value_property = property_id(query.value_property);
  const int64_t range_start = context.zone().DayStartMs(spec.range.first_day);
  const int64_t range_end = context.zone().DayStartMs(spec.range.last_day + 1) - 1;
  ValueInterner touch_values;
  // The drilled cell: the touch indexes whose event the cell names, and the touch value's id
  // (interned up front so that touches carrying it get the same id).
  const UserDrill& drill = spec.users;
  std::vector<uint8_t> drilled_touch(query.touches.size(), 0);
  uint32_t drilled_value = 0;
  if (drill.enabled && drill.has_touch) {
    bool known = false;
    for (size_t t = 0; t < query.touches.size(); ++t) {
      if (query.touches[t].event == drill.touch_event) drilled_touch[t] = known = true;
    }
    if (!known) {
      return Status(ErrorCode::kInvalidQuery,
                    "users.cell.touch.event: not one of the query's touches", "users.cell.touch.event");
    }
    if (query.touch_property.empty() == drill.touch_value.has_value()) {
      return Status(ErrorCode::kInvalidQuery,
                    query.touch_property.empty()
                        ? "users.cell.touch.value: the query has no touch_property"
                        : "users.cell.touch.value: required, the row's " + query.touch_property,
                    "users.cell.touch.value");
    }
    if (drill.touch_value) drilled_value = touch_values.Intern(*drill.touch_value);
  }

  struct Touch {
    int64_t time;
    uint64_t key;  // touch index << 32 | interned touch_property value
  };
  struct Credit {
    double conversions = 0;
    double value = 0;
    uint64_t touches = 0;  // touch events in the range
  };
  struct ShardResult {
    std::unordered_map<uint64_t, Credit> credits;
    uint64_t conversions = 0, attributed = 0;
    double value_total = 0;
  };
  std::vector<ShardResult> results(context.shard_count());
  const std::vector<uint8_t>& own = context.own_events();  // "$any" leaves these out
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    std::vector<std::vector<Touch>> pending(user_end - user_begin);
    std::vector<uint8_t> drilled(drill.enabled ? user_end - user_begin : 0, 0);
    ShardResult& result = results[shard];
    std::vector<uint32_t> scratch;
    std::vector<double> weights;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      auto conversion = BoundFilter::Bind(&*conversion_filter, context, day);
      if (!conversion.ok()) return conversion.status();
      std::vector<BoundFilter> touches;
      for (const CompiledFilter& filter : touch_filters) {
        auto bound = BoundFilter::Bind(&filter, context, day);
        if (!bound.ok()) return bound.status();
        touches.push_back(std::move(*bound));
      }
      const store::PropColumn* touch_column = nullptr;
      const store::PropColumn* value_column = nullptr;
      if (touch_property != 0) {
        auto column = day.Property(touch_property);
        if (!column.ok()) return column.status();
        touch_column = *column;
      }
      if (value_property != 0) {
        auto column = day.Property(value_property);
        if (!column.ok()) return column.status();
        value_column = *column;
      }
      const auto& events = day.event();
      const auto& offsets = day.time_offset_ms();
      auto tag_of = [&](EventId event) -> bool {
        if (EventMatches(conversion_event, event, own)) return true;
        for (EventId touch : touch_events) {
          if (EventMatches(touch, event, own)) return true;
        }
        return false;
      };
      context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                               [&](UserId user, uint32_t row, bool) {
        std::vector<Touch>& list = pending[user - user_begin];
        {
          const EventId event = events[row];
          const int64_t time = day.day_start_ms() + offsets[row];
          if (time > range_end) return;
          if (EventMatches(conversion_event, event, own) && global->Matches(row, user) &&
              conversion->Matches(row, user)) {
            if (time < range_start) {
              list.clear();  // a conversion before the range still uses up its touches
              return;
            }
            double value = 0;
            if (value_column != nullptr && value_column->slot[row] >= 0 &&
                value_column->type == ValueType::kNumber) {
              value = value_column->numbers[value_column->slot[row]];
            }
            ++result.conversions;
            result.value_total += value;
            // Touches within the window before the conversion (the list holds only touches
            // since the previous conversion, oldest first).
            auto first = std::find_if(list.begin(), list.end(),
                                      [&](const Touch& t) { return t.time >= time - query.window_ms; });
            const size_t count = static_cast<size_t>(list.end() - first);
            if (!drilled.empty() && (drill.conversions == "all" ||
                                     (drill.conversions == "attributed" && count > 0) ||
                                     (drill.conversions == "unattributed" && count == 0))) {
              drilled[user - user_begin] = 1;
            }
            if (count > 0) {
              ++result.attributed;
              weights.assign(count, 0);
              switch (query.model) {
                case AttributionModel::kFirst: weights.front() = 1; break;
                case AttributionModel::kLast: weights.back() = 1; break;
                case AttributionModel::kLinear:
                  std::fill(weights.begin(), weights.end(), 1.0 / static_cast<double>(count));
                  break;
                case AttributionModel::kPosition:
                  if (count == 1) {
                    weights[0] = 1;
                  } else if (count == 2) {
                    weights[0] = weights[1] = 0.5;
                  } else {
                    weights.front() = weights.back() = 0.4;
                    for (size_t k = 1; k + 1 < count; ++k) {
                      weights[k] = 0.2 / static_cast<double>(count - 2);
                    }
                  }
                  break;
                case AttributionModel::kTimeDecay: {
                  double sum = 0;
                  for (size_t k = 0; k < count; ++k) {
                    const double age = static_cast<double>(time - first[static_cast<ptrdiff_t>(k)].time);
                    weights[k] = std::exp2(-age / static_cast<double>(query.half_life_ms));
                    sum += weights[k];
                  }
                  for (double& weight : weights) weight /= sum;
                  break;
                }
              }
              for (size_t k = 0; k < count; ++k) {
                const uint64_t key = first[static_cast<ptrdiff_t>(k)].key;
                Credit& credit = result.credits[key];
                credit.conversions += weights[k];
                credit.value += weights[k] * value;
                if (drill.has_touch && weights[k] > 0 && drilled_touch[key >> 32] &&
                    (key & 0xffffffffu) == drilled_value) {
                  drilled[user - user_begin] = 1;
                }
              }
            }
            list.clear();
            return;
          }
          for (size_t t = 0; t < touch_events.size(); ++t) {
            if (!EventMatches(touch_events[t], event, own) || !global->Matches(row, user) ||
                !touches[t].Matches(row, user)) {
              continue;
            }
            uint32_t value_id = 0;
            if (touch_column != nullptr && touch_column->slot[row] >= 0) {
              value_id = touch_values.Intern(
                  QueryContext::ValueJson(touch_column->Get(touch_column->slot[row]), context.zone()));
            }
            const uint64_t key = (uint64_t{t} << 32) | value_id;
            if (time >= range_start) ++result.credits[key].touches;
            // Touches older than the window can never be credited again.
            while (!list.empty() && list.front().time < time - query.window_ms) {
              list.erase(list.begin());
            }
            list.push_back(Touch{time, key});
            break;  // a touch event counts for its first matching touch definition
          }
        }
      });
    }
    for (size_t local = 0; local < drilled.size(); ++local) {
      if (drilled[local]) context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);
  ShardResult merged;
  for (ShardResult& result : results) {
    merged.conversions += result.conversions;
    merged.attributed += result.attributed;
    merged.value_total += result.value_total;
    for (const auto& [key, credit] : result.credits) {
      Credit& target = merged.credits[key];
      target.conversions += credit.conversions;
      target.value += credit.value;
      target.touches += credit.touches;
    }
  }
  std::vector<std::pair<uint64_t, Credit>> ranked(merged.credits.begin(), merged.credits.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.conversions != b.second.conversions) return a.second.conversions > b.second.conversions;
    return a.first < b.first;
  });
  static constexpr std::string_view kModelNames[] = {"first", "last", "linear", "position",
                                                     "time_decay"};
  out->Key("model").String(kModelNames[static_cast<int>(query.model)]);
  out->Key("conversions").Uint(merged.conversions);
  out->Key("attributed").Uint(merged.attributed);
  out->Key("unattributed").Uint(merged.conversions - merged.attributed);
  out->Key("value_total").Double(merged.value_total);
  out->Key("touches").BeginArray();
  for (const auto& [key, credit] : ranked) {
    out->BeginObject();
    out->Key("event").String(query.touches[key >> 32].event);
    if (!query.touch_property.empty()) {
      out->Key(query.touch_property).Raw(touch_values.Json(static_cast<uint32_t>(key & 0xffffffffu)));
    }
    out->Key("touch_count").Uint(credit.touches);
    out->Key("conversions").Double(credit.conversions);
    out->Key("value").Double(credit.value);
    out->EndObject();
  }
  out->EndArray();
  return Status::Ok();
}

Status RunStages(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const StagesQuery& query = spec.stages;
  SEXTANT_RETURN_IF_ERROR(RejectBy(spec, "stages"));
  const size_t stage_count = query.stages.size();
  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  // Every (stage, event rule) with its event id and filter.
  struct Rule {
    size_t stage;
    EventId event;
    CompiledFilter filter;
  };
  std::vector<Rule> rules;
  for (size_t s = 0; s < stage_count; ++s) {
    for (size_t e = 0; e < query.stages[s].events.size(); ++e) {
      const FunnelStep& step = query.stages[s].events[e];
      auto filter = context.Compile(
          step.filter, "stages[" + std::to_string(s) + "].events[" + std::to_string(e) + "]");
      if (!filter.ok()) return filter.status();
      rules.push_back(Rule{s, ResolveEvent(context.schema(), step.event), std::move(*filter)});
    }
  }
  std::vector<std::vector<size_t>> rules_of_event;
  std::vector<size_t> any_event_rules;
  for (size_t r = 0; r < rules.size(); ++r) {
    if (rules[r].event == kAnyEvent) any_event_rules.push_back(r);
    if (rules[r].event == 0 || rules[r].event == kAnyEvent) continue;
    if (rules_of_event.size() <= rules[r].event) rules_of_event.resize(rules[r].event + 1);
    rules_of_event[rules[r].event].push_back(r);
  }
  // "$any" rules apply to every event but Sextant's own (which need a list, even empty, so
  // that the fallback below does not give them the "$any" rules).
  const std::vector<uint8_t>& own = context.own_events();
  if (rules_of_event.size() < own.size()) rules_of_event.resize(own.size());
  for (size_t event = 0; event < rules_of_event.size(); ++event) {
    if (IsOwnEvent(own, static_cast<EventId>(event))) continue;
    rules_of_event[event].insert(rules_of_event[event].end(), any_event_rules.begin(),
                                 any_event_rules.end());
  }
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  const int64_t range_start = context.zone().DayStartMs(spec.range.first_day);
  const int64_t range_end = context.zone().DayStartMs(spec.range.last_day + 1) - 1;
  // Counts: [before + 1][after + 1] with index 0 = no stage.
  const size_t width = stage_count + 1;
  // The drilled cell as a test on (stage before, stage after), both + 1 with 0 = none.
  std::function<bool(size_t, size_t)> in_drilled_cell;
  if (spec.users.enabled) {
    const UserDrill& drill = spec.users;
    auto stage_index = [&](const std::string& name, const char* field) -> Result<size_t> {
      for (size_t s = 0; s < stage_count; ++s) {
        if (query.stages[s].name == name) return s + 1;
      }
      return Status(ErrorCode::kInvalidQuery, std::string(field) + ": no stage named " + name, field);
    };
    if (drill.has_transition) {
      size_t from = 0;
      if (drill.transition_from) {
        auto index = stage_index(*drill.transition_from, "users.cell.transition.from");
        if (!index.ok()) return index.status();
        from = *index;
      }
      auto to = stage_index(drill.transition_to, "users.cell.transition.to");
      if (!to.ok()) return to.status();
      in_drilled_cell = [from, to = *to](size_t before, size_t after) {
        return before == from && after == to;
      };
    } else {
      auto stage = stage_index(drill.stage, "users.cell.stage");
      if (!stage.ok()) return stage.status();
      const size_t s = *stage;
      if (drill.stage_at == "start") {
        in_drilled_cell = [s](size_t before, size_t) { return before == s; };
      } else if (drill.stage_at == "end") {
        in_drilled_cell = [s](size_t, size_t after) { return after == s; };
      } else {
        in_drilled_cell = [s](size_t before, size_t after) { return before < s && after >= s; };
      }
    }
  }
  std::vector<std::vector<uint64_t>> results(context.shard_count());
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    // Highest stage + 1 reached before the range and by its end (0 = none).
    std::vector<uint8_t> before(user_end - user_begin, 0);
    std::vector<uint8_t> after(user_end - user_begin, 0);
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      std::vector<BoundFilter> bound;
      for (const Rule& rule : rules) {
        auto filter = BoundFilter::Bind(&rule.filter, context, day);
        if (!filter.ok()) return filter.status();
        bound.push_back(std::move(*filter));
      }
      const auto& offsets = day.time_offset_ms();
      auto tag_of = [&](EventId event) -> const std::vector<size_t>* {
        const std::vector<size_t>& list =
            event < rules_of_event.size() ? rules_of_event[event] : any_event_rules;
        return list.empty() ? nullptr : &list;
      };
      context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                               [&](UserId user, uint32_t row, const std::vector<size_t>* rule_list) {
        const size_t local = user - user_begin;
        {
          const std::vector<size_t>& event_rules = *rule_list;
          const int64_t time = day.day_start_ms() + offsets[row];
          if (time > range_end || !global->Matches(row, user)) return;
          uint8_t reached = 0;
          for (size_t r : event_rules) {
            if (rules[r].stage + 1 > reached && bound[r].Matches(row, user)) {
              reached = static_cast<uint8_t>(rules[r].stage + 1);
            }
          }
          if (reached == 0) return;
          after[local] = std::max(after[local], reached);
          if (time < range_start) before[local] = std::max(before[local], reached);
        }
      });
    }
    std::vector<uint64_t>& counts = results[shard];
    counts.assign(width * width, 0);
    for (size_t local = 0; local < after.size(); ++local) {
      if (after[local] == 0) continue;
      ++counts[before[local] * width + after[local]];
      if (in_drilled_cell && in_drilled_cell(before[local], after[local])) {
        context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
      }
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);
  std::vector<uint64_t> counts(width * width, 0);
  for (const auto& result : results) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += result[i];
  }
  out->Key("stages").BeginArray();
  for (size_t s = 1; s < width; ++s) {
    uint64_t at_start = 0, at_end = 0, entered = 0;
    for (size_t other = 0; other < width; ++other) {
      at_start += counts[s * width + other];
      at_end += counts[other * width + s];
    }
    for (size_t b = 0; b < s; ++b) {
      for (size_t a = s; a < width; ++a) entered += counts[b * width + a];
    }
    out->BeginObject();
    out->Key("name").String(query.stages[s - 1].name);
    out->Key("users_at_start").Uint(at_start);
    out->Key("users_at_end").Uint(at_end);
    out->Key("entered").Uint(entered);
    out->EndObject();
  }
  out->EndArray();
  out->Key("transitions").BeginArray();
  for (size_t b = 0; b < width; ++b) {
    for (size_t a = 0; a < width; ++a) {
      if (a == b || counts[b * width + a] == 0) continue;
      out->BeginObject();
      out->Key("from");
      if (b == 0) {
        out->Null();
      } else {
        out->String(query.stages[b - 1].name);
      }
      out->Key("to").String(query.stages[a - 1].name);
      out->Key("users").Uint(counts[b * width + a]);
      out->EndObject();
    }
  }
  out->EndArray();
  return Status::Ok();
}

}  // namespace sextant::query
