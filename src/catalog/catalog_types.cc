#include "catalog/catalog_types.h"

#include <limits>
#include <optional>

#include <simdjson.h>

#include "query/query_spec.h"

namespace sextant::catalog {
namespace {

using simdjson::dom::element;

// Where a JSON object comes from: a client (errors are the client's, and say what to fix) or
// the KV store (written by WriteJson; anything unexpected is corruption).
enum class Source { kRequest, kStored };

// A field name quoted in an error, cut so that a hostile key cannot make a huge answer.
std::string FieldName(std::string_view key) {
  constexpr size_t kMaxBytes = 100;
  if (key.size() <= kMaxBytes) return std::string(key);
  size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
  return std::string(key.substr(0, cut)) + "…";
}

Status Bad(Source source, const std::string& field, const std::string& why) {
  if (source == Source::kStored) {
    return Status(ErrorCode::kCorruption, "stored catalog object: " + field + ": " + why, field);
  }
  return Status(ErrorCode::kBadRequest, field + ": " + why, field);
}

// Unicode code points of valid UTF-8 (simdjson validated it): bytes that do not continue one.
size_t CodePoints(std::string_view text) {
  size_t count = 0;
  for (char byte : text) count += (static_cast<unsigned char>(byte) & 0xC0) != 0x80;
  return count;
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A text field: a string (or null, read as empty) of at most `max_chars` code points.
Status ReadText(Source source, const element& value, const std::string& field, size_t max_chars,
                std::string* out) {
  if (value.is_null()) {
    out->clear();
    return Status::Ok();
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Bad(source, field, "must be a string");
  }
  if (CodePoints(text) > max_chars) {
    return Bad(source, field, "at most " + std::to_string(max_chars) + " characters");
  }
  *out = std::string(text);
  return Status::Ok();
}

// A JSON integer in [min, max]. Floats (3.0), numbers out of range and other types fail.
Status ReadInteger(Source source, const element& value, const std::string& field, int64_t min,
                   int64_t max, int64_t* out) {
  int64_t number;
  if (value.get_int64().get(number) != simdjson::SUCCESS || number < min || number > max) {
    return Bad(source, field,
               "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *out = number;
  return Status::Ok();
}

Status ReadId(Source source, const element& value, const std::string& field, uint32_t* out) {
  int64_t number = 0;
  SEXTANT_RETURN_IF_ERROR(
      ReadInteger(source, value, field, 1, std::numeric_limits<uint32_t>::max(), &number));
  *out = static_cast<uint32_t>(number);
  return Status::Ok();
}

// Parses `json` into an object, or the error of a body that is not one.
Result<simdjson::dom::object> ParseObject(Source source, simdjson::dom::parser* parser,
                                          std::string_view json) {
  element root;
  if (parser->parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    if (source == Source::kStored) return Bad(source, "$", "not valid JSON");
    return Status(ErrorCode::kBadJson, "body is not valid JSON");
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    if (source == Source::kStored) return Bad(source, "$", "not a JSON object");
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  }
  return object;
}

// Rejects a key seen before in the same object ({"name": "a", "name": "b"} is ambiguous).
Status CheckNotSeen(Source source, std::string_view key, std::string_view prefix,
                    std::vector<std::string_view>* seen) {
  for (std::string_view other : *seen) {
    if (other == key) return Bad(source, std::string(prefix) + FieldName(key), "duplicate field");
  }
  seen->push_back(key);
  return Status::Ok();
}

// The server-assigned fields: read from the store, ignored in a request.
Status ReadServerField(Source source, std::string_view key, const element& value, uint32_t* id,
                       int64_t* created_at_ms, int64_t* updated_at_ms) {
  if (source == Source::kRequest) return Status::Ok();
  if (key == "id") return ReadId(source, value, "id", id);
  int64_t* target = key == "created_at" ? created_at_ms : updated_at_ms;
  return ReadInteger(source, value, std::string(key), 0, std::numeric_limits<int64_t>::max(),
                     target);
}

bool IsServerField(std::string_view key) {
  return key == "id" || key == "created_at" || key == "updated_at";
}

Result<Metric> DecodeMetric(Source source, std::string_view json, int32_t today) {
  simdjson::dom::parser parser;
  auto object = ParseObject(source, &parser, json);
  if (!object.ok()) return object.status();
  Metric metric;
  std::vector<std::string_view> seen;
  bool has_name = false;
  std::optional<element> query;
  bool has_id = false;
  for (auto [key, value] : *object) {
    SEXTANT_RETURN_IF_ERROR(CheckNotSeen(source, key, "", &seen));
    if (key == "name") {
      SEXTANT_RETURN_IF_ERROR(ReadText(source, value, "name", kMaxNameChars, &metric.name));
      has_name = !IsBlank(metric.name);
    } else if (key == "description") {
      SEXTANT_RETURN_IF_ERROR(
          ReadText(source, value, "description", kMaxDescriptionChars, &metric.description));
    } else if (key == "unit") {
      SEXTANT_RETURN_IF_ERROR(ReadText(source, value, "unit", kMaxShortTextChars, &metric.unit));
    } else if (key == "owner") {
      SEXTANT_RETURN_IF_ERROR(ReadText(source, value, "owner", kMaxShortTextChars, &metric.owner));
    } else if (key == "query") {
      query = value;
    } else if (IsServerField(key)) {
      has_id = has_id || key == "id";
      SEXTANT_RETURN_IF_ERROR(ReadServerField(source, key, value, &metric.id, &metric.created_at_ms,
                                              &metric.updated_at_ms));
    } else {
      return Bad(source, FieldName(key),
                 "unknown field (a metric has name, description, unit, owner, query)");
    }
  }
  if (!has_name) return Bad(source, "name", "required: a non-empty string");
  if (source == Source::kStored && !has_id) return Bad(source, "id", "missing");
  if (!query) return Bad(source, "query", "required: an analysis query object (docs/query.md)");
  if (!query->is_object()) {
    if (source == Source::kStored) return Bad(source, "query", "not an object");
    return Status(ErrorCode::kInvalidQuery,
                  "query: must be an analysis query object (docs/query.md)", "query");
  }
  metric.query = simdjson::minify(*query);
  if (metric.query.size() > kMaxQueryBytes) {
    return Bad(source, "query", "at most " + std::to_string(kMaxQueryBytes / 1024) + " KiB");
  }
  if (source == Source::kRequest) {
    // Saved metrics always parse: the same check POST /query makes before it runs.
    auto parsed = query::ParseQuery(metric.query, today);
    if (!parsed.ok()) return InMetricQuery(parsed.status());
  }
  return metric;
}

Status DecodeItems(Source source, const element& value, std::vector<DashboardItem>* items) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return Bad(source, "items", "must be an array of {\"metric_id\": <id>, \"width\": 1|2}");
  }
  if (array.size() > kMaxDashboardItems) {
    return Bad(source, "items", "at most " + std::to_string(kMaxDashboardItems) + " metrics");
  }
  size_t item_idx = 0;
  for (element entry : array) {
    const std::string path = "items[" + std::to_string(item_idx++) + "]";
    simdjson::dom::object object;
    if (entry.get_object().get(object) != simdjson::SUCCESS) {
      return Bad(source, path, "must be an object {\"metric_id\": <id>, \"width\": 1|2}");
    }
    DashboardItem item;
    std::vector<std::string_view> seen;
    bool has_metric = false;
    for (auto [key, field] : object) {
      SEXTANT_RETURN_IF_ERROR(CheckNotSeen(source, key, path + ".", &seen));
      if (key == "metric_id") {
        SEXTANT_RETURN_IF_ERROR(ReadId(source, field, path + ".metric_id", &item.metric_id));
        has_metric = true;
      } else if (key == "width") {
        int64_t width = 1;
        SEXTANT_RETURN_IF_ERROR(ReadInteger(source, field, path + ".width", 1, 2, &width));
        item.width = static_cast<int>(width);
      } else {
        return Bad(source, path + "." + FieldName(key),
                   "unknown field (an item has metric_id, width)");
      }
    }
    if (!has_metric) return Bad(source, path + ".metric_id", "required");
    items->push_back(item);
  }
  return Status::Ok();
}

Result<Dashboard> DecodeDashboard(Source source, std::string_view json) {
  simdjson::dom::parser parser;
  auto object = ParseObject(source, &parser, json);
  if (!object.ok()) return object.status();
  Dashboard dashboard;
  std::vector<std::string_view> seen;
  bool has_name = false;
  bool has_id = false;
  for (auto [key, value] : *object) {
    SEXTANT_RETURN_IF_ERROR(CheckNotSeen(source, key, "", &seen));
    if (key == "name") {
      SEXTANT_RETURN_IF_ERROR(ReadText(source, value, "name", kMaxNameChars, &dashboard.name));
      has_name = !IsBlank(dashboard.name);
    } else if (key == "description") {
      SEXTANT_RETURN_IF_ERROR(
          ReadText(source, value, "description", kMaxDescriptionChars, &dashboard.description));
    } else if (key == "owner") {
      SEXTANT_RETURN_IF_ERROR(
          ReadText(source, value, "owner", kMaxShortTextChars, &dashboard.owner));
    } else if (key == "items") {
      SEXTANT_RETURN_IF_ERROR(DecodeItems(source, value, &dashboard.items));
    } else if (IsServerField(key)) {
      has_id = has_id || key == "id";
      SEXTANT_RETURN_IF_ERROR(ReadServerField(source, key, value, &dashboard.id,
                                              &dashboard.created_at_ms, &dashboard.updated_at_ms));
    } else {
      return Bad(source, FieldName(key),
                 "unknown field (a dashboard has name, description, owner, items)");
    }
  }
  if (!has_name) return Bad(source, "name", "required: a non-empty string");
  if (source == Source::kStored && !has_id) return Bad(source, "id", "missing");
  return dashboard;
}

}  // namespace

Result<Metric> MetricFromRequest(std::string_view json, int32_t today) {
  return DecodeMetric(Source::kRequest, json, today);
}
Result<Dashboard> DashboardFromRequest(std::string_view json) {
  return DecodeDashboard(Source::kRequest, json);
}
Result<Metric> MetricFromStored(std::string_view json) {
  return DecodeMetric(Source::kStored, json, 0);
}
Result<Dashboard> DashboardFromStored(std::string_view json) {
  return DecodeDashboard(Source::kStored, json);
}

void WriteJson(const Metric& metric, JsonWriter* writer) {
  writer->BeginObject();
  writer->Key("id").Uint(metric.id);
  writer->Key("name").String(metric.name);
  writer->Key("description").String(metric.description);
  writer->Key("unit").String(metric.unit);
  writer->Key("owner").String(metric.owner);
  writer->Key("query").Raw(metric.query);
  writer->Key("created_at").Int(metric.created_at_ms);
  writer->Key("updated_at").Int(metric.updated_at_ms);
  writer->EndObject();
}

void WriteJson(const Dashboard& dashboard, JsonWriter* writer) {
  writer->BeginObject();
  writer->Key("id").Uint(dashboard.id);
  writer->Key("name").String(dashboard.name);
  writer->Key("description").String(dashboard.description);
  writer->Key("owner").String(dashboard.owner);
  writer->Key("items").BeginArray();
  for (const DashboardItem& item : dashboard.items) {
    writer->BeginObject();
    writer->Key("metric_id").Uint(item.metric_id);
    writer->Key("width").Int(item.width);
    writer->EndObject();
  }
  writer->EndArray();
  writer->Key("created_at").Int(dashboard.created_at_ms);
  writer->Key("updated_at").Int(dashboard.updated_at_ms);
  writer->EndObject();
}

std::string ToJson(const Metric& metric) {
  JsonWriter writer;
  WriteJson(metric, &writer);
  return writer.Take();
}

std::string ToJson(const Dashboard& dashboard) {
  JsonWriter writer;
  WriteJson(dashboard, &writer);
  return writer.Take();
}

Status InMetricQuery(const Status& status) {
  if (status.code() != ErrorCode::kInvalidQuery) return status;
  const std::string& inner = status.field();
  const std::string field = inner.empty() || inner == "$" ? "query" : "query." + inner;
  std::string message = status.message();
  // ParseQuery's messages start with the field they name: "steps[1].event: required".
  if (!inner.empty() && message.starts_with(inner)) {
    message = field + message.substr(inner.size());
  } else {
    message = "query: " + message;
  }
  return Status(ErrorCode::kInvalidQuery, std::move(message), field);
}

}  // namespace sextant::catalog
