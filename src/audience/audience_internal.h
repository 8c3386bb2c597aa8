// Internal state of the AudienceEngine, shared by its implementation files
// (audience_engine.cc, rule_evaluator.cc, tag_runner.cc, audience_analytics.cc). Not an API.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <roaring/roaring.hh>
#include <string>
#include <unordered_map>
#include <vector>

#include "audience/audience_engine.h"
#include "audience/behaviour_scan.h"
#include "audience/definitions.h"
#include "audience/user_column.h"
#include "query/query_context.h"

namespace sextant::audience {

// user → double (absent = 0): the per-person count or sum of a realtime behaviour condition.
// A dense array over the user ids when the people with events are a large share of them
// (8 bytes per user id), else an open-addressing hash table (about 24 bytes per person).
class UserValueMap {
 public:
  // Empties the map and sizes it for about `people` entries among ids below `user_limit`.
  void Reset(size_t people, UserId user_limit);
  double Get(UserId user) const;
  double& operator[](UserId user);

 private:
  void Grow();
  bool dense_ = false;
  std::vector<double> dense_values_;  // dense: by user id
  std::vector<UserId> keys_;          // hashed: 0 = empty slot
  std::vector<double> values_;
  size_t size_ = 0;
};

// A condition of a rule, compiled against the project (names resolved) — the unit that is
// evaluated to a bitmap in full and kept current per person.
struct AudienceEngine::Leaf {
  const RuleNode* node = nullptr;
  RuleNode::Kind kind = RuleNode::Kind::kProfile;
  Roaring bits;  // people for whom the condition holds (as of the last evaluation + updates)
  // kProfile / kTag.
  query::CompiledCondition condition;
  std::string column;  // profile property or tag name
  // kDid / kSequence.
  std::vector<CompiledStep> steps;
  PropertyId sum_property = 0;
  query::CompiledCondition threshold;  // NUMBER comparison of the count or sum
  bool zero_matches = false;           // the threshold holds for people without events
  // kDid of a realtime segment: count or sum per person with events in the window.
  UserValueMap aggregates;
  // kSegment.
  std::string segment_id;
};

// A rule compiled for per-person evaluation: nodes refer to leaves by index.
struct CompiledRule {
  struct Node {
    RuleNode::Kind kind = RuleNode::Kind::kAll;
    std::vector<int> children;
    int leaf = -1;
  };
  std::vector<Node> nodes;  // nodes[0] is the root
  std::vector<std::unique_ptr<AudienceEngine::Leaf>> leaves;
};

struct AudienceEngine::SegmentState {
  SegmentDefinition definition;
  CompiledRule rule;  // kRule only; rebuilt when the definition or the names it uses change
  bool compiled = false;
  Roaring members;
  bool dirty = false;     // members changed since they were saved
  bool computed = false;  // members reflect at least one full computation (or the upload)
  int64_t last_refresh_ms = 0;
  double last_refresh_elapsed_ms = 0;
  int64_t next_refresh_ms = INT64_MAX;
  // Changes queued up to this sequence were in the store when the last full computation read
  // it; the worker skips them for this segment so that no event is counted twice.
  uint64_t applied_from_seq = 0;
};

struct AudienceEngine::TagState {
  TagDefinition definition;
  UserColumn values;
  bool values_loaded = false;
  int64_t last_run_ms = 0;
  double last_run_elapsed_ms = 0;
  uint64_t coverage = 0;
  int64_t next_run_ms = INT64_MAX;
  // Realtime statistic / first-last tags.
  bool incremental = false;
  CompiledStep step;
  PropertyId property = 0;
  UserColumn last_times{ValueType::kDatetime};  // first/last tags of a property: the event time
  uint64_t applied_from_seq = 0;  // as SegmentState::applied_from_seq, for the last run
};

struct AudienceEngine::ProjectState {
  std::mutex mu;
  std::shared_ptr<const state::ProjectInfo> project;
  bool loaded = false;
  bool probed = false;  // the scheduler looked for stored definitions once
  uint64_t next_id = 1;
  std::map<std::string, std::unique_ptr<SegmentState>, std::less<>> segments;  // by id
  std::map<std::string, std::unique_ptr<TagState>, std::less<>> tags;          // by id
  // Profile properties held in memory (loaded on first use, kept current by profile changes).
  std::map<std::string, std::unique_ptr<UserColumn>, std::less<>> profile_columns;
  std::shared_ptr<const EventInterest> interest = std::make_shared<EventInterest>();
  // Per-user scratch of behaviour evaluations (EvaluateBehaviourLocked): zero between uses.
  std::vector<double> scratch_measure;
  std::vector<uint8_t> scratch_seen;
  std::vector<uint32_t> scratch_slot;
  std::mutex interest_mu;  // guards `interest` (read by ingest threads without `mu`)
};

// ---- AudienceEngine's lock helpers (templates, so defined where the state types are) ----

template <class Fn>
Result<AudienceAnswer> AudienceEngine::WithProject(const state::ProjectInfo& project, Fn&& fn) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  return fn(state);
}

template <class Fn>
Result<AudienceAnswer> AudienceEngine::WithSegment(const state::ProjectInfo& project,
                                                   const std::string& id, Fn&& fn) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    auto segment = FindSegmentLocked(state, id);
    if (!segment.ok()) return segment.status();
    return fn(state, **segment);
  });
}

template <class Fn>
Result<AudienceAnswer> AudienceEngine::WithTag(const state::ProjectInfo& project,
                                               const std::string& id, Fn&& fn) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    auto tag = FindTagLocked(state, id);
    if (!tag.ok()) return tag.status();
    return fn(state, **tag);
  });
}

// The day columns of a window, ready for ScanSteps: a QueryContext over them (which refers to
// `spec`, hence the fixed address) and the window's instants.
struct WindowScan {
  query::QuerySpec spec;
  std::unique_ptr<query::QueryContext> context;
  Interval interval;
  WindowScan() = default;
  WindowScan(const WindowScan&) = delete;
  WindowScan& operator=(const WindowScan&) = delete;
};

// A value as a person reads it: strings as they are, everything else as its JSON rendering.
std::string ValueText(const Value& value, const TimeZone& zone);

// "aud/<pid>/<space>[/<id>]".
std::string AudienceKey(state::ProjectId project, std::string_view space, std::string_view id);

// Stored forms (audience_store.cc).
struct StoredSegment {
  SegmentDefinition definition;
  int64_t last_refresh_ms = 0;
  double last_refresh_elapsed_ms = 0;
};
std::string EncodeStoredSegment(const SegmentDefinition& definition, int64_t last_refresh_ms,
                                double last_refresh_elapsed_ms);
Result<StoredSegment> DecodeStoredSegment(std::string_view bytes);
struct StoredTag {
  TagDefinition definition;
  int64_t last_run_ms = 0;
  double last_run_elapsed_ms = 0;
  uint64_t coverage = 0;
};
std::string EncodeStoredTag(const TagDefinition& tag, int64_t last_run_ms,
                            double last_run_elapsed_ms, uint64_t coverage);
Result<StoredTag> DecodeStoredTag(std::string_view bytes);
// A tag snapshot's values (uncompressed form).
std::string EncodeColumn(const UserColumn& column);
Result<UserColumn> DecodeColumn(std::string_view bytes);
// A stored tag snapshot is the encoded column, zstd-compressed (tag_runner.cc).
std::string CompressSnapshot(const std::string& raw);
Result<std::string> DecompressSnapshot(std::string_view bytes);

}  // namespace sextant::audience
