// Distribution, interval and path analyses: per-user state machines over the user's events
// in time order, on the same shard/day walk as funnels (flat per-user arrays, no hashing per
// event). Paths hash once per finished path, not per event.
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "query/analyses.h"

namespace sextant::query {
namespace {


// The bucket of `value` among ascending lower bounds, or -1 below the first.
int BucketOf(const std::vector<int64_t>& bounds, int64_t value) {
  auto it = std::upper_bound(bounds.begin(), bounds.end(), value);
  return static_cast<int>(it - bounds.begin()) - 1;
}

void WriteBuckets(const std::vector<int64_t>& bounds, const std::vector<uint64_t>& counts,
                  const char* key, const char* count_key, JsonWriter* out) {
  out->Key(key).BeginArray();
  for (size_t b = 0; b < bounds.size(); ++b) {
    out->BeginObject();
    out->Key("from").Int(bounds[b]);
    out->Key("to");  // exclusive; null = unbounded
    if (b + 1 < bounds.size()) {
      out->Int(bounds[b + 1]);
    } else {
      out->Null();
    }
    out->Key(count_key).Uint(counts[b]);
    out->EndObject();
  }
  out->EndArray();
}

// The drilled cell of a paths answer, resolved to event ids: a whole path, a Sankey node or a
// link. An event name the project never saw resolves to 0, which no stored event has, so the
// cell then holds nobody.
class PathCell {
 public:
  static Result<PathCell> Parse(const UserDrill& drill, const state::ProjectSchema& schema) {
    PathCell cell;
    if (!drill.enabled) return cell;
    for (const std::string& name : drill.path_events) cell.path_.push_back(schema.FindEvent(name));
    auto node = [&](const std::string& id, const char* field, Node* out) -> Status {
      const size_t colon = id.find(':');
      int64_t step = -1;
      if (colon != std::string::npos && colon > 0 && colon <= 2 &&
          id.find_first_not_of("0123456789") == colon) {
        step = std::stoll(id.substr(0, colon));
      }
      if (step < 0) {
        return Status(ErrorCode::kInvalidQuery,
                      std::string(field) + ": not a node id of the answer (\"<step>:<event>\")", field);
      }
      *out = Node{static_cast<size_t>(step), schema.FindEvent(id.substr(colon + 1))};
      return Status::Ok();
    };
    if (!drill.node.empty()) {
      cell.kind_ = Kind::kNode;
      SEXTANT_RETURN_IF_ERROR(node(drill.node, "users.cell.node", &cell.source_));
    } else if (!drill.link_source.empty()) {
      cell.kind_ = Kind::kLink;
      SEXTANT_RETURN_IF_ERROR(node(drill.link_source, "users.cell.link", &cell.source_));
      SEXTANT_RETURN_IF_ERROR(node(drill.link_target, "users.cell.link", &cell.target_));
      if (cell.target_.step != cell.source_.step + 1) {
        return Status(ErrorCode::kInvalidQuery,
                      "users.cell.link: a link joins a step to the next one", "users.cell.link");
      }
    }
    return cell;
  }

  // Whether a finished path of `length` events holds the cell. `before_depth` is the query's
  // depth for "before" paths (their steps are numbered so that the anchor is at depth - 1),
  // 0 for "after".
  bool Contains(const EventId* path, size_t length, size_t before_depth) const {
    const size_t first_step = before_depth == 0 ? 0 : before_depth - length;
    auto event_at = [&](size_t step) -> EventId {
      return step >= first_step && step - first_step < length ? path[step - first_step] : 0;
    };
    switch (kind_) {
      case Kind::kPath:
        return path_.size() == length && std::equal(path_.begin(), path_.end(), path);
      case Kind::kNode:
        return source_.event != 0 && event_at(source_.step) == source_.event;
      case Kind::kLink:
        return source_.event != 0 && target_.event != 0 &&
               event_at(source_.step) == source_.event && event_at(target_.step) == target_.event;
    }
    return false;
  }

