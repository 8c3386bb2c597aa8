#include "decode/record_parser.h"

#include <charconv>
#include <string>
#include <unordered_map>

#include "decode/json_util.h"

namespace sextant::decode {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

Status WrongType(std::string_view field, std::string_view expected, const element& got) {
  return Status(ErrorCode::kInvalidValue,
                std::string(field) + ": expected " + std::string(expected) + ", got " +
                    std::string(internal::JsonTypeName(got)),
                std::string(field));
}

Status GetString(const element& e, std::string_view field, std::string* out) {
  std::string_view s;
  if (e.get_string().get(s)) return WrongType(field, "string", e);
  out->assign(s);
  return Status::Ok();
}

Status GetId(const element& e, std::string_view field, std::string* out) {
  if (!internal::GetIdString(e, out)) return WrongType(field, "string", e);
  return Status::Ok();
}

// 10-digit values are seconds (python SDK accepts them; protocol §2.1).
int64_t NormalizeTimeMs(int64_t t) {
  if (t >= 1'000'000'000LL && t <= 9'999'999'999LL) return t * 1000;
  return t;
}

Status ParseProperties(const element& e, const TimeZone& zone, Record* record) {
  object props;
  if (e.get_object().get(props)) return WrongType("properties", "object", e);
  // Hot path (every property of every record): no per-property allocation beyond the name
  // and value themselves. Field paths are built only for errors; repeated keys (rare) are
  // found by a linear scan while the object is small, by a hash map beyond that.
  constexpr size_t kLinearScanLimit = 64;
  std::unordered_map<std::string, size_t> seen;  // owns its keys: the vector may reallocate
  auto find_existing = [&](std::string_view key) -> Value* {
    if (record->properties.size() <= kLinearScanLimit) {
      for (auto& [name, value] : record->properties)
        if (name == key) return &value;
      return nullptr;
    }
    if (seen.empty())
      for (size_t i = 0; i < record->properties.size(); ++i) seen.emplace(record->properties[i].first, i);
    auto it = seen.find(std::string(key));
    return it == seen.end() ? nullptr : &record->properties[it->second].second;
  };
  for (auto field : props) {
    Value value;
    bool is_null = false;
    Status converted = internal::ConvertPropertyValue(field.value, zone, {}, &value, &is_null);
    if (!converted.ok()) {
      return Status(converted.code(), converted.message(),
                    "properties." + std::string(field.key) + converted.field());
    }
    if (is_null) continue;
    if (Value* existing = find_existing(field.key)) {
      *existing = std::move(value);
      continue;
    }
    record->properties.emplace_back(std::string(field.key), std::move(value));
    if (!seen.empty()) seen.emplace(record->properties.back().first, record->properties.size() - 1);
  }
  return Status::Ok();
}

}  // namespace

namespace {
// Fills `*record`, which must be default-constructed.
Status ParseRecordObject(const element& root, const TimeZone& zone, Record* record);
}  // namespace

Result<Record> ParseSensorsRecord(std::string_view json, const TimeZone& zone) {
  // One parser per thread, reused: a fresh parser allocates and clears its buffers for every
  // record, which dominated ingest CPU. Parsed values are copied out before returning.
  thread_local simdjson::dom::parser parser;
  element root;
  SEXTANT_RETURN_IF_ERROR(internal::ParseJson(parser, json, "", &root));
  Record record;
  SEXTANT_RETURN_IF_ERROR(ParseRecordObject(root, zone, &record));
  return record;
}

Result<std::vector<ParsedRecord>> ParseSensorsRecordList(std::string_view json,
                                                         const TimeZone& zone,
                                                         size_t max_records) {
  thread_local simdjson::dom::parser parser;
  element root;
  SEXTANT_RETURN_IF_ERROR(internal::ParseJson(parser, json, "", &root));
  std::vector<ParsedRecord> out;
  // Each record is parsed in its final place.
  auto parse_into_next = [&](const element& item) {
    ParsedRecord& slot = out.emplace_back();
    slot.parsed = Record();
    Status status = ParseRecordObject(item, zone, &slot.parsed.value());
    if (!status.ok()) {
      slot.parsed = std::move(status);
      slot.raw_json = internal::ToJson(item);
    }
  };
  simdjson::dom::array array;
  if (root.get_array().get(array)) {
    parse_into_next(root);
    return out;
  }
  if (array.size() > max_records) {
    return Status(ErrorCode::kTooManyRecords,
                  std::to_string(array.size()) + " records, more than the limit of " +
                      std::to_string(max_records));
  }
  out.reserve(array.size());
  for (element item : array) parse_into_next(item);
  return out;
}

