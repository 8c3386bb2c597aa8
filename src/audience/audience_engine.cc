#include "common/clock.h"
#include "audience/audience_engine.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>

#include "audience/audience_internal.h"
#include "common/csv_field.h"
#include "common/thread_name.h"
#include "common/value_codec.h"
#include "import/csv_reader.h"
#include "ingest/ingest_pipeline.h"
#include "profile/profile_store.h"

namespace sextant::audience {
namespace {

constexpr int64_t kSaveDirtyEveryMs = 5'000;
constexpr size_t kMembershipEventBatch = 1000;

Status NotFound(const std::string& what) { return Status(ErrorCode::kNotFound, what); }


std::string SerializeBitmap(const Roaring& bitmap) {
  std::string bytes(bitmap.getSizeInBytes(true), '\0');
  bitmap.write(bytes.data(), true);
  return bytes;
}

Result<Roaring> DeserializeBitmap(std::string_view bytes) {
  try {
    return Roaring::readSafe(bytes.data(), bytes.size());
  } catch (const std::exception& error) {
    return Status(ErrorCode::kCorruption,
                  std::string("undecodable segment members: ") + error.what());
  }
}

// Default refresh of a rule segment: windows counted in calendar days change at midnight only,
// so one full refresh then keeps them exact (arrivals are applied as they come); rolling
// windows (hours, minutes) need a refresh every few minutes.
Schedule DefaultRefresh(const RuleNode& node) {
  bool rolling = false;
  std::function<void(const RuleNode&)> visit = [&](const RuleNode& n) {
    if ((n.kind == RuleNode::Kind::kDid || n.kind == RuleNode::Kind::kSequence) &&
        n.within.kind == Window::Kind::kLastMs) {
      rolling = true;
    }
    for (const RuleNode& child : n.children) visit(child);
  };
  visit(node);
  Schedule schedule;
  if (rolling) {
    schedule.kind = Schedule::Kind::kEveryMinutes;
    schedule.minutes = 5;
  } else {
    schedule.kind = Schedule::Kind::kDailyAt;
    schedule.minute_of_day = 0;
  }
  return schedule;
}

}  // namespace

AudienceEngine::AudienceEngine(query::QueryEngine* queries, state::SchemaRegistry* schemas,
                               identity::IdentityStore* identities,
                               state::ProjectRegistry* projects, state::KvStore* kv, Clock* clock)
    : queries_(queries),
      schemas_(schemas),
      identities_(identities),
      projects_(projects),
      kv_(kv),
      clock_(clock) {}

AudienceEngine::~AudienceEngine() { Stop(); }

void AudienceEngine::Start() {
  std::lock_guard lock(queue_mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] {
    SetCurrentThreadName("segment-live");
    WorkerLoop();
  });
  scheduler_ = std::thread([this] {
    SetCurrentThreadName("segment-sched");
    SchedulerLoop();
  });
}

void AudienceEngine::Stop() {
  {
    std::lock_guard lock(queue_mu_);
    if (!worker_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  scheduler_cv_.notify_all();
  worker_.join();
  scheduler_.join();
  SaveDirty();
}

// ---- project state ----

AudienceEngine::ProjectState& AudienceEngine::StateOf(const state::ProjectInfo& project) {
  std::lock_guard lock(projects_mu_);
  auto& state = states_[project.id];
  if (!state) {
    state = std::make_unique<ProjectState>();
    state->project = projects_->Find(project.name);
    if (!state->project) state->project = std::make_shared<state::ProjectInfo>(project);
  }
  return *state;
}

Status AudienceEngine::LoadLocked(ProjectState& state) {
  if (state.loaded) return Status::Ok();
  const state::ProjectId pid = state.project->id;
  // Sextant's own events (membership, journeys, touches, tasks) get their event ids now, so
  // that rules compiled from here on know them ("$any" leaves them out, see
  // CompiledStep::any_excludes).
  {
    state::KvStore::Batch batch;
    state::ProjectSchema* schema = schemas_->ForProject(*state.project);
    for (std::string_view own : query::kOwnEvents) {
      if (schema->FindEvent(std::string(own)) == 0) {
        schema->Register(state::SchemaKind::kEvent, std::string(own), ValueType::kString,
                         clock_->NowMs(), &batch);
      }
    }
    if (!batch.empty()) SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
  }
  auto seq = kv_->Get(AudienceKey(pid, "seq", ""));
  if (seq.ok() && seq->size() == 8) state.next_id = state::ReadBigEndian64(*seq);
  Status error;
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      AudienceKey(pid, "tag", "") + "/", [&](std::string_view key, std::string_view value) {
        auto stored = DecodeStoredTag(value);
        if (!stored.ok()) {
          error = Status(ErrorCode::kCorruption, "undecodable tag definition " + std::string(key));
          return false;
        }
        auto tag = std::make_unique<TagState>();
        tag->definition = std::move(stored->definition);
        tag->last_run_ms = stored->last_run_ms;
        tag->last_run_elapsed_ms = stored->last_run_elapsed_ms;
        tag->coverage = stored->coverage;
        state.tags[tag->definition.id] = std::move(tag);
        return true;
      }));
  SEXTANT_RETURN_IF_ERROR(error);
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      AudienceKey(pid, "seg", "") + "/", [&](std::string_view key, std::string_view value) {
        auto stored = DecodeStoredSegment(value);
        if (!stored.ok()) {
          error =
              Status(ErrorCode::kCorruption, "undecodable segment definition " + std::string(key));
          return false;
        }
        auto segment = std::make_unique<SegmentState>();
        segment->definition = std::move(stored->definition);
        segment->last_refresh_ms = stored->last_refresh_ms;
        segment->last_refresh_elapsed_ms = stored->last_refresh_elapsed_ms;
        state.segments[segment->definition.id] = std::move(segment);
        return true;
      }));
  SEXTANT_RETURN_IF_ERROR(error);
  for (auto& [id, segment] : state.segments) {
    auto bytes = kv_->Get(AudienceKey(pid, "segm", id));
    if (bytes.ok()) {
      auto members = DeserializeBitmap(*bytes);
      if (!members.ok()) return members.status();
      segment->members = std::move(*members);
      segment->computed = true;
    }
  }
  SEXTANT_RETURN_IF_ERROR(ReplayAnnouncementsLocked(state));
  // Every segment is loaded before any is compiled, so references resolve (cycles were refused
  // when the definitions were saved).
  for (auto& [id, segment] : state.segments) {
    if (segment->definition.kind != SegmentDefinition::Kind::kRule) continue;
    Status compiled = CompileRuleLocked(state, segment->definition.rule, id, &segment->rule);
    segment->compiled = compiled.ok();
  }
  const int64_t now = clock_->NowMs();
  for (auto& [id, segment] : state.segments) ScheduleLocked(state, *segment, now);
  for (auto& [id, tag] : state.tags) {
    tag->next_run_ms = tag->definition.schedule.NextAfter(now, state.project->time_zone);
    PrepareTagLocked(state, *tag);
    // A realtime tag's updates since its last stored snapshot live only in memory: a run from
    // the events, at once, brings back what a restart lost (the events are durable).
    if (tag->incremental && tag->last_run_ms > 0) tag->next_run_ms = 0;
  }
  state.loaded = true;
  // Realtime segments need their per-person aggregates before events can be applied; the
  // saved members may also miss changes made while the server was down. Both are fixed by a
  // refresh, which the scheduler runs at once.
  for (auto& [id, segment] : state.segments) {
    if (segment->definition.kind == SegmentDefinition::Kind::kRule &&
        segment->definition.realtime) {
      segment->next_refresh_ms = 0;
    }
  }
  RebuildInterestLocked(state);
  return Status::Ok();
}

