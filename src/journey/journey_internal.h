// Internal state of the JourneyEngine, shared by its .cc files. Not part of the module's API.
#pragma once

#include <simdjson.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <roaring/roaring.hh>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "channel/channel_sender.h"
#include "common/json_writer.h"
#include "common/record.h"
#include "journey/journey_engine.h"
#include "journey/touch_history_index.h"

namespace sextant::journey {

// Per-customer state in one journey ("jrn/<pid>/i/<journey>\x1f<user>").
struct Instance {
  enum class State : uint8_t { kNone = 0, kActive = 1, kExited = 2, kPending = 3 };
  State state = State::kNone;
  uint32_t version = 0;
  int32_t node = -1;
  uint32_t entries = 0;   // how many times the customer entered
  uint32_t sequence = 0;  // entry sequence of the current (or last) stay
  int64_t entered_ms = 0;
  int64_t exited_ms = 0;
  int64_t due_ms = 0;   // the timer the current node waits for (0 = none)
  int64_t goal_ms = 0;  // when the goal was reached in this stay (0 = not yet)
  bool control = false;
  bool claimed = false;  // a send node waiting for the priority window
  std::string variant;   // "<ab node>:<branch>" of the last A/B split
  std::string exit_reason;
  // kPending (breakpoint entry): matching start events counted so far and the first one's time.
  uint32_t pending_count = 0;
  int64_t pending_first_ms = 0;
  std::string event_json = "{}";  // the entry event's properties
  std::string Encode() const;
  static bool Decode(std::string_view bytes, Instance* out);
};

struct JourneyMeta {
  std::string id;
  std::string name;
  std::string status = "draft";  // draft submitted approved running paused ended
  uint32_t current_version = 1;  // the version being edited / reviewed
  uint32_t live_version = 0;     // the version new customers enter (0 = never started)
  uint32_t approved_version = 0;
  std::string created_by, submitted_by, approved_by, comment;
  bool ever_submitted = false;
  int64_t created_ms = 0, updated_ms = 0;
  std::string Encode() const;
  static bool Decode(std::string_view json, JourneyMeta* out);
};

struct TemplateDef {
  std::string name, channel, subject, body;
  bool recommends_item = false;
  std::string status = "draft";  // draft approved
  // What touches send: the content as last approved. An edit goes back to draft and is sent
  // only once approved again.
  bool has_approved = false;
  std::string approved_subject, approved_body;
  std::string created_by, approved_by;
  std::string json;
};

struct JourneyState {
  JourneyMeta meta;
  std::map<uint32_t, std::shared_ptr<const JourneyDefinition>> versions;
  Roaring active;   // customers inside (kActive) or pending a breakpoint
  Roaring waiting;  // customers whose node waits for an event, or pending a breakpoint
  // Customers with a stored instance (inside, or left: the re-entry rules read it), so that
  // an entry of a customer who was never in the journey does not read the store.
  Roaring with_instance;
  // Node id → customers whose active instance is at a node of that id (any version): the
  // report's "waiting" per node without a scan of every instance under the engine's lock
  // (a report polled on a 5 M-customer journey read them all each time). Kept by
  // SaveInstanceLocked, LoadLocked and erasure.
  std::map<std::string, Roaring> at_node;
  std::map<std::string, int64_t> counters;  // report counters, persisted with every change
  bool counters_dirty = false;
  int64_t next_fire_ms = 0;  // schedule / once / key_date entries (0 = none)
  // A scheduled run in progress: its customers, and how many have been handled.
  bool firing = false;
  std::vector<UserId> fire_queue;
  size_t fire_cursor = 0;
  std::string segment_id;  // resolved entry segment
  // The id of the node `instance` is at when it is active there, else nullptr.
  const std::string* ActiveNodeId(const Instance& instance) const;
  // Moves `user` to the node their saved `instance` is at (or out of every node).
  void PlaceAtNode(UserId user, const Instance& instance);
  const JourneyDefinition* live() const {
    auto found = versions.find(meta.live_version);
    return found == versions.end() ? nullptr : found->second.get();
  }
};

struct ChannelEntry {
  std::string json;
  channel::ChannelConfig config;
  std::string recipient_property;  // profile property with the address; empty = distinct id
  bool inapp = false;
};

struct ProjectRuntime {
  std::shared_ptr<const state::ProjectInfo> info;
  bool loaded = false;
  std::map<std::string, JourneyState> journeys;
  TouchRulesConfig rules;
  std::map<std::string, ChannelEntry> channels;
  std::map<std::string, TemplateDef> templates;  // by TemplateKey(name, channel)
  // event id → journeys that care about it; rebuilt when journeys or the schema change.
  struct IndexEntry {
    std::string event_name;
    std::vector<std::string> journeys;  // "" = the click handler (best channel, click counts)
    // The same journeys' states (nullptr for ""), so that an event does not look each up by
    // id (a map search per event and journey was 10 % of the trigger worker). Valid while the
    // index is: `journeys` is a std::map (its entries never move), the index is rebuilt when a
    // journey starts, and a journey that has ever run — the only kind indexed — is never erased.
    std::vector<JourneyState*> states;
    // Per journey: true when the event's only role in it is the `event` entry of a version
    // (no breakpoint, goal, exit or wait-event names it). Such an event changes nothing unless
    // the live entry matches and the customer is outside, so the entry condition is evaluated
    // first and the active-set lookup only for a match (the lookup of every listening journey
    // was 21 % of the trigger worker).
    std::vector<uint8_t> entry_only;
    // Per journey, for entry-only events: the live version's entry matcher when the journey is
    // running and that entry is this event (else nullptr: the event changes nothing), and the
    // zone its conditions read dates in. Checking status, live version and zone per event
    // touched three cache lines of every listening journey (15 % of the trigger worker). The
    // index is rebuilt whenever a journey's status or live version changes (lifecycle actions,
    // a schedule's end), so these stay true while it is.
    std::vector<const EventMatcher*> live_entry;
    std::vector<TimeZone> live_zone;
  };
  std::unordered_map<store::EventId, IndexEntry> index;
  bool unresolved_names = false;   // some journey names an event the schema does not know yet
  std::string unsubscribe_secret;  // signs unsubscribe links; random per project, kept in the store
  // The touches of the last kTouchHistoryMs per customer (caps, priority), loaded from the
  // state store on first use (TouchHistoryLocked) and then kept in step with it.
  TouchHistoryIndex touch_history;
  bool touch_history_loaded = false;
  // Customers with stored channel response counts (`jrn/<pid>/r/`) and with stored consent
  // (`jrn/<pid>/x/`): a touch decision for anyone else reads neither from the store — most
  // customers of a mass send have neither, and each read that misses probes every level of
  // the store. Loaded from the keys on first use (CustomerKeysLocked), kept by every writer
  // (touches, clicks, consent, unsubscribe) and erasure.
  Roaring with_response_counts, with_consent;
  bool customer_keys_loaded = false;
  // Where the next scan of due timers (`jrn/<pid>/t/`) starts ("" = the first timer key):
  // every timer key below it was taken by a scan and deleted in that step's batch. Fired
  // timers leave tombstones until the state store compacts them, and a scan from the first
  // key walked all of them on every pass (the worker scans after every step). SetTimerLocked
  // lowers it to any key it puts below it, before the next scan can run (both hold `mu`, and a
  // step's batch is written before the engine's next scan).
  std::string timer_cursor;
};

// Work collected while the engine's mutex is held, applied after: the state-store batch and the
// events to ingest.
// Keeps in `lowest` the smaller of its entry for `project` and `key` (the outbox scan's
// resume point may only move down through writers).
inline void KeepLowestKey(std::map<ProjectId, std::string>& lowest, ProjectId project,
                          const std::string& key) {
  auto [found, inserted] = lowest.try_emplace(project, key);
  if (!inserted && key < found->second) found->second = key;
}

// Events a step emits for one project, ingested after the step (EmitInBackground on the
// emitter thread, or ApplyPending).
struct EmittedBatch {
  std::string project;  // name
  ProjectId project_id = 0;
  std::vector<Record> records;
  // Per record: the user whose distinct id it still needs (0 = it has one). A step's journey
  // events ($journey_enter, ...) take the customer's distinct id only when they are handed to
  // ingest (ResolveEmittedUsers), off the decision path: the identity store's lock is the one
  // every ingest request takes per record, and waiting for it was most of the decision
  // worker's sleeps in a 200 K events/s stream. A user without a distinct id (erased since)
  // emits nothing, as before.
  std::vector<UserId> users;
  void Add(Record record, UserId unresolved_user = 0) {
    records.push_back(std::move(record));
    users.push_back(unresolved_user);
  }
};

struct PendingWork {
  state::KvStore::Batch batch;
  state::KvStore::Batch queue_batch;  // deletions of decided "jrn/q/" records (separate queue)
  std::vector<EmittedBatch> events;  // in emission order, a batch per run of one project
  bool dry_run = false;  // nothing is written (reports that only read)
  // What the step read about the customer it is working on (CustomerLocked), so that two
  // touches in a row and the events they emit read the store once. A step holds the engine's
  // mutex and its own writes reach the store only after it ends, so within a step the values
  // cannot go stale through the engine; other writers (ingest) were never ordered against a
  // step's reads anyway.
  struct Customer {
    ProjectId project = 0;
    UserId user = 0;
    bool loaded = false;          // distinct_id
    bool details_loaded = false;  // profile and consent
    std::string distinct_id;
    PropertyMap profile;
    PropertyMap consent;  // "<purpose>:<channel>" → granted, as stored
  };
  Customer customer;
  // Profiles read ahead in one batch for the customers a step is about to enter (a scheduled
  // send's chunk), users ascending, cleared once the chunk is entered; CustomerLocked takes a
  // customer's from here instead of reading it alone. Within a step a profile can change only
  // through ingest (a journey's profile update is an emitted record), which was never ordered
  // against a step's reads.
  ProjectId prefetched_project = 0;
  std::vector<UserId> prefetched_users;
  std::vector<std::optional<Result<PropertyMap>>> prefetched_profiles;  // nullopt once taken
  // Values this work's batch writes that a later decision of the same step reads back (the
  // customer's instances and channel response counts), by state key, until the batch reaches
  // the store: a step decides several events of one customer (an SDK batch: entry, then the
  // event a wait is for; two sends in a row) before writing, and each decision must see the
  // previous one's result.
  std::unordered_map<std::string, std::string> staged;
  // Per project, the smallest outbox key this work's batch puts: once the batch is written the
  // delivery scan is told (Impl::NoteOutboxWritten), so it never resumes past a new record.
  std::map<ProjectId, std::string> outbox_lowest;
  void NoteOutboxPut(ProjectId project, const std::string& key) {
    KeepLowestKey(outbox_lowest, project, key);
  }
  // Puts `value` in the batch and keeps it readable through Staged() for the rest of the step.
  void PutStaged(std::string key, std::string value) {
    batch.Put(key, value);
    staged.insert_or_assign(std::move(key), std::move(value));
  }
  const std::string* Staged(const std::string& key) const {
    auto found = staged.find(key);
    return found == staged.end() ? nullptr : &found->second;
  }
  // Makes this work ready for its thread's next step, keeping the batch's buffers (a mass
  // send's steps each fill megabytes). Requires the batch written and the events handed over
  // (WriteLocked / ApplyPending, EmitInBackground).
  void NextStep() {
    customer = Customer{};
    outbox_lowest.clear();
  }
};

// One step of a simulated run (dry run): what happened to the customer, and when.
struct TraceStep {
  int64_t time_ms = 0;
  std::string kind;    // enter, node, sent, suppressed, deferred, task, goal, exit
  std::string detail;  // node id, channel, reason, ...
};

struct JourneyEngine::Impl {
  JourneyEngine* self;
  JourneyEngineOptions options;
  state::KvStore* kv;
  // Where handed-over commits wait (options.commit_queue, or `kv`); see "jrn/q/" below.
  state::KvStore* queue_kv;
  bool separate_queue() const { return queue_kv != kv; }
  state::ProjectRegistry* projects;
  state::SchemaRegistry* schemas;
  identity::IdentityStore* identities;
  profile::ProfileStore* profiles;
  audience::AudienceEngine* audience;
  ingest::IngestPipeline* pipeline;  // null in a simulation: events are recorded, not ingested
  Clock* clock;
  DecisionLedger ledger;
  // Simulations (dry run, backtest) run on a scratch state store; `reference_kv` is the real one,
  // read for consent and for the profiles a key-date entry scans. Equal to `kv` otherwise.
  state::KvStore* reference_kv;
  profile::ProfileStore* items;  // where recommended items are read (the real store in a dry run)
  // Dry run of a customer who may not exist: their user id and distinct id.
  UserId simulated_user = 0;
  std::string simulated_distinct_id;
  bool simulation = false;  // dry run / backtest: nothing is delivered
  bool keep_outbox = true;  // false in backtests: touches are counted, not queued for delivery
  std::vector<TraceStep>* trace = nullptr;  // simulations: what happened, in order
  std::vector<std::pair<int64_t, Record>>* emitted = nullptr;  // simulations: events not ingested