 private:
  enum class Kind { kPath, kNode, kLink };
  struct Node {
    size_t step = 0;
    EventId event = 0;
  };
  Kind kind_ = Kind::kPath;
  std::vector<EventId> path_;
  Node source_, target_;
};

}  // namespace

Status RunDistribution(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const DistributionQuery& query = spec.distribution;
  SEXTANT_RETURN_IF_ERROR(RejectBy(spec, "distribution"));
  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  auto event_filter = context.Compile(query.event.filter, "event");
  if (!event_filter.ok()) return event_filter.status();
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  const EventId event = ResolveEvent(context.schema(), query.event.event);
  if (spec.users.enabled && spec.users.bucket >= query.bounds.size()) {
    return Status(ErrorCode::kInvalidQuery,
                  "users.cell.bucket: the answer has " + std::to_string(query.bounds.size()) +
                      " buckets",
                  "users.cell.bucket");
  }
  const TimeBuckets range(TimeUnit::kDay, spec.range, context.zone());

  std::vector<std::vector<uint64_t>> results(context.shard_count());
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    std::vector<uint32_t> counts(user_end - user_begin, 0);
    std::vector<int32_t> last_day(query.distinct_days ? user_end - user_begin : 0, INT32_MIN);
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size() && event != 0; ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      auto step = BoundFilter::Bind(&*event_filter, context, day);
      if (!step.ok()) return step.status();
      const auto& offsets = day.time_offset_ms();
      context.ForEachTaggedRow(
          day_idx, user_begin, user_end, &scratch,
          [&](EventId row_event) { return EventMatches(event, row_event, context.own_events()); },
          [&](UserId user, uint32_t row, bool) {
            const size_t local = user - user_begin;
            const int64_t time = day.day_start_ms() + offsets[row];
            if (time < range.range_start_ms() || time > range.range_end_ms()) return;
            if (!global->Matches(row, user) || !step->Matches(row, user)) return;
            if (query.distinct_days) {
              const int32_t local_day = range.DayOfMs(time);
              if (last_day[local] == local_day) return;
              last_day[local] = local_day;
            }
            ++counts[local];
          });
    }
    std::vector<uint64_t>& histogram = results[shard];
    histogram.assign(query.bounds.size() + 1, 0);  // last slot: total users
    for (size_t local = 0; local < counts.size(); ++local) {
      const uint32_t count = counts[local];
      if (count == 0) continue;
      const int bucket = BucketOf(query.bounds, count);
      if (bucket >= 0) ++histogram[bucket];
      ++histogram.back();
      if (context.drilling() && bucket == static_cast<int>(spec.users.bucket)) {
        context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
      }
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);
  std::vector<uint64_t> histogram(query.bounds.size() + 1, 0);
  for (const auto& result : results) {
    for (size_t i = 0; i < histogram.size(); ++i) histogram[i] += result[i];
  }
  out->Key("measure").String(query.distinct_days ? "days" : "times");
  out->Key("users").Uint(histogram.back());
  histogram.pop_back();
  WriteBuckets(query.bounds, histogram, "buckets", "users", out);
  return Status::Ok();
}