Status AudienceEngine::ReplayAnnouncementsLocked(ProjectState& state) {
  state::ProjectSchema* schema = schemas_->ForProject(*state.project);
  const EventId enter = schema->FindEvent("$segment_enter");
  const EventId exit = schema->FindEvent("$segment_exit");
  const PropertyId segment_property = schema->FindProperty("segment_id");
  store::EventStore* events = queries_->events();
  if ((enter == 0 && exit == 0) || segment_property == 0 || events == nullptr) return Status::Ok();
  // Since when each segment's saved members may miss announcements.
  std::map<std::string, int64_t, std::less<>> saved_at;
  int64_t earliest = INT64_MAX;
  for (auto& [id, segment] : state.segments) {
    if (!segment->computed) continue;
    auto stored = kv_->Get(AudienceKey(state.project->id, "segs", id));
    if (!stored.ok() || stored->size() != 8) continue;  // saved before this record existed
    const auto at = static_cast<int64_t>(state::ReadBigEndian64(*stored));
    saved_at[id] = at;
    earliest = std::min(earliest, at);
  }
  if (saved_at.empty()) return Status::Ok();
  auto range = events->DayRange(state.project->id);
  if (!range) return Status::Ok();
  store::ScanSpec spec;
  spec.first_day = std::max(range->first, state.project->time_zone.DayOf(earliest));
  spec.last_day = range->second;
  if (spec.first_day > spec.last_day) return Status::Ok();
  for (EventId id : {enter, exit})
    if (id != 0) spec.event_ids.push_back(id);
  spec.property_ids = {segment_property};
  // Rows come in (user, time) order, so each person's events apply in the order announced.
  return events->Scan(state.project->id, spec, [&](const store::EventBatch& batch) {
    for (size_t row = 0; row < batch.size; ++row) {
      const std::optional<Value>& segment_id = batch.property_values[0][row];
      if (!segment_id || segment_id->type() != ValueType::kString) continue;
      auto since = saved_at.find(segment_id->str());
      if (since == saved_at.end() || batch.times_ms[row] < since->second) continue;
      SegmentState& segment = *state.segments.find(segment_id->str())->second;
      if (batch.event_ids[row] == enter) {
        segment.members.add(batch.user_ids[row]);
      } else {
        segment.members.remove(batch.user_ids[row]);
      }
    }
    return true;
  });
}

void AudienceEngine::ScheduleLocked(ProjectState& state, SegmentState& segment, int64_t now) {
  segment.next_refresh_ms =
      segment.definition.kind == SegmentDefinition::Kind::kRule
          ? segment.definition.refresh.NextAfter(now, state.project->time_zone)
          : INT64_MAX;
}

void AudienceEngine::RebuildInterestLocked(ProjectState& state) {
  auto interest = std::make_shared<EventInterest>();
  auto want = [&](const CompiledStep& step) {
    if (step.event == query::kAnyEvent) {
      interest->all = true;
    } else if (step.event != 0) {
      if (interest->by_event.size() <= step.event) interest->by_event.resize(step.event + 1, 0);
      interest->by_event[step.event] = 1;
    }
  };
  for (auto& [id, segment] : state.segments) {
    if (!segment->compiled || !segment->definition.realtime) continue;
    for (auto& leaf : segment->rule.leaves) {
      if (leaf->kind == RuleNode::Kind::kDid) want(leaf->steps[0]);
    }
  }
  for (auto& [id, tag] : state.tags) {
    if (tag->incremental) want(tag->step);
  }
  // Names not seen yet get an id when first ingested: "$any"-free rules naming such an event
  // recompile on their next refresh; until then those events are not applied in real time.
  std::lock_guard lock(state.interest_mu);
  state.interest = std::move(interest);
}

std::shared_ptr<const EventInterest> AudienceEngine::InterestOf(state::ProjectId project) {
  ProjectState* state = nullptr;
  {
    std::lock_guard lock(projects_mu_);
    auto found = states_.find(project);
    if (found == states_.end()) return nullptr;
    state = found->second.get();
  }
  std::lock_guard lock(state->interest_mu);
  return state->interest;
}

