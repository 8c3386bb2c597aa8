#include "query/query_engine.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "common/csv_field.h"
#include "common/json_writer.h"
#include "common/value_codec.h"
#include "profile/profile_store.h"
#include "query/analyses.h"
#include "query/query_context.h"

namespace sextant::query {
namespace {

// Bytes of per-user state an analysis allocates (all shards together).
size_t StateBytesPerUser(const QuerySpec& spec, size_t cohort_count) {
  switch (spec.type) {
    case QueryType::kEvents: {
      size_t bytes = 0;
      for (const Measure& measure : spec.events.measures) {
        if (measure.aggregator == Aggregator::kUniqUsers ||
            measure.aggregator == Aggregator::kPerUserAvg) {
          bytes += 4;
        }
      }
      return bytes + (spec.by.empty() ? 0 : 4 * spec.by.size());
    }
    case QueryType::kFunnel: return spec.funnel.steps.size() * 16 + 1 + 4;
    case QueryType::kRetention:
      return 2 * 8 * ((cohort_count + spec.retention.periods + 63) / 64) + 1 + 4;
    case QueryType::kDistribution: return 8;
    case QueryType::kInterval: return 9;
    case QueryType::kPaths: return static_cast<size_t>(spec.paths.depth) * 4 + 8 + 2;
    case QueryType::kAttribution: return 24;
    case QueryType::kStages: return 2;
  }
  return 0;
}

}  // namespace

QueryEngine::QueryEngine(store::EventStore* events, state::SchemaRegistry* schemas,
                         identity::IdentityStore* identities, state::KvStore* kv, Clock* clock,
                         QueryEngineOptions options)
    : events_(events),
      schemas_(schemas),
      identities_(identities),
      kv_(kv),
      clock_(clock),
      options_(options),
      cache_(options.cache_budget_bytes) {
  if (options_.threads <= 0) {
    options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

Result<QueryAnswer> QueryEngine::Run(const state::ProjectInfo& project, std::string_view json,
                                     std::vector<UserId>* all_drilled,
                                     const FilterNode* customers) {
  const auto started = std::chrono::steady_clock::now();
  const TimeZone& zone = project.time_zone;
  auto parsed = ParseQuery(json, zone.DayOf(clock_->NowMs()));
  if (!parsed.ok()) return parsed.status();
  if (customers != nullptr) {
    FilterNode scoped;
    scoped.kind = FilterNode::Kind::kAll;
    if (parsed->filter) scoped.children.push_back(std::move(*parsed->filter));
    scoped.children.push_back(*customers);
    parsed->filter = std::move(scoped);
  }
  const QuerySpec& spec = *parsed;

  // The instants the analysis reads.
  int64_t read_start = zone.DayStartMs(spec.range.first_day);
  int64_t read_end = zone.DayStartMs(spec.range.last_day + 1) - 1;
  const TimeBuckets range_buckets(
      spec.type == QueryType::kRetention ? spec.retention.unit : TimeUnit::kDay, spec.range, zone);
  if (spec.type == QueryType::kFunnel) read_end += spec.funnel.window_ms;
  if (spec.type == QueryType::kInterval) read_end += spec.interval.window_ms;
  if (spec.type == QueryType::kAttribution) read_start -= spec.attribution.window_ms;
  if (spec.type == QueryType::kRetention) {
    // Returns are read up to the end of the last cohort's last period.
    const int32_t last_cohort_end = [&] {
      const int32_t periods = spec.retention.periods;
      switch (spec.retention.unit) {
        case TimeUnit::kWeek:
          return (TimeBuckets::WeekOf(spec.range.last_day) + periods + 1) * 7 - 3 - 1;
        case TimeUnit::kMonth:
          return TimeBuckets::FirstDayOfMonth(TimeBuckets::MonthOf(spec.range.last_day) + periods +
                                              1) - 1;
        default: return spec.range.last_day + periods;
      }
    }();
    read_end = zone.DayStartMs(last_cohort_end + 1) - 1;
  }
  const bool from_first_day = (spec.type == QueryType::kRetention && spec.retention.first_time) ||
                              spec.type == QueryType::kStages;
  auto loaded = LoadDays(project, read_start, read_end, from_first_day,
                         StateBytesPerUser(spec, range_buckets.count()));
  if (!loaded.ok()) return loaded.status();
  const UserId user_limit = loaded->user_limit;

  QueryContext context(project, schemas_->ForProject(project), kv_, spec);
  context.SetDays(std::move(loaded->days));
  context.SetUsers(loaded->user_limit, loaded->merges, options_.threads);

  // Events, funnel and retention analyses ready their days themselves (often only a few
  // events' rows); the others read every row.
  if (spec.type != QueryType::kEvents && spec.type != QueryType::kFunnel &&
      spec.type != QueryType::kRetention) {
    context.PrepareFullColumns();
  }
  JsonWriter out;
  out.BeginObject();
  Status status;
  switch (spec.type) {
    case QueryType::kEvents: status = RunEvents(context, &out); break;
    case QueryType::kFunnel: status = RunFunnel(context, &out); break;
    case QueryType::kRetention: status = RunRetention(context, &out); break;
    case QueryType::kDistribution: status = RunDistribution(context, &out); break;
    case QueryType::kInterval: status = RunInterval(context, &out); break;
    case QueryType::kPaths: status = RunPaths(context, &out); break;
    case QueryType::kAttribution: status = RunAttribution(context, &out); break;
    case QueryType::kStages: status = RunStages(context, &out); break;
  }
  SEXTANT_RETURN_IF_ERROR(status);
  SEXTANT_RETURN_IF_ERROR(context.DaysStatus());
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (spec.users.enabled && all_drilled != nullptr) {
    for (size_t shard = 0; shard < context.shard_count(); ++shard) {
      const auto& users = context.drilled(shard);
      all_drilled->insert(all_drilled->end(), users.begin(), users.end());
    }
    return QueryAnswer{};
  }
  if (all_drilled != nullptr) {
    return Status(ErrorCode::kInvalidQuery, "users: required, naming the cell to drill into",
                  "users");
  }
  if (spec.users.enabled) return WriteUsers(project, context, elapsed_ms);
  out.Key("meta").BeginObject();
  out.Key("rows_scanned").Uint(context.rows_scanned());
  out.Key("rows_in_range").Uint(context.rows_in_range());
  out.Key("days_scanned").Uint(context.days().size());
  out.Key("users").Uint(user_limit - 1);
  out.Key("from").String(FormatDate(spec.range.first_day));
  out.Key("to").String(FormatDate(spec.range.last_day));
  out.Key("time_zone").String(zone.name());
  out.Key("elapsed_ms").Double(elapsed_ms);
  out.EndObject();
  out.EndObject();
  return QueryAnswer{out.Take()};
}

Result<LoadedDays> QueryEngine::LoadDays(const state::ProjectInfo& project, int64_t read_start_ms,
                                         int64_t read_end_ms, bool from_first_day,
                                         size_t state_bytes_per_user) {
  int32_t first_store_day = options_.store_time_zone.DayOf(read_start_ms);
  const int32_t last_store_day = options_.store_time_zone.DayOf(read_end_ms);
  const auto stored_days = events_->DayRange(project.id);
  // Days the store no longer holds (retention) leave the cache.
  cache_.DropDaysBefore(project.id, stored_days ? stored_days->first : INT32_MAX);
  if (from_first_day && stored_days) first_store_day = std::min(first_store_day, stored_days->first);

  std::vector<store::DaySnapshot> snapshots;
  SEXTANT_RETURN_IF_ERROR(
      events_->SnapshotDays(project.id, first_store_day, last_store_day, &snapshots));
  // Users are read after the snapshot, so every user id in it is below the limit.
  auto user_limit = identities_->UserIdLimit(project.id);
  if (!user_limit.ok()) return user_limit.status();
  auto merges = identities_->MergeMap(project.id);
  if (!merges.ok()) return merges.status();

  const size_t state_bytes = state_bytes_per_user * static_cast<size_t>(*user_limit);
  if (state_bytes > options_.max_state_bytes) {
    return Status(ErrorCode::kQueryTooLarge,
                  "the query needs " + std::to_string(state_bytes >> 20) +
                      " MiB of per-user state, over the limit of " +
                      std::to_string(options_.max_state_bytes >> 20) + " MiB");
  }

  // Day columns, built (or taken from the cache). Parts not in the cache get their I/O
  // started for all days at once (but for days whose build reads nothing: the analysis
  // prefetches what it walks of them); building is I/O-bound when cold, so more threads than
  // cores keep more reads in flight.
  for (const store::DaySnapshot& snapshot : snapshots) {
    if (!DayColumns::BuildsWithoutReading(snapshot) && !cache_.Contains(project.id, snapshot)) {
      for (const auto& part : snapshot.parts) part->PrefetchBase();
    }
  }
  std::vector<std::shared_ptr<const DayColumns>> days(snapshots.size());
  std::vector<Status> errors(snapshots.size());
  std::atomic<size_t> next{0};
  auto build = [&] {
    for (size_t i = next++; i < snapshots.size(); i = next++) {
      auto columns = cache_.Get(project.id, std::move(snapshots[i]));
      if (columns.ok()) {
        days[i] = *columns;
      } else {
        errors[i] = columns.status();
      }
    }
  };
  {
    std::vector<std::thread> threads;
    const int build_threads = std::max(options_.threads, 8);
    for (int t = 1; t < build_threads && static_cast<size_t>(t) < snapshots.size(); ++t) {
      threads.emplace_back(build);
    }
    build();
    for (auto& thread : threads) thread.join();
  }
  for (const Status& error : errors) SEXTANT_RETURN_IF_ERROR(error);
  return LoadedDays{std::move(days), *user_limit, std::move(*merges)};
}

Result<QueryAnswer> QueryEngine::WriteUsers(const state::ProjectInfo& project,
                                            const QueryContext& context, double elapsed_ms) {
  const UserDrill& drill = context.spec().users;
  size_t total = 0;
  for (size_t shard = 0; shard < context.shard_count(); ++shard) total += context.drilled(shard).size();
  // Shards are ascending id ranges, so their lists concatenate in id order.
  std::vector<UserId> page;
  size_t index = 0;
  for (size_t shard = 0; shard < context.shard_count() && page.size() < drill.limit; ++shard) {
    for (UserId user : context.drilled(shard)) {
      if (index++ < drill.offset) continue;
      page.push_back(user);
      if (page.size() == drill.limit) break;
    }
  }
  profile::ProfileStore profiles(kv_);
  struct Person {
    UserId user;
    std::string distinct_id;
    std::vector<const Value*> columns;
    PropertyMap profile;
  };
  std::vector<Person> people;
  people.reserve(page.size());
  for (UserId user : page) {
    Person& person = people.emplace_back();
    person.user = user;
    auto distinct_id = identities_->DistinctIdOf(project.id, user);
    if (!distinct_id.ok()) return distinct_id.status();
    person.distinct_id = std::move(*distinct_id);
    auto profile = profiles.GetProfile(project.id, user);
    if (profile.ok()) {
      person.profile = std::move(*profile);
    } else if (profile.status().code() != ErrorCode::kNotFound) {
      return profile.status();
    }
  }
  auto column_value = [](const Person& person, const std::string& name) -> const Value* {
    for (const auto& [key, value] : person.profile) {
      if (key == name) return &value;
    }
    return nullptr;
  };
  if (drill.csv) {
    std::string csv = "user_id,distinct_id";
    for (const std::string& name : drill.columns) csv += "," + CsvField(name);
    csv += "\n";
    for (const Person& person : people) {
      csv += std::to_string(person.user) + "," + CsvField(person.distinct_id);
      for (const std::string& name : drill.columns) {
        csv += ",";
        const Value* value = column_value(person, name);
        if (value == nullptr) continue;
        std::string json = QueryContext::ValueJson(*value, project.time_zone);
        // Strings without their JSON quotes; other values as JSON.
        if (value->type() == ValueType::kString) json = value->str();
        csv += CsvField(json);
      }
      csv += "\n";
    }
    return QueryAnswer{std::move(csv), "text/csv; charset=utf-8"};
  }
  JsonWriter out;
  out.BeginObject();
  out.Key("total").Uint(total);
  out.Key("offset").Uint(drill.offset);
  out.Key("limit").Uint(drill.limit);
  out.Key("users").BeginArray();
  for (const Person& person : people) {
    out.BeginObject();
    out.Key("user_id").Uint(person.user);
    out.Key("distinct_id").String(person.distinct_id);
    for (const std::string& name : drill.columns) {
      out.Key("user." + name);
      const Value* value = column_value(person, name);
      if (value == nullptr) {
        out.Null();
      } else {
        out.PropertyValue(*value, project.time_zone);
      }
    }
    out.EndObject();
  }
  out.EndArray();
  out.Key("meta").BeginObject();
  out.Key("rows_scanned").Uint(context.rows_scanned());
  out.Key("elapsed_ms").Double(elapsed_ms);
  out.EndObject();
  out.EndObject();
  return QueryAnswer{out.Take()};
}

}  // namespace sextant::query