  std::mutex mu;  // guards everything below that is not marked otherwise
  std::map<ProjectId, ProjectRuntime> runtimes;
  std::map<std::string, std::set<std::string>> operators;  // name → roles
  std::mutex interest_mu;  // guards `interests` only, so ingest threads never wait for `mu`
  std::map<ProjectId, std::shared_ptr<const ingest::EventInterest>> interests;

  // Held by OnCommitted from taking a sequence number to queueing the commit, so that commits
  // are queued in sequence order while their jrn/q/ record is written outside queue_mu: the
  // worker takes queue_mu between steps, and waited behind that write (a RocksDB write that
  // queues behind the worker's own step batch, up to a few ms) when it was inside.
  std::mutex commit_order_mu;
  std::mutex queue_mu;
  // queue_cv has one waiter, the decision worker: a notify_one() for a queued commit that woke
  // another thread (the delivery thread waited on it too) left the worker asleep until the next
  // commit's notify — half of the trigger latency at 200 K events/s (p90 6 ms from queued to
  // picked up by an idle worker).
  std::condition_variable queue_cv, drained_cv;
  std::condition_variable delivery_cv;  // the delivery thread's idle wait; notified at stop
  std::deque<ingest::CommittedChanges> queue;  // guarded by queue_mu
  uint64_t queued = 0, applied = 0;            // guarded by queue_mu
  // The events the worker's steps emit ($journey_*, $touch_*) are handed to the `emitter`
  // thread, which passes them to the ingest pipeline in step order without waiting for them
  // to be durable: deciding never waits for an ingest (a mass send would alternate deciding
  // and ingesting, one core idle; a trigger decision would wait for the next group commit).
  // The worker waits only while kEmitQueueSteps steps are queued, so a mass send cannot
  // outrun its ingest. `ingests_in_flight` counts handed-over project batches until their
  // ingest completed; Drain() waits for it, so a caller that drained sees every event.
  static constexpr size_t kEmitQueueSteps = 2;
  using EmittedEvents = std::vector<EmittedBatch>;
  std::deque<EmittedEvents> emit_queue;  // guarded by queue_mu
  std::condition_variable emit_cv;       // emit_queue gained an entry or room
  bool emitter_stopping = false;         // guarded by queue_mu
  std::thread emitter;
  // The most records one project batch of a handed-over step held (worker thread only). A
  // new batch reserves that many, so a mass send's batches (about 20,000 records a step) do
  // not grow by doubling: moving every record again at each growth, into fresh pages, was 9 %
  // of the decision thread.
  size_t emitted_batch_records_hint = 0;
  uint64_t ingests_in_flight = 0;  // guarded by queue_mu
  // Handed-over events are kept under "jrn/q/<sequence>" until the worker has written their
  // effects, so a crash between the ingest acknowledgement and the journey decision loses
  // nothing: Start() queues what is left. In the state store (no separate queue), the worker's
  // atomic write of the effects deletes the records. In a queue store of its own, the worker's
  // write records the last sequence decided ("jrn/q-applied", in the same state batch) and
  // then deletes the records from the queue store; Start() skips (and deletes) records at or
  // below that sequence, which a crash between the two writes left behind.
  bool stopping = false;                      // guarded by queue_mu
  std::atomic<bool> runs_in_progress{false};  // a scheduled run has customers left to enter
  std::thread worker, delivery;
  std::mutex delivery_mu;  // one delivery pass at a time (thread or RunDueNow)
  std::map<std::string, std::unique_ptr<channel::ChannelSender>> senders;  // guarded by delivery_mu
  // Delivery never takes `mu`: a mass send's decision steps hold it for up to a few hundred
  // ms each, and a delivery that waited for it once per settle group was starved while the
  // send was being decided (7–9 K delivered/s against 27 K/s once deciding ended). What the
  // two sides share instead is behind `delivery_state_mu`, a leaf lock held only to copy:
  //  * `delivery_sources`: per loaded project its name and channel configurations, published
  //    by the runtime (PublishDeliverySourceLocked) whenever they change;
  //  * settled outcomes: each settle group writes its outbox changes, its `$touch_*` events'
  //    counter changes as a durable delta record ("jrn/<pid>/d/<sequence>", JSON journey →
  //    counter → delta) in the same state batch, then adds the deltas here. The runtime folds
  //    them into the journeys' counters and deletes the delta records in its own next batch
  //    (FlushCountersLocked), so each outcome is counted once across crashes; LoadLocked
  //    queues delta records a crash left behind; reports add deltas not folded yet.
  struct DeliverySource {
    std::string project_name;
    std::map<std::string, channel::ChannelConfig> channels;
  };
  using CounterDeltas = std::map<std::string, std::map<std::string, int64_t>>;  // journey → …
  struct SettledOutcomes {
    std::vector<std::string> delta_keys;  // written, not folded yet
    CounterDeltas deltas;                 // their sum
    void Add(std::vector<std::string> keys, const CounterDeltas& more) {
      for (std::string& key : keys) delta_keys.push_back(std::move(key));
      for (const auto& [journey_id, counters] : more)
        for (const auto& [counter, delta] : counters) deltas[journey_id][counter] += delta;
    }
  };
  std::mutex delivery_state_mu;
  std::map<ProjectId, DeliverySource> delivery_sources;  // guarded by delivery_state_mu
  std::map<ProjectId, SettledOutcomes> settled;          // guarded by delivery_state_mu
  // Delta record sequence; starts at the wall clock's microseconds so that records a crash
  // left behind (not yet loaded) are never overwritten after a restart. Guarded by delivery_mu.
  uint64_t next_delta_sequence = 0;
  // Per project, where the next outbox scan starts ("" = the start of the outbox): the first
  // record the last scan left (not due yet: a retry's backoff; created after its `now`), else
  // just past the last record it saw. Every record below it was taken by a pass and then
  // deleted or rewritten as a retry; a rewrite, like any new record, lowers the next start
  // through `outbox_written_below`. Delivered records leave tombstones in the state store
  // until compaction removes them, and a scan from the start of the outbox walked all of them
  // on every pass of a mass send. Guarded by delivery_mu.
  std::map<ProjectId, std::string> outbox_cursors;
  // Per project, the smallest outbox key written (the write done) since the last scan began;
  // that scan's successor starts no later than it. Guarded by delivery_state_mu.
  std::map<ProjectId, std::string> outbox_written_below;
  // Records that `key` was written to the outbox of `project` (after the write). Takes
  // delivery_state_mu.
  void NoteOutboxWritten(ProjectId project, const std::string& key);