Result<UserColumn*> AudienceEngine::ProfileColumnLocked(ProjectState& state,
                                                        const std::string& name) {
  state::ProjectSchema* schema = schemas_->ForProject(*state.project);
  auto found = state.profile_columns.find(name);
  if (found != state.profile_columns.end()) {
    // A column made before the property was first ingested is typed STRING and empty; once the
    // schema knows the property, it is loaded again with the schema's type.
    auto entry = schema->Find(state::SchemaKind::kUserProperty, name);
    if (!entry || entry->type == found->second->type()) return found->second.get();
    state.profile_columns.erase(found);
  }
  // One scan of every profile fills this column and every other profile column a definition
  // of the project uses, so that a project's rules cost one pass over the profiles.
  std::set<std::string> wanted = {name};
  std::function<void(const RuleNode&)> collect = [&](const RuleNode& node) {
    if (node.kind == RuleNode::Kind::kProfile) wanted.insert(node.name);
    for (const RuleNode& child : node.children) collect(child);
  };
  for (auto& [id, segment] : state.segments) collect(segment->definition.rule);
  for (auto& [id, tag] : state.tags) {
    for (const auto& value : tag->definition.values) collect(value.rule);
  }
  std::vector<std::pair<std::string, UserColumn*>> loading;
  for (const std::string& property : wanted) {
    if (state.profile_columns.count(property)) continue;
    auto entry = schema->Find(state::SchemaKind::kUserProperty, property);
    auto column = std::make_unique<UserColumn>(entry ? entry->type : ValueType::kString);
    if (entry) loading.emplace_back(property, column.get());
    state.profile_columns[property] = std::move(column);
  }
  if (!loading.empty()) {
    const std::string prefix = "prof/" + std::to_string(state.project->id) + "/";
    PropertyMap properties;
    Status error;
    Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
      if (key.size() != prefix.size() + 4) return true;
      const UserId user = state::ReadBigEndian32(key.substr(prefix.size()));
      properties.clear();
      if (!DecodePropertyMap(value, &properties)) {
        error =
            Status(ErrorCode::kCorruption, "undecodable profile of user " + std::to_string(user));
        return false;
      }
      for (const auto& [property, property_value] : properties) {
        for (auto& [wanted_name, column] : loading) {
          if (property == wanted_name) column->Set(user, &property_value);
        }
      }
      return true;
    });
    if (!scan.ok() || !error.ok()) {
      for (auto& [property, column] : loading) state.profile_columns.erase(property);
      return scan.ok() ? error : scan;
    }
  }
  return state.profile_columns[name].get();
}

// ---- rendering ----

void AudienceEngine::WriteSegmentLocked(const SegmentState& segment, JsonWriter& out,
                                        const Roaring* visible) {
  const SegmentDefinition& definition = segment.definition;
  out.BeginObject();
  out.Key("id").String(definition.id);
  out.Key("name").String(definition.name);
  out.Key("description").String(definition.description);
  out.Key("kind").String(definition.kind == SegmentDefinition::Kind::kRule ? "rule" : "static");
  if (definition.kind == SegmentDefinition::Kind::kRule) {
    out.Key("rule").Raw(definition.rule_json);
    out.Key("refresh");
    definition.refresh.Write(out);
    out.Key("realtime").Bool(definition.realtime);
  } else {
    out.Key("source").String(definition.source);
  }
  out.Key("size").Uint(visible ? segment.members.and_cardinality(*visible)
                               : segment.members.cardinality());
  out.Key("created_ms").Int(definition.created_ms);
  out.Key("updated_ms").Int(definition.updated_ms);
  out.Key("last_refresh_ms").Int(segment.last_refresh_ms);
  out.Key("last_refresh_elapsed_ms").Double(segment.last_refresh_elapsed_ms);
  if (segment.next_refresh_ms != INT64_MAX) out.Key("next_refresh_ms").Int(segment.next_refresh_ms);
  if (definition.kind == SegmentDefinition::Kind::kRule && !segment.compiled) {
    out.Key("error").String("the rule refers to a tag or segment that no longer exists");
  }
  out.EndObject();
}

// ---- persistence ----

Status AudienceEngine::SaveSegmentLocked(ProjectState& state, SegmentState& segment,
                                         bool with_members) {
  state::KvStore::Batch batch;
  const state::ProjectId pid = state.project->id;
  batch.Put(AudienceKey(pid, "seg", segment.definition.id),
            EncodeStoredSegment(segment.definition, segment.last_refresh_ms,
                                segment.last_refresh_elapsed_ms));
  if (with_members) {
    batch.Put(AudienceKey(pid, "segm", segment.definition.id), SerializeBitmap(segment.members));
    std::string saved_at;
    state::AppendBigEndian64(static_cast<uint64_t>(clock_->NowMs()), &saved_at);
    batch.Put(AudienceKey(pid, "segs", segment.definition.id), saved_at);
    segment.dirty = false;
  }
  std::string seq;
  state::AppendBigEndian64(state.next_id, &seq);
  batch.Put(AudienceKey(pid, "seq", ""), seq);
  SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
  return kv_->SyncWal();
}

Status AudienceEngine::AppendHistoryLocked(ProjectState& state, SegmentState& segment,
                                           std::string_view trigger, uint64_t entered,
                                           uint64_t exited, double elapsed_ms) {
  JsonWriter out;
  out.BeginObject();
  out.Key("time_ms").Int(clock_->NowMs());
  out.Key("size").Uint(segment.members.cardinality());
  out.Key("entered").Uint(entered);
  out.Key("exited").Uint(exited);
  out.Key("trigger").String(trigger);
  out.Key("elapsed_ms").Double(elapsed_ms);
  out.EndObject();
  std::string suffix = segment.definition.id + "/";
  state::AppendBigEndian64(static_cast<uint64_t>(clock_->NowMs()), &suffix);
  return kv_->Put(AudienceKey(state.project->id, "segh", suffix), out.Take());
}

void AudienceEngine::SaveDirty() {
  std::vector<ProjectState*> states;
  {
    std::lock_guard lock(projects_mu_);
    for (auto& [id, state] : states_) states.push_back(state.get());
  }
  for (ProjectState* state : states) {
    std::lock_guard lock(state->mu);
    for (auto& [id, segment] : state->segments) {
      if (segment->dirty) (void)SaveSegmentLocked(*state, *segment, true);
    }
  }
}

// ---- segments API ----

Result<AudienceEngine::SegmentState*> AudienceEngine::FindSegmentLocked(ProjectState& state,
                                                                        const std::string& id) {
  auto found = state.segments.find(id);
  if (found == state.segments.end()) return NotFound("no segment " + id);
  return found->second.get();
}

Status AudienceEngine::CheckSegmentNameLocked(ProjectState& state, const std::string& name,
                                              const std::string& except_id) {
  for (auto& [id, segment] : state.segments) {
    if (id != except_id && segment->definition.name == name) {
      return Status(ErrorCode::kConflict, "a segment named \"" + name + "\" exists (id " + id + ")",
                    "name");
    }
  }
  return Status::Ok();
}

