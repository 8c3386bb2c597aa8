// The analyses. Each runs one parsed query on a prepared QueryContext and writes its answer
// (without "meta", which the engine adds) into a JsonWriter positioned inside the answer
// object. Semantics: docs/query.md.
#pragma once

#include <cstdint>
#include <string>

#include "common/json_writer.h"
#include "common/status.h"
#include "query/query_context.h"

namespace sextant::query {

// Time buckets of a query range in the project's time zone.
class TimeBuckets {
 public:
  TimeBuckets(TimeUnit unit, DayRange range, const TimeZone& zone);

  size_t count() const { return count_; }
  int64_t range_start_ms() const { return range_start_ms_; }
  int64_t range_end_ms() const { return range_end_ms_; }  // inclusive
  // Bucket of an instant inside the range.
  int32_t BucketOfMs(int64_t epoch_ms) const { return BucketOfDay(DayOfMs(epoch_ms), epoch_ms); }
  int32_t DayOfMs(int64_t epoch_ms) const {
    return static_cast<int32_t>(FloorDiv(epoch_ms + offset_ms_, 86'400'000));
  }
  // Bucket of a project day (and, for hours, the instant).
  int32_t BucketOfDay(int32_t day, int64_t epoch_ms) const;
  // Label of bucket b: its first day ("2026-01-05"), or "2026-01-05 13:00" for hours.
  std::string Label(size_t bucket) const;

  static int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
  static int32_t WeekOf(int32_t day) { return static_cast<int32_t>(FloorDiv(int64_t{day} + 3, 7)); }
  static int32_t MonthOf(int32_t day);
  static int32_t FirstDayOfMonth(int32_t month_index);

 private:
  TimeUnit unit_;
  DayRange range_;
  int64_t offset_ms_;
  int64_t range_start_ms_, range_end_ms_;
  size_t count_ = 1;
};

// "$any" in a step, initial / return, anchor, touch or conversion matches every event the
// customer did: every event except Sextant's own (below).
inline constexpr EventId kAnyEvent = UINT32_MAX;

// Sextant's own events, written onto customers' timelines by the audience and journey engines.
// They are not something the customer did: "$any" (active users, "did any event", paths without
// an event list) leaves them out; a query that names one still sees it. QueryContext::
// own_events() is the mask of their ids in a project.
inline constexpr std::string_view kOwnEvents[] = {
    "$segment_enter", "$segment_exit",  "$journey_enter", "$journey_exit",
    "$touch_sent",    "$touch_delivered", "$touch_failed", "$touch_suppressed",
    "$task_created",  "$task_completed", "$task_escalated", "$goal_reached",
};
inline bool IsOwnEvent(const std::vector<uint8_t>& own, EventId event) {
  return event < own.size() && own[event] != 0;
}
// The event id of `name` (kAnyEvent for "$any"; 0 if never seen, which matches nothing).
inline EventId ResolveEvent(const state::ProjectSchema& schema, const std::string& name) {
  return name == "$any" ? kAnyEvent : schema.FindEvent(name);
}
inline bool EventMatches(EventId wanted, EventId event, const std::vector<uint8_t>& own) {
  if (wanted == kAnyEvent) return !IsOwnEvent(own, event);
  return wanted != 0 && wanted == event;
}

// For analyses that take no `by`: an error naming the field when the query has one.
inline Status RejectBy(const QuerySpec& spec, const char* type) {
  if (spec.by.empty()) return Status::Ok();
  return Status(ErrorCode::kInvalidQuery,
                std::string("by: a ") + type + " query takes no by (filter by a property instead)",
                "by");
}

// For analyses that group people (a person is in one group): `by` must name user properties.
inline Status RequireUserBy(const QuerySpec& spec, const char* type) {
  for (const PropertyRef& ref : spec.by) {
    if (!ref.user) {
      return Status(ErrorCode::kInvalidQuery,
                    std::string("by: a ") + type +
                        " is grouped by user properties (\"user.<name>\"); " + ref.Display() +
                        " is an event property",
                    "by");
    }
  }
  return Status::Ok();
}

Status RunEvents(QueryContext& context, JsonWriter* out);
Status RunFunnel(QueryContext& context, JsonWriter* out);
Status RunRetention(QueryContext& context, JsonWriter* out);
Status RunDistribution(QueryContext& context, JsonWriter* out);
Status RunInterval(QueryContext& context, JsonWriter* out);
Status RunPaths(QueryContext& context, JsonWriter* out);
Status RunAttribution(QueryContext& context, JsonWriter* out);
Status RunStages(QueryContext& context, JsonWriter* out);

}  // namespace sextant::query
