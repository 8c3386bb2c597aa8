// Metric and Dashboard: the saved objects of the metrics system (指标体系), and their JSON form.
//
// A metric is a named analysis query (docs/query.md) with a description, a unit and an owner;
// a dashboard is an ordered list of metrics. The JSON written by WriteJson is the API answer
// and also the value stored in the KV store (docs/storage-format.md), so the two cannot drift.
//
// Decoding a request body checks everything a client can get wrong and names the field:
// invalid JSON → kBadJson; unknown fields, wrong types, limits → kBadRequest; an analysis query
// that ParseQuery refuses → kInvalidQuery with the field prefixed "query.". `id`, `created_at`
// and `updated_at` are assigned by the server; a body may carry them (so that a GET answer can
// be edited and PUT back) and they are ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "common/status.h"

namespace sextant::catalog {

using MetricId = uint32_t;     // 1, 2, ... per project, never reused
using DashboardId = uint32_t;  // 1, 2, ... per project, never reused

enum class CatalogKind { kMetric, kDashboard };

// Limits of a saved object (characters are Unicode code points).
inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxDescriptionChars = 2000;
inline constexpr size_t kMaxShortTextChars = 200;     // unit, owner
inline constexpr size_t kMaxQueryBytes = 256 * 1024;  // the query, as minified JSON
inline constexpr size_t kMaxDashboardItems = 100;

struct Metric {
  MetricId id = 0;
  std::string name;
  std::string description;
  std::string unit;  // free text: "users", "percent", "count", "amount", "元", ...
  std::string owner;
  std::string query;  // minified JSON of the analysis query; always accepted by ParseQuery
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct DashboardItem {
  MetricId metric_id = 0;
  int width = 1;  // 1 = half row, 2 = full row
};

struct Dashboard {
  DashboardId id = 0;
  std::string name;
  std::string description;
  std::string owner;
  std::vector<DashboardItem> items;  // in display order; a metric may appear more than once
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Decodes and validates a client's body. `today` is the current day in the project's time
// zone (ParseQuery needs it for "last"). The result has id and times unset.
Result<Metric> MetricFromRequest(std::string_view json, int32_t today);
Result<Dashboard> DashboardFromRequest(std::string_view json);

// Decodes a stored value (as written by WriteJson). kCorruption if it does not decode.
Result<Metric> MetricFromStored(std::string_view json);
Result<Dashboard> DashboardFromStored(std::string_view json);

void WriteJson(const Metric& metric, JsonWriter* writer);
void WriteJson(const Dashboard& dashboard, JsonWriter* writer);
std::string ToJson(const Metric& metric);
std::string ToJson(const Dashboard& dashboard);

// An error of a metric's query (from ParseQuery or the query engine) as an error of the
// metric: kInvalidQuery fields "steps[1].event" become "query.steps[1].event". Other
// statuses are returned unchanged.
Status InMetricQuery(const Status& status);

}  // namespace sextant::catalog