Result<AudienceAnswer> AudienceEngine::CreateSegment(const state::ProjectInfo& project,
                                                     std::string_view body) {
  auto definition = ParseSegmentDefinition(body);
  if (!definition.ok()) return definition.status();
  if (definition->kind != SegmentDefinition::Kind::kRule) {
    return Status(ErrorCode::kInvalidQuery,
                  "rule: required (static segments are uploaded as CSV, see docs/segments.md)",
                  "rule");
  }
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  SEXTANT_RETURN_IF_ERROR(CheckSegmentNameLocked(state, definition->name, ""));
  auto segment = std::make_unique<SegmentState>();
  segment->definition = std::move(*definition);
  SegmentDefinition& stored = segment->definition;
  stored.id = std::to_string(state.next_id);
  if (!stored.refresh_given) stored.refresh = DefaultRefresh(stored.rule);
  stored.created_ms = stored.updated_ms = clock_->NowMs();
  SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, stored.rule, stored.id, &segment->rule));
  segment->compiled = true;
  const auto started = std::chrono::steady_clock::now();
  auto members = EvaluateLocked(state, segment->rule, stored.realtime);
  if (!members.ok()) return members.status();
  segment->members = std::move(*members);
  segment->computed = true;
  segment->last_refresh_ms = clock_->NowMs();
  segment->last_refresh_elapsed_ms = MsSince(started);
  ScheduleLocked(state, *segment, clock_->NowMs());
  ++state.next_id;
  SegmentState& created = *segment;
  state.segments[stored.id] = std::move(segment);
  SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, created, true));
  SEXTANT_RETURN_IF_ERROR(AppendHistoryLocked(
      state, created, "create", created.members.cardinality(), 0, created.last_refresh_elapsed_ms));
  RebuildInterestLocked(state);
  JsonWriter out;
  WriteSegmentLocked(created, out);
  return AudienceAnswer{201, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::CreateStaticLocked(ProjectState& state,
                                                          const std::string& name,
                                                          const std::string& description,
                                                          std::string source, Roaring members,
                                                          std::string_view extra_key,
                                                          const std::string& extra_json) {
  if (name.empty()) return Status(ErrorCode::kInvalidQuery, "name: required", "name");
  SEXTANT_RETURN_IF_ERROR(CheckSegmentNameLocked(state, name, ""));
  auto segment = std::make_unique<SegmentState>();
  SegmentDefinition& definition = segment->definition;
  definition.id = std::to_string(state.next_id);
  definition.name = name;
  definition.description = description;
  definition.kind = SegmentDefinition::Kind::kStatic;
  definition.source = std::move(source);
  definition.realtime = false;
  definition.created_ms = definition.updated_ms = clock_->NowMs();
  members.runOptimize();
  segment->members = std::move(members);
  segment->computed = true;
  segment->last_refresh_ms = definition.created_ms;
  ++state.next_id;
  SegmentState& created = *segment;
  state.segments[definition.id] = std::move(segment);
  SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, created, true));
  SEXTANT_RETURN_IF_ERROR(
      AppendHistoryLocked(state, created, "create", created.members.cardinality(), 0, 0));
  JsonWriter out;
  out.BeginObject();
  out.Key("segment");
  WriteSegmentLocked(created, out);
  if (!extra_json.empty()) out.Key(extra_key).Raw(extra_json);
  out.EndObject();
  return AudienceAnswer{201, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::CreateStaticSegment(const state::ProjectInfo& project,
                                                           const std::string& name,
                                                           const std::string& description,
                                                           std::string_view csv) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto ids = ReadCsvIdsLocked(state, csv, false);
  if (!ids.ok()) return ids.status();
  Roaring members;
  for (const auto& [user, unused] : ids->rows) members.add(user);
  JsonWriter upload;
  upload.BeginObject();
  upload.Key("matched").Uint(ids->rows.size());
  upload.Key("unmatched").Uint(ids->unmatched);
  upload.Key("unmatched_examples").BeginArray();
  for (const std::string& id : ids->unmatched_examples) upload.String(id);
  upload.EndArray();
  upload.EndObject();
  return CreateStaticLocked(state, name, description, "upload", std::move(members), "upload",
                            upload.Take());
}

Result<AudienceEngine::CsvIds> AudienceEngine::ReadCsvIdsLocked(ProjectState& state,
                                                                std::string_view csv,
                                                                bool with_values) {
  CsvIds out;
  import::CsvReader reader(csv);
  std::vector<std::string_view> fields;
  Status error;
  bool first = true;
  while (reader.Next(&fields, &error)) {
    const bool header_candidate = first;
    first = false;
    if (fields.empty() || (fields.size() == 1 && fields[0].empty())) continue;
    const std::string id(fields[0]);
    auto user = identities_->LookupDistinctId(state.project->id, id);
    if (!user.ok()) return user.status();
    if (*user == 0) {
      if (header_candidate) continue;  // a header row
      ++out.unmatched;
      if (out.unmatched_examples.size() < 10) out.unmatched_examples.push_back(id);
      continue;
    }
    if (with_values && fields.size() < 2) {
      return Status(ErrorCode::kBadRequest,
                    "line " + std::to_string(reader.record_line()) + ": expected distinct_id,value",
                    "line " + std::to_string(reader.record_line()));
    }
    out.rows.emplace_back(*user, with_values ? std::string(fields[1]) : std::string());
  }
  if (!error.ok()) return error;
  return out;
}

Result<AudienceAnswer> AudienceEngine::CreateSegmentFromQuery(const state::ProjectInfo& project,
                                                              std::string_view body,
                                                              const CustomerScope* scope) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  std::string_view name, description;
  if (root["name"].get_string().get(name) != simdjson::SUCCESS || name.empty()) {
    return Status(ErrorCode::kInvalidQuery, "name: required", "name");
  }
  if (root["description"].get_string().get(description) != simdjson::SUCCESS) description = {};
  simdjson::dom::element query;
  if (root["query"].get(query) != simdjson::SUCCESS || !query.is_object()) {
    return Status(ErrorCode::kInvalidQuery,
                  "query: required, an analysis query with \"users\" naming the cell", "query");
  }
  std::vector<UserId> users;
  auto answer = queries_->Run(project, simdjson::minify(query), &users,
                              scope ? &scope->filter : nullptr);
  if (!answer.ok()) {
    Status status = answer.status();
    if (status.code() == ErrorCode::kInvalidQuery) {
      return Status(ErrorCode::kInvalidQuery, "query." + status.message(),
                    "query." + status.field());
    }
    return status;
  }
  Roaring members;
  members.addMany(users.size(), users.data());
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  return CreateStaticLocked(state, std::string(name), std::string(description), "query",
                            std::move(members), "", "");
}