Status RunInterval(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const IntervalQuery& query = spec.interval;
  SEXTANT_RETURN_IF_ERROR(RejectBy(spec, "interval"));
  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  auto from_filter = context.Compile(query.from_event.filter, "from_event");
  if (!from_filter.ok()) return from_filter.status();
  auto to_filter = context.Compile(query.to_event.filter, "to_event");
  if (!to_filter.ok()) return to_filter.status();
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  const EventId from_event = ResolveEvent(context.schema(), query.from_event.event);
  const EventId to_event = ResolveEvent(context.schema(), query.to_event.event);
  const TimeBuckets range(TimeUnit::kDay, spec.range, context.zone());
  const UserDrill& drill = spec.users;
  if (drill.enabled && drill.has_bucket && drill.bucket >= query.bounds_seconds.size()) {
    return Status(ErrorCode::kInvalidQuery,
                  "users.cell.bucket: the answer has " +
                      std::to_string(query.bounds_seconds.size()) + " buckets",
                  "users.cell.bucket");
  }

  struct ShardResult {
    std::vector<int64_t> intervals;  // ms
    uint64_t users = 0;
  };
  std::vector<ShardResult> results(context.shard_count());
  const std::vector<uint8_t>& own = context.own_events();  // "$any" leaves these out
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    // Start of the user's pending interval (its first A not yet followed by a B), -1 = none.
    std::vector<int64_t> pending(user_end - user_begin, -1);
    std::vector<uint8_t> counted(user_end - user_begin, 0);
    std::vector<uint32_t> scratch;
    ShardResult& result = results[shard];
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      auto bound_from = BoundFilter::Bind(&*from_filter, context, day);
      if (!bound_from.ok()) return bound_from.status();
      auto bound_to = BoundFilter::Bind(&*to_filter, context, day);
      if (!bound_to.ok()) return bound_to.status();
      const auto& offsets = day.time_offset_ms();
      auto tag_of = [&](EventId event) -> uint32_t {
        return (EventMatches(from_event, event, own) ? 1u : 0u) | (EventMatches(to_event, event, own) ? 2u : 0u);
      };
      context.ForEachTaggedRow(day_idx, user_begin, user_end, &scratch, tag_of,
                               [&](UserId user, uint32_t row, uint32_t tag) {
        const size_t local = user - user_begin;
        {
          const bool is_from = (tag & 1u) != 0;
          const bool is_to = (tag & 2u) != 0;
          if (!global->Matches(row, user)) return;
          const int64_t time = day.day_start_ms() + offsets[row];
          // B first: an event that is both A and B closes the pending interval, then opens one.
          if (is_to && pending[local] >= 0 && bound_to->Matches(row, user)) {
            const int64_t interval = time - pending[local];
            if (interval <= query.window_ms) {
              result.intervals.push_back(interval);
              if (!(counted[local] & 1u)) {
                counted[local] |= 1u;
                ++result.users;
              }
              // Bit 2: the person has an interval in the drilled cell.
              if (drill.enabled && (!drill.has_bucket || BucketOf(query.bounds_seconds, interval / 1000) ==
                                                             static_cast<int>(drill.bucket))) {
                counted[local] |= 2u;
              }
            }
            pending[local] = -1;
          }
          if (is_from && pending[local] < 0 && time >= range.range_start_ms() &&
              time <= range.range_end_ms() && bound_from->Matches(row, user)) {
            pending[local] = time;
          }
        }
      });
    }
    for (size_t local = 0; drill.enabled && local < counted.size(); ++local) {
      if (counted[local] & 2u) context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);
  std::vector<int64_t> intervals;
  uint64_t users = 0;
  for (auto& result : results) {
    intervals.insert(intervals.end(), result.intervals.begin(), result.intervals.end());
    users += result.users;
  }
  std::sort(intervals.begin(), intervals.end());
  out->Key("intervals").Uint(intervals.size());
  out->Key("users").Uint(users);
  auto seconds = [](int64_t ms) { return static_cast<double>(ms) / 1000.0; };
  auto percentile = [&](double p) -> double {
    // Nearest rank.
    const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(intervals.size())));
    return seconds(intervals[std::max<size_t>(rank, 1) - 1]);
  };
  for (auto [key, p] : {std::pair<const char*, double>{"p25", 0.25}, {"median", 0.5},
                        {"p75", 0.75}, {"p90", 0.9}, {"p99", 0.99}}) {
    out->Key(key);
    if (intervals.empty()) {
      out->Null();
    } else {
      out->Double(percentile(p));
    }
  }
  out->Key("min");
  intervals.empty() ? out->Null() : out->Double(seconds(intervals.front()));
  out->Key("max");
  intervals.empty() ? out->Null() : out->Double(seconds(intervals.back()));
  out->Key("avg");
  if (intervals.empty()) {
    out->Null();
  } else {
    double sum = 0;
    for (int64_t interval : intervals) sum += static_cast<double>(interval);
    out->Double(sum / static_cast<double>(intervals.size()) / 1000.0);
  }
  std::vector<uint64_t> histogram(query.bounds_seconds.size(), 0);
  for (int64_t interval : intervals) {
    const int bucket = BucketOf(query.bounds_seconds, interval / 1000);
    if (bucket >= 0) ++histogram[bucket];
  }
  WriteBuckets(query.bounds_seconds, histogram, "buckets", "intervals", out);
  return Status::Ok();
}