  Impl(JourneyEngine* engine, JourneyEngineOptions opts, state::KvStore* kv_store,
       state::ProjectRegistry* project_registry, state::SchemaRegistry* schema_registry,
       identity::IdentityStore* identity_store, profile::ProfileStore* profile_store,
       audience::AudienceEngine* audience_engine, ingest::IngestPipeline* ingest_pipeline,
       Clock* engine_clock)
      : self(engine),
        options(opts),
        kv(kv_store),
        queue_kv(opts.commit_queue != nullptr ? opts.commit_queue : kv_store),
        projects(project_registry),
        schemas(schema_registry),
        identities(identity_store),
        profiles(profile_store),
        audience(audience_engine),
        pipeline(ingest_pipeline),
        clock(engine_clock),
        ledger(kv_store),
        reference_kv(kv_store),
        items(profile_store) {}

  // --- state (journey_engine.cc); *Locked methods require `mu` ---
  Result<ProjectRuntime*> RuntimeLocked(const state::ProjectInfo& project);
  // Journey `id` of `project` with its project's runtime; kNotFound if there is none.
  Result<std::pair<ProjectRuntime*, JourneyState*>> JourneyLocked(const state::ProjectInfo& project,
                                                                  const std::string& id);
  Status LoadLocked(ProjectRuntime& runtime);
  Status SaveMetaLocked(ProjectRuntime& runtime, const JourneyState& journey,
                        state::KvStore::Batch* batch);
  void RebuildIndexLocked(ProjectRuntime& runtime);
  TimeZone ZoneOf(const ProjectRuntime& runtime, const JourneyDefinition& definition) const;
  // Checks that a definition's names resolve (segments, templates, channels) — at submit.
  Status CheckReferencesLocked(ProjectRuntime& runtime, const JourneyDefinition& definition);
  // Writes the batch of `work` (and empties it); false if the state store refused the write.
  // Requires `mu`: a step's reads and its write happen under the lock, so no other thread can
  // act on the state the step is replacing.
  bool WriteLocked(PendingWork& work);
  // Writes what is left of the batch, then ingests the events of `work` (waiting until they
  // are durable). Call it after releasing `mu`.
  void ApplyPending(PendingWork& work);
  // Writes the batch of `work` in key order and empties it (with `staged`). WriteLocked is this
  // under `mu`; ApplyPending calls it for what is left after the lock is released. False if
  // the state store refused the write.
  bool WriteBatch(PendingWork& work);
  // Hands `records` to the ingest pipeline as the server's own events (no $ip, every project
  // authorized); `done` runs once the pipeline answered (durable, or refused). With no pipeline
  // (simulations) the records go to `emitted` and `done` runs at once.
  void IngestEmitted(const std::string& project, std::vector<Record> records,
                     std::function<void()> done);
  // Fills in the distinct ids `batch` still needs (EmittedBatch::users) and drops the records
  // of users who have none. Does not take `mu`.
  void ResolveEmittedUsers(EmittedBatch& batch);
  // Queues the events of a worker step for the emitter thread (waits while the queue is full).
  // Requires queue_mu not held.
  void EmitInBackground(PendingWork& work);
  void EmitterLoop();
  // Adds `delta` to a report counter of `journey` and lists the journey in
  // journeys_with_dirty_counters (once) for the next FlushCountersLocked of its project.
  void Bump(JourneyState& journey, const std::string& counter, int64_t delta = 1);
  // Journeys whose counters changed since their project's last flush (guarded by mu). A flush
  // visits these, not every journey of the project: the worker flushes after every step, and a
  // walk over 1,000 journeys per step was 6 % of its CPU. A journey is removed before it is
  // erased (DeleteJourney), so every pointer here is live.
  std::vector<JourneyState*> journeys_with_dirty_counters;
  // Publishes `runtime`'s name and channels to the delivery thread (delivery_sources).
  void PublishDeliverySourceLocked(const ProjectRuntime& runtime);
  // `journey`'s counters with the settled delivery outcomes not folded into them yet.
  std::map<std::string, int64_t> CountersLocked(ProjectId project, const JourneyState& journey);