Result<AudienceAnswer> AudienceEngine::ListSegments(const state::ProjectInfo& project,
                                                    const CustomerScope* scope) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    std::optional<Roaring> visible;
    if (scope) {
      auto members = ScopeMembersLocked(state, *scope);
      if (!members.ok()) return members.status();
      visible = std::move(*members);
    }
    JsonWriter out;
    out.BeginObject().Key("segments").BeginArray();
    for (auto& [id, segment] : state.segments) {
      WriteSegmentLocked(*segment, out, visible ? &*visible : nullptr);
    }
    out.EndArray().EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::GetSegment(const state::ProjectInfo& project,
                                                  const std::string& id,
                                                  const CustomerScope* scope) {
  return WithSegment(project, id,
                     [&](ProjectState& state, SegmentState& segment) -> Result<AudienceAnswer> {
                       std::optional<Roaring> visible;
                       if (scope) {
                         auto members = ScopeMembersLocked(state, *scope);
                         if (!members.ok()) return members.status();
                         visible = std::move(*members);
                       }
                       JsonWriter out;
                       WriteSegmentLocked(segment, out, visible ? &*visible : nullptr);
                       return AudienceAnswer{200, out.Take()};
                     });
}

Result<AudienceAnswer> AudienceEngine::UpdateSegment(const state::ProjectInfo& project,
                                                     const std::string& id, std::string_view body) {
  auto definition = ParseSegmentDefinition(body);
  if (!definition.ok()) return definition.status();
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto found = FindSegmentLocked(state, id);
  if (!found.ok()) return found.status();
  SegmentState& segment = **found;
  SEXTANT_RETURN_IF_ERROR(CheckSegmentNameLocked(state, definition->name, id));
  if (segment.definition.kind == SegmentDefinition::Kind::kStatic) {
    if (definition->kind == SegmentDefinition::Kind::kRule) {
      return Status(ErrorCode::kInvalidQuery, "rule: a static segment has no rule", "rule");
    }
    segment.definition.name = definition->name;
    segment.definition.description = definition->description;
    segment.definition.updated_ms = clock_->NowMs();
    SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, segment, false));
  } else {
    if (definition->kind != SegmentDefinition::Kind::kRule) {
      return Status(ErrorCode::kInvalidQuery, "rule: required", "rule");
    }
    CompiledRule rule;
    SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, definition->rule, id, &rule));
    const auto started = std::chrono::steady_clock::now();
    auto members = EvaluateLocked(state, rule, definition->realtime);
    if (!members.ok()) return members.status();
    definition->id = id;
    definition->created_ms = segment.definition.created_ms;
    definition->updated_ms = clock_->NowMs();
    if (!definition->refresh_given) definition->refresh = DefaultRefresh(definition->rule);
    // The RuleNode tree moves with the definition; leaves point into it, so recompile after.
    segment.definition = std::move(*definition);
    SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, segment.definition.rule, id, &segment.rule));
    for (size_t i = 0; i < rule.leaves.size(); ++i) {
      segment.rule.leaves[i]->bits = std::move(rule.leaves[i]->bits);
      segment.rule.leaves[i]->aggregates = std::move(rule.leaves[i]->aggregates);
    }
    segment.compiled = true;
    // An edited rule is a new definition: its first result is not a membership change.
    const Roaring before = segment.members;
    segment.members = std::move(*members);
    segment.last_refresh_ms = clock_->NowMs();
    segment.last_refresh_elapsed_ms = MsSince(started);
    ScheduleLocked(state, segment, clock_->NowMs());
    SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, segment, true));
    SEXTANT_RETURN_IF_ERROR(AppendHistoryLocked(
        state, segment, "update", (segment.members - before).cardinality(),
        (before - segment.members).cardinality(), segment.last_refresh_elapsed_ms));
    RebuildInterestLocked(state);
  }
  JsonWriter out;
  WriteSegmentLocked(segment, out);
  return AudienceAnswer{200, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::DeleteSegment(const state::ProjectInfo& project,
                                                     const std::string& id) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto found = FindSegmentLocked(state, id);
  if (!found.ok()) return found.status();
  for (auto& [other_id, other] : state.segments) {
    for (const auto& leaf : other->rule.leaves) {
      if (leaf->kind == RuleNode::Kind::kSegment && leaf->segment_id == id) {
        return Status(ErrorCode::kConflict,
                      "segment " + other_id + " (" + other->definition.name + ") refers to it");
      }
    }
  }
  const std::string& name = (*found)->definition.name;
  std::function<bool(const RuleNode&)> refers = [&](const RuleNode& node) {
    if (node.kind == RuleNode::Kind::kSegment && (node.name == id || node.name == name))
      return true;
    for (const RuleNode& child : node.children) {
      if (refers(child)) return true;
    }
    return false;
  };
  for (auto& [tag_id, tag] : state.tags) {
    if (tag->definition.kind == TagKind::kLookalike && tag->definition.seed_segment == id) {
      return Status(ErrorCode::kConflict, "tag " + tag->definition.name + " uses it as its seed");
    }
    for (const auto& value : tag->definition.values) {
      if (refers(value.rule)) {
        return Status(ErrorCode::kConflict, "tag " + tag->definition.name + "'s rules use it");
      }
    }
  }
  const state::ProjectId pid = state.project->id;
  state::KvStore::Batch batch;
  batch.Delete(AudienceKey(pid, "seg", id));
  batch.Delete(AudienceKey(pid, "segm", id));
  batch.Delete(AudienceKey(pid, "segs", id));
  SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
  SEXTANT_RETURN_IF_ERROR(kv_->SyncWal());
  SEXTANT_RETURN_IF_ERROR(
      kv_->DeleteRange(AudienceKey(pid, "segh", id + "/"), AudienceKey(pid, "segh", id + "0")));
  state.segments.erase(id);
  RebuildInterestLocked(state);
  return AudienceAnswer{200, R"({"deleted":true})"};
}

