// AudienceEngine: tags (标签) and segments (客群) of every project — definitions, computation,
// materialised membership, event-driven updates, insight and lookalike. Semantics and JSON:
// docs/segments.md.
//
// Model:
//  * A segment's members are a Roaring bitmap over dense user ids. A rule segment is computed
//    in full by evaluating each leaf condition to a bitmap (profile and tag conditions scan an
//    in-memory column; behaviour conditions scan the window's day columns once, through the
//    analysis engine's cache) and combining them with set algebra. Static segments hold the
//    ids they were given.
//  * Realtime segments keep, per behaviour condition, each person's count or sum in the window
//    as of the last full computation; an ingested event that matches adds to it, and the
//    person's membership is re-evaluated from the leaf bitmaps at once. Profile changes
//    re-evaluate profile conditions the same way, membership changes of a segment propagate to
//    segments that refer to it. The trailing edge of relative windows (events ageing out) is
//    applied by the next full refresh, which by default runs at midnight in the project's time
//    zone (calendar-day windows change only then). Every change after the first computation is
//    recorded as an event, $segment_enter or $segment_exit, ingested for the person.
//  * A tag's values are a UserColumn; each run stores a dated snapshot (one per day, the last
//    run of the day wins) with its coverage and distribution. Statistic tags (count, sum, min,
//    max) and first/last tags are also updated as events arrive.
//
// Persistence (state store): definitions "aud/<pid>/seg/<id>", "aud/<pid>/tag/<id>" (JSON);
// members "aud/<pid>/segm/<id>" (portable Roaring); size history "aud/<pid>/segh/<id>/<ms BE64>";
// tag snapshots "aud/<pid>/tagv/<id>/<day BE32>" and their statistics "aud/<pid>/tags/<id>/<day
// BE32>"; id sequence "aud/<pid>/seq". Realtime changes to members are saved by the next full
// refresh or by SaveDirty (every 5 s and at Stop). Per-person counts live in memory only: when
// a project is loaded (at start, by the scheduler) every realtime segment is refreshed at once,
// which rebuilds them and emits the membership changes missed while the server was down.
//
// Thread-safety: every public method may be called from any thread. Each project's state is
// guarded by one mutex; a full computation holds it, so events of that project wait for it.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <roaring/roaring.hh>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audience/definitions.h"
#include "audience/user_column.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/metrics.h"
#include "common/status.h"
#include "identity/identity_store.h"
#include "ingest/commit_observer.h"
#include "ingest/ingest_pipeline.h"
#include "query/query_engine.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "store/event_row.h"
#include "store/event_store.h"

namespace sextant::audience {

using ingest::CommittedChanges;
using ingest::EventInterest;

struct CompiledRule;  // audience_internal.h
struct WindowScan;    // audience_internal.h

// The customers a caller scoped to a branch may see (docs/access.md, "Organisation tree"): one
// condition on profile properties, as a segment rule and in the query language. Answers given
// through a scope count and list only those people.
struct CustomerScope {
  std::string rule_json;     // a segment rule of `profile` conditions
  query::FilterNode filter;  // the same condition for the query engine (`user.` conditions)
};

struct AudienceAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class AudienceEngine final : public ingest::CommitObserver {
 public:
  AudienceEngine(query::QueryEngine* queries, state::SchemaRegistry* schemas,
                 identity::IdentityStore* identities, state::ProjectRegistry* projects,
                 state::KvStore* kv, Clock* clock);
  ~AudienceEngine();

  // Membership events are ingested through `pipeline` (null: not recorded).
  void SetPipeline(ingest::IngestPipeline* pipeline) { pipeline_ = pipeline; }
  // Starts the worker that applies ingested changes and the scheduler of refreshes and runs.
  void Start();
  // Applies what is queued, saves realtime changes, stops the threads. Idempotent.
  void Stop();

  // --- ingest hook (called by the ingest pipeline) ---
  std::shared_ptr<const EventInterest> InterestOf(state::ProjectId project) override;
  // Queues durable changes; returns at once.
  void OnCommitted(CommittedChanges changes) override;
  // Blocks until every change queued before the call has been applied.
  void Drain();

