// Dry runs and backtests: a journey run by the same runtime code in a scratch world — its own
// state store in a temporary directory and its own simulated clock, no ingest, no delivery —
// so that what they predict is what the live runtime would decide.
#include <filesystem>
#include <random>

#include "common/clock.h"
#include "audience/definitions.h"
#include "decode/json_util.h"
#include "journey/journey_internal.h"
#include "query/query_engine.h"
#include "query/spec_json.h"

namespace sextant::journey {
namespace {

namespace fs = std::filesystem;
using query::spec_json::element;
using query::spec_json::Invalid;
using query::spec_json::Member;

// The dry run's customer when it names none (no real user has this id, so segment and tag
// conditions are false for them).
constexpr UserId kHypotheticalUser = 0xfffffff0u;
constexpr size_t kMaxDryRunEvents = 1000;

// A scratch state store in a temporary directory, removed with the object.
struct ScratchStore {
  fs::path dir;
  std::unique_ptr<state::KvStore> kv;
  ~ScratchStore() {
    kv.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  static Result<std::unique_ptr<ScratchStore>> Open() {
    auto store = std::make_unique<ScratchStore>();
    std::random_device random;
    store->dir = fs::temp_directory_path() /
                 ("sextant-simulation-" + std::to_string(random()) + std::to_string(random()));
    auto kv = state::KvStore::Open(store->dir.string());
    if (!kv.ok()) return kv.status();
    store->kv = std::move(*kv);
    return store;
  }
};

// Values of a JSON object as the SDK protocol types them (DATETIME / DATE strings included).
PropertyMap TypedProperties(const element& object, const TimeZone& zone) {
  PropertyMap properties;
  simdjson::dom::object fields;
  if (object.get_object().get(fields) != simdjson::SUCCESS) return properties;
  for (auto field : fields) {
    std::string_view text;
    double number = 0;
    bool boolean = false;
    if (field.value.get_string().get(text) == simdjson::SUCCESS) {
      Value value;
      if (!decode::internal::ParseSensorsDatetime(text, zone, &value))
        value = Value::String(std::string(text));
      properties.emplace_back(std::string(field.key), std::move(value));
    } else if (field.value.get_double().get(number) == simdjson::SUCCESS) {
      properties.emplace_back(std::string(field.key), Value::Number(number));
    } else if (field.value.get_bool().get(boolean) == simdjson::SUCCESS) {
      properties.emplace_back(std::string(field.key), Value::Bool(boolean));
    }
  }
  return properties;
}

void WriteTrace(const std::vector<TraceStep>& trace, const TimeZone& zone, JsonWriter& out) {
  out.Key("path").BeginArray();
  for (const TraceStep& step : trace) {
    if (step.kind == "node") out.String(step.detail);
  }
  out.EndArray();
  out.Key("trace").BeginArray();
  for (const TraceStep& step : trace) {
    out.BeginObject();
    out.Key("time").Int(step.time_ms);
    out.Key("local_time").String(FormatDatetime(step.time_ms, zone).substr(0, 19));
    out.Key("step").String(step.kind);
    out.Key("detail").String(step.detail);
    out.EndObject();
  }
  out.EndArray();
}

// Every JSON value of the scratch store under `prefix`, as an array.
std::string ScanValues(state::KvStore& kv, const std::string& prefix) {
  std::string out = "[";
  (void)kv.ScanPrefix(prefix, [&](std::string_view, std::string_view value) {
    if (out.size() > 1) out += ",";
    out += value;
    return true;
  });
  return out + "]";
}

// Steps `clock` through everything due in the scratch engine up to `limit` — timers, and
// scheduled entries when `scheduled` — so each runs at its own time; then moves it to `limit`.
void RunDueUntil(JourneyEngine& scratch, JourneyEngine::Impl& sim, SimulatedClock& clock,
                 ProjectId project, int64_t limit, bool scheduled) {
  for (int steps = 0; steps < 1'000'000; ++steps) {
    const int64_t next = scratch.NextDueMs();
    if (next > limit) break;
    if (next > clock.NowMs()) clock.SetMs(next);
    PendingWork work;
    bool progressed = false;
    {
      std::lock_guard lock(sim.mu);
      ProjectRuntime& runtime = sim.runtimes[project];
      sim.RunTimersLocked(runtime, clock.NowMs(), work, SIZE_MAX);
      if (scheduled) sim.RunScheduledEntriesLocked(runtime, clock.NowMs(), work);
      sim.FlushCountersLocked(runtime, work);
      progressed = !work.batch.empty();
      sim.WriteLocked(work);
    }
    sim.ApplyPending(work);
    if (!progressed && next <= clock.NowMs()) break;
  }
  if (limit > clock.NowMs()) clock.SetMs(limit);
}

// Hands one event to the scratch engine, as the ingest hook would.
void ApplyRow(JourneyEngine::Impl& sim, ProjectId project, const store::EventRow& row,
              bool rebuild_index) {
  PendingWork work;
  {
    std::lock_guard lock(sim.mu);
    ProjectRuntime& runtime = sim.runtimes[project];
    if (rebuild_index) sim.RebuildIndexLocked(runtime);
    sim.ProcessEventLocked(runtime, row, work);
    sim.FlushCountersLocked(runtime, work);
    sim.WriteLocked(work);
  }
  sim.ApplyPending(work);
}

}  // namespace

// Sets up `scratch` (an engine on a scratch store, not started) to run `definition` of
// `project` as journey `journey_id`, version 1, running, with the project's touch rules,
// channels and templates.
static Status PrepareScratch(JourneyEngine::Impl& live, JourneyEngine::Impl& scratch,
                             const state::ProjectInfo& project, const std::string& journey_id,
                             const std::string& journey_name,
                             std::shared_ptr<const JourneyDefinition> definition) {
  ProjectRuntime copy;
  {
    std::lock_guard lock(live.mu);
    auto runtime = live.RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    copy.info = (*runtime)->info;
    copy.rules = (*runtime)->rules;
    copy.channels = (*runtime)->channels;
    copy.templates = (*runtime)->templates;
    copy.unsubscribe_secret = (*runtime)->unsubscribe_secret;
  }
  std::lock_guard lock(scratch.mu);
  ProjectRuntime& runtime = scratch.runtimes[project.id];
  runtime = std::move(copy);
  runtime.loaded = true;
  JourneyState& journey = runtime.journeys[journey_id];
  journey.meta.id = journey_id;
  journey.meta.name = journey_name;
  journey.meta.status = "running";
  journey.meta.current_version = journey.meta.live_version = journey.meta.approved_version = 1;
  journey.versions[1] = std::move(definition);
  scratch.RebuildIndexLocked(runtime);
  return Status::Ok();
}

Result<JourneyAnswer> JourneyEngine::DryRun(const state::ProjectInfo& project,
                                            std::string_view body) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  const TimeZone& zone = project.time_zone;
  // The journey: a stored one (its live or a given version) or a definition given inline.
  std::shared_ptr<const JourneyDefinition> definition;
  std::string journey_id = "dry-run", journey_name;
  if (auto inline_definition = Member(root, "definition")) {
    auto parsed = ParseJourneyDefinition(simdjson::minify(*inline_definition));
    if (!parsed.ok()) {
      Status status = parsed.status();
      return Status(status.code(), "definition." + status.message(),
                    status.field().empty() ? "definition" : "definition." + status.field());
    }
    journey_name = parsed->name;
    definition = std::make_shared<const JourneyDefinition>(std::move(*parsed));
  } else {
    auto id = query::spec_json::GetString(root, "journey_id", "", true);
    if (!id.ok())
      return Status(ErrorCode::kInvalidQuery, "give journey_id or definition", "journey_id");
    auto version = query::spec_json::GetInteger(root, "version", "", 0, 0, 1'000'000);
    if (!version.ok()) return version.status();
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    auto found = (*runtime)->journeys.find(*id);
    if (found == (*runtime)->journeys.end())
      return Status(ErrorCode::kNotFound, "no journey " + *id);
    const uint32_t wanted =
        *version != 0 ? static_cast<uint32_t>(*version) : found->second.meta.current_version;
    auto stored = found->second.versions.find(wanted);
    if (stored == found->second.versions.end())
      return Status(ErrorCode::kNotFound, "no version " + std::to_string(wanted), "version");
    definition = stored->second;
    journey_id = *id;
    journey_name = found->second.meta.name;
  }