  // --- runtime (journey_runtime.cc) ---
  Status LoadQueue();  // requires queue_mu not held
  // Decides a group of committed changes under one lock and one state write, and observes
  // each commit's decision latency once that write is done. The events the decisions emit are
  // left in `work.events` for the caller to ingest.
  void ProcessChanges(std::span<const ingest::CommittedChanges> commits, PendingWork& work);
  void ProcessEventLocked(ProjectRuntime& runtime, const store::EventRow& row, PendingWork& work);
  // Fires up to `limit` timers due at `now`; returns how many it took.
  size_t RunTimersLocked(ProjectRuntime& runtime, int64_t now, PendingWork& work, size_t limit);
  void RunScheduledEntriesLocked(ProjectRuntime& runtime, int64_t now, PendingWork& work);
  // The customers whose key date falls on the day of `fired_at` (after the entry's offset).
  std::vector<UserId> KeyDateCustomersLocked(ProjectRuntime& runtime,
                                             const JourneyDefinition& definition, int64_t fired_at);
  void ComputeNextFireLocked(ProjectRuntime& runtime, JourneyState& journey, int64_t after);
  // Enters `user` into `journey` if its state and re-entry rules allow; `event_json` = the entry
  // event's properties. Returns whether the customer entered.
  bool TryEnterLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                      const std::string& event_json, std::string_view trigger, PendingWork& work);
  void AdvanceLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                     Instance& instance, int node, PendingWork& work);
  void ReachGoalLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                       Instance& instance, PendingWork& work);
  void FlushCountersLocked(ProjectRuntime& runtime, PendingWork& work);
  std::string UnsubscribeUrl(const ProjectRuntime& runtime, UserId user,
                             const std::string& channel) const;
  void ExitLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user, Instance& instance,
                  const std::string& reason, PendingWork& work);
  void SaveInstanceLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                          const Instance& instance, PendingWork& work);
  // Publish with migration "move": every customer active on an older version moves to
  // `version`, at the node with the same id when that node has the same kind there (a wait
  // keeps its due time, a wait for an event its place among the waiting); the others stay on
  // their version. Returns {moved, stayed}.
  std::pair<uint64_t, uint64_t> MoveToVersionLocked(ProjectRuntime& runtime, JourneyState& journey,
                                                    uint32_t version, PendingWork& work);
  // The customer's instance: as `work` left it when it saved one not yet written, else as
  // stored (a default Instance when there is none).
  Result<Instance> LoadInstanceLocked(ProjectRuntime& runtime, const std::string& journey_id,
                                      UserId user, const PendingWork* work);
  // The value `work` staged for `key`, else the stored one.
  Result<std::string> ReadStagedLocked(const PendingWork& work, const std::string& key);
  void SetTimerLocked(ProjectRuntime& runtime, JourneyState& journey, UserId user,
                      Instance& instance, int64_t due, PendingWork& work);
  // Runs a send or webhook node; false when the touch was deferred (the instance stays).
  bool TouchLocked(ProjectRuntime& runtime, JourneyState& journey,
                   const JourneyDefinition& definition, const JourneyNode& node, UserId user,
                   Instance& instance, PendingWork& work);
  void CreateTaskLocked(ProjectRuntime& runtime, JourneyState& journey, const JourneyNode& node,
                        UserId user, Instance& instance, PendingWork& work);
  // The customer's distinct id ("" = none). Despite the name it needs no `mu` (the identity
  // store has its own lock; the simulated customer is fixed before a simulation runs), so the
  // emitter thread calls it too (ResolveEmittedUsers).
  std::string DistinctIdLocked(ProjectId project, UserId user);
  // The distinct id of `user` and, with `details`, their profile and consent: read once per step
  // and customer.
  const PendingWork::Customer& CustomerLocked(ProjectRuntime& runtime, UserId user,
                                              PendingWork& work, bool details);
  // Reads the profiles of `users` in one batch into work.prefetched_*, for the CustomerLocked
  // calls of the step that enters them.
  void PrefetchProfilesLocked(ProjectRuntime& runtime, std::span<const UserId> users,
                              PendingWork& work);
  // The runtime's touch history index, loaded from the store the first time (expired records
  // found while loading are deleted).
  TouchHistoryIndex& TouchHistoryLocked(ProjectRuntime& runtime);
  // `runtime` with with_response_counts / with_consent loaded (a scan of their keys the first
  // time). Call before adding to either, so that a load never misses a pending write.
  ProjectRuntime& CustomerKeysLocked(ProjectRuntime& runtime);
  // Adds one to the customer's channel response count `counter` ("<channel>.sent" /
  // ".clicked", `jrn/<pid>/r/<user>`), read back within the step through `work`.
  void CountResponseLocked(ProjectRuntime& runtime, UserId user, const std::string& counter,
                           PendingWork& work);
  void Trace(std::string kind, std::string detail);
  void EmitLocked(ProjectRuntime& runtime, UserId user, const std::string& event,
                  std::vector<std::pair<std::string, Value>> properties, PendingWork& work);
  // The record of an event the server emits about `distinct_id` at `time_ms`.
  static Record JourneyEventRecord(std::string event, std::string distinct_id, int64_t time_ms,
                                   std::vector<std::pair<std::string, Value>> properties);
  bool EvaluateSplitLocked(ProjectRuntime& runtime, const SplitCondition& condition, UserId user,
                           const PropertyMap& profile, const PropertyMap& event,
                           const TimeZone& zone);
  // Renders `text` with {{profile.x}}, {{tag.x}}, {{event.x}}, {{item.x}}, {{unsubscribe_url}}.
  std::string RenderLocked(ProjectRuntime& runtime, std::string_view text, UserId user,
                           const PropertyMap& profile, const PropertyMap& event,
                           const PropertyMap& item, const std::string& unsubscribe_url,
                           std::vector<std::string>* used);

  // --- delivery (journey_delivery.cc) ---
  // Sends every outbox record due at the clock's time; returns how many were settled.
  size_t DeliverDue(size_t limit);
};