namespace {
Status ParseRecordObject(const element& root, const TimeZone& zone, Record* out) {
  Record& record = *out;
  object obj;
  if (root.get_object().get(obj)) {
    return Status(ErrorCode::kBadJson,
                  "record must be a JSON object, got " + std::string(internal::JsonTypeName(root)));
  }
  bool has_type = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    const element& v = field.value;
    if (v.is_null()) continue;  // null == absent
    if (key == "type") {
      std::string type;
      SEXTANT_RETURN_IF_ERROR(GetString(v, "type", &type));
      if (!ParseRecordType(type, &record.type)) {
        return Status(ErrorCode::kInvalidType, "unknown record type \"" + type + "\"", "type");
      }
      has_type = true;
    } else if (key == "event") {
      SEXTANT_RETURN_IF_ERROR(GetString(v, "event", &record.event));
    } else if (key == "distinct_id") {
      SEXTANT_RETURN_IF_ERROR(GetId(v, "distinct_id", &record.distinct_id));
    } else if (key == "original_id") {
      SEXTANT_RETURN_IF_ERROR(GetId(v, "original_id", &record.original_id));
    } else if (key == "login_id") {
      SEXTANT_RETURN_IF_ERROR(GetId(v, "login_id", &record.login_id));
    } else if (key == "anonymous_id") {
      SEXTANT_RETURN_IF_ERROR(GetId(v, "anonymous_id", &record.anonymous_id));
    } else if (key == "identities") {
      object ids;
      if (v.get_object().get(ids)) return WrongType("identities", "object", v);
      record.identities.clear();
      for (auto id : ids) {
        Identity identity;
        identity.key.assign(id.key);
        SEXTANT_RETURN_IF_ERROR(GetId(id.value, "identities." + identity.key, &identity.value));
        record.identities.push_back(std::move(identity));
      }
    } else if (key == "time") {
      int64_t t = 0;
      if (!internal::GetInt64(v, &t)) return WrongType("time", "integer milliseconds", v);
      record.time_ms = NormalizeTimeMs(t);
      record.has_time = true;
    } else if (key == "time_free") {
      bool b = false;
      if (v.get_bool().get(b)) return WrongType("time_free", "bool", v);
      record.time_free = b;
    } else if (key == "project") {
      SEXTANT_RETURN_IF_ERROR(GetString(v, "project", &record.project));
    } else if (key == "token") {
      SEXTANT_RETURN_IF_ERROR(GetString(v, "token", &record.token));
    } else if (key == "_track_id") {
      int64_t id = 0;
      std::string_view s;
      if (internal::GetInt64(v, &id)) {
        record.track_id = id;
      } else if (!v.get_string().get(s)) {
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
        if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
          return WrongType("_track_id", "integer", v);
        }
        record.track_id = id;
      } else {
        return WrongType("_track_id", "integer", v);
      }
    } else if (key == "_flush_time") {
      int64_t t = 0;
      if (internal::GetInt64(v, &t)) record.flush_time_ms = NormalizeTimeMs(t);
    } else if (key == "lib") {
      object lib;
      if (v.get_object().get(lib)) return WrongType("lib", "object", v);
      for (auto lf : lib) {
        if (lf.value.is_null()) continue;
        if (lf.key == "$lib") {
          SEXTANT_RETURN_IF_ERROR(GetString(lf.value, "lib.$lib", &record.lib));
        } else if (lf.key == "$lib_version") {
          SEXTANT_RETURN_IF_ERROR(GetString(lf.value, "lib.$lib_version", &record.lib_version));
        }
      }
    } else if (key == "item_type") {
      SEXTANT_RETURN_IF_ERROR(GetString(v, "item_type", &record.item_type));
    } else if (key == "item_id") {
      SEXTANT_RETURN_IF_ERROR(GetId(v, "item_id", &record.item_id));
    } else if (key == "properties") {
      record.properties.clear();
      SEXTANT_RETURN_IF_ERROR(ParseProperties(v, zone, &record));
    }
    // Anything else (version, schema, $is_login_id at top level, ...) is ignored.
  }
  if (!has_type) return Status(ErrorCode::kMissingField, "record has no \"type\"", "type");
  return Status::Ok();
}

}  // namespace

}  // namespace sextant::decode