  // The customer: a real one (their profile, segments and tags) or a hypothetical one.
  UserId user = kHypotheticalUser;
  std::string distinct_id = "dry-run-customer";
  PropertyMap profile;
  auto given_id = query::spec_json::GetString(root, "distinct_id", "", false);
  if (!given_id.ok()) return given_id.status();
  if (!given_id->empty()) {
    auto found = impl_->identities->LookupDistinctId(project.id, *given_id);
    if (!found.ok() || *found == 0)
      return Status(ErrorCode::kNotFound, "no customer with distinct_id " + *given_id,
                    "distinct_id");
    user = *found;
    distinct_id = *given_id;
    auto stored = impl_->profiles->GetProfile(project.id, user);
    if (stored.ok()) profile = std::move(*stored);
  }
  if (auto overrides = Member(root, "profile")) {
    if (!overrides->is_object())
      return Invalid("profile", "must be an object of profile properties");
    for (auto& [name, value] : TypedProperties(*overrides, zone)) {
      auto same = std::find_if(profile.begin(), profile.end(),
                               // init-capture: clang < 16 cannot capture a structured binding
                               [&name = name](const auto& entry) { return entry.first == name; });
      if (same != profile.end())
        same->second = std::move(value);
      else
        profile.emplace_back(name, std::move(value));
    }
  }