// The string member `key` of `object`; empty when absent or not a string.
inline std::string_view StringField(const simdjson::dom::element& object, const char* key) {
  std::string_view value;
  return object[key].get_string().get(value) == simdjson::SUCCESS ? value : std::string_view();
}
// The integer member `key` of `object`; `fallback` when absent or not an integer.
inline int64_t IntField(const simdjson::dom::element& object, const char* key,
                        int64_t fallback = 0) {
  int64_t value = 0;
  return object[key].get_int64().get(value) == simdjson::SUCCESS ? value : fallback;
}

// Templates are named; one name may have a variant per channel.
inline std::string TemplateKey(std::string_view name, std::string_view channel) {
  return std::string(name) + '\x1f' + std::string(channel);
}
// The variant of template `name` for `channel`, else its first variant; null if none.
const TemplateDef* FindTemplate(const ProjectRuntime& runtime, std::string_view name,
                                std::string_view channel);

// Key helpers: "jrn/<pid>/<space>/".
std::string JourneyKey(ProjectId project, std::string_view space);
std::string InstanceKey(ProjectId project, const std::string& journey_id, UserId user);
PropertyMap ParsePropertiesJson(std::string_view json);
std::string QueueKey(uint64_t sequence);
// The state store key of the last commit sequence decided, with a separate queue store.
inline constexpr std::string_view kQueueAppliedKey = "jrn/q-applied";
// Adds a lifecycle entry (create, edit, submit, approve, ..., end) to the ledger. Requires impl.mu.
Status AppendLifecycleLocked(JourneyEngine::Impl& impl, ProjectId project, const JourneyMeta& meta,
                             const std::string& action, const std::string& actor,
                             state::KvStore::Batch* batch);
std::string PropertiesJson(const PropertyMap& properties, const TimeZone& zone);

}  // namespace sextant::journey