Status RunPaths(QueryContext& context, JsonWriter* out) {
  const QuerySpec& spec = context.spec();
  const PathsQuery& query = spec.paths;
  SEXTANT_RETURN_IF_ERROR(RejectBy(spec, "paths"));
  auto global_filter = context.Compile(spec.filter, "");
  if (!global_filter.ok()) return global_filter.status();
  CompiledFilter anchor_filter;
  EventId anchor = 0;
  if (query.anchor) {
    auto compiled = context.Compile(query.anchor->filter, "anchor");
    if (!compiled.ok()) return compiled.status();
    anchor_filter = std::move(*compiled);
    anchor = ResolveEvent(context.schema(), query.anchor->event);
  }
  SEXTANT_RETURN_IF_ERROR(context.LoadProfiles());
  // Which events take part in paths.
  std::vector<uint8_t> included;
  if (!query.events.empty()) {
    for (const std::string& name : query.events) {
      const EventId event = context.schema().FindEvent(name);
      if (event == 0) continue;
      if (included.size() <= event) included.resize(event + 1, 0);
      included[event] = 1;
    }
    if (anchor != 0 && anchor != kAnyEvent) {
      if (included.size() <= anchor) included.resize(anchor + 1, 0);
      included[anchor] = 1;
    }
  }
  const TimeBuckets range(TimeUnit::kDay, spec.range, context.zone());
  const size_t depth = static_cast<size_t>(query.depth);
  auto drill_cell = PathCell::Parse(spec.users, context.schema());
  if (!drill_cell.ok()) return drill_cell.status();

  using Path = std::vector<EventId>;
  struct PathHash {
    size_t operator()(const Path& path) const {
      uint64_t h = 1469598103934665603ULL;
      for (EventId e : path) h = (h ^ e) * 1099511628211ULL;
      return h;
    }
  };
  std::vector<std::unordered_map<Path, uint64_t, PathHash>> results(context.shard_count());
  const std::vector<uint8_t>& own = context.own_events();  // "$any" leaves these out
  Status status = context.ForEachShard([&](size_t shard) -> Status {
    const UserId user_begin = context.shard_begin(shard);
    const UserId user_end = context.shard_begin(shard + 1);
    const size_t users = user_end - user_begin;
    // Per user: the session's last event time, and either the path being recorded ("after":
    // from the anchor on) or the last `depth` events ("before": a ring, newest last).
    std::vector<int64_t> last_time(users, INT64_MIN);
    std::vector<EventId> buffer(users * depth, 0);
    std::vector<uint8_t> length(users, 0);
    // 0 = waiting for the anchor in this session, 1 = recording, 2 = done for this session.
    std::vector<uint8_t> phase(users, 0);
    auto& paths = results[shard];
    std::vector<uint8_t> drilled(spec.users.enabled ? users : 0, 0);
    auto emit = [&](size_t local) {
      if (length[local] == 0) return;
      const EventId* begin = &buffer[local * depth];
      ++paths[Path(begin, begin + length[local])];
      if (!drilled.empty() && drill_cell->Contains(begin, length[local], query.before ? depth : 0)) {
        drilled[local] = 1;
      }
    };
    std::vector<uint32_t> scratch;
    for (size_t day_idx = 0; day_idx < context.days().size(); ++day_idx) {
      const DayColumns& day = *context.days()[day_idx];
      auto global = BoundFilter::Bind(&*global_filter, context, day);
      if (!global.ok()) return global.status();
      auto bound_anchor = BoundFilter::Bind(&anchor_filter, context, day);
      if (!bound_anchor.ok()) return bound_anchor.status();
      const auto& events = day.event();
      const auto& offsets = day.time_offset_ms();
      context.ForEachUser(day_idx, user_begin, user_end, &scratch, [&](UserId user, auto rows) {
        const size_t local = user - user_begin;
        EventId* path = &buffer[local * depth];
        for (size_t i = 0; i < rows.size(); ++i) {
          const uint32_t row = rows[i];
          const EventId event = events[row];
          if (!included.empty() ? (event >= included.size() || !included[event])
                                : IsOwnEvent(own, event)) {
            continue;  // not listed; or, with no list, one of Sextant's own events
          }
          const int64_t time = day.day_start_ms() + offsets[row];
          if (time < range.range_start_ms() || time > range.range_end_ms()) continue;
          if (!global->Matches(row, user)) continue;
          if (last_time[local] == INT64_MIN || time - last_time[local] > query.session_gap_ms) {
            // A new session: a path still recording ends here.
            if (!query.before && phase[local] == 1) emit(local);
            phase[local] = 0;
            length[local] = 0;
          }
          last_time[local] = time;
          const bool is_anchor =
              query.anchor ? (EventMatches(anchor, event, own) && bound_anchor->Matches(row, user)) : false;
          if (query.before) {
            if (phase[local] == 2) continue;
            // Keep the last `depth` events; at the session's first anchor, emit them.
            if (length[local] == depth) {
              std::copy(path + 1, path + depth, path);
              --length[local];
            }
            path[length[local]++] = event;
            if (is_anchor) {
              emit(local);
              phase[local] = 2;
            }
            continue;
          }
          if (phase[local] == 0 && (query.anchor ? is_anchor : true)) {
            phase[local] = 1;
            length[local] = 0;
          }
          if (phase[local] != 1) continue;
          path[length[local]++] = event;
          if (length[local] == depth) {
            emit(local);
            phase[local] = 2;
          }
        }
      });
    }
    if (!query.before) {
      for (size_t local = 0; local < users; ++local) {
        if (phase[local] == 1) emit(local);
      }
    }
    for (size_t local = 0; local < drilled.size(); ++local) {
      if (drilled[local]) context.drilled(shard).push_back(user_begin + static_cast<UserId>(local));
    }
    return Status::Ok();
  });
  SEXTANT_RETURN_IF_ERROR(status);
  std::unordered_map<Path, uint64_t, PathHash> merged;
  for (auto& result : results) {
    for (auto& [path, count] : result) merged[path] += count;
  }
  std::vector<std::pair<Path, uint64_t>> ranked(merged.begin(), merged.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  uint64_t total = 0;
  for (const auto& [path, count] : ranked) total += count;
  auto name = [&](EventId event) { return context.schema().EventName(event); };
  out->Key("sessions").Uint(total);
  out->Key("paths").BeginArray();
  for (size_t i = 0; i < ranked.size() && i < query.top; ++i) {
    out->BeginObject().Key("events").BeginArray();
    for (EventId event : ranked[i].first) out->String(name(event));
    out->EndArray();
    out->Key("sessions").Uint(ranked[i].second);
    out->EndObject();
  }
  out->EndArray();
  // Sankey data over every path: node (step, event) and link (step, from, to) weights. For
  // "before", step 0 is the earliest event, the anchor the last.
  std::map<std::pair<size_t, EventId>, uint64_t> nodes;
  std::map<std::tuple<size_t, EventId, EventId>, uint64_t> links;
  for (const auto& [path, count] : ranked) {
    for (size_t step = 0; step < path.size(); ++step) {
      const size_t position = query.before ? depth - path.size() + step : step;
      nodes[{position, path[step]}] += count;
      if (step + 1 < path.size()) links[{position, path[step], path[step + 1]}] += count;
    }
  }
  out->Key("nodes").BeginArray();
  for (const auto& [key, count] : nodes) {
    out->BeginObject();
    out->Key("id").String(std::to_string(key.first) + ":" + name(key.second));
    out->Key("step").Uint(key.first);
    out->Key("event").String(name(key.second));
    out->Key("sessions").Uint(count);
    out->EndObject();
  }
  out->EndArray();
  out->Key("links").BeginArray();
  for (const auto& [key, count] : links) {
    out->BeginObject();
    out->Key("source").String(std::to_string(std::get<0>(key)) + ":" + name(std::get<1>(key)));
    out->Key("target").String(std::to_string(std::get<0>(key) + 1) + ":" + name(std::get<2>(key)));
    out->Key("sessions").Uint(count);
    out->EndObject();
  }
  out->EndArray();
  return Status::Ok();
}

}  // namespace sextant::query
