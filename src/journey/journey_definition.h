// Journey definitions: the JSON of docs/journeys.md parsed and checked into an immutable graph.
//
// Parsing checks shape and the references between nodes (every `next` names a node, every node
// is reachable from `start`, every path can end). Names of events, properties, segments and
// templates are resolved when a version is compiled by the JourneyEngine. Every error is
// kInvalidQuery with the JSON path of the field (e.g. "nodes.send_offer.channel").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/value.h"
#include "query/query_context.h"
#include "query/query_spec.h"

namespace sextant::journey {

// A `where` filter's conditions with their literals compiled ahead, in a tree of the filter's
// shape: a condition is compiled for each value type whose literals do not depend on the time
// zone (nullopt where its literals do not fit that type — the condition is then false, as when
// compiled at evaluation). DATETIME and DATE values are compiled when evaluated. Evaluating an
// entry condition used to compile its literals for every event (8 % of the trigger worker).
//
// A kCondition on an event property also remembers the schema id of that property in the
// project that evaluated it last (PropertyIdCache): events carry their properties by id, and
// finding them by name (a name → value list built per event, names compared per condition)
// was a third of the decision worker's CPU on a 200 K events/s stream.
struct PrecompiledFilter {
  std::optional<query::CompiledCondition> number, boolean, string, list;  // kCondition nodes
  std::vector<PrecompiledFilter> children;                                 // in node order

  // The id of the condition's property in one project's schema. A definition is immutable and
  // shared by the threads that evaluate it; an id, once a name has one, never changes, so a
  // cached id is right for every later evaluation in the same project. Unknown names are not
  // cached (the property may be first seen later). Thread-safe (one atomic word).
  class PropertyIdCache {
   public:
    PropertyIdCache() = default;
    PropertyIdCache(const PropertyIdCache& other) : packed_(other.packed_.load()) {}
    PropertyIdCache& operator=(const PropertyIdCache& other) {
      packed_.store(other.packed_.load());
      return *this;
    }
    // The cached id for `project`, 0 if none.
    uint32_t Get(uint32_t project) const {
      const uint64_t packed = packed_.load(std::memory_order_relaxed);
      return (packed >> 32) == project ? static_cast<uint32_t>(packed) : 0;
    }
    void Set(uint32_t project, uint32_t property_id) const {
      packed_.store((uint64_t{project} << 32) | property_id, std::memory_order_relaxed);
    }

   private:
    mutable std::atomic<uint64_t> packed_{0};  // project << 32 | property id; id 0 = none
  };
  PropertyIdCache event_property;  // kCondition nodes on an event property
};
PrecompiledFilter PrecompileFilter(const query::FilterNode& node);

// An event by name, with conditions on its properties ("user.x" conditions read the profile).
struct EventMatcher {
  std::string event;
  std::optional<query::FilterNode> where;
  // `where` precompiled (set by the parser; null = compile when evaluated).
  std::shared_ptr<const PrecompiledFilter> compiled_where;
  bool empty() const { return event.empty(); }
};

// What a split asks about one customer at one moment.
struct SplitCondition {
  enum class Kind { kAll, kAny, kNot, kProfile, kTag, kSegment, kEvent } kind = Kind::kAll;
  std::vector<SplitCondition> children;  // kAll / kAny / kNot (one)
  std::string name;                      // profile property, tag name, segment id or name
  query::Condition condition;            // kProfile / kTag / kEvent (the entry event)
};

struct EntrySpec {
  enum class Kind {
    kEvent,
    kSegmentEnter,
    kSegmentExit,
    kBreakpoint,
    kSchedule,
    kOnce,
    kKeyDate,
    kApi
  } kind = Kind::kEvent;
  EventMatcher event;   // kEvent, kBreakpoint (the event that starts the process)
  std::string segment;  // kSegmentEnter / kSegmentExit / kSchedule / kOnce
  // kBreakpoint: `count` matching events within `count_within_ms`, then no `not_followed_by`
  // within `wait_ms` of the last of them.
  int count = 1;
  int64_t count_within_ms = 0;
  EventMatcher not_followed_by;
  int64_t wait_ms = 0;
  // kSchedule
  enum class Every { kDaily, kWeekly, kMonthly } every = Every::kDaily;
  int weekday = 1;        // 1 = Monday
  int day_of_month = 1;   // clamped to the month's last day
  int minute_of_day = 0;  // kSchedule / kKeyDate, local time
  int64_t at_ms = 0;      // kOnce
  // kKeyDate
  std::string property;
  int offset_days = 0;
  bool annual = false;
};

struct ItemRef {
  std::string type;
  std::string id;       // a fixed item
  std::string id_from;  // "event.<property>" or "profile.<property>"
  bool present() const { return !type.empty(); }
};

struct JourneyNode {
  enum class Kind {
    kSplit,
    kAb,
    kWaitDuration,
    kWaitUntil,
    kWaitEvent,
    kSend,
    kTask,
    kUpdateProfile,
    kWebhook,
    kGoal,
    kExit
  } kind = Kind::kExit;
  std::string id;
  int next = -1;  // index into JourneyDefinition::nodes; -1 = none
  // kSplit
  SplitCondition condition;
  int yes = -1, no = -1;
  // kAb
  struct Branch {
    std::string name;
    double weight = 0;
    int next = -1;
  };
  std::vector<Branch> branches;
  // kWaitDuration / kWaitUntil / kWaitEvent
  int64_t duration_ms = 0;
  int until_minute = 0;
  uint8_t weekdays = 0x7f;  // bit d-1 for weekday d (1 = Monday)
  EventMatcher wait_event;
  int64_t timeout_ms = 0;
  int timeout_next = -1;
  // kSend / kWebhook
  std::vector<std::string> channels;  // in fallback order
  bool best_channel = false;
  std::string template_name;
  ItemRef item;
  bool transactional = false;
  std::string justification;
  std::string payload_json;  // kWebhook: extra object fields
  // kTask
  std::string title;
  std::string assign_property, assign_pool, escalate_to;
  int64_t sla_ms = 0;
  // kUpdateProfile
  std::vector<std::pair<std::string, Value>> set;
};

struct FrequencyCap {
  int count = 0;
  int64_t per_ms = 0;
};

struct JourneyDefinition {
  std::string name;
  std::string description;
  std::string time_zone;  // empty = the project's
  int priority = 50;
  EntrySpec entry;
  enum class Reentry { kNever, kAfterExit, kCooldown } reentry = Reentry::kNever;
  int64_t cooldown_ms = 0;
  int max_entries = 0;  // 0 = unbounded (within the re-entry mode)
  EventMatcher goal;
  int64_t goal_within_ms = 0;  // 0 = while in the journey
  bool exit_on_goal = true;
  std::vector<EventMatcher> exit_when;
  std::vector<FrequencyCap> caps;
  int control_percent = 0;
  int64_t start_at_ms = 0;
  int64_t end_at_ms = 0;  // 0 = open
  int start = 0;
  std::vector<JourneyNode> nodes;
  std::string json;  // as given, minified

  int NodeIndex(std::string_view id) const;
};

Result<JourneyDefinition> ParseJourneyDefinition(std::string_view json);

std::string_view NodeKindName(JourneyNode::Kind kind);
std::string_view EntryKindName(EntrySpec::Kind kind);

}  // namespace sextant::journey