Result<AudienceEngine::RefreshResult> AudienceEngine::RefreshLocked(ProjectState& state,
                                                                    SegmentState& segment,
                                                                    std::string_view trigger) {
  RefreshResult result;
  const auto started = std::chrono::steady_clock::now();
  if (segment.definition.kind != SegmentDefinition::Kind::kRule) {
    result.size = segment.members.cardinality();
    return result;
  }
  // Recompile: names the rule uses may have appeared (or gone) since.
  Status compiled =
      CompileRuleLocked(state, segment.definition.rule, segment.definition.id, &segment.rule);
  segment.compiled = compiled.ok();
  if (!compiled.ok()) return compiled;
  {
    std::lock_guard queue_lock(queue_mu_);
    segment.applied_from_seq = queued_;
  }
  auto members = EvaluateLocked(state, segment.rule, segment.definition.realtime);
  if (!members.ok()) return members.status();
  const Roaring before = std::move(segment.members);
  segment.members = std::move(*members);
  const Roaring entered = segment.members - before;
  const Roaring exited = before - segment.members;
  result.size = segment.members.cardinality();
  result.entered = entered.cardinality();
  result.exited = exited.cardinality();
  segment.last_refresh_ms = clock_->NowMs();
  segment.last_refresh_elapsed_ms = MsSince(started);
  result.elapsed_ms = segment.last_refresh_elapsed_ms;
  ScheduleLocked(state, segment, clock_->NowMs());
  // The announcements are made durable before the members are saved: a crash in between
  // leaves saved members older than the events, which the replay at load reconciles
  // (ReplayAnnouncementsLocked); the other order could lose announcements for good.
  if (segment.computed) {
    std::vector<MembershipChange> changes;
    for (UserId user : entered) changes.push_back({segment.definition.id, user, true});
    for (UserId user : exited) changes.push_back({segment.definition.id, user, false});
    Status announced = EmitMembershipEventsLocked(state, changes, /*wait=*/true);
    if (!announced.ok()) {
      segment.members = before;  // the next refresh announces the change again
      return announced;
    }
  }
  SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, segment, true));
  SEXTANT_RETURN_IF_ERROR(AppendHistoryLocked(state, segment, trigger, result.entered,
                                              result.exited, result.elapsed_ms));
  segment.computed = true;
  RebuildInterestLocked(state);
  return result;
}

Result<AudienceAnswer> AudienceEngine::RefreshSegment(const state::ProjectInfo& project,
                                                      const std::string& id) {
  return WithSegment(project, id,
                     [&](ProjectState& state, SegmentState& segment) -> Result<AudienceAnswer> {
                       auto result = RefreshLocked(state, segment, "refresh");
                       if (!result.ok()) return result.status();
                       JsonWriter out;
                       out.BeginObject();
                       out.Key("id").String(id);
                       out.Key("size").Uint(result->size);
                       out.Key("entered").Uint(result->entered);
                       out.Key("exited").Uint(result->exited);
                       out.Key("elapsed_ms").Double(result->elapsed_ms);
                       out.EndObject();
                       return AudienceAnswer{200, out.Take()};
                     });
}

Result<AudienceAnswer> AudienceEngine::EstimateSegment(const state::ProjectInfo& project,
                                                       std::string_view body,
                                                       const CustomerScope* scope) {
  simdjson::dom::parser parser;
  simdjson::dom::element root, rule_json;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  if (root["rule"].get(rule_json) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidQuery, "rule: required", "rule");
  }
  auto rule = ParseRuleJson(simdjson::minify(rule_json), "rule");
  if (!rule.ok()) return rule.status();
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  const auto started = std::chrono::steady_clock::now();
  CompiledRule compiled;
  SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, *rule, "", &compiled));
  auto members = EvaluateLocked(state, compiled, false);
  if (!members.ok()) return members.status();
  UserId user_limit = 1;
  auto universe = UniverseLocked(state, &user_limit);
  if (!universe.ok()) return universe.status();
  if (scope) {
    auto visible = ScopeMembersLocked(state, *scope);
    if (!visible.ok()) return visible.status();
    *members &= *visible;
    *universe &= *visible;
  }
  JsonWriter out;
  out.BeginObject();
  out.Key("size").Uint(members->cardinality());
  out.Key("users").Uint(universe->cardinality());
  out.Key("elapsed_ms").Double(MsSince(started));
  out.EndObject();
  return AudienceAnswer{200, out.Take()};
}

Result<Roaring> AudienceEngine::ScopeMembers(const state::ProjectInfo& project,
                                             const CustomerScope& scope) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  return ScopeMembersLocked(state, scope);
}

Result<Roaring> AudienceEngine::ScopeMembersLocked(ProjectState& state,
                                                   const CustomerScope& scope) {
  auto rule = ParseRuleJson(scope.rule_json, "scope");
  if (!rule.ok()) return rule.status();
  CompiledRule compiled;
  SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, *rule, "", &compiled));
  return EvaluateLocked(state, compiled, false);
}

