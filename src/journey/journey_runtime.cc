// The journey runtime: ingested events, timers and scheduled entries move customers through
// journey graphs; every touch passes the touch rules and lands in the ledger and the outbox.
#include <algorithm>
#include <cmath>

#include "common/clock.h"
#include "common/crash_point.h"
#include "channel/crypto.h"
#include "common/hash.h"
#include "journey/journey_internal.h"
#include "query/query_context.h"
#include "query/query_spec.h"
#include "store/row_codec.h"

namespace sextant::journey {
namespace {

constexpr int kMaxStepsPerAdvance = 64;
// Customers a scheduled or key-date run enters per call (per worker step).
constexpr size_t kEntriesPerStep = 5000;

// A stable number in [0, 1) from the parts.
double StableFraction(const std::string& a, UserId user, uint64_t salt) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&](uint64_t value) {
    hash ^= value;
    hash *= 1099511628211ull;
  };
  for (char c : a) mix(static_cast<unsigned char>(c));
  mix(user);
  mix(salt);
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdull;
  hash ^= hash >> 33;
  return static_cast<double>(hash >> 11) / static_cast<double>(1ull << 53);
}

// `precompiled` (may be null) holds the condition's literals compiled ahead for some types.
bool EvaluateCondition(const query::Condition& condition, const Value* value,
                       const TimeZone& zone, const PrecompiledFilter* precompiled = nullptr) {
  const ValueType type = value != nullptr ? value->type() : ValueType::kString;
  if (precompiled != nullptr) {
    const std::optional<query::CompiledCondition>* ahead = nullptr;
    switch (type) {
      case ValueType::kNumber: ahead = &precompiled->number; break;
      case ValueType::kBool: ahead = &precompiled->boolean; break;
      case ValueType::kString: ahead = &precompiled->string; break;
      case ValueType::kList: ahead = &precompiled->list; break;
      case ValueType::kDatetime:
      case ValueType::kDate: break;  // literals read in the time zone: compiled below
    }
    if (ahead != nullptr) return ahead->has_value() && query::EvaluateValue(**ahead, value);
  }
  auto compiled = query::CompileLiterals(condition, type, zone, "");
  if (!compiled.ok()) return false;
  return query::EvaluateValue(*compiled, value);
}

// One event row's properties, found by name through the project's schema: by the id cached in
// the condition when there is one, else by the schema's name index. The row holds few
// properties, so a linear scan by id beats any map built per event.
struct EventPropertyLookup {
  const store::EventRow& row;
  const state::ProjectSchema& schema;
  state::ProjectId project;

  const Value* Find(const std::string& name,
                    const PrecompiledFilter::PropertyIdCache* cache) const {
    uint32_t id = cache != nullptr ? cache->Get(project) : 0;
    if (id == 0) {
      id = schema.FindProperty(name);
      if (id == 0) return nullptr;  // never seen in this project: absent from every event
      if (cache != nullptr) cache->Set(project, id);
    }
    for (const store::PropertyCell& cell : row.properties) {
      if (cell.property_id == id) return &cell.value;
    }
    return nullptr;
  }
};

// `precompiled` (may be null) is PrecompileFilter(node).
bool EvaluateFilter(const query::FilterNode& node, const PrecompiledFilter* precompiled,
                    const EventPropertyLookup& event,
                    const std::function<const PropertyMap&()>& profile, const TimeZone& zone) {
  auto child_of = [&](size_t index) -> const PrecompiledFilter* {
    return precompiled != nullptr && index < precompiled->children.size()
               ? &precompiled->children[index]
               : nullptr;
  };
  switch (node.kind) {
    case query::FilterNode::Kind::kAll:
      for (size_t index = 0; index < node.children.size(); ++index) {
        if (!EvaluateFilter(node.children[index], child_of(index), event, profile, zone))
          return false;
      }
      return true;
    case query::FilterNode::Kind::kAny:
      for (size_t index = 0; index < node.children.size(); ++index) {
        if (EvaluateFilter(node.children[index], child_of(index), event, profile, zone))
          return true;
      }
      return node.children.empty();
    case query::FilterNode::Kind::kNot:
      return node.children.empty() ||
             !EvaluateFilter(node.children[0], child_of(0), event, profile, zone);
    case query::FilterNode::Kind::kCondition: {
      const query::Condition& condition = node.condition;
      const Value* value =
          condition.property.user
              ? FindProperty(profile(), condition.property.name)
              : event.Find(condition.property.name,
                           precompiled != nullptr ? &precompiled->event_property : nullptr);
      return EvaluateCondition(condition, value, zone, precompiled);
    }
  }
  return false;
}

std::string TimerKey(ProjectId project, int64_t due, const std::string& journey_id, UserId user) {
  std::string key = JourneyKey(project, "t");
  state::AppendBigEndian64(static_cast<uint64_t>(due), &key);
  key += journey_id;
  key += '\x1f';
  state::AppendBigEndian32(user, &key);
  return key;
}

