#include "decode/json_util.h"

#include <cmath>
#include <string>

namespace sextant::decode::internal {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status ParseJson(simdjson::dom::parser& parser, std::string_view json, std::string_view field,
                 element* out) {
  auto error = parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(*out);
  if (error) {
    return Status(ErrorCode::kBadJson,
                  std::string("invalid JSON: ") + simdjson::error_message(error),
                  std::string(field));
  }
  return Status::Ok();
}

std::string_view JsonTypeName(const element& e) {
  switch (e.type()) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "bool";
    case element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

std::string ToJson(const element& e) { return simdjson::minify(e); }

bool GetIdString(const element& e, std::string* out) {
  switch (e.type()) {
    case element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      out->assign(s);
      return true;
    }
    case element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v)) return false;
      *out = std::to_string(v);
      return true;
    }
    case element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) return false;
      *out = std::to_string(v);
      return true;
    }
    default:
      return false;
  }
}

bool GetInt64(const element& e, int64_t* out) {
  switch (e.type()) {
    case element_type::INT64:
      return !e.get_int64().get(*out);
    case element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
      *out = static_cast<int64_t>(v);
      return true;
    }
    case element_type::DOUBLE: {
      double d = 0;
      if (e.get_double().get(d)) return false;
      if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default:
      return false;
  }
}

namespace {
bool Digits(std::string_view s, size_t pos, size_t n, int* value) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}
bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}
}  // namespace

bool ParseSensorsDatetime(std::string_view s, const TimeZone& zone, Value* out) {
  // Fast reject: the shortest form is 10 chars, the longest 23.
  if (s.size() != 10 && (s.size() < 19 || s.size() > 23)) return false;
  int year, month, day;
  if (!Digits(s, 0, 4, &year) || s[4] != '-' || !Digits(s, 5, 2, &month) || s[7] != '-' ||
      !Digits(s, 8, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return false;
  int32_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (s.size() == 10) {
    *out = Value::Date(days);
    return true;
  }
  int hour, minute, second, millis = 0;
  if (s[10] != ' ' || !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) ||
      s[16] != ':' || !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (s.size() > 19) {
    // ".S" .. ".SSS": the digits are an integer count of milliseconds (SDK quirk).
    if (s[19] != '.' || s.size() == 20 || !Digits(s, 20, s.size() - 20, &millis)) return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  int64_t ms = int64_t{days} * 86'400'000 + int64_t{hour} * 3'600'000 + int64_t{minute} * 60'000 +
               int64_t{second} * 1000 + millis - zone.offset_ms();
  *out = Value::Datetime(ms);
  return true;
}

Status ConvertPropertyValue(const element& e, const TimeZone& zone, const std::string& field,
                            Value* out, bool* is_null) {
  *is_null = false;
  switch (e.type()) {
    case element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v)) break;
      *out = Value::Number(static_cast<double>(v));
      return Status::Ok();
    }
    case element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) break;
      *out = Value::Number(static_cast<double>(v));
      return Status::Ok();
    }
    case element_type::DOUBLE: {
      double v = 0;
      if (e.get_double().get(v)) break;
      *out = Value::Number(v);
      return Status::Ok();
    }
    case element_type::BOOL: {
      bool v = false;
      if (e.get_bool().get(v)) break;
      *out = Value::Bool(v);
      return Status::Ok();
    }
    case element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) break;
      if (!ParseSensorsDatetime(s, zone, out)) *out = Value::String(std::string(s));
      return Status::Ok();
    }
    case element_type::NULL_VALUE:
      *is_null = true;
      return Status::Ok();
    case element_type::ARRAY: {
      simdjson::dom::array array;
      if (e.get_array().get(array)) break;
      std::vector<std::string> list;
      size_t index = 0;
      for (element item : array) {
        std::string_view s;
        if (item.get_string().get(s)) {
          return Status(ErrorCode::kInvalidValue,
                        "LIST elements must be strings, got " + std::string(JsonTypeName(item)),
                        field + "[" + std::to_string(index) + "]");
        }
        list.emplace_back(s);
        ++index;
      }
      *out = Value::List(std::move(list));
      return Status::Ok();
    }
    case element_type::OBJECT:
      return Status(ErrorCode::kInvalidValue, "nested objects are not a property type", field);
  }
  return Status(ErrorCode::kInvalidValue, "unsupported JSON value", field);
}

}  // namespace sextant::decode::internal
