#include "ingest/ingest_pipeline.h"

#include <algorithm>
#include <atomic>

#include "common/json_writer.h"
#include "decode/user_agent.h"

namespace sextant::ingest {

namespace {

std::string DedupeStateKey(state::ProjectId project, uint64_t key) {
  std::string out = "dd/" + std::to_string(project) + "/";
  state::AppendBigEndian64(key, &out);
  return out;
}

state::SchemaKind PropertyKindOf(RecordType type, bool* checked) {
  *checked = true;
  if (IsEventRecord(type)) return state::SchemaKind::kEventProperty;
  if (type == RecordType::kProfileSet || type == RecordType::kProfileSetOnce ||
      type == RecordType::kProfileIncrement || type == RecordType::kProfileAppend)
    return state::SchemaKind::kUserProperty;
  *checked = false;
  return state::SchemaKind::kUserProperty;
}

void SetIfAbsent(Record* record, const std::string& name, const std::string& value) {
  if (value.empty() || record->FindProperty(name)) return;
  record->properties.emplace_back(name, Value::String(value));
}

// The distinct_id stored with an event: the record's, else its login id, else its first id.
std::string StoredDistinctId(const Record& record) {
  if (!record.distinct_id.empty()) return record.distinct_id;
  for (const Identity& id : record.identities)
    if (id.key == identity::kLoginKey) return id.value;
  if (!record.login_id.empty()) return record.login_id;
  return record.identities.empty() ? record.anonymous_id : record.identities.front().value;
}

}  // namespace

std::string RenderRecordJson(const Record& record, const TimeZone& zone) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("type").String(RecordTypeName(record.type));
  if (!record.event.empty()) writer.Key("event").String(record.event);
  if (!record.distinct_id.empty()) writer.Key("distinct_id").String(record.distinct_id);
  if (!record.original_id.empty()) writer.Key("original_id").String(record.original_id);
  if (!record.login_id.empty()) writer.Key("login_id").String(record.login_id);
  if (!record.anonymous_id.empty()) writer.Key("anonymous_id").String(record.anonymous_id);
  if (!record.identities.empty()) {
    writer.Key("identities").BeginObject();
    for (const Identity& id : record.identities) writer.Key(id.key).String(id.value);
    writer.EndObject();
  }
  if (record.has_time) writer.Key("time").Int(record.time_ms);
  if (record.time_free) writer.Key("time_free").Bool(true);
  if (!record.project.empty()) writer.Key("project").String(record.project);
  if (record.track_id) writer.Key("_track_id").Int(*record.track_id);
  if (!record.item_type.empty()) writer.Key("item_type").String(record.item_type);
  if (!record.item_id.empty()) writer.Key("item_id").String(record.item_id);
  writer.Key("properties").BeginObject();
  for (const auto& [name, value] : record.properties) {
    writer.Key(name);
    writer.PropertyValue(value, zone);
  }
  writer.EndObject();
  writer.EndObject();
  return writer.Take();
}

IngestPipeline::IngestPipeline(IngestOptions options, const Clock* clock, state::KvStore* kv,
                               state::ProjectRegistry* projects, state::SchemaRegistry* schemas,
                               state::IngestErrorLog* error_log,
                               identity::IdentityStore* identities,
                               profile::ProfileStore* profiles, store::EventStore* events)
    : options_(std::move(options)),
      clock_(clock),
      kv_(kv),
      projects_(projects),
      schemas_(schemas),
      error_log_(error_log),
      identities_(identities),
      profiles_(profiles),
      events_(events),
      dedupe_(clock, options_.dedupe_window_ms, options_.dedupe_max_keys_per_generation) {}