// The next instant after `now` at local `minute` on an allowed weekday (bit d-1 for day d).
int64_t NextLocalTime(int64_t now, int minute, uint8_t weekdays, const TimeZone& zone) {
  int32_t day = zone.DayOf(now);
  for (int step = 0; step < 8; ++step, ++day) {
    const int64_t at = zone.DayStartMs(day) + int64_t{minute} * 60'000;
    const int weekday = ((day + 3) % 7 + 7) % 7 + 1;  // 1970-01-01 was a Thursday (4)
    if (at > now && (weekdays & (1u << (weekday - 1)))) return at;
  }
  return now + kDayMs;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ingest hook and worker

std::shared_ptr<const ingest::EventInterest> JourneyEngine::InterestOf(ProjectId project) {
  std::lock_guard lock(impl_->interest_mu);
  auto found = impl_->interests.find(project);
  return found == impl_->interests.end() ? nullptr : found->second;
}

std::string QueueKey(uint64_t sequence) {
  std::string key = "jrn/q/";
  state::AppendBigEndian64(sequence, &key);
  return key;
}

void JourneyEngine::OnCommitted(ingest::CommittedChanges changes) {
  if (changes.events.empty()) return;
  std::string encoded;
  store::EncodeRows(changes.project, changes.events, &encoded);
  {
    std::lock_guard order(impl_->commit_order_mu);
    {
      std::lock_guard lock(impl_->queue_mu);
      changes.sequence = ++impl_->queued;  // Drain() waits for it from here on
    }
    // Written before the request is acknowledged (the pipeline answers after this returns), and
    // before the worker can see the commit (its step deletes the record).
    (void)impl_->queue_kv->Put(QueueKey(changes.sequence), encoded);
    if (impl_->options.sync_commit_queue) (void)impl_->queue_kv->SyncWal();
    std::lock_guard lock(impl_->queue_mu);
    impl_->queue.push_back(std::move(changes));
  }
  impl_->queue_cv.notify_one();
}

Status JourneyEngine::Impl::LoadQueue() {
  uint64_t applied_before = 0;  // records at or below were decided (separate queue store only)
  if (separate_queue()) {
    auto marker = kv->Get(kQueueAppliedKey);
    if (marker.ok() && marker->size() == 8) applied_before = state::ReadBigEndian64(*marker);
    // Records an older version kept in the state store move into the queue store first.
    std::vector<std::string> moved;
    SEXTANT_RETURN_IF_ERROR(kv->ScanPrefix("jrn/q/", [&](std::string_view key, std::string_view value) {
      if (queue_kv->Put(key, value).ok()) moved.emplace_back(key);
      return true;
    }));
    if (!moved.empty()) {
      SEXTANT_RETURN_IF_ERROR(queue_kv->SyncWal());
      state::KvStore::Batch removal;
      for (const std::string& key : moved) removal.Delete(key);
      SEXTANT_RETURN_IF_ERROR(kv->Write(&removal));
    }
  }
  std::lock_guard lock(queue_mu);
  // Sequences go on from the last one decided: Drain() waits for `applied` to reach `queued`.
  queued = std::max(queued, applied_before);
  applied = std::max(applied, applied_before);
  state::KvStore::Batch decided;  // records a crash left behind after their decisions
  SEXTANT_RETURN_IF_ERROR(
      queue_kv->ScanPrefix("jrn/q/", [&](std::string_view key, std::string_view value) {
        ingest::CommittedChanges changes;
        changes.sequence = state::ReadBigEndian64(key.substr(6));
        if (changes.sequence <= applied_before) {
          decided.Delete(key);
        } else if (store::DecodeRows(value, &changes.project, &changes.events).ok()) {
          queued = std::max(queued, changes.sequence);
          queue.push_back(std::move(changes));
        }
        return true;
      }));
  if (!decided.empty()) SEXTANT_RETURN_IF_ERROR(queue_kv->Write(&decided));
  return Status::Ok();
}

void JourneyEngine::Drain() {
  std::unique_lock lock(impl_->queue_mu);
  const uint64_t target = impl_->queued;
  impl_->queue_cv.notify_one();
  impl_->drained_cv.wait(lock, [&] {
    return (impl_->applied >= target && impl_->ingests_in_flight == 0) || impl_->stopping;
  });
}

void JourneyEngine::WorkerLoop() {
  std::unique_lock lock(impl_->queue_mu);
  PendingWork work;  // one per step, its buffers reused from step to step (NextStep)
  int64_t last_due_pass_us = 0;
  while (true) {
    impl_->queue_cv.wait_for(lock, std::chrono::milliseconds(100), [&] {
      return impl_->stopping || !impl_->queue.empty() || impl_->runs_in_progress.load();
    });
    std::vector<ingest::CommittedChanges> batch(std::make_move_iterator(impl_->queue.begin()),
                                                std::make_move_iterator(impl_->queue.end()));
    impl_->queue.clear();
    const bool stopping = impl_->stopping;
    lock.unlock();
    uint64_t last = 0;
    // Commits that queued up while the worker was busy are decided in groups: one state write,
    // one counter flush and one ingest of the emitted events per group instead of per commit,
    // so a worker that fell behind catches up. A group is bounded so that the engine's mutex
    // (which the API and delivery also take) is never held for long, and so that the first
    // commits of a burst are not held back by the last: every commit of a group counts as
    // decided when the whole group is written. With groups of 16,384 events, a burst of a
    // dozen 1,000-event commits was one 8 ms step and every commit in it waited the whole 8 ms;
    // with 2,048 the first is written after ~1.5 ms (a few % more CPU per event for the
    // additional writes).
    constexpr size_t kGroupEvents = 2'048;
    for (size_t first = 0; first < batch.size();) {
      size_t end = first;
      size_t events = 0;
      while (end < batch.size() &&
             (end == first || events + batch[end].events.size() <= kGroupEvents)) {
        events += batch[end].events.size();
        ++end;
      }
      impl_->ProcessChanges(std::span<const ingest::CommittedChanges>(&batch[first], end - first),
                            work);
      impl_->EmitInBackground(work);
      work.NextStep();
      last = batch[end - 1].sequence;
      first = end;
    }
    // Timers and scheduled entries due at the clock's time: after an idle wait, and at most
    // every 25 ms while commits keep arriving. Each pass scans the timer index and
    // walks every journey (schedules, counters) — 12 % of the worker's CPU when it ran after
    // every step of a 200 K events/s stream, and time that the next commit waited for. Timers
    // are due to the millisecond but fire up to an idle wait (100 ms) late already.
    constexpr int64_t kDuePassIntervalUs = 25'000;
    const int64_t pass_started_us = impl_->clock->MonotonicMicros();
    if (batch.empty() || stopping || impl_->runs_in_progress.load() ||
        pass_started_us - last_due_pass_us >= kDuePassIntervalUs) {
      last_due_pass_us = pass_started_us;
      {
        std::lock_guard state_lock(impl_->mu);
        for (auto& [pid, runtime] : impl_->runtimes) {
          if (!runtime.loaded) continue;
          const int64_t now = impl_->clock->NowMs();
          impl_->RunTimersLocked(runtime, now, work, 10'000);
          impl_->RunScheduledEntriesLocked(runtime, now, work);
          impl_->FlushCountersLocked(runtime, work);
        }
        impl_->WriteLocked(work);
      }
      impl_->EmitInBackground(work);
      work.NextStep();
    }
    lock.lock();
    if (last != 0) impl_->applied = std::max(impl_->applied, last);
    impl_->drained_cv.notify_all();
    if (stopping && impl_->queue.empty()) break;
  }
}

bool JourneyEngine::RunDueNow() {
  // Timers and deliveries are taken at most kPassQuota per pass, as in the worker loops, so a
  // step with millions due never holds them all in one state batch (10 M waits ending at once
  // outgrew 24 GiB). A pass that used a full quota does not count towards the 20 rounds that
  // bound work creating more work at the same instant: each such pass consumes what it took.
  constexpr size_t kPassQuota = 10'000;
  bool any = false;
  PendingWork work;  // reused pass after pass (NextStep)
  for (int round = 0; round < 20;) {
    bool busy = false;
    bool quota_full = false;
    {
      {
        std::lock_guard lock(impl_->mu);
        for (auto& [pid, runtime] : impl_->runtimes) {
          if (!runtime.loaded) continue;
          const int64_t now = impl_->clock->NowMs();
          if (impl_->RunTimersLocked(runtime, now, work, kPassQuota) == kPassQuota)
            quota_full = true;
          impl_->RunScheduledEntriesLocked(runtime, now, work);
          impl_->FlushCountersLocked(runtime, work);
        }
        busy = !work.batch.empty() || !work.events.empty();
        impl_->WriteLocked(work);
      }
      impl_->ApplyPending(work);
      work.NextStep();
    }
    const size_t delivered = impl_->DeliverDue(kPassQuota);
    if (delivered == kPassQuota) quota_full = true;
    busy = delivered > 0 || busy;
    Drain();
    any = any || busy;
    if (!busy) break;
    if (!quota_full) ++round;
  }
  return any;
}

int64_t JourneyEngine::NextDueMs() {
  std::lock_guard lock(impl_->mu);
  int64_t next = INT64_MAX;
  for (auto& [pid, runtime] : impl_->runtimes) {
    if (!runtime.loaded) continue;
    for (std::string_view space : {"t", "ts"}) {
      const std::string prefix = JourneyKey(pid, space);
      const std::string& from = space == "t" ? runtime.timer_cursor : prefix;
      (void)impl_->kv->ScanPrefixFrom(prefix, from, [&](std::string_view key, std::string_view) {
        if (key.size() >= prefix.size() + 8) {
          next = std::min(
              next, static_cast<int64_t>(state::ReadBigEndian64(key.substr(prefix.size(), 8))));
        }
        return false;
      });
    }
    const std::string outbox = JourneyKey(pid, "o");
    if (!impl_->simulation)
      (void)impl_->kv->ScanPrefix(outbox, [&](std::string_view, std::string_view value) {
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        int64_t due = 0;
        if (parser.parse(value.data(), value.size()).get(root) == simdjson::SUCCESS &&
            root["due"].get_int64().get(due) == simdjson::SUCCESS) {
          next = std::min(next, due);
        }
        return true;
      });
    for (const auto& [id, journey] : runtime.journeys) {
      if (journey.next_fire_ms != 0 && journey.meta.status == "running")
        next = std::min(next, journey.next_fire_ms);
    }
  }
  return next;
}

void JourneyEngine::Impl::ProcessChanges(std::span<const ingest::CommittedChanges> commits,
                                         PendingWork& work) {
  // Commits replayed from jrn/q/ at a start carry no commit time and are not observed.
  const int64_t started_us = clock->MonotonicMicros();
  bool observed = false;
  bool written = false;
  for (const ingest::CommittedChanges& changes : commits) {
    if (changes.committed_us != 0) {
      self->decision_queue_wait().Observe(static_cast<double>(started_us - changes.committed_us) /
                                          1e6);
      observed = true;
    }
  }
  {
    std::lock_guard lock(mu);
    std::vector<ProjectRuntime*> touched;
    for (const ingest::CommittedChanges& changes : commits) {
      auto found = runtimes.find(changes.project);
      if (found != runtimes.end() && found->second.loaded) {
        ProjectRuntime& runtime = found->second;
        if (runtime.unresolved_names) RebuildIndexLocked(runtime);
        for (const store::EventRow& row : changes.events) ProcessEventLocked(runtime, row, work);
        if (std::find(touched.begin(), touched.end(), &runtime) == touched.end())
          touched.push_back(&runtime);
      }
      if (!separate_queue()) work.batch.Delete(QueueKey(changes.sequence));
    }
    for (ProjectRuntime* runtime : touched) FlushCountersLocked(*runtime, work);
    if (separate_queue() && !commits.empty()) {
      std::string applied;
      state::AppendBigEndian64(commits.back().sequence, &applied);
      work.batch.Put(kQueueAppliedKey, applied);
    }
    CrashPoint("journey.queue.before_decisions");
    written = WriteLocked(work);
  }
  // The decisions are durable now; the caller ingests the events they emit.
  const int64_t decided_us = clock->MonotonicMicros();
  CrashPoint("journey.queue.decided_not_deleted");
  // Their queue records may go (a crash before this leaves them for Start(), which skips what
  // "jrn/q-applied" covers). Not if the write failed: then a restart decides them again.
  if (separate_queue() && written) {
    for (const ingest::CommittedChanges& changes : commits)
      work.queue_batch.Delete(QueueKey(changes.sequence));
    (void)queue_kv->Write(&work.queue_batch);
    work.queue_batch.rep()->Clear();
  }
  if (observed) self->decision_step().Observe(static_cast<double>(decided_us - started_us) / 1e6);
  for (const ingest::CommittedChanges& changes : commits) {
    if (changes.committed_us != 0) {
      self->decision_latency().Observe(static_cast<double>(decided_us - changes.committed_us) /
                                       1e6);
    }
  }
}

void JourneyEngine::Impl::FlushCountersLocked(ProjectRuntime& runtime, PendingWork& work) {
  if (work.dry_run) return;
  // Delivery outcomes settled since the last flush: counted here and their delta records
  // deleted in the same batch as the counters that now include them.
  SettledOutcomes outcomes;
  {
    std::lock_guard state_lock(delivery_state_mu);
    auto found = settled.find(runtime.info->id);
    if (found != settled.end()) {
      outcomes = std::move(found->second);
      settled.erase(found);
    }
  }
  for (const std::string& key : outcomes.delta_keys) work.batch.Delete(key);
  for (const auto& [journey_id, deltas] : outcomes.deltas) {
    auto journey = runtime.journeys.find(journey_id);
    if (journey == runtime.journeys.end()) continue;  // deleted since it was sent
    for (const auto& [counter, delta] : deltas) Bump(journey->second, counter, delta);
  }
  // The dirty journeys of this project are written and leave the list; other projects' stay.
  std::erase_if(journeys_with_dirty_counters, [&](JourneyState* dirty) {
    auto owned = runtime.journeys.find(dirty->meta.id);
    if (owned == runtime.journeys.end() || &owned->second != dirty) return false;
    JourneyState& journey = owned->second;
    JsonWriter out;
    out.BeginObject();
    for (const auto& [name, value] : journey.counters) out.Key(name).Int(value);
    out.EndObject();
    work.batch.Put(JourneyKey(runtime.info->id, "c") + owned->first, out.str());
    journey.counters_dirty = false;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Events

void JourneyEngine::Impl::ProcessEventLocked(ProjectRuntime& runtime, const store::EventRow& row,
                                             PendingWork& work) {
  auto listed = runtime.index.find(row.event_id);
  if (listed == runtime.index.end()) return;
  // The index is not rebuilt while events are processed, so a reference is safe.
  const std::vector<std::string>& journey_ids = listed->second.journeys;
  const std::string& event_name = listed->second.event_name;
  state::ProjectSchema* schema = schemas->ForProject(*runtime.info);
  // Conditions find the event's properties by id; the entry's JSON and the few built-in
  // properties read below use a list by name, made only when needed.
  const EventPropertyLookup event_lookup{row, *schema, runtime.info->id};
  std::optional<PropertyMap> event_properties;
  auto event_of = [&]() -> const PropertyMap& {
    if (!event_properties) {
      event_properties.emplace();
      for (const store::PropertyCell& cell : row.properties) {
        event_properties->emplace_back(schema->PropertyName(cell.property_id), cell.value);
      }
    }
    return *event_properties;
  };
  const UserId user = row.user_id;
  std::optional<PropertyMap> profile;
  auto profile_of = [&]() -> const PropertyMap& {
    if (!profile) {
      auto loaded = profiles->GetProfile(runtime.info->id, user);
      profile = loaded.ok() ? std::move(*loaded) : PropertyMap{};
    }
    return *profile;
  };
  // A reference wrapper fits std::function's inline buffer: no allocation per evaluation.
  const std::function<const PropertyMap&()> profile_fn = std::cref(profile_of);
  auto matches = [&](const EventMatcher& matcher, const TimeZone& zone) {
    return !matcher.empty() && matcher.event == event_name &&
           (!matcher.where || EvaluateFilter(*matcher.where, matcher.compiled_where.get(),
                                             event_lookup, profile_fn, zone));
  };
  std::string event_json;
  const int64_t now = clock->NowMs();

  auto entry_json = [&]() -> const std::string& {
    if (event_json.empty()) event_json = PropertiesJson(event_of(), runtime.info->time_zone);
    return event_json;
  };

  const std::vector<JourneyState*>& journey_states = listed->second.states;
  const std::vector<uint8_t>& entry_only = listed->second.entry_only;
  for (size_t listed_index = 0; listed_index < journey_ids.size(); ++listed_index) {
    if (entry_only[listed_index]) {
      // What the general path below would do for an event that only starts this journey:
      // enter when the live entry matches and the customer is not inside.
      const EventMatcher* live_entry = listed->second.live_entry[listed_index];
      if (live_entry == nullptr) continue;  // not running, or its live entry is another event
      if (live_entry->where &&
          !EvaluateFilter(*live_entry->where, live_entry->compiled_where.get(), event_lookup,
                          profile_fn, listed->second.live_zone[listed_index]))
        continue;
      JourneyState& journey = *journey_states[listed_index];
      if (journey.active.contains(user)) continue;
      TryEnterLocked(runtime, journey, user, entry_json(), "event", work);
      continue;
    }
    const std::string& journey_id = journey_ids[listed_index];
    if (journey_id.empty()) {
      // A click on a touch: "<journey>:v<version>:<node>:<user>:<sequence>".
      const Value* touch = FindProperty(event_of(), "touch_id");
      if (touch == nullptr || touch->type() != ValueType::kString) continue;
      const std::string& id = touch->str();
      const size_t first = id.find(':');
      auto journey = runtime.journeys.find(id.substr(0, first));
      if (journey == runtime.journeys.end()) continue;
      const size_t second = id.find(':', first + 1);
      const size_t third = id.find(':', second + 1);
      if (second == std::string::npos || third == std::string::npos) continue;
      Bump(journey->second, "node." + id.substr(second + 1, third - second - 1) + ".clicked");
      if (const Value* channel_name = FindProperty(event_of(), "channel");
          channel_name && channel_name->type() == ValueType::kString) {
        CountResponseLocked(runtime, user, channel_name->str() + ".clicked", work);
      }
      continue;
    }
    JourneyState& journey = *journey_states[listed_index];
    if (journey.active.contains(user)) {
      auto loaded = LoadInstanceLocked(runtime, journey_id, user, &work);
      if (!loaded.ok()) continue;
      Instance instance = std::move(*loaded);
      auto version = journey.versions.find(instance.version);
      if (version == journey.versions.end()) continue;
      const JourneyDefinition& definition = *version->second;
      const TimeZone zone = ZoneOf(runtime, definition);
      if (instance.state == Instance::State::kPending) {
        const EntrySpec& entry = definition.entry;
        if (matches(entry.not_followed_by, zone)) {
          // The process went on: no breakpoint.
          instance.state = instance.entries > 0 ? Instance::State::kExited : Instance::State::kNone;
          instance.due_ms = 0;
          journey.active.remove(user);
          journey.waiting.remove(user);
          Bump(journey, "breakpoint.resolved");
          SaveInstanceLocked(runtime, journey, user, instance, work);
        } else if (matches(entry.event, zone) &&
                   instance.pending_count < static_cast<uint32_t>(entry.count)) {
          ++instance.pending_count;
          if (instance.pending_count >= static_cast<uint32_t>(entry.count)) {
            SetTimerLocked(runtime, journey, user, instance, now + entry.wait_ms, work);
          }
          SaveInstanceLocked(runtime, journey, user, instance, work);
        }
        continue;
      }
      if (instance.state != Instance::State::kActive) continue;
      bool exited = false;
      for (const EventMatcher& exit : definition.exit_when) {
        if (matches(exit, zone)) {
          ExitLocked(runtime, journey, user, instance, "exit_event:" + event_name, work);
          exited = true;
          break;
        }
      }
      if (exited) continue;
      if (instance.goal_ms == 0 && matches(definition.goal, zone) &&
          (definition.goal_within_ms == 0 ||
           now - instance.entered_ms <= definition.goal_within_ms)) {
        ReachGoalLocked(runtime, journey, user, instance, work);
        if (definition.exit_on_goal) {
          ExitLocked(runtime, journey, user, instance, "goal", work);
          continue;
        }
        SaveInstanceLocked(runtime, journey, user, instance, work);
      }
      if (instance.node >= 0 && instance.node < static_cast<int>(definition.nodes.size())) {
        const JourneyNode& node = definition.nodes[instance.node];
        if (node.kind == JourneyNode::Kind::kWaitEvent && matches(node.wait_event, zone)) {
          instance.due_ms = 0;
          journey.waiting.remove(user);
          Bump(journey, "node." + node.id + ".event");
          AdvanceLocked(runtime, journey, user, instance, node.next, work);
        }
      }
      continue;
    }
    // A conversion within the goal's window still counts after the customer has left (their
    // arm's conversion rate must not depend on how long the path was).
    if (auto version = journey.versions.find(journey.meta.live_version);
        version != journey.versions.end()) {
      const JourneyDefinition& definition = *version->second;
      if (definition.goal_within_ms > 0 && matches(definition.goal, ZoneOf(runtime, definition))) {
        auto loaded = LoadInstanceLocked(runtime, journey_id, user, &work);
        if (loaded.ok() && loaded->state == Instance::State::kExited && loaded->goal_ms == 0 &&
            now - loaded->entered_ms <= definition.goal_within_ms) {
          Instance instance = std::move(*loaded);
          ReachGoalLocked(runtime, journey, user, instance, work);
          SaveInstanceLocked(runtime, journey, user, instance, work);
        }
      }
    }
    // Entries.
    if (journey.meta.status != "running") continue;
    const JourneyDefinition* live = journey.live();
    if (live == nullptr) continue;
    const TimeZone zone = ZoneOf(runtime, *live);
    const EntrySpec& entry = live->entry;
    switch (entry.kind) {
      case EntrySpec::Kind::kEvent:
        if (matches(entry.event, zone))
          TryEnterLocked(runtime, journey, user, entry_json(), "event", work);
        break;
      case EntrySpec::Kind::kSegmentEnter:
      case EntrySpec::Kind::kSegmentExit: {
        const bool want_enter = entry.kind == EntrySpec::Kind::kSegmentEnter;
        if (event_name != (want_enter ? "$segment_enter" : "$segment_exit")) break;
        const Value* segment = FindProperty(event_of(), "segment_id");
        if (journey.segment_id.empty()) {
          auto resolved = audience->SegmentIdOf(*runtime.info, entry.segment);
          if (resolved.ok()) journey.segment_id = *resolved;
        }
        if (segment != nullptr && segment->type() == ValueType::kString &&
            segment->str() == journey.segment_id) {
          TryEnterLocked(runtime, journey, user, entry_json(),
                         want_enter ? "segment_enter" : "segment_exit", work);
        }
        break;
      }
      case EntrySpec::Kind::kBreakpoint: {
        if (!matches(entry.event, zone)) break;
        auto loaded = LoadInstanceLocked(runtime, journey_id, user, &work);
        if (!loaded.ok()) break;
        Instance instance = std::move(*loaded);
        // Re-entry rules are checked when the breakpoint turns into an entry.
        instance.state = Instance::State::kPending;
        instance.version = journey.meta.live_version;
        instance.node = -1;
        instance.pending_count = 1;
        instance.pending_first_ms = now;
        instance.event_json = entry_json();
        journey.active.add(user);
        journey.waiting.add(user);
        Bump(journey, "breakpoint.started");
        SetTimerLocked(runtime, journey, user, instance,
                       entry.count <= 1 ? now + entry.wait_ms : now + entry.count_within_ms, work);
        SaveInstanceLocked(runtime, journey, user, instance, work);
        break;
      }
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Instances

Result<Instance> JourneyEngine::Impl::LoadInstanceLocked(ProjectRuntime& runtime,
                                                         const std::string& journey_id,
                                                         UserId user, const PendingWork* work) {
  Instance instance;
  const std::string key = InstanceKey(runtime.info->id, journey_id, user);
  auto stored = work != nullptr ? ReadStagedLocked(*work, key) : kv->Get(key);
  if (!stored.ok()) {
    if (stored.status().code() == ErrorCode::kNotFound) return instance;
    return stored.status();
  }
  if (!Instance::Decode(*stored, &instance)) {
    return Status(ErrorCode::kCorruption,
                  "journey instance of user " + std::to_string(user) + " in " + journey_id);
  }
  return instance;
}

void JourneyEngine::Impl::SaveInstanceLocked(ProjectRuntime& runtime, JourneyState& journey,
                                             UserId user, const Instance& instance,
                                             PendingWork& work) {
  if (work.dry_run) return;
  std::string key = InstanceKey(runtime.info->id, journey.meta.id, user);
  std::string encoded = instance.Encode();
  work.PutStaged(std::move(key), std::move(encoded));
  journey.with_instance.add(user);
  journey.PlaceAtNode(user, instance);
}

Result<std::string> JourneyEngine::Impl::ReadStagedLocked(const PendingWork& work,
                                                          const std::string& key) {
  if (const std::string* staged = work.Staged(key)) return *staged;
  return kv->Get(key);
}

std::pair<uint64_t, uint64_t> JourneyEngine::Impl::MoveToVersionLocked(ProjectRuntime& runtime,
                                                                      JourneyState& journey,
                                                                      uint32_t version,
                                                                      PendingWork& work) {
  const JourneyDefinition& target = *journey.versions.at(version);
  uint64_t moved = 0, stayed = 0;
  const Roaring inside = journey.active;  // copied: nothing below changes who is inside
  for (UserId user : inside) {
    auto loaded = LoadInstanceLocked(runtime, journey.meta.id, user, &work);
    if (!loaded.ok()) continue;
    Instance instance = std::move(*loaded);
    // Pending breakpoint entries have not entered a version yet: they enter the live one.
    if (instance.state != Instance::State::kActive || instance.version >= version) continue;
    auto from = journey.versions.find(instance.version);
    int node = -1;
    if (from != journey.versions.end() && instance.node >= 0 &&
        instance.node < static_cast<int>(from->second->nodes.size())) {
      const JourneyNode& here = from->second->nodes[instance.node];
      node = target.NodeIndex(here.id);
      if (node >= 0 && target.nodes[node].kind != here.kind) node = -1;
    }
    if (node < 0) {
      ++stayed;
      continue;
    }
    instance.version = version;
    instance.node = node;
    SaveInstanceLocked(runtime, journey, user, instance, work);
    ++moved;
  }
  Bump(journey, "migration.moved", static_cast<int64_t>(moved));
  return {moved, stayed};
}

void JourneyEngine::Impl::SetTimerLocked(ProjectRuntime& runtime, JourneyState& journey,
                                         UserId user, Instance& instance, int64_t due,
                                         PendingWork& work) {
  instance.due_ms = due;
  if (work.dry_run) return;
  std::string key = TimerKey(runtime.info->id, due, journey.meta.id, user);
  if (key < runtime.timer_cursor) runtime.timer_cursor = key;
  work.batch.Put(std::move(key), "");
}

bool JourneyEngine::Impl::TryEnterLocked(ProjectRuntime& runtime, JourneyState& journey,
                                         UserId user, const std::string& event_json,
                                         std::string_view trigger, PendingWork& work) {
  const JourneyDefinition* live = journey.live();
  if (live == nullptr || journey.meta.status != "running") return false;
  const int64_t now = clock->NowMs();
  if (now < live->start_at_ms || (live->end_at_ms != 0 && now >= live->end_at_ms)) return false;
  Instance instance;
  if (journey.with_instance.contains(user)) {
    auto loaded = LoadInstanceLocked(runtime, journey.meta.id, user, &work);
    if (!loaded.ok()) return false;
    instance = std::move(*loaded);
  }
  if (instance.state == Instance::State::kActive) return false;
  const bool was_pending = instance.state == Instance::State::kPending;
  auto refuse = [&](std::string_view why) {
    Bump(journey, "entry_refused." + std::string(why));
    if (was_pending) {
      instance.state = instance.entries > 0 ? Instance::State::kExited : Instance::State::kNone;
      instance.due_ms = 0;
      journey.active.remove(user);
      journey.waiting.remove(user);
      SaveInstanceLocked(runtime, journey, user, instance, work);
    }
    return false;
  };
  if (instance.entries > 0) {
    switch (live->reentry) {
      case JourneyDefinition::Reentry::kNever:
        return refuse("reentry");
      case JourneyDefinition::Reentry::kAfterExit:
        break;
      case JourneyDefinition::Reentry::kCooldown:
        if (now - instance.entered_ms < live->cooldown_ms) return refuse("cooldown");
        break;
    }
  }
  if (live->max_entries > 0 && instance.entries >= static_cast<uint32_t>(live->max_entries)) {
    return refuse("max_entries");
  }
  const std::string carried =
      event_json.empty() ? (was_pending ? instance.event_json : "{}") : event_json;
  const uint32_t entries_before = instance.entries;
  instance = Instance{};
  instance.entries = entries_before + 1;
  instance.state = Instance::State::kActive;
  instance.version = journey.meta.live_version;
  instance.sequence = instance.entries;
  instance.entered_ms = now;
  instance.event_json = carried;
  instance.control =
      StableFraction(journey.meta.id, user, 0x636f6e74726f6cull) * 100 < live->control_percent;
  journey.active.add(user);
  journey.waiting.remove(user);
  Bump(journey, "entered");
  Bump(journey, instance.control ? "arm.control.entered" : "arm.treatment.entered");
  EmitLocked(runtime, user, "$journey_enter",
             {{"journey_id", Value::String(journey.meta.id)},
              {"journey_name", Value::String(journey.meta.name)},
              {"journey_version", Value::Number(instance.version)},
              {"arm", Value::String(instance.control ? "control" : "treatment")},
              {"trigger", Value::String(std::string(trigger))}},
             work);
  Trace("enter", std::string(trigger));
  AdvanceLocked(runtime, journey, user, instance, live->start, work);
  return true;
}

void JourneyEngine::Impl::ReachGoalLocked(ProjectRuntime& runtime, JourneyState& journey,
                                          UserId user, Instance& instance, PendingWork& work) {
  if (instance.goal_ms != 0) return;
  instance.goal_ms = clock->NowMs();
  Bump(journey, "goal");
  Bump(journey, instance.control ? "arm.control.goal" : "arm.treatment.goal");
  if (!instance.variant.empty()) Bump(journey, "variant." + instance.variant + ".goal");
  // Per node: where the customer was (or left from) when they converted.
  if (auto version = journey.versions.find(instance.version);
      version != journey.versions.end() && instance.node >= 0 &&
      instance.node < static_cast<int>(version->second->nodes.size())) {
    Bump(journey, "node." + version->second->nodes[instance.node].id + ".goal");
  }
  EmitLocked(runtime, user, "$goal_reached",
             {{"journey_id", Value::String(journey.meta.id)},
              {"journey_version", Value::Number(instance.version)},
              {"arm", Value::String(instance.control ? "control" : "treatment")},
              {"variant", Value::String(instance.variant)}},
             work);
  Trace("goal", "");
}

void JourneyEngine::Impl::ExitLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                                     Instance& instance, const std::string& reason,
                                     PendingWork& work) {
  std::string node_id;
  auto version = journey.versions.find(instance.version);
  if (version != journey.versions.end() && instance.node >= 0 &&
      instance.node < static_cast<int>(version->second->nodes.size())) {
    node_id = version->second->nodes[instance.node].id;
  }
  if (instance.claimed && !work.dry_run) {
    std::string claim = JourneyKey(runtime.info->id, "p");
    state::AppendBigEndian32(user, &claim);
    work.batch.Delete(claim + journey.meta.id);
  }
  instance.state = Instance::State::kExited;
  instance.exited_ms = clock->NowMs();
  instance.exit_reason = reason;
  instance.due_ms = 0;
  instance.claimed = false;
  journey.active.remove(user);
  journey.waiting.remove(user);
  Bump(journey, "exited");
  EmitLocked(runtime, user, "$journey_exit",
             {{"journey_id", Value::String(journey.meta.id)},
              {"journey_version", Value::Number(instance.version)},
              {"node", Value::String(node_id)},
              {"reason", Value::String(reason)}},
             work);
  Trace("exit", reason);
  SaveInstanceLocked(runtime, journey, user, instance, work);
}

void JourneyEngine::Impl::AdvanceLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                                        Instance& instance, int node_index, PendingWork& work) {
  auto version = journey.versions.find(instance.version);
  if (version == journey.versions.end()) return;
  const JourneyDefinition& definition = *version->second;
  const TimeZone zone = ZoneOf(runtime, definition);
  std::optional<PropertyMap> profile;
  for (int step = 0; step < kMaxStepsPerAdvance; ++step) {
    if (node_index < 0 || node_index >= static_cast<int>(definition.nodes.size())) {
      ExitLocked(runtime, journey, user, instance, "end", work);
      return;
    }
    const JourneyNode& node = definition.nodes[node_index];
    const bool revisit = instance.node == node_index && (instance.claimed || instance.due_ms != 0);
    instance.node = node_index;
    if (!revisit) {
      Bump(journey, "node." + node.id + ".entered");
      Trace("node", node.id);
    }
    const int64_t now = clock->NowMs();
    switch (node.kind) {
      case JourneyNode::Kind::kSplit: {
        if (!profile) {
          auto loaded = profiles->GetProfile(runtime.info->id, user);
          profile = loaded.ok() ? std::move(*loaded) : PropertyMap{};
        }
        const PropertyMap event = ParsePropertiesJson(instance.event_json);
        const bool yes = EvaluateSplitLocked(runtime, node.condition, user, *profile, event, zone);
        Bump(journey, "node." + node.id + (yes ? ".yes" : ".no"));
        node_index = yes ? node.yes : node.no;
        continue;
      }
      case JourneyNode::Kind::kAb: {
        double total = 0;
        for (const auto& branch : node.branches) total += branch.weight;
        double pick =
            StableFraction(journey.meta.id + "/" + node.id, user, instance.sequence) * total;
        const JourneyNode::Branch* chosen = &node.branches.back();
        for (const auto& branch : node.branches) {
          if (pick < branch.weight) {
            chosen = &branch;
            break;
          }
          pick -= branch.weight;
        }
        instance.variant = node.id + ":" + chosen->name;
        Bump(journey, "variant." + instance.variant + ".entered");
        node_index = chosen->next;
        continue;
      }
      case JourneyNode::Kind::kWaitDuration:
      case JourneyNode::Kind::kWaitUntil:
      case JourneyNode::Kind::kWaitEvent: {
        if (revisit) {
          // Woken by its timer (RunTimersLocked clears due_ms before calling): unreachable.
          return;
        }
        int64_t due = 0;
        if (node.kind == JourneyNode::Kind::kWaitDuration)
          due = now + node.duration_ms;
        else if (node.kind == JourneyNode::Kind::kWaitUntil)
          due = NextLocalTime(now, node.until_minute, node.weekdays, zone);
        else {
          due = now + node.timeout_ms;
          journey.waiting.add(user);
        }
        SetTimerLocked(runtime, journey, user, instance, due, work);
        SaveInstanceLocked(runtime, journey, user, instance, work);
        return;
      }
      case JourneyNode::Kind::kSend:
      case JourneyNode::Kind::kWebhook:
        if (!TouchLocked(runtime, journey, definition, node, user, instance, work)) {
          SaveInstanceLocked(runtime, journey, user, instance, work);
          return;
        }
        node_index = node.next;
        continue;
      case JourneyNode::Kind::kTask:
        CreateTaskLocked(runtime, journey, node, user, instance, work);
        node_index = node.next;
        continue;
      case JourneyNode::Kind::kUpdateProfile: {
        const std::string distinct_id = DistinctIdLocked(runtime.info->id, user);
        if (!distinct_id.empty() && !work.dry_run) {
          Record record;
          record.type = RecordType::kProfileSet;
          record.distinct_id = distinct_id;
          record.time_ms = now;
          record.has_time = true;
          record.properties = node.set;
          work.events.push_back({runtime.info->name, runtime.info->id, {}, {}});
          work.events.back().Add(std::move(record));
        }
        node_index = node.next;
        continue;
      }
      case JourneyNode::Kind::kGoal:
        ReachGoalLocked(runtime, journey, user, instance, work);
        if (node.next < 0) {
          ExitLocked(runtime, journey, user, instance, "goal", work);
          return;
        }
        node_index = node.next;
        continue;
      case JourneyNode::Kind::kExit:
        ExitLocked(runtime, journey, user, instance, "exit_node", work);
        return;
    }
  }
  ExitLocked(runtime, journey, user, instance, "too_many_steps", work);
}

bool JourneyEngine::Impl::EvaluateSplitLocked(ProjectRuntime& runtime,
                                              const SplitCondition& condition, UserId user,
                                              const PropertyMap& profile, const PropertyMap& event,
                                              const TimeZone& zone) {
  switch (condition.kind) {
    case SplitCondition::Kind::kAll:
      for (const auto& child : condition.children) {
        if (!EvaluateSplitLocked(runtime, child, user, profile, event, zone)) return false;
      }
      return true;
    case SplitCondition::Kind::kAny:
      for (const auto& child : condition.children) {
        if (EvaluateSplitLocked(runtime, child, user, profile, event, zone)) return true;
      }
      return condition.children.empty();
    case SplitCondition::Kind::kNot:
      return condition.children.empty() ||
             !EvaluateSplitLocked(runtime, condition.children[0], user, profile, event, zone);
    case SplitCondition::Kind::kProfile:
      return EvaluateCondition(condition.condition, FindProperty(profile, condition.name), zone);
    case SplitCondition::Kind::kEvent:
      return EvaluateCondition(condition.condition, FindProperty(event, condition.name), zone);
    case SplitCondition::Kind::kTag: {
      auto value = audience->TagValueOf(*runtime.info, condition.name, user);
      if (!value.ok()) return false;
      return EvaluateCondition(condition.condition, value->has_value() ? &**value : nullptr, zone);
    }
    case SplitCondition::Kind::kSegment: {
      auto member = audience->IsMember(*runtime.info, condition.name, user);
      return member.ok() && *member;
    }
  }
  return false;
}

std::string JourneyEngine::Impl::DistinctIdLocked(ProjectId project, UserId user) {
  if (user == simulated_user && !simulated_distinct_id.empty()) return simulated_distinct_id;
  auto distinct_id = identities->DistinctIdOf(project, user);
  return distinct_id.ok() ? *distinct_id : std::string();
}

void JourneyEngine::Impl::Trace(std::string kind, std::string detail) {
  if (trace != nullptr) trace->push_back({clock->NowMs(), std::move(kind), std::move(detail)});
}

Record JourneyEngine::Impl::JourneyEventRecord(
    std::string event, std::string distinct_id, int64_t time_ms,
    std::vector<std::pair<std::string, Value>> properties) {
  Record record;
  record.type = RecordType::kTrack;
  record.event = std::move(event);
  record.distinct_id = std::move(distinct_id);
  record.time_ms = time_ms;
  record.has_time = true;
  record.properties = std::move(properties);
  return record;
}

void JourneyEngine::Impl::EmitLocked(ProjectRuntime& runtime, UserId user, const std::string& event,
                                     std::vector<std::pair<std::string, Value>> properties,
                                     PendingWork& work) {
  if (work.dry_run) return;
  // The distinct id when the step has read it already (a touch to this customer), else it is
  // looked up when the events are ingested (EmittedBatch::users).
  const PendingWork::Customer& customer = work.customer;
  const bool known = customer.loaded && customer.project == runtime.info->id &&
                     customer.user == user;
  if (known && customer.distinct_id.empty()) return;
  Record record = JourneyEventRecord(event, known ? customer.distinct_id : std::string(),
                                     clock->NowMs(), std::move(properties));
  if (work.events.empty() || work.events.back().project_id != runtime.info->id) {
    work.events.push_back({runtime.info->name, runtime.info->id, {}, {}});
    work.events.back().records.reserve(emitted_batch_records_hint);
    work.events.back().users.reserve(emitted_batch_records_hint);
  }
  work.events.back().Add(std::move(record), known ? 0 : user);
}

// ---------------------------------------------------------------------------------------------
// Timers and scheduled entries

size_t JourneyEngine::Impl::RunTimersLocked(ProjectRuntime& runtime, int64_t now,
                                            PendingWork& work, size_t limit) {
  const std::string prefix = JourneyKey(runtime.info->id, "t");
  struct Due {
    std::string key;
    int64_t due;
    std::string journey_id;
    UserId user;
  };
  std::vector<Due> due;
  std::string first_left;  // the first timer key seen and not taken
  std::string last_seen;
  (void)kv->ScanPrefixFrom(prefix, runtime.timer_cursor, [&](std::string_view key,
                                                             std::string_view) {
    last_seen = std::string(key);
    if (key.size() < prefix.size() + 8 + 1 + 4) return true;  // unreadable: never fires
    const int64_t at = static_cast<int64_t>(state::ReadBigEndian64(key.substr(prefix.size(), 8)));
    if (at > now) {
      first_left = last_seen;
      return false;
    }
    std::string_view rest = key.substr(prefix.size() + 8);
    due.push_back({last_seen, at, std::string(rest.substr(0, rest.size() - 5)),
                   state::ReadBigEndian32(rest.substr(rest.size() - 4))});
    return due.size() < limit;
  });
  // Every key before the resume point is deleted in this step's batch (or unreadable).
  if (!first_left.empty()) {
    runtime.timer_cursor = std::move(first_left);
  } else if (!last_seen.empty()) {
    runtime.timer_cursor = last_seen + std::string(1, '\0');
  }
  for (const Due& timer : due) {
    work.batch.Delete(timer.key);
    auto found = runtime.journeys.find(timer.journey_id);
    if (found == runtime.journeys.end()) continue;
    JourneyState& journey = found->second;
    auto loaded = LoadInstanceLocked(runtime, timer.journey_id, timer.user, &work);
    if (!loaded.ok()) continue;
    Instance instance = std::move(*loaded);
    if (instance.due_ms != timer.due) continue;  // stale: the instance moved on
    auto version = journey.versions.find(instance.version);
    if (version == journey.versions.end()) continue;
    const JourneyDefinition& definition = *version->second;
    if (instance.state == Instance::State::kPending) {
      if (instance.pending_count >= static_cast<uint32_t>(definition.entry.count) &&
          timer.due >= instance.pending_first_ms +
                           (definition.entry.count <= 1 ? definition.entry.wait_ms : 0)) {
        Bump(journey, "breakpoint.entered");
        TryEnterLocked(runtime, journey, timer.user, "", "breakpoint", work);
      } else {
        instance.state = instance.entries > 0 ? Instance::State::kExited : Instance::State::kNone;
        instance.due_ms = 0;
        journey.active.remove(timer.user);
        journey.waiting.remove(timer.user);
        Bump(journey, "breakpoint.expired");
        SaveInstanceLocked(runtime, journey, timer.user, instance, work);
      }
      continue;
    }
    if (instance.state != Instance::State::kActive || instance.node < 0 ||
        instance.node >= static_cast<int>(definition.nodes.size())) {
      continue;
    }
    const JourneyNode& node = definition.nodes[instance.node];
    instance.due_ms = 0;
    switch (node.kind) {
      case JourneyNode::Kind::kWaitDuration:
      case JourneyNode::Kind::kWaitUntil:
        AdvanceLocked(runtime, journey, timer.user, instance, node.next, work);
        break;
      case JourneyNode::Kind::kWaitEvent:
        journey.waiting.remove(timer.user);
        Bump(journey, "node." + node.id + ".timeout");
        AdvanceLocked(runtime, journey, timer.user, instance, node.timeout_next, work);
        break;
      case JourneyNode::Kind::kSend:
      case JourneyNode::Kind::kWebhook:
        // A deferred touch (quiet hours) or the end of the priority window: decide again.
        instance.due_ms = timer.due;  // marks the revisit
        AdvanceLocked(runtime, journey, timer.user, instance, instance.node, work);
        break;
      default:
        break;
    }
  }
  // Advisor-task deadlines.
  const std::string task_prefix = JourneyKey(runtime.info->id, "ts");
  std::vector<std::pair<std::string, std::string>> expired;
  (void)kv->ScanPrefix(task_prefix, [&](std::string_view key, std::string_view) {
    const int64_t at =
        static_cast<int64_t>(state::ReadBigEndian64(key.substr(task_prefix.size(), 8)));
    if (at > now) return false;
    expired.emplace_back(std::string(key), std::string(key.substr(task_prefix.size() + 8)));
    return true;
  });
  for (const auto& [key, task_id] : expired) {
    work.batch.Delete(key);
    const std::string task_key = JourneyKey(runtime.info->id, "k") + task_id;
    auto stored = kv->Get(task_key);
    if (!stored.ok()) continue;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(*stored).get(root) != simdjson::SUCCESS) continue;
    std::string_view status, escalate_to, pool, journey_id;
    status = StringField(root, "status");
    if (status != "open" && status != "claimed") continue;
    escalate_to = StringField(root, "escalate_to");
    pool = StringField(root, "pool");
    journey_id = StringField(root, "journey");
    int64_t user = 0;
    user = IntField(root, "user");
    JsonWriter out;
    out.BeginObject();
    for (auto field : simdjson::dom::object(root)) {
      if (field.key == "status" || field.key == "assignee" || field.key == "escalated_ms") continue;
      out.Key(field.key).Raw(simdjson::minify(field.value));
    }
    out.Key("status").String("escalated");
    out.Key("assignee").String(escalate_to.empty() ? pool : escalate_to);
    out.Key("escalated_ms").Int(now);
    out.EndObject();
    work.batch.Put(task_key, out.str());
    if (auto journey = runtime.journeys.find(std::string(journey_id));
        journey != runtime.journeys.end()) {
      Bump(journey->second, "tasks.escalated");
    }
    EmitLocked(runtime, static_cast<UserId>(user), "$task_escalated",
               {{"task_id", Value::String(task_id)},
                {"journey_id", Value::String(std::string(journey_id))}},
               work);
  }
  return due.size();
}

void JourneyEngine::Impl::ComputeNextFireLocked(ProjectRuntime& runtime, JourneyState& journey,
                                                int64_t after) {
  journey.next_fire_ms = 0;
  const JourneyDefinition* live = journey.live();
  if (live == nullptr || journey.meta.status != "running") return;
  const TimeZone zone = ZoneOf(runtime, *live);
  const EntrySpec& entry = live->entry;
  switch (entry.kind) {
    case EntrySpec::Kind::kOnce:
      if (journey.counters["once.fired"] == 0)
        journey.next_fire_ms = std::max(entry.at_ms, int64_t{1});
      break;
    case EntrySpec::Kind::kKeyDate:
      journey.next_fire_ms = NextLocalTime(after, entry.minute_of_day, 0x7f, zone);
      break;
    case EntrySpec::Kind::kSchedule: {
      int32_t day = zone.DayOf(after);
      for (int step = 0; step < 400; ++step, ++day) {
        const int64_t at = zone.DayStartMs(day) + int64_t{entry.minute_of_day} * 60'000;
        if (at <= after) continue;
        const int weekday = ((day + 3) % 7 + 7) % 7 + 1;
        int year = 0;
        unsigned month = 0, month_day = 0;
        CivilFromDays(day, &year, &month, &month_day);
        int last_day = 31;
        while (last_day > 28) {
          int y = 0;
          unsigned m = 0, d = 0;
          CivilFromDays(DaysFromCivil(year, month, 1) + last_day - 1, &y, &m, &d);
          if (m == month) break;
          --last_day;
        }
        const bool due = entry.every == EntrySpec::Every::kDaily ||
                         (entry.every == EntrySpec::Every::kWeekly && weekday == entry.weekday) ||
                         (entry.every == EntrySpec::Every::kMonthly &&
                          static_cast<int>(month_day) == std::min(entry.day_of_month, last_day));
        if (due) {
          journey.next_fire_ms = at;
          break;
        }
      }
      break;
    }
    default:
      break;
  }
}

std::vector<UserId> JourneyEngine::Impl::KeyDateCustomersLocked(ProjectRuntime& runtime,
                                                                const JourneyDefinition& definition,
                                                                int64_t fired_at) {
  const EntrySpec& entry = definition.entry;
  const TimeZone zone = ZoneOf(runtime, definition);
  // Customers whose date is today minus the offset (three days before: the date is in 3 days).
  const int32_t target = zone.DayOf(fired_at) - entry.offset_days;
  int year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(target, &year, &month, &day);
  const std::string prefix = "prof/" + std::to_string(runtime.info->id) + "/";
  std::vector<UserId> due;
  (void)reference_kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() != prefix.size() + 4) return true;
    PropertyMap profile;
    if (!DecodePropertyMap(value, &profile)) return true;
    const Value* date = FindProperty(profile, entry.property);
    if (date == nullptr) return true;
    int32_t days = INT32_MIN;
    if (date->type() == ValueType::kDate) {
      days = date->date_days();
    } else if (date->type() == ValueType::kDatetime) {
      days = zone.DayOf(date->datetime_ms());
    } else if (date->type() == ValueType::kString) {
      if (auto parsed = query::ParseDate(date->str().substr(0, 10))) days = *parsed;
    }
    if (days == INT32_MIN) return true;
    bool match = days == target;
    if (!match && entry.annual) {
      int y = 0;
      unsigned m = 0, d = 0;
      CivilFromDays(days, &y, &m, &d);
      // 29 February is celebrated on 28 February in common years.
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      const bool feb29_in_common_year = m == 2 && d == 29 && !leap && month == 2 && day == 28;
      match = ((m == month && d == day) || feb29_in_common_year) && y <= year;
    }
    if (match) due.push_back(state::ReadBigEndian32(key.substr(prefix.size())));
    return true;
  });
  return due;
}

void JourneyEngine::Impl::RunScheduledEntriesLocked(ProjectRuntime& runtime, int64_t now,
                                                    PendingWork& work) {
  // A running journey whose schedule has ended stops taking entries; customers inside go on.
  bool schedule_ended = false;
  for (auto& [id, journey] : runtime.journeys) {
    const JourneyDefinition* live = journey.live();
    if (journey.meta.status != "running" || live == nullptr || live->end_at_ms == 0 ||
        now < live->end_at_ms || work.dry_run || simulation) {
      continue;
    }
    journey.meta.status = "ended";
    journey.meta.updated_ms = now;
    journey.next_fire_ms = 0;
    (void)SaveMetaLocked(runtime, journey, &work.batch);
    (void)AppendLifecycleLocked(*this, runtime.info->id, journey.meta, "end", "schedule",
                                &work.batch);
    schedule_ended = true;
  }
  if (schedule_ended) RebuildIndexLocked(runtime);  // the index holds who takes entries
  for (auto& [id, journey] : runtime.journeys) {
    if (journey.next_fire_ms == 0 || journey.next_fire_ms > now || journey.meta.status != "running")
      continue;
    const JourneyDefinition* live = journey.live();
    if (live == nullptr) continue;
    const EntrySpec& entry = live->entry;
    const int64_t fired_at = journey.next_fire_ms;
    const char* trigger = entry.kind == EntrySpec::Kind::kOnce       ? "once"
                          : entry.kind == EntrySpec::Kind::kSchedule ? "schedule"
                                                                     : "key_date";
    if (!journey.firing) {
      // The run's customers are fixed when it starts, then entered a chunk per call, so that a
      // send to millions neither holds the mutex for long nor builds one huge write.
      journey.fire_queue.clear();
      journey.fire_cursor = 0;
      journey.firing = true;
      if (entry.kind == EntrySpec::Kind::kOnce || entry.kind == EntrySpec::Kind::kSchedule) {
        auto members = audience->SegmentMembers(*runtime.info, entry.segment);
        if (members.ok()) {
          journey.fire_queue.resize(members->cardinality());
          members->toUint32Array(journey.fire_queue.data());
        }
      } else if (entry.kind == EntrySpec::Kind::kKeyDate) {
        journey.fire_queue = KeyDateCustomersLocked(runtime, *live, fired_at);
      }
    }
    const size_t end = std::min(journey.fire_queue.size(), journey.fire_cursor + kEntriesPerStep);
    // A journey that sends reads each entered customer's profile for the touch decision.
    const bool sends = std::any_of(live->nodes.begin(), live->nodes.end(), [](const auto& node) {
      return node.kind == JourneyNode::Kind::kSend || node.kind == JourneyNode::Kind::kWebhook;
    });
    if (sends) {
      PrefetchProfilesLocked(runtime,
                             std::span<const UserId>(journey.fire_queue)
                                 .subspan(journey.fire_cursor, end - journey.fire_cursor),
                             work);
    }
    for (size_t index = journey.fire_cursor; index < end; ++index) {
      TryEnterLocked(runtime, journey, journey.fire_queue[index], "{}", trigger, work);
    }
    // Only this chunk's decisions may use what was read ahead for it.
    work.prefetched_users.clear();
    work.prefetched_profiles.clear();
    journey.fire_cursor = end;
    if (end < journey.fire_queue.size()) continue;  // still due: the next call goes on
    journey.firing = false;
    journey.fire_queue = {};
    Bump(journey, entry.kind == EntrySpec::Kind::kKeyDate ? "key_date.runs" : "schedule.runs");
    if (entry.kind == EntrySpec::Kind::kOnce) Bump(journey, "once.fired");
    ComputeNextFireLocked(runtime, journey, std::max(now, fired_at));
  }
  bool in_progress = false;
  for (const auto& [id, journey] : runtime.journeys) in_progress = in_progress || journey.firing;
  runs_in_progress = in_progress;
}

}  // namespace sextant::journey