Result<AudienceAnswer> AudienceEngine::SegmentUsers(const state::ProjectInfo& project,
                                                    const std::string& id, size_t offset,
                                                    size_t limit,
                                                    const std::vector<std::string>& columns,
                                                    bool csv, const CustomerScope* scope) {
  std::vector<UserId> page;
  uint64_t total = 0;
  {
    ProjectState& state = StateOf(project);
    std::lock_guard lock(state.mu);
    SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
    auto found = FindSegmentLocked(state, id);
    if (!found.ok()) return found.status();
    std::optional<Roaring> scoped;
    if (scope) {
      auto visible = ScopeMembersLocked(state, *scope);
      if (!visible.ok()) return visible.status();
      scoped = (*found)->members & *visible;
    }
    const Roaring& members = scoped ? *scoped : (*found)->members;
    total = members.cardinality();
    if (offset < total) {
      uint32_t first = 0;
      members.select(static_cast<uint32_t>(offset), &first);
      auto it = members.begin();
      it.equalorlarger(first);
      for (; it != members.end() && page.size() < limit; ++it) page.push_back(*it);
    }
  }
  profile::ProfileStore profiles(kv_);
  JsonWriter out;
  std::string text;
  if (csv) {
    text = "distinct_id";
    for (const std::string& column : columns) text += "," + CsvField(column);
    text += "\n";
  } else {
    out.BeginObject();
    out.Key("total").Uint(total);
    out.Key("offset").Uint(offset);
    out.Key("users").BeginArray();
  }
  for (UserId user : page) {
    auto distinct_id = identities_->DistinctIdOf(project.id, user);
    if (!distinct_id.ok()) return distinct_id.status();
    auto profile = profiles.GetProfile(project.id, user);
    if (!profile.ok() && profile.status().code() != ErrorCode::kNotFound) return profile.status();
    const PropertyMap empty;
    const PropertyMap& properties = profile.ok() ? *profile : empty;
    auto find = [&](const std::string& name) -> const Value* {
      for (const auto& [property, value] : properties) {
        if (property == name) return &value;
      }
      return nullptr;
    };
    if (csv) {
      text += CsvField(*distinct_id);
      for (const std::string& column : columns) {
        text += ",";
        const Value* value = find(column);
        if (value == nullptr) continue;
        text += CsvField(ValueText(*value, project.time_zone));
      }
      text += "\n";
    } else {
      out.BeginObject();
      out.Key("user_id").Uint(user);
      out.Key("distinct_id").String(*distinct_id);
      out.Key("profile").BeginObject();
      for (const std::string& column : columns) {
        const Value* value = find(column);
        out.Key(column);
        if (value == nullptr) {
          out.Null();
        } else {
          out.PropertyValue(*value, project.time_zone);
        }
      }
      out.EndObject();
      out.EndObject();
    }
  }
  if (csv) return AudienceAnswer{200, std::move(text), "text/csv; charset=utf-8"};
  out.EndArray().EndObject();
  return AudienceAnswer{200, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::SegmentHistory(const state::ProjectInfo& project,
                                                      const std::string& id) {
  return WithSegment(
      project, id, [&](ProjectState& state, SegmentState& segment) -> Result<AudienceAnswer> {
        JsonWriter out;
        out.BeginObject().Key("id").String(id).Key("history").BeginArray();
        SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(AudienceKey(state.project->id, "segh", id + "/"),
                                                [&](std::string_view, std::string_view value) {
                                                  out.Raw(value);
                                                  return true;
                                                }));
        out.EndArray().EndObject();
        return AudienceAnswer{200, out.Take()};
      });
}

Result<AudienceAnswer> AudienceEngine::UserSegments(const state::ProjectInfo& project,
                                                    UserId user) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    JsonWriter out;
    out.BeginObject().Key("user_id").Uint(user).Key("segments").BeginArray();
    for (auto& [id, segment] : state.segments) {
      if (!segment->members.contains(user)) continue;
      out.BeginObject();
      out.Key("id").String(id);
      out.Key("name").String(segment->definition.name);
      out.EndObject();
    }
    out.EndArray().EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

// ---- membership events ----

Status AudienceEngine::EmitMembershipEventsLocked(ProjectState& state,
                                                  const std::vector<MembershipChange>& changes,
                                                  bool wait) {
  if (pipeline_ == nullptr || changes.empty()) return Status::Ok();
  const int64_t now = clock_->NowMs();
  std::vector<ingest::RecordInput> records;
  std::vector<std::future<Status>> durable;
  auto flush = [&] {
    if (records.empty()) return;
    ingest::RequestContext context;
    context.source = "audience";
    // No peer: the server's own events carry no $ip (it would be the loopback address).
    context.all_projects_authorized = true;
    auto promise = std::make_shared<std::promise<Status>>();
    if (wait) durable.push_back(promise->get_future());
    pipeline_->Ingest(state.project->name, std::move(records), context,
                      [promise](ingest::IngestOutcome, Status status) {
                        promise->set_value(std::move(status));
                      });
    records.clear();
  };
  for (const MembershipChange& change : changes) {
    auto distinct_id = identities_->DistinctIdOf(state.project->id, change.user);
    if (!distinct_id.ok() || distinct_id->empty()) continue;
    auto segment = state.segments.find(change.segment_id);
    Record record;
    record.type = RecordType::kTrack;
    record.event = change.enter ? "$segment_enter" : "$segment_exit";
    record.distinct_id = std::move(*distinct_id);
    record.time_ms = now;
    record.has_time = true;
    record.properties.emplace_back("segment_id", Value::String(change.segment_id));
    if (segment != state.segments.end()) {
      record.properties.emplace_back("segment_name",
                                     Value::String(segment->second->definition.name));
    }
    ingest::RecordInput input;
    input.parsed = std::move(record);
    records.push_back(std::move(input));
    if (records.size() == kMembershipEventBatch) flush();
  }
  flush();
  Status result;
  for (auto& done : durable) {
    Status status = done.get();
    if (result.ok() && !status.ok()) result = std::move(status);
  }
  return result;
}

// ---- realtime ----

void AudienceEngine::OnCommitted(CommittedChanges changes) {
  {
    std::lock_guard lock(queue_mu_);
    ++queued_;
    changes.sequence = queued_;
    queue_.push_back(std::move(changes));
  }
  queue_cv_.notify_one();
}

void AudienceEngine::Drain() {
  std::unique_lock lock(queue_mu_);
  const uint64_t target = queued_;
  drained_cv_.wait(lock, [&] { return applied_ >= target || !worker_.joinable(); });
}

void AudienceEngine::WorkerLoop() {
  std::unique_lock lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) break;
    CommittedChanges changes = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    ApplyChanges(changes);
    lock.lock();
    applied_ = changes.sequence;
    drained_cv_.notify_all();
  }
  applied_ = queued_;
  drained_cv_.notify_all();
}

void AudienceEngine::ApplyChanges(const CommittedChanges& changes) {
  ProjectState* state = nullptr;
  {
    std::lock_guard lock(projects_mu_);
    auto found = states_.find(changes.project);
    if (found == states_.end()) return;  // no segment or tag was ever used in the project
    state = found->second.get();
  }
  std::lock_guard lock(state->mu);
  if (!state->loaded) return;
  const int64_t now = clock_->NowMs();
  const TimeZone& zone = state->project->time_zone;
  std::vector<MembershipChange> membership;
  // People whose leaves changed, per segment; re-evaluated once per change set.
  TouchedUsers touched;

  for (const store::EventRow& row : changes.events) {
    const UserId user = row.user_id;
    for (auto& [id, segment] : state->segments) {
      if (!segment->compiled || !segment->definition.realtime) continue;
      if (changes.sequence <= segment->applied_from_seq) continue;  // in its last full scan
      bool changed = false;
      for (auto& leaf : segment->rule.leaves) {
        if (leaf->kind != RuleNode::Kind::kDid) continue;
        if (!RowMatches(leaf->steps[0], row)) continue;
        if (!Resolve(leaf->node->within, now, zone).Contains(row.time_ms)) continue;
        double delta = 1;
        if (leaf->node->measure == RuleNode::Measure::kSum) {
          delta = 0;
          for (const store::PropertyCell& cell : row.properties) {
            if (cell.property_id == leaf->sum_property && cell.value.type() == ValueType::kNumber) {
              delta = cell.value.number();
            }
          }
        }
        double& aggregate = leaf->aggregates[user];
        aggregate += delta;
        const Value value = Value::Number(aggregate);
        const bool holds = query::EvaluateValue(leaf->threshold, &value);
        if (holds != leaf->bits.contains(user)) {
          if (holds) {
            leaf->bits.add(user);
          } else {
            leaf->bits.remove(user);
          }
          changed = true;
        }
      }
      if (changed) touched[id].push_back(user);
    }
    ApplyEventToTagsLocked(*state, row, changes.sequence, now, &touched);
  }
  for (UserId user : changes.profile_users) {
    ApplyProfileChangeLocked(*state, user, &touched);
  }
  ReevaluateLocked(*state, touched, &membership);
  if (!membership.empty()) {
    const double seconds = (clock_->MonotonicMicros() - changes.committed_us) / 1e6;
    membership_latency_.Observe(seconds);
    (void)EmitMembershipEventsLocked(*state, membership);  // realtime: not waited for
  }
}