std::mutex& IngestPipeline::ProjectLock(state::ProjectId project) {
  std::lock_guard lock(locks_mu_);
  auto& slot = project_locks_[project];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

std::string IngestPipeline::ClientIp(const RequestContext& context) const {
  if (!context.forwarded_for.empty()) {
    for (const std::string& proxy : options_.trusted_proxies) {
      if (proxy != context.peer_ip) continue;
      std::string_view first(context.forwarded_for);
      first = first.substr(0, first.find(','));
      while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
      while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
      if (!first.empty()) return std::string(first);
    }
  }
  return context.peer_ip;
}

void IngestPipeline::Enrich(Record* record, const RequestContext& context) const {
  SetIfAbsent(record, "$ip", ClientIp(context));
  const Value* lib = record->FindProperty("$lib");
  bool web = record->lib == "js" || (lib && lib->type() == ValueType::kString && lib->str() == "js");
  if (!web || context.user_agent.empty()) return;
  decode::UserAgentInfo ua = decode::ParseUserAgent(context.user_agent);
  SetIfAbsent(record, "$os", ua.os);
  SetIfAbsent(record, "$os_version", ua.os_version);
  SetIfAbsent(record, "$browser", ua.browser);
  SetIfAbsent(record, "$browser_version", ua.browser_version);
  SetIfAbsent(record, "$model", ua.model);
  SetIfAbsent(record, "$manufacturer", ua.manufacturer);
}

void IngestPipeline::Reject(const state::ProjectInfo* project, size_t index,
                            const RecordInput& input, Status status,
                            const RequestContext& context, int64_t now_ms, IngestOutcome* outcome,
                            state::KvStore::Batch* batch) {
  metrics_.records_rejected.Add(std::string(ErrorCodeName(status.code())));
  if (project) {
    std::string excerpt = input.raw_json;
    if (excerpt.empty() && input.parsed.ok())
      excerpt = RenderRecordJson(input.parsed.value(), project->time_zone);
    error_log_->Append(project->id,
                       {now_ms, status.code(), status.field(),
                        "record " + std::to_string(index) + ": " + status.message(),
                        std::move(excerpt), context.source},
                       batch);
  }
  outcome->rejected.push_back({index, std::move(status)});
}

void IngestPipeline::Ingest(const std::string& default_project, std::vector<RecordInput> records,
                            const RequestContext& context,
                            std::function<void(IngestOutcome, Status)> done) {
  const int64_t now_ms = clock_->NowMs();
  decode::ValidationOptions validation = options_.validation;
  validation.now_ms = now_ms;
  auto outcome = std::make_shared<IngestOutcome>();
  // Where refusals are logged when the record's project is unknown: the request's project,
  // else "default" — so that nothing is dropped silently.
  std::shared_ptr<const state::ProjectInfo> fallback = projects_->Find(default_project);
  std::shared_ptr<const state::ProjectInfo> log_project = fallback ? fallback : projects_->Find("default");
  state::KvStore::Batch reject_batch;

  // Stateless steps, no lock: parse result, project, token, validation.
  std::vector<Group> groups;
  for (size_t index = 0; index < records.size(); ++index) {
    RecordInput& input = records[index];
    if (!input.parsed.ok()) {
      Reject(log_project.get(), index, input, input.parsed.status(), context, now_ms, outcome.get(),
             &reject_batch);
      continue;
    }
    Record& record = input.parsed.value();
    const std::string& name = record.project.empty() ? default_project : record.project;
    std::shared_ptr<const state::ProjectInfo> project =
        name == default_project ? fallback : projects_->Find(name);
    if (!project) {
      Reject(log_project.get(), index, input,
             Status(ErrorCode::kUnknownProject, "unknown project " + name, "project"), context,
             now_ms, outcome.get(), &reject_batch);
      continue;
    }
    if (!project->token.empty() && !context.all_projects_authorized) {
      const std::string& token = record.token.empty() ? context.url_token : record.token;
      if (token != project->token) {
        Reject(project.get(), index, input,
               Status(ErrorCode::kBadToken, "missing or wrong token for project " + name, "token"),
               context, now_ms, outcome.get(), &reject_batch);
        continue;
      }
    }
    Status valid = decode::ValidateRecord(&record, validation);
    if (!valid.ok()) {
      Reject(project.get(), index, input, std::move(valid), context, now_ms, outcome.get(),
             &reject_batch);
      continue;
    }
    if (!record.has_time) {
      record.time_ms = now_ms;
      record.has_time = true;
    }
    Group* group = nullptr;
    for (Group& existing : groups)
      if (existing.project->id == project->id) group = &existing;
    if (!group) group = &groups.emplace_back(Group{project, {}});
    group->indexes.push_back(index);
  }

  Status write = kv_->Write(&reject_batch);
  if (!write.ok()) {
    done(IngestOutcome(), write);
    return;
  }

  // Stateful steps, per project under its lock; then one durable append per project.
  struct Pending {
    std::vector<store::EventRow> rows;
    state::ProjectId project;
    // For each commit observer that wants some of it.
    std::vector<std::pair<CommitObserver*, std::shared_ptr<CommittedChanges>>> observed;
    // Deduplication keys of the records, taken back if the append fails.
    std::vector<uint64_t> dedupe_keys;
  };
  std::vector<Pending> pending;
  for (const Group& group : groups) {
    std::vector<store::EventRow> rows;
    std::vector<store::UserId> profile_users;
    std::vector<uint64_t> dedupe_keys;
    {
      std::lock_guard lock(ProjectLock(group.project->id));
      state::KvStore::Batch batch;
      rows = ApplyGroup(*group.project, records, group.indexes, context, now_ms, outcome.get(),
                        &batch, &profile_users, &dedupe_keys);
      batch.SortByKey();  // new customers' user records then append in order (kv_store.h)
      write = kv_->Write(&batch);
    }
    if (!write.ok()) {
      dedupe_.Forget(dedupe_keys);
      done(IngestOutcome(), write);
      return;
    }
    std::vector<std::pair<CommitObserver*, std::shared_ptr<CommittedChanges>>> observed;
    for (CommitObserver* observer : observers_) {
      auto interest = observer->InterestOf(group.project->id);
      if (!interest) continue;
      auto changes = std::make_shared<CommittedChanges>();
      changes->project = group.project->id;
      for (const store::EventRow& row : rows) {
        if (interest->Wants(row.event_id)) changes->events.push_back(row);
      }
      changes->profile_users = profile_users;
      if (!changes->events.empty() || !changes->profile_users.empty()) {
        observed.emplace_back(observer, std::move(changes));
      }
    }
    pending.push_back({std::move(rows), group.project->id, std::move(observed), std::move(dedupe_keys)});
  }
  metrics_.records_accepted.Add(context.source, outcome->accepted);
  std::stable_sort(outcome->rejected.begin(), outcome->rejected.end(),
                   [](const RejectedRecord& a, const RejectedRecord& b) { return a.index < b.index; });

  // Nothing changed state that needs syncing only if nothing was accepted or logged.
  if (pending.empty() && outcome->rejected.empty()) {
    done(std::move(*outcome), Status::Ok());
    return;
  }
  if (pending.empty()) pending.push_back({{}, log_project ? log_project->id : 0, {}, {}});

  struct Join {
    std::atomic<size_t> remaining;
    std::mutex mu;
    Status first_error;
    std::shared_ptr<IngestOutcome> outcome;
    std::function<void(IngestOutcome, Status)> done;
  };
  auto join = std::make_shared<Join>();
  join->remaining = pending.size();
  join->outcome = outcome;
  join->done = std::move(done);
  for (Pending& item : pending) {
    events_->Append(item.project, std::move(item.rows),
                    [this, join, observed = std::move(item.observed),
                     dedupe_keys = std::move(item.dedupe_keys), clock = clock_](Status status) {
      // Not stored: a resend must not be taken for a duplicate.
      if (!status.ok()) dedupe_.Forget(dedupe_keys);
      if (status.ok()) {
        for (auto& [observer, changes] : observed) {
          changes->committed_us = clock->MonotonicMicros();
          observer->OnCommitted(std::move(*changes));
        }
      }
      if (!status.ok()) {
        std::lock_guard lock(join->mu);
        if (join->first_error.ok()) join->first_error = status;
      }
      if (join->remaining.fetch_sub(1) == 1) {
        Status result;
        {
          std::lock_guard lock(join->mu);
          result = join->first_error;
        }
        join->done(std::move(*join->outcome), result);
      }
    });
  }
}

std::vector<store::EventRow> IngestPipeline::ApplyGroup(const state::ProjectInfo& project,
                                                        std::vector<RecordInput>& records,
                                                        const std::vector<size_t>& indexes,
                                                        const RequestContext& context,
                                                        int64_t now_ms, IngestOutcome* outcome,
                                                        state::KvStore::Batch* batch,
                                                        std::vector<store::UserId>* profile_users,
                                                        std::vector<uint64_t>* dedupe_keys) {
  std::vector<store::EventRow> rows;
  state::ProjectSchema* schema = schemas_->ForProject(project);
  for (size_t index : indexes) {
    RecordInput& input = records[index];
    Record& record = input.parsed.value();
    const bool is_event = IsEventRecord(record.type);
    auto reject = [&](Status status) {
      Reject(&project, index, input, std::move(status), context, now_ms, outcome, batch);
    };

    // Events are keyed by the distinct_id they are stored with, so that the key rebuilt from
    // the store after a restart is the same.
    const std::string distinct_id = is_event ? StoredDistinctId(record) : record.distinct_id;
    uint64_t dedupe_key = 0;
    if (record.track_id) {
      dedupe_key = DedupeKey(project.id, *record.track_id, record.time_ms, distinct_id,
                             is_event ? std::string_view(record.event)
                                      : RecordTypeName(record.type));
      if (dedupe_.Contains(dedupe_key)) {
        ++outcome->duplicates;
        metrics_.dedupe_hits.Add();
        continue;
      }
    }
    if (is_event) Enrich(&record, context);
    bool checked;
    state::SchemaKind kind = PropertyKindOf(record.type, &checked);
    if (checked) {
      Status types = schema->CheckAndCoerce(kind, &record.properties);
      if (!types.ok()) {
        reject(std::move(types));
        continue;
      }
    }
    if (context.dry_run) {
      ++outcome->accepted;
      continue;
    }

    if (IsItemRecord(record.type)) {
      Status applied = profiles_->ApplyItem(project.id, record);
      if (!applied.ok()) {
        reject(std::move(applied));
        continue;
      }
    } else {
      const int32_t day = project.time_zone.DayOf(record.time_ms);
      auto resolved = identities_->Resolve(project.id, record, batch,
                                           is_event ? std::optional<int32_t>(day) : std::nullopt);
      if (!resolved.ok()) {
        reject(resolved.status());
        continue;
      }
      store::UserId user = resolved->user_id;
      if (IsProfileRecord(record.type)) {
        Status applied = profiles_->ApplyProfile(project.id, user, record);
        if (!applied.ok()) {
          reject(std::move(applied));
          continue;
        }
        profile_users->push_back(user);
        if (checked) {
          for (const auto& [name, value] : record.properties)
            schema->Register(kind, name, value.type(), now_ms, batch);
        }
      } else {
        // $is_first_day is corrected on the server when the SDK sends it: true only on the
        // day of the person's first stored event.
        const int32_t first_day = resolved->first_day;
        for (auto& [name, value] : record.properties)
          if (name == "$is_first_day") value = Value::Bool(day == first_day);

        store::EventRow row;
        row.user_id = user;
        row.time_ms = record.time_ms;
        row.event_id = schema->Register(state::SchemaKind::kEvent, record.event, ValueType::kString,
                                        now_ms, batch);
        row.track_id = record.track_id.value_or(0);
        row.receive_time_ms = now_ms;
        row.distinct_id = distinct_id;
        row.properties.reserve(record.properties.size());
        for (auto& [name, value] : record.properties) {
          uint32_t id = schema->Register(kind, name, value.type(), now_ms, batch);
          row.properties.push_back({id, std::move(value)});
        }
        rows.push_back(std::move(row));
      }
    }
    if (record.track_id) {
      dedupe_.Insert(dedupe_key);
      dedupe_keys->push_back(dedupe_key);
      if (!is_event) {
        std::string stamp;
        state::AppendBigEndian64(static_cast<uint64_t>(now_ms), &stamp);
        batch->Put(DedupeStateKey(project.id, dedupe_key), stamp);
      }
    }
    ++outcome->accepted;
  }
  return rows;
}

void IngestPipeline::LogPayloadError(const std::string& project_name, const Status& status,
                                     std::string excerpt, const RequestContext& context,
                                     std::function<void(Status)> done) {
  metrics_.records_rejected.Add(std::string(ErrorCodeName(status.code())));
  auto project = projects_->Find(project_name);
  if (!project) project = projects_->Find("default");
  if (!project) {
    done(Status::Ok());
    return;
  }
  state::KvStore::Batch batch;
  error_log_->Append(project->id,
                     {clock_->NowMs(), status.code(), status.field(), status.message(),
                      std::move(excerpt), context.source},
                     &batch);
  Status write = kv_->Write(&batch);
  if (!write.ok()) {
    done(write);
    return;
  }
  events_->Append(project->id, {}, std::move(done));
}

Status IngestPipeline::RebuildDedupe() {
  const int64_t now_ms = clock_->NowMs();
  const int64_t horizon = now_ms - options_.dedupe_window_ms;
  for (const auto& project : projects_->List()) {
    // Profile and item operations: their keys live in the KV store; old ones are pruned here.
    std::string prefix = "dd/" + std::to_string(project->id) + "/";
    std::vector<std::string> expired;
    Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
      if (static_cast<int64_t>(state::ReadBigEndian64(value)) < horizon) {
        expired.emplace_back(key);
      } else {
        dedupe_.Insert(state::ReadBigEndian64(key.substr(prefix.size())));
      }
      return true;
    });
    SEXTANT_RETURN_IF_ERROR(scan);
    for (const std::string& key : expired) SEXTANT_RETURN_IF_ERROR(kv_->Delete(key));

    // Events: the stored rows of the window (event time is what the key hashes; rows whose
    // event time is older than the window are client history imports and cannot be resent
    // within it by the SDKs' retry logic anyway).
    auto range = events_->DayRange(project->id);
    if (!range) continue;
    state::ProjectSchema* schema = schemas_->ForProject(*project);
    store::ScanSpec spec;
    spec.first_day = std::max(range->first, project->time_zone.DayOf(horizon));
    spec.last_day = range->second;
    if (spec.first_day > spec.last_day) continue;
    spec.with_distinct_id = true;
    spec.with_track_id = true;
    std::vector<std::string> event_names;
    Status events = events_->Scan(project->id, spec, [&](const store::EventBatch& batch) {
      for (size_t row = 0; row < batch.size; ++row) {
        if (batch.track_ids[row] == 0) continue;
        store::EventId event_id = batch.event_ids[row];
        if (event_names.size() <= event_id) event_names.resize(event_id + 1);
        if (event_names[event_id].empty()) event_names[event_id] = schema->EventName(event_id);
        dedupe_.Insert(DedupeKey(project->id, batch.track_ids[row], batch.times_ms[row],
                                 batch.distinct_ids[row], event_names[event_id]));
      }
      return true;
    });
    SEXTANT_RETURN_IF_ERROR(events);
  }
  return Status::Ok();
}

}  // namespace sextant::ingest
