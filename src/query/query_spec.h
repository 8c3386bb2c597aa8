// The analysis query language: the JSON accepted by POST /api/v1/projects/{p}/query and by
// `sextant query`, parsed into plain structs. Grammar and semantics: docs/query.md.
//
// Parsing only checks shape; names are resolved against the project schema when a query is
// compiled (query_engine.cc). Every error is kInvalidQuery with the JSON path of the field in
// Status::field() (e.g. "steps[2].filter.all[0].op").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time_zone.h"

namespace sextant::query {

// A literal of a condition, as written in JSON.
struct Literal {
  enum class Kind { kNumber, kString, kBool } kind = Kind::kNumber;
  double number = 0;
  std::string string;
  bool boolean = false;
};

enum class CompareOp {
  kEq, kNe, kGt, kGe, kLt, kLe, kBetween, kIn, kNotIn, kContains, kStartsWith, kIsSet, kNotSet,
};

// "event.<name>" or "user.<name>".
struct PropertyRef {
  bool user = false;
  std::string name;
  std::string Display() const { return (user ? "user." : "event.") + name; }
};

struct Condition {
  PropertyRef property;
  CompareOp op = CompareOp::kEq;
  std::vector<Literal> values;  // one for comparisons, two for between, any for in/not_in
};

struct FilterNode {
  enum class Kind { kAll, kAny, kNot, kCondition } kind = Kind::kAll;
  std::vector<FilterNode> children;  // kAll / kAny: any number; kNot: exactly one
  Condition condition;               // kCondition
};

// Inclusive day range in the project's time zone.
struct DayRange {
  int32_t first_day = 0;
  int32_t last_day = 0;
};

enum class TimeUnit { kHour, kDay, kWeek, kMonth, kTotal };

enum class Aggregator { kCount, kUniqUsers, kPerUserAvg, kSum, kAvg, kMin, kMax, kDistinct };

struct Measure {
  std::string event;  // "$any" = every event
  Aggregator aggregator = Aggregator::kCount;
  std::optional<PropertyRef> property;  // required by sum/avg/min/max/distinct
  std::optional<FilterNode> filter;
};

struct EventsQuery {
  TimeUnit unit = TimeUnit::kDay;
  std::vector<Measure> measures;
  size_t limit = 1000;  // groups kept (by the first measure's total), when `by` is used
};

struct FunnelStep {
  std::string event;
  std::optional<FilterNode> filter;
};

struct FunnelQuery {
  int64_t window_ms = 0;
  bool strict = false;
  bool trend = false;             // also the funnel of each entry day (default mode only)
  std::vector<FunnelStep> steps;  // 2..32
};

struct RetentionQuery {
  TimeUnit unit = TimeUnit::kDay;  // day, week or month
  int periods = 7;
  FunnelStep initial;
  FunnelStep return_event;
  bool first_time = false;
};

// Per-user frequency of an event in the range, in buckets.
struct DistributionQuery {
  FunnelStep event;
  bool distinct_days = false;  // "measure": "days" (else "times")
  // Bucket lower bounds, ascending, first >= 1; bucket i = [bounds[i], bounds[i+1]).
  std::vector<int64_t> bounds = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100};
};

// Time from an event A (in the range) to the user's next event B.
struct IntervalQuery {
  FunnelStep from_event;
  FunnelStep to_event;
  int64_t window_ms = 30LL * 86'400'000;  // longer intervals are not counted
  // Bucket lower bounds in seconds, ascending, first 0.
  std::vector<int64_t> bounds_seconds = {0, 60, 300, 1800, 3600, 21600, 86400, 259200, 604800};
};

// Session paths around an anchor event.
struct PathsQuery {
  std::optional<FunnelStep> anchor;  // none = paths from session start
  bool before = false;               // paths ending at the anchor instead of starting there
  int depth = 5;                     // events per path, anchor included (2..10)
  int64_t session_gap_ms = 1'800'000;
  std::vector<std::string> events;   // only these events take part (empty = all)
  size_t top = 20;
};

enum class AttributionModel { kFirst, kLast, kLinear, kPosition, kTimeDecay };

// Conversions credited to the touches before them.
struct AttributionQuery {
  FunnelStep conversion;
  std::vector<FunnelStep> touches;
  std::string touch_property;     // event property that tells touches apart (e.g. strategy_id)
  std::string value_property;     // NUMBER property of the conversion to credit (optional)
  int64_t window_ms = 7LL * 86'400'000;
  AttributionModel model = AttributionModel::kLast;
  int64_t half_life_ms = 7LL * 86'400'000;  // time decay
};

// A journey stage map: ordered stages, each reached by its events.
struct StagesQuery {
  struct Stage {
    std::string name;
    std::vector<FunnelStep> events;  // any of them reaches the stage
  };
  std::vector<Stage> stages;
};

enum class QueryType {
  kEvents, kFunnel, kRetention, kDistribution, kInterval, kPaths, kAttribution, kStages,
};

// "users": drill into the people behind one number of the answer (docs/query.md, "Users
// behind a number"). The cell fields used depend on the query type.
struct UserDrill {
  bool enabled = false;
  std::string time;                // events: the row's time label
  bool has_group = false;
  std::vector<std::string> group;  // values of the `by` columns, as minified JSON
  size_t measure = 0;              // events: measure index
  size_t step = 0;                 // funnel: step index (0-based)
  bool lost = false;               // funnel: reached `step` but not the next one
  std::string cohort;              // retention: cohort period label
  size_t period = 0;               // retention: k of retained[k]
  size_t bucket = 0;               // distribution, interval: bucket index
  bool has_bucket = false;         // interval: without a bucket, everyone with an interval
  // paths: exactly one of a whole path (its events), a Sankey node ("2:ViewFund") or a link.
  std::vector<std::string> path_events;
  std::string node;
  std::string link_source, link_target;
  // attribution: a touch row (its event and, with touch_property, its value as minified
  // JSON), or the conversions "all" | "attributed" | "unattributed".
  bool has_touch = false;
  std::string touch_event;
  std::optional<std::string> touch_value;
  std::string conversions;
  // stages: a stage with `stage_at` "start" | "end" | "entered", or a transition (from
  // nullopt = no stage yet).
  std::string stage;
  std::string stage_at;
  bool has_transition = false;
  std::optional<std::string> transition_from;
  std::string transition_to;
  size_t offset = 0;
  size_t limit = 100;
  bool csv = false;
  std::vector<std::string> columns;  // profile properties to add ("user.<name>" or "<name>")
};

struct QuerySpec {
  QueryType type = QueryType::kEvents;
  DayRange range;
  std::optional<FilterNode> filter;  // applies to every event the query reads
  std::vector<PropertyRef> by;       // up to three
  EventsQuery events;
  FunnelQuery funnel;
  RetentionQuery retention;
  DistributionQuery distribution;
  IntervalQuery interval;
  PathsQuery paths;
  AttributionQuery attribution;
  StagesQuery stages;
  UserDrill users;
};

// Parses a query. `today` is the current day in the project's time zone (for "last").
Result<QuerySpec> ParseQuery(std::string_view json, int32_t today);

// "2026-01-31" → day number; nullopt if malformed.
std::optional<int32_t> ParseDate(std::string_view text);

}  // namespace sextant::query