  // The events, at offsets from the start.
  struct PlannedEvent {
    int64_t at_ms;
    std::string event;
    PropertyMap properties;
  };
  std::vector<PlannedEvent> events;
  const int64_t start_ms = impl_->clock->NowMs();
  if (auto list = Member(root, "events")) {
    simdjson::dom::array array;
    if (list->get_array().get(array) != simdjson::SUCCESS)
      return Invalid("events", "must be a list of {\"event\", \"properties\"?, \"offset\"?}");
    if (array.size() > kMaxDryRunEvents) return Invalid("events", "at most 1000 events");
    size_t index = 0;
    for (element item : array) {
      const std::string path = "events[" + std::to_string(index++) + "]";
      auto name = query::spec_json::GetString(item, "event", path, true);
      if (!name.ok()) return name.status();
      if (name->empty()) return Invalid(path + ".event", "required");
      int64_t offset = 0;
      if (auto value = Member(item, "offset")) {
        std::string_view text;
        std::optional<int64_t> ms;
        if (value->get_string().get(text) == simdjson::SUCCESS) {
          const bool zero = !text.empty() && text.find_first_not_of('0') != 0 &&
                            (text.find_first_not_of('0') == std::string_view::npos ||
                             text.substr(text.find_first_not_of('0')).size() == 1);
          ms = zero ? std::optional<int64_t>(0) : audience::ParseDuration(text);
        }
        if (!ms) return Invalid(path + ".offset", "must be a duration like \"10m\" from the start");
        offset = *ms;
      }
      PropertyMap properties;
      if (auto value = Member(item, "properties")) properties = TypedProperties(*value, zone);
      events.push_back({start_ms + offset, std::move(*name), std::move(properties)});
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  int64_t until_ms = (events.empty() ? start_ms : events.back().at_ms) + 30 * kDayMs;
  if (auto until = Member(root, "until")) {
    std::string_view text;
    std::optional<int64_t> ms;
    if (until->get_string().get(text) == simdjson::SUCCESS) ms = audience::ParseDuration(text);
    if (!ms) return Invalid("until", "must be a duration like \"30d\" from the start");
    until_ms = start_ms + *ms;
  }

  // The scratch world: its own store, schema and profiles; the project's rules and content.
  auto store = ScratchStore::Open();
  if (!store.ok()) return store.status();
  auto schemas = state::SchemaRegistry::Open((*store)->kv.get(), *impl_->projects);
  if (!schemas.ok()) return schemas.status();
  profile::ProfileStore profiles((*store)->kv.get());
  SimulatedClock clock(start_ms);
  JourneyEngine scratch(impl_->options, (*store)->kv.get(), impl_->projects, schemas->get(),
                        impl_->identities, &profiles, impl_->audience, nullptr, &clock);
  Impl& sim = *scratch.impl_;
  std::vector<TraceStep> trace;
  std::vector<std::pair<int64_t, Record>> emitted;
  sim.simulation = true;
  sim.trace = &trace;
  sim.emitted = &emitted;
  sim.simulated_user = user;
  sim.simulated_distinct_id = distinct_id;
  sim.items = impl_->profiles;
  sim.reference_kv = impl_->kv;
  {
    // The customer's profile in the scratch store, as ingest would have written it.
    Record record;
    record.type = RecordType::kProfileSet;
    record.properties = profile;
    SEXTANT_RETURN_IF_ERROR(profiles.ApplyProfile(project.id, user, record));
  }
  SEXTANT_RETURN_IF_ERROR(
      PrepareScratch(*impl_, sim, project, journey_id, journey_name, definition));
  state::ProjectSchema* schema = (*schemas)->ForProject(project);

  auto run_due_until = [&](int64_t limit) {
    RunDueUntil(scratch, sim, clock, project.id, limit, false);
  };
  {
    // Entries that are not events (segments, schedules, key dates, the API) pick the customer
    // at the start.
    const EntrySpec::Kind kind = definition->entry.kind;
    if (kind != EntrySpec::Kind::kEvent && kind != EntrySpec::Kind::kBreakpoint) {
      PendingWork work;
      std::lock_guard lock(sim.mu);
      ProjectRuntime& runtime = sim.runtimes[project.id];
      sim.TryEnterLocked(runtime, runtime.journeys[journey_id], user, "{}", EntryKindName(kind),
                         work);
      sim.FlushCountersLocked(runtime, work);
      sim.WriteLocked(work);
      sim.ApplyPending(work);
    }
  }
  for (PlannedEvent& planned : events) {
    run_due_until(planned.at_ms);
    store::EventRow row;
    row.user_id = user;
    row.time_ms = planned.at_ms;
    row.distinct_id = distinct_id;
    state::KvStore::Batch registrations;
    row.event_id = schema->Register(state::SchemaKind::kEvent, planned.event, ValueType::kString,
                                    planned.at_ms, &registrations);
    for (auto& [name, value] : planned.properties) {
      const uint32_t property = schema->Register(state::SchemaKind::kEventProperty, name,
                                                 value.type(), planned.at_ms, &registrations);
      row.properties.push_back({property, value});
    }
    (void)(*store)->kv->Write(&registrations);
    trace.push_back({planned.at_ms, "event", planned.event});
    ApplyRow(sim, project.id, row, /*rebuild_index=*/true);
  }
  run_due_until(until_ms);

  // What happened.
  JsonWriter out;
  out.BeginObject();
  out.Key("journey").String(journey_id);
  out.Key("distinct_id").String(distinct_id);
  out.Key("start").Int(start_ms);
  WriteTrace(trace, zone, out);
  auto decisions = sim.ledger.Query(project.id, 0, journey_id, 10'000);
  out.Key("decisions").Raw(decisions.ok() ? *decisions : "[]");
  out.Key("messages").Raw(ScanValues(*(*store)->kv, JourneyKey(project.id, "o")));
  out.Key("in_app").Raw(ScanValues(*(*store)->kv, JourneyKey(project.id, "m")));
  out.Key("tasks").Raw(ScanValues(*(*store)->kv, JourneyKey(project.id, "k")));
  out.Key("events").BeginArray();
  for (const auto& [time, record] : emitted) {
    out.BeginObject();
    out.Key("time").Int(time);
    out.Key("event").String(record.type == RecordType::kProfileSet ? "profile_set" : record.event);
    out.Key("properties").BeginObject();
    for (const auto& [name, value] : record.properties) out.Key(name).PropertyValue(value, zone);
    out.EndObject();
    out.EndObject();
  }
  out.EndArray();
  auto state = scratch.JourneyCustomerState(project, journey_id, user);
  out.Key("state").Raw(state.ok() ? *state : "{}");
  out.EndObject();
  return JourneyAnswer{200, out.Take()};
}

Result<JourneyAnswer> JourneyEngine::Backtest(const state::ProjectInfo& project,
                                              const std::string& id, std::string_view body,
                                              query::QueryEngine* queries) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  const TimeZone& zone = project.time_zone;
  int64_t range[2] = {0, 0};
  for (int side = 0; side < 2; ++side) {
    const char* key = side == 0 ? "from" : "to";
    auto text = query::spec_json::GetString(root, key, "", true);
    if (!text.ok()) return text.status();
    auto day = query::ParseDate(*text);
    if (!day) return Invalid(key, "must be a date \"YYYY-MM-DD\"");
    range[side] = zone.DayStartMs(*day + side);  // "to" is inclusive
  }
  if (range[1] <= range[0]) return Invalid("to", "is before from");
  if (range[1] - range[0] > 400 * kDayMs)
    return Invalid("to", "a backtest covers at most 400 days");
  auto version_number = query::spec_json::GetInteger(root, "version", "", 0, 0, 1'000'000);
  if (!version_number.ok()) return version_number.status();

  std::shared_ptr<const JourneyDefinition> definition;
  std::string journey_name;
  uint32_t backtested_version = 0;
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    auto found = (*runtime)->journeys.find(id);
    if (found == (*runtime)->journeys.end())
      return Status(ErrorCode::kNotFound, "no journey " + id);
    const uint32_t wanted = *version_number != 0 ? static_cast<uint32_t>(*version_number)
                                                 : found->second.meta.current_version;
    auto stored = found->second.versions.find(wanted);
    if (stored == found->second.versions.end())
      return Status(ErrorCode::kNotFound, "no version " + std::to_string(wanted), "version");
    definition = stored->second;
    journey_name = found->second.meta.name;
    backtested_version = wanted;
  }
  const auto started = std::chrono::steady_clock::now();
  auto store = ScratchStore::Open();
  if (!store.ok()) return store.status();
  SimulatedClock clock(range[0]);
  JourneyEngine scratch(impl_->options, (*store)->kv.get(), impl_->projects, impl_->schemas,
                        impl_->identities, impl_->profiles, impl_->audience, nullptr, &clock);
  Impl& sim = *scratch.impl_;
  sim.reference_kv = impl_->kv;
  sim.simulation = true;
  sim.keep_outbox = false;
  SEXTANT_RETURN_IF_ERROR(PrepareScratch(*impl_, sim, project, id, journey_name, definition));

  // The events the journey cares about, day by day in time order.
  std::vector<store::EventId> wanted_events;
  std::vector<store::PropertyId> wanted_properties;
  {
    std::lock_guard lock(sim.mu);
    ProjectRuntime& runtime = sim.runtimes[project.id];
    for (const auto& [event, journeys] : runtime.index) wanted_events.push_back(event);
    sim.ComputeNextFireLocked(runtime, runtime.journeys[id], range[0]);
  }
  state::ProjectSchema* schema = impl_->schemas->ForProject(project);
  for (const auto& entry : schema->List(state::SchemaKind::kEventProperty)) {
    if (definition->json.find("\"" + entry.name + "\"") != std::string::npos ||
        definition->json.find("event." + entry.name) != std::string::npos ||
        entry.name == "segment_id") {
      wanted_properties.push_back(entry.id);
    }
  }
  // Template variables {{event.x}} name properties too.
  {
    std::lock_guard lock(sim.mu);
    for (const auto& [name, def] : sim.runtimes[project.id].templates) {
      for (const auto& entry : schema->List(state::SchemaKind::kEventProperty)) {
        if (def.body.find("event." + entry.name) != std::string::npos)
          wanted_properties.push_back(entry.id);
      }
    }
  }
  auto loaded = queries->LoadDays(project, range[0], range[1], false, 0);
  if (!loaded.ok()) return loaded.status();
  uint64_t replayed = 0;
  auto run_due_until = [&](int64_t limit) {
    RunDueUntil(scratch, sim, clock, project.id, limit, true);
  };
  // Delivery is not simulated: outbox records are dropped as they are written.
  for (const auto& day : loaded->days) {
    struct Row {
      int64_t time;
      uint32_t row;
      UserId user;
    };
    std::vector<Row> rows;
    for (store::EventId event : wanted_events) {
      const auto& of = day->RowsOf(event);
      for (size_t index = 0; index < of.rows.size(); ++index) {
        const uint32_t row = of.rows[index];
        const int64_t time = day->day_start_ms() + day->time_offset_ms()[row];
        if (time >= range[0] && time < range[1]) rows.push_back({time, row, of.users[index]});
      }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.time < b.time; });
    std::vector<std::pair<store::PropertyId, const store::PropColumn*>> columns;
    for (store::PropertyId property : wanted_properties) {
      auto column = day->Property(property);
      if (column.ok() && *column != nullptr) columns.emplace_back(property, *column);
    }
    for (const Row& entry : rows) {
      run_due_until(entry.time);
      store::EventRow row;
      row.user_id = entry.user;
      row.time_ms = entry.time;
      row.event_id = day->event()[entry.row];
      for (const auto& [property, column] : columns) {
        const int32_t slot = column->slot[entry.row];
        if (slot >= 0) row.properties.push_back({property, column->Get(slot)});
      }
      ApplyRow(sim, project.id, row, /*rebuild_index=*/false);
      ++replayed;
    }
    // A day read lazily from its part reports a failed read here, not through RowsOf.
    SEXTANT_RETURN_IF_ERROR(day->LazyStatus());
  }
  run_due_until(range[1]);
  auto report = scratch.JourneyReport(project, id);
  if (!report.ok()) return report.status();
  JsonWriter out;
  out.BeginObject();
  out.Key("journey").String(id);
  out.Key("version").Uint(backtested_version);
  out.Key("from").Int(range[0]);
  out.Key("to").Int(range[1]);
  out.Key("events_replayed").Uint(replayed);
  out.Key("elapsed_ms")
      .Double(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                  .count());
  out.Key("predicted").Raw(report->body);
  out.EndObject();
  return JourneyAnswer{200, out.Take()};
}

}  // namespace sextant::journey