  // --- segments (answers are JSON documents, docs/segments.md) ---
  Result<AudienceAnswer> CreateSegment(const state::ProjectInfo& project, std::string_view body);
  // A static segment from a CSV upload (first column: distinct ids; a header row is skipped
  // when its first cell is not a known id).
  Result<AudienceAnswer> CreateStaticSegment(const state::ProjectInfo& project,
                                             const std::string& name,
                                             const std::string& description, std::string_view csv);
  // With a `scope`, sizes count only the scope's customers (here and in GetSegment,
  // SegmentUsers, EstimateSegment, CreateSegmentFromQuery).
  Result<AudienceAnswer> ListSegments(const state::ProjectInfo& project,
                                      const CustomerScope* scope = nullptr);
  Result<AudienceAnswer> GetSegment(const state::ProjectInfo& project, const std::string& id,
                                    const CustomerScope* scope = nullptr);
  Result<AudienceAnswer> UpdateSegment(const state::ProjectInfo& project, const std::string& id,
                                       std::string_view body);
  Result<AudienceAnswer> DeleteSegment(const state::ProjectInfo& project, const std::string& id);
  Result<AudienceAnswer> RefreshSegment(const state::ProjectInfo& project, const std::string& id);
  // Members in id order: JSON {"total", "users": [...]} or CSV with `columns` (profile
  // properties) after distinct_id.
  Result<AudienceAnswer> SegmentUsers(const state::ProjectInfo& project, const std::string& id,
                                      size_t offset, size_t limit,
                                      const std::vector<std::string>& columns, bool csv,
                                      const CustomerScope* scope = nullptr);
  Result<AudienceAnswer> SegmentHistory(const state::ProjectInfo& project, const std::string& id);
  Result<AudienceAnswer> EstimateSegment(const state::ProjectInfo& project, std::string_view body,
                                         const CustomerScope* scope = nullptr);
  Result<AudienceAnswer> SegmentInsight(const state::ProjectInfo& project, const std::string& id,
                                        std::string_view body);
  Result<AudienceAnswer> SegmentLookalike(const state::ProjectInfo& project, const std::string& id,
                                          std::string_view body);
  Result<AudienceAnswer> UserSegments(const state::ProjectInfo& project, UserId user);

  // --- tags ---
  Result<AudienceAnswer> CreateTag(const state::ProjectInfo& project, std::string_view body);
  // With a `scope`, "coverage" counts only the scope's customers (here and in GetTag).
  Result<AudienceAnswer> ListTags(const state::ProjectInfo& project,
                                  const CustomerScope* scope = nullptr);
  Result<AudienceAnswer> TagCategories(const state::ProjectInfo& project);
  Result<AudienceAnswer> GetTag(const state::ProjectInfo& project, const std::string& id,
                                const CustomerScope* scope = nullptr);
  // The customers of `scope` now: its profile conditions over the project's people.
  Result<Roaring> ScopeMembers(const state::ProjectInfo& project, const CustomerScope& scope);
  Result<AudienceAnswer> UpdateTag(const state::ProjectInfo& project, const std::string& id,
                                   std::string_view body);
  Result<AudienceAnswer> DeleteTag(const state::ProjectInfo& project, const std::string& id);
  Result<AudienceAnswer> RunTag(const state::ProjectInfo& project, const std::string& id);
  Result<AudienceAnswer> TagHistory(const state::ProjectInfo& project, const std::string& id);
  // Imported tags: CSV rows "distinct_id,value" (a header row is skipped as above).
  // `merge`: keep the values of people the file does not name (else they are cleared).
  Result<AudienceAnswer> ImportTagValues(const state::ProjectInfo& project, const std::string& id,
                                         std::string_view csv, bool merge);
  // Writes {"<tag name>": value, ...} of `user` (the user read API's "tags").
  Status WriteUserTags(const state::ProjectInfo& project, UserId user, JsonWriter& out);

  // --- lookups for the journey runtime (a segment by id or by name; tags by name) ---
  // The id of the segment named or numbered `id_or_name`; kNotFound if none.
  Result<std::string> SegmentIdOf(const state::ProjectInfo& project, const std::string& id_or_name);
  Result<bool> IsMember(const state::ProjectInfo& project, const std::string& id_or_name,
                        UserId user);
  Result<Roaring> SegmentMembers(const state::ProjectInfo& project, const std::string& id_or_name);
  // The current value of tag `name` for `user` (nullopt: no value); kNotFound for no such tag.
  Result<std::optional<Value>> TagValueOf(const state::ProjectInfo& project,
                                          const std::string& name, UserId user);