void AudienceEngine::ApplyProfileChangeLocked(ProjectState& state, UserId user,
                                              TouchedUsers* touched) {
  if (state.profile_columns.empty()) return;
  profile::ProfileStore profiles(kv_);
  auto profile = profiles.GetProfile(state.project->id, user);
  const PropertyMap empty;
  const PropertyMap& properties = profile.ok() ? *profile : empty;
  for (auto& [name, column] : state.profile_columns) {
    const Value* value = nullptr;
    for (const auto& [property, property_value] : properties) {
      if (property == name) value = &property_value;
    }
    column->Set(user, value);
  }
  for (auto& [id, segment] : state.segments) {
    if (!segment->compiled || !segment->definition.realtime) continue;
    bool changed = false;
    for (auto& leaf : segment->rule.leaves) {
      if (leaf->kind != RuleNode::Kind::kProfile) continue;
      auto column = state.profile_columns.find(leaf->column);
      if (column == state.profile_columns.end()) continue;
      const std::optional<Value> value = column->second->Get(user);
      const bool holds = query::EvaluateValue(leaf->condition, value ? &*value : nullptr);
      if (holds != leaf->bits.contains(user)) {
        holds ? leaf->bits.add(user) : leaf->bits.remove(user);
        changed = true;
      }
    }
    if (changed) (*touched)[id].push_back(user);
  }
}

void AudienceEngine::ReevaluateLocked(ProjectState& state, TouchedUsers& touched,
                                      std::vector<MembershipChange>* membership) {
  // Segments referring to a changed segment are re-evaluated after it, until nothing changes
  // (references are acyclic, so this ends).
  while (!touched.empty()) {
    auto [id, users] = *touched.begin();
    touched.erase(touched.begin());
    auto found = state.segments.find(id);
    if (found == state.segments.end()) continue;
    SegmentState& segment = *found->second;
    if (!segment.compiled) continue;
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    for (UserId user : users) {
      const bool member = MemberOf(segment.rule, 0, user);
      if (member == segment.members.contains(user)) continue;
      member ? segment.members.add(user) : segment.members.remove(user);
      segment.dirty = true;
      membership->push_back({id, user, member});
      for (auto& [other_id, other] : state.segments) {
        if (!other->compiled || !other->definition.realtime) continue;
        for (auto& leaf : other->rule.leaves) {
          if (leaf->kind != RuleNode::Kind::kSegment || leaf->segment_id != id) continue;
          member ? leaf->bits.add(user) : leaf->bits.remove(user);
          touched[other_id].push_back(user);
        }
      }
    }
  }
}

// ---- scheduling ----

void AudienceEngine::SchedulerLoop() {
  int64_t last_save = clock_->NowMs();
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    scheduler_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    RunDue();
    if (clock_->NowMs() - last_save >= kSaveDirtyEveryMs) {
      SaveDirty();
      last_save = clock_->NowMs();
    }
    lock.lock();
  }
}

void AudienceEngine::RunDue() {
  // Projects with audience definitions are loaded at first use; load them all here so that
  // their schedules (and the refresh after a restart) run without waiting for a request.
  for (const auto& project : projects_->List()) {
    ProjectState& state = StateOf(*project);
    std::lock_guard lock(state.mu);
    if (!state.loaded) {
      // Probed once: a project without definitions gets them through the API, which loads it.
      if (state.probed) continue;
      state.probed = true;
      bool any = false;
      (void)kv_->ScanPrefix(AudienceKey(project->id, "", ""),
                            [&](std::string_view, std::string_view) {
                              any = true;
                              return false;
                            });
      if (!any) continue;
      if (!LoadLocked(state).ok()) continue;
    }
    const int64_t now = clock_->NowMs();
    for (auto& [id, tag] : state.tags) {
      if (tag->next_run_ms <= now) {
        (void)RunTagLocked(state, *tag);
        tag->next_run_ms = tag->definition.schedule.NextAfter(now, project->time_zone);
      }
    }
    for (auto& [id, segment] : state.segments) {
      if (segment->next_refresh_ms <= now) {
        auto result = RefreshLocked(state, *segment, "schedule");
        if (!result.ok()) ScheduleLocked(state, *segment, now);
      }
    }
  }
}

namespace {

// The segment of `state` with id or name `id_or_name`, or null.
template <class Segments>
auto FindByIdOrName(Segments& segments, const std::string& id_or_name)
    -> decltype(segments.begin()->second.get()) {
  auto found = segments.find(id_or_name);
  if (found != segments.end()) return found->second.get();
  for (auto& [id, segment] : segments) {
    if (segment->definition.name == id_or_name) return segment.get();
  }
  return nullptr;
}

}  // namespace

Result<std::string> AudienceEngine::SegmentIdOf(const state::ProjectInfo& project,
                                                const std::string& id_or_name) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto* segment = FindByIdOrName(state.segments, id_or_name);
  if (segment == nullptr) return Status(ErrorCode::kNotFound, "no segment " + id_or_name);
  return segment->definition.id;
}

Result<bool> AudienceEngine::IsMember(const state::ProjectInfo& project,
                                      const std::string& id_or_name, UserId user) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto* segment = FindByIdOrName(state.segments, id_or_name);
  if (segment == nullptr) return Status(ErrorCode::kNotFound, "no segment " + id_or_name);
  return segment->members.contains(user);
}

Result<Roaring> AudienceEngine::SegmentMembers(const state::ProjectInfo& project,
                                               const std::string& id_or_name) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto* segment = FindByIdOrName(state.segments, id_or_name);
  if (segment == nullptr) return Status(ErrorCode::kNotFound, "no segment " + id_or_name);
  return segment->members;
}

}  // namespace sextant::audience
