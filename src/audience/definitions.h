// Segment and tag definitions: the JSON accepted by /api/v1/projects/{p}/segments and /tags
// (docs/segments.md), parsed into plain structs, and rendered back.
//
// Parsing checks shape only; names (events, properties, tags, segments) are resolved when a
// definition is compiled by the AudienceEngine. Every error is kInvalidQuery with the JSON
// path of the field (e.g. "rule.all[1].count.op").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "common/status.h"
#include "common/time_zone.h"
#include "query/query_spec.h"

namespace sextant::audience {

// The time a behaviour condition looks at.
struct Window {
  enum class Kind {
    kAll,       // all stored history
    kLastDays,  // the last `days` calendar days in the project's time zone, today included
    kLastMs,    // the rolling interval (now - ms, now]
    kDays,      // the calendar days [first_day, last_day]
  } kind = Kind::kAll;
  int32_t days = 0;
  int64_t ms = 0;
  int32_t first_day = 0;
  int32_t last_day = 0;
  bool relative() const { return kind == Kind::kLastDays || kind == Kind::kLastMs; }
};

// Instants [start_ms, end_ms) of `window` at `now_ms`; kAll is [INT64_MIN, INT64_MAX).
struct Interval {
  int64_t start_ms = INT64_MIN;
  int64_t end_ms = INT64_MAX;
  bool Contains(int64_t ms) const { return ms >= start_ms && ms < end_ms; }
};
Interval Resolve(const Window& window, int64_t now_ms, const TimeZone& zone);

struct EventStep {
  std::string event;                       // "$any" = every event
  std::optional<query::FilterNode> where;  // on event properties
};

struct RuleNode {
  enum class Kind { kAll, kAny, kNot, kProfile, kTag, kDid, kSequence, kSegment } kind = Kind::kAll;
  std::vector<RuleNode> children;  // kAll / kAny: any number; kNot: exactly one

  // kProfile: profile property; kTag: tag name; kSegment: segment id.
  std::string name;
  // kProfile / kTag: the comparison (its property field is unused).
  query::Condition condition;

  // kDid: the event, what is measured per person, and the comparison of the measure.
  EventStep step;
  enum class Measure { kCount, kSum } measure = Measure::kCount;
  std::string sum_property;
  query::Condition threshold;  // over the per-person count or sum; default count >= 1
  Window within;               // kDid and kSequence

  // kSequence: the steps in order, and the longest time from the first to the last step.
  std::vector<EventStep> steps;
  int64_t step_window_ms = 0;  // 0 = anywhere inside `within`

  std::string path;  // JSON path of this node, for errors found when compiling
};

// How often a definition is recomputed in full.
struct Schedule {
  enum class Kind { kManual, kEveryMinutes, kDailyAt } kind = Kind::kManual;
  int minutes = 0;        // kEveryMinutes
  int minute_of_day = 0;  // kDailyAt, in the project's time zone
  // The first run time strictly after `after_ms` (kManual: INT64_MAX).
  int64_t NextAfter(int64_t after_ms, const TimeZone& zone) const;
  void Write(JsonWriter& out) const;
};

struct SegmentDefinition {
  std::string id;  // assigned by the engine
  std::string name;
  std::string description;
  enum class Kind { kRule, kStatic } kind = Kind::kRule;
  std::string rule_json;  // the rule as given (minified); kRule only
  RuleNode rule;
  Schedule refresh;
  bool refresh_given = false;  // false: the engine picks the default (docs/segments.md)
  bool realtime = true;        // keep membership current as events arrive
  std::string source;          // kStatic: "upload", "query", "lookalike"
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

enum class TagKind { kRule, kStatistic, kFirstLast, kPreference, kImported, kLookalike };
std::string_view TagKindName(TagKind kind);

enum class TagStatus { kDraft, kApproved, kOffline };
std::string_view TagStatusName(TagStatus status);

enum class StatisticAggregate { kCount, kSum, kAvg, kMin, kMax, kDistinct };

struct TagDefinition {
  std::string id;    // assigned by the engine
  std::string name;  // identifier used in rules ({"tag": name}); unique in the project
  std::string display_name;
  std::string category;  // "财富/资产" — a path in the category tree
  std::string description;
  std::string owner;
  TagStatus status = TagStatus::kDraft;
  TagKind kind = TagKind::kStatistic;
  Schedule schedule;
  ValueType value_type = ValueType::kNumber;  // derived from the kind (imported: given)

  // kRule: ordered values, the first whose rule matches wins; `default_value` otherwise.
  struct RuleValue {
    query::Literal value;
    RuleNode rule;
  };
  std::vector<RuleValue> values;
  std::optional<query::Literal> default_value;

  // kStatistic / kFirstLast / kPreference: the events measured.
  EventStep step;
  StatisticAggregate aggregate = StatisticAggregate::kCount;
  std::string property;  // measured property (first/last: empty = the event time)
  bool first = false;    // kFirstLast: first (else last)
  Window within;

  // kLookalike: seed segment and model settings (see LookalikeRequest).
  std::string seed_segment;
  std::string lookalike_json;

  std::string definition_json;  // the whole definition as given (minified), for storage
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Parses a segment definition: {"name", "description"?, "rule"?, "refresh"?, "realtime"?}.
// Without "rule" the definition is a static segment (members come from an upload, a query
// drill-down or a lookalike run).
Result<SegmentDefinition> ParseSegmentDefinition(std::string_view json);
// Parses a bare rule (POST /segments/estimate's "rule", a tag value's "rule").
Result<RuleNode> ParseRuleJson(std::string_view json, const std::string& path);
Result<TagDefinition> ParseTagDefinition(std::string_view json);

// "30d", "12h", "90m", "45s" → ms; nullopt if malformed or not positive.
std::optional<int64_t> ParseDuration(std::string_view text);

}  // namespace sextant::audience