  // Static segment from the people behind a number of an analysis query (its "users" part).
  Result<AudienceAnswer> CreateSegmentFromQuery(const state::ProjectInfo& project,
                                                std::string_view body,
                                                const CustomerScope* scope = nullptr);

  // Seconds from ingest commit to the membership change it caused (realtime segments).
  Histogram& membership_latency() { return membership_latency_; }

  // Erasure of a person (data-subject deletion): removes `users` from every segment's members
  // (and the evaluated conditions behind them), from the profile columns held in memory and
  // from every tag's current values and stored daily snapshots. Returns the number of
  // segments and tag snapshots that held them.
  struct ErasedAudience {
    uint64_t segments = 0;
    uint64_t tag_snapshots = 0;
  };
  Result<ErasedAudience> ErasePeople(const state::ProjectInfo& project,
                                     const std::vector<UserId>& users);

  // Runs due scheduled refreshes and tag runs now (the scheduler calls it every second).
  void RunDue();

 private:
  struct ProjectState;
  struct SegmentState;
  struct TagState;
  struct Leaf;
  friend struct CompiledRule;

  struct CsvIds {
    std::vector<std::pair<UserId, std::string>> rows;  // user, second cell
    size_t unmatched = 0;
    std::vector<std::string> unmatched_examples;
  };
  struct RefreshResult {
    uint64_t size = 0, entered = 0, exited = 0;
    double elapsed_ms = 0;
  };
  struct MembershipChange {
    std::string segment_id;
    UserId user = 0;
    bool enter = false;
  };
  using TouchedUsers = std::map<std::string, std::vector<UserId>>;  // segment id → people

  ProjectState& StateOf(const state::ProjectInfo& project);
  // fn(state) / fn(state, segment) / fn(state, tag) with the project's state loaded and its
  // mutex held; an unknown segment or tag id is kNotFound. Defined in audience_internal.h.
  template <class Fn>
  Result<AudienceAnswer> WithProject(const state::ProjectInfo& project, Fn&& fn);
  template <class Fn>
  Result<AudienceAnswer> WithSegment(const state::ProjectInfo& project, const std::string& id,
                                     Fn&& fn);
  template <class Fn>
  Result<AudienceAnswer> WithTag(const state::ProjectInfo& project, const std::string& id, Fn&& fn);
  // Every method named *Locked requires the project's mutex.
  Status LoadLocked(ProjectState& state);
  void ScheduleLocked(ProjectState& state, SegmentState& segment, int64_t now);
  void RebuildInterestLocked(ProjectState& state);
  Result<UserColumn*> ProfileColumnLocked(ProjectState& state, const std::string& name);

  // Rules (rule_evaluator.cc).
  Status CompileRuleLocked(ProjectState& state, const RuleNode& root, const std::string& self_id,
                           CompiledRule* out);
  bool DependsOnLocked(ProjectState& state, const std::string& segment_id,
                       const std::string& target_id);
  Result<Roaring> UniverseLocked(ProjectState& state, UserId* user_limit);
  // Loads the day columns of `window` (all history for Window::kAll) and shards the user ids
  // [1, max(user_limit, the store's)); kQueryTooLarge beyond the per-query state bound.
  Result<std::unique_ptr<WindowScan>> PrepareWindowScanLocked(ProjectState& state,
                                                              const Window& window,
                                                              UserId user_limit,
                                                              size_t state_bytes_per_user);
  Status EvaluateBehaviourLocked(ProjectState& state, Leaf& leaf, bool keep_aggregates,
                                 UserId user_limit);
  // A `did` leaf that only asks "at least one such event" (count >= 1, no where, a named event).
  static bool IsExistence(const Leaf& leaf);
  Result<Roaring> EvaluateLocked(ProjectState& state, CompiledRule& rule, bool keep_aggregates);
  static bool MemberOf(const CompiledRule& rule, int node, UserId user);

  // Segments (audience_engine.cc).
  // `visible`: count only these people in "size" (a caller's CustomerScope).
  void WriteSegmentLocked(const SegmentState& segment, JsonWriter& out,
                          const Roaring* visible = nullptr);
  // The people of `scope` (everyone of the project's profile columns that match its rule).
  Result<Roaring> ScopeMembersLocked(ProjectState& state, const CustomerScope& scope);
  Status SaveSegmentLocked(ProjectState& state, SegmentState& segment, bool with_members);
  Status AppendHistoryLocked(ProjectState& state, SegmentState& segment, std::string_view trigger,
                             uint64_t entered, uint64_t exited, double elapsed_ms);
  void SaveDirty();
  Result<SegmentState*> FindSegmentLocked(ProjectState& state, const std::string& id);
  Status CheckSegmentNameLocked(ProjectState& state, const std::string& name,
                                const std::string& except_id);
  // `extra_json` (an object, may be empty) is added to the answer under `extra_key`.
  Result<AudienceAnswer> CreateStaticLocked(ProjectState& state, const std::string& name,
                                            const std::string& description, std::string source,
                                            Roaring members, std::string_view extra_key,
                                            const std::string& extra_json);
  Result<CsvIds> ReadCsvIdsLocked(ProjectState& state, std::string_view csv, bool with_values);
  Result<RefreshResult> RefreshLocked(ProjectState& state, SegmentState& segment,
                                      std::string_view trigger);
  // Ingests $segment_enter / $segment_exit for `changes`. With `wait`, returns once they are
  // durable (or the first ingest error); else returns at once.
  Status EmitMembershipEventsLocked(ProjectState& state,
                                    const std::vector<MembershipChange>& changes,
                                    bool wait = false);
  // The membership events are the durable record of what was announced; members saved before
  // a crash may predate some. Applies, on top of each segment's saved members, the events
  // since they were saved (key "segs/<id>"), so a refresh after a restart announces neither
  // twice nor never (docs/segments.md, "Membership events").
  Status ReplayAnnouncementsLocked(ProjectState& state);
  void ApplyChanges(const CommittedChanges& changes);
  void ApplyProfileChangeLocked(ProjectState& state, UserId user, TouchedUsers* touched);
  void ReevaluateLocked(ProjectState& state, TouchedUsers& touched,
                        std::vector<MembershipChange>* membership);

  // Tags (tag_runner.cc).
  Result<UserColumn*> TagColumnLocked(ProjectState& state, const std::string& name);
  Status LoadTagValuesLocked(ProjectState& state, TagState& tag);
  void PrepareTagLocked(ProjectState& state, TagState& tag);
  Status ComputeEventTagLocked(ProjectState& state, TagState& tag, const Roaring& universe,
                               UserId user_limit, UserColumn* out);
  Status RunTagLocked(ProjectState& state, TagState& tag);
  Status SaveTagSnapshotLocked(ProjectState& state, TagState& tag);
  void ApplyEventToTagsLocked(ProjectState& state, const store::EventRow& row, uint64_t sequence,
                              int64_t now, TouchedUsers* touched);
  // `visible`: count only these people in "coverage" (a caller's CustomerScope).
  Status WriteTagLocked(ProjectState& state, TagState& tag, JsonWriter& out,
                        const Roaring* visible = nullptr);
  Result<TagState*> FindTagLocked(ProjectState& state, const std::string& id);

  // Lookalike (audience_analytics.cc): scores of every user from a model trained on the seed;
  // `report` (if given) receives the model's quality as an object.
  Result<UserColumn> LookalikeScoresLocked(ProjectState& state, const std::string& seed_id,
                                           const std::string& options_json, JsonWriter* report);

  void WorkerLoop();
  void SchedulerLoop();

  query::QueryEngine* queries_;
  state::SchemaRegistry* schemas_;
  identity::IdentityStore* identities_;
  state::ProjectRegistry* projects_;
  state::KvStore* kv_;
  Clock* clock_;
  ingest::IngestPipeline* pipeline_ = nullptr;

  std::mutex projects_mu_;
  std::map<state::ProjectId, std::unique_ptr<ProjectState>> states_;  // guarded by projects_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable drained_cv_;
  std::condition_variable scheduler_cv_;  // the scheduler's sleep (never shares queue_cv_)
  std::deque<CommittedChanges> queue_;    // guarded by queue_mu_
  uint64_t queued_ = 0, applied_ = 0;     // guarded by queue_mu_
  bool stopping_ = false;                 // guarded by queue_mu_
  std::thread worker_;
  std::thread scheduler_;

  Histogram membership_latency_{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1}};
};

}  // namespace sextant::audience
