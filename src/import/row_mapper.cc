#include "import/row_mapper.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/json_writer.h"

namespace sextant::import {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool ParseBoolText(std::string_view s, bool* out) {
  for (std::string_view t : {"true", "1", "yes", "y", "t", "是"})
    if (EqualsIgnoreCase(s, t)) return *out = true, true;
  for (std::string_view f : {"false", "0", "no", "n", "f", "否"})
    if (EqualsIgnoreCase(s, f)) return *out = false, true;
  return false;
}

void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  AppendJsonEscaped(s, out);
  out->push_back('"');
}

void AppendDatetimeText(int64_t ms, const TimeZone& zone, std::string* out) {
  out->push_back('"');
  out->append(FormatDatetime(ms, zone));
  out->push_back('"');
}

Status ColumnError(ErrorCode code, std::string_view column, std::string message) {
  return Status(code, std::move(message), std::string(column));
}

}  // namespace

bool ParseImportKind(std::string_view name, ImportKind* out) {
  if (name == "events") *out = ImportKind::kEvents;
  else if (name == "profiles") *out = ImportKind::kProfiles;
  else if (name == "items") *out = ImportKind::kItems;
  else if (name == "records") *out = ImportKind::kRecords;
  else return false;
  return true;
}

ValueType InferCellType(std::string_view text) {
  text = Trim(text);
  if (text == "true" || text == "false" || text == "TRUE" || text == "FALSE")
    return ValueType::kBool;
  if (!IsJsonNumber(text)) return ValueType::kString;
  size_t digits = 0;
  for (char c : text) {
    if (c == 'e' || c == 'E') break;
    digits += c >= '0' && c <= '9';
  }
  return digits <= 15 ? ValueType::kNumber : ValueType::kString;
}

Result<Mapping> ParseMapping(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc))
    return Status(ErrorCode::kBadJson, std::string("mapping is not JSON: ") + simdjson::error_message(err));
  simdjson::dom::object root;
  if (doc.get_object().get(root)) return Status(ErrorCode::kBadJson, "mapping must be a JSON object");
  Mapping m;
  auto get_string = [](simdjson::dom::element e, std::string_view field, std::string* out) -> Status {
    std::string_view s;
    if (e.get_string().get(s))
      return Status(ErrorCode::kBadRequest, "mapping: " + std::string(field) + " must be a string", std::string(field));
    *out = std::string(s);
    return Status::Ok();
  };
  auto get_bool = [](simdjson::dom::element e, std::string_view field, bool* out) -> Status {
    if (e.get_bool().get(*out))
      return Status(ErrorCode::kBadRequest, "mapping: " + std::string(field) + " must be true or false", std::string(field));
    return Status::Ok();
  };
  auto parse_type = [](std::string_view field, std::string_view name, ColumnSpec* spec) -> Status {
    ValueType t;
    if (!ParseValueTypeName(name, &t))
      return Status(ErrorCode::kBadRequest,
                    "mapping: unknown type '" + std::string(name) +
                        "' (NUMBER, BOOL, STRING, LIST, DATETIME, DATE)", std::string(field));
    spec->type = t;
    return Status::Ok();
  };
  for (auto [key, value] : root) {
    std::string k(key);
    if (k == "id_column") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.id_column));
    else if (k == "id_key") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.id_key));
    else if (k == "event") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.event));
    else if (k == "event_column") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.event_column));
    else if (k == "time_column") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.time_column));
    else if (k == "time_format") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.time_format));
    else if (k == "time_zone") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.time_zone));
    else if (k == "item_type") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.item_type));
    else if (k == "item_type_column") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.item_type_column));
    else if (k == "profile_op") SEXTANT_RETURN_IF_ERROR(get_string(value, k, &m.profile_op));
    else if (k == "infer_types") SEXTANT_RETURN_IF_ERROR(get_bool(value, k, &m.infer_types));
    else if (k == "time_free") SEXTANT_RETURN_IF_ERROR(get_bool(value, k, &m.time_free));
    else if (k == "types") {
      simdjson::dom::object obj;
      if (value.get_object().get(obj)) return Status(ErrorCode::kBadRequest, "mapping: types must be an object", k);
      for (auto [col, t] : obj) {
        std::string_view tn;
        if (t.get_string().get(tn)) return Status(ErrorCode::kBadRequest, "mapping: types values are type names", k);
        SEXTANT_RETURN_IF_ERROR(parse_type("types." + std::string(col), tn, &m.columns[std::string(col)]));
      }
    } else if (k == "rename") {
      simdjson::dom::object obj;
      if (value.get_object().get(obj)) return Status(ErrorCode::kBadRequest, "mapping: rename must be an object", k);
      for (auto [col, to] : obj)
        SEXTANT_RETURN_IF_ERROR(get_string(to, "rename." + std::string(col), &m.columns[std::string(col)].rename));
    } else if (k == "skip") {
      simdjson::dom::array arr;
      if (value.get_array().get(arr)) return Status(ErrorCode::kBadRequest, "mapping: skip must be an array of column names", k);
      for (auto col : arr) {
        std::string_view c;
        if (col.get_string().get(c)) return Status(ErrorCode::kBadRequest, "mapping: skip must be an array of column names", k);
        m.columns[std::string(c)].skip = true;
      }
    } else if (k == "columns") {
      simdjson::dom::object obj;
      if (value.get_object().get(obj)) return Status(ErrorCode::kBadRequest, "mapping: columns must be an object", k);
      for (auto [col, spec_el] : obj) {
        std::string field = "columns." + std::string(col);
        ColumnSpec& spec = m.columns[std::string(col)];
        std::string_view type_name;
        if (!spec_el.get_string().get(type_name)) {  // shorthand "col": "NUMBER"
          SEXTANT_RETURN_IF_ERROR(parse_type(field, type_name, &spec));
          continue;
        }
        simdjson::dom::object so;
        if (spec_el.get_object().get(so))
          return Status(ErrorCode::kBadRequest, "mapping: a column spec is a type name or an object", field);
        for (auto [sk, sv] : so) {
          std::string f = field + "." + std::string(sk);
          if (sk == "type") {
            std::string t;
            SEXTANT_RETURN_IF_ERROR(get_string(sv, f, &t));
            SEXTANT_RETURN_IF_ERROR(parse_type(f, t, &spec));
          } else if (sk == "rename" || sk == "name") {
            SEXTANT_RETURN_IF_ERROR(get_string(sv, f, &spec.rename));
          } else if (sk == "separator") {
            SEXTANT_RETURN_IF_ERROR(get_string(sv, f, &spec.separator));
            if (spec.separator.empty()) return Status(ErrorCode::kBadRequest, "mapping: empty separator", f);
          } else if (sk == "format" || sk == "time_format") {
            SEXTANT_RETURN_IF_ERROR(get_string(sv, f, &spec.time_format));
          } else if (sk == "skip") {
            SEXTANT_RETURN_IF_ERROR(get_bool(sv, f, &spec.skip));
          } else {
            return Status(ErrorCode::kBadRequest, "mapping: unknown column option '" + std::string(sk) + "'", f);
          }
        }
      }
    } else if (k.size() > 0 && k[0] == '_') {
      // "_comment" and the like: ignored.
    } else {
      return Status(ErrorCode::kBadRequest, "mapping: unknown key '" + k + "'", k);
    }
  }
  return m;
}

Result<RowMapper> RowMapper::Create(const Mapping& mapping, ImportKind kind) {
  RowMapper r;
  r.mapping_ = mapping;
  r.kind_ = kind;
  auto zone = TimeZone::FromName(mapping.time_zone);
  if (!zone) {
    return Status(ErrorCode::kBadRequest, "mapping: " + UnknownTimeZoneMessage(mapping.time_zone),
                  "time_zone");
  }
  r.zone_ = *zone;
  auto fmt = TimeFormat::Parse(mapping.time_format);
  if (!fmt.ok()) return Status(fmt.status().code(), fmt.status().message(), "time_format");
  r.time_format_ = *fmt;
  for (const auto& [col, spec] : mapping.columns) {
    if (!spec.time_format.empty()) {
      auto f = TimeFormat::Parse(spec.time_format);
      if (!f.ok()) return Status(f.status().code(), f.status().message(), "columns." + col);
    }
  }
  r.id_column_ = mapping.id_column;
  if (r.id_column_.empty()) r.id_column_ = kind == ImportKind::kItems ? "item_id" : "distinct_id";
  r.event_column_ = mapping.event_column.empty() && mapping.event.empty() ? "event" : mapping.event_column;
  r.time_column_ = mapping.time_column.empty() ? "time" : mapping.time_column;
  r.item_type_column_ = mapping.item_type_column.empty() && mapping.item_type.empty()
                            ? "item_type" : mapping.item_type_column;
  switch (kind) {
    case ImportKind::kEvents: r.type_prefix_ = "{\"type\":\"track\""; break;
    case ImportKind::kProfiles:
      if (mapping.profile_op != "profile_set" && mapping.profile_op != "profile_set_once")
        return Status(ErrorCode::kBadRequest, "mapping: profile_op must be profile_set or profile_set_once", "profile_op");
      r.type_prefix_ = "{\"type\":\"" + mapping.profile_op + "\"";
      break;
    case ImportKind::kItems: r.type_prefix_ = "{\"type\":\"item_set\""; break;
    case ImportKind::kRecords:
      return Status(ErrorCode::kBadRequest, "kind records takes Sensors records as they are; no mapping applies");
  }
  return r;
}

const RowMapper::Plan& RowMapper::PlanFor(std::string_view name) {
  auto it = plan_cache_.find(std::string(name));
  if (it != plan_cache_.end()) return it->second;
  Plan plan;
  auto spec = mapping_.columns.find(std::string(name));
  if (spec != mapping_.columns.end()) plan.spec = &spec->second;
  if (plan.spec && plan.spec->skip) plan.role = Role::kSkip;
  else if (name == id_column_) plan.role = Role::kId;
  else if (kind_ == ImportKind::kEvents && !event_column_.empty() && name == event_column_) plan.role = Role::kEvent;
  else if (kind_ != ImportKind::kItems && name == time_column_) plan.role = Role::kTime;
  else if (kind_ == ImportKind::kItems && !item_type_column_.empty() && name == item_type_column_) plan.role = Role::kItemType;
  std::string out_name = plan.spec && !plan.spec->rename.empty() ? plan.spec->rename : std::string(name);
  plan.key_json = "\"";
  AppendJsonEscaped(out_name, &plan.key_json);
  plan.key_json += "\":";
  return plan_cache_.emplace(std::string(name), std::move(plan)).first->second;
}

Status RowMapper::Prepare(const std::vector<std::string_view>& header) {
  header_plans_.clear();
  bool has_id = false, has_event = !mapping_.event.empty(), has_time = false;
  bool has_item_type = !mapping_.item_type.empty();
  for (std::string_view name : header) {
    const Plan& p = PlanFor(name);
    header_plans_.push_back(p);
    has_id |= p.role == Role::kId;
    has_event |= p.role == Role::kEvent;
    has_time |= p.role == Role::kTime;
    has_item_type |= p.role == Role::kItemType;
  }
  if (!has_id) return Status(ErrorCode::kMissingField, "no id column '" + id_column_ + "' in the header (set id_column in the mapping)", id_column_);
  if (kind_ == ImportKind::kEvents && !has_event)
    return Status(ErrorCode::kMissingField, "no event column '" + event_column_ + "' in the header (set event or event_column in the mapping)", event_column_);
  if (kind_ == ImportKind::kEvents && !has_time)
    return Status(ErrorCode::kMissingField, "no time column '" + time_column_ + "' in the header (set time_column in the mapping)", time_column_);
  if (kind_ == ImportKind::kItems && !has_item_type)
    return Status(ErrorCode::kMissingField, "items need item_type (constant) or item_type_column in the mapping", "item_type");
  prepared_ = true;
  return Status::Ok();
}

Status RowMapper::AppendValue(const Plan& plan, std::string_view column, const Cell& cell,
                              std::string* out) const {
  std::optional<ValueType> type = plan.spec ? plan.spec->type : std::nullopt;
  const bool json = cell.kind != Cell::Kind::kText;
  std::string_view text = cell.kind == Cell::Kind::kJsonString || cell.kind == Cell::Kind::kText
                              ? cell.text : cell.text;
  if (!type) {
    if (json) {
      switch (cell.kind) {
        case Cell::Kind::kJsonString: AppendQuoted(cell.text, out); return Status::Ok();
        case Cell::Kind::kJsonNumber: out->append(cell.text); return Status::Ok();
        case Cell::Kind::kJsonBool: out->append(cell.boolean ? "true" : "false"); return Status::Ok();
        case Cell::Kind::kJsonRaw:
          if (!cell.text.empty() && cell.text.front() == '[') { out->append(cell.text); return Status::Ok(); }
          AppendQuoted(cell.text, out);  // nested objects are stringified
          return Status::Ok();
        default: return Status::Ok();
      }
    }
    type = mapping_.infer_types ? InferCellType(text) : ValueType::kString;
    text = type == ValueType::kString ? text : Trim(text);
  }
  if (cell.kind == Cell::Kind::kJsonBool) text = cell.boolean ? "true" : "false";
  switch (*type) {
    case ValueType::kString:
      AppendQuoted(text, out);
      return Status::Ok();
    case ValueType::kNumber: {
      std::string_view t = Trim(text);
      if (IsJsonNumber(t)) {
        out->append(t);
        return Status::Ok();
      }
      // Lenient forms: "+12", "1,234.5", " 12. ", ".5".
      std::string cleaned;
      for (char c : t)
        if (c != ',' && c != '+') cleaned.push_back(c);
      char* end = nullptr;
      double d = cleaned.empty() ? NAN : std::strtod(cleaned.c_str(), &end);
      if (cleaned.empty() || end != cleaned.c_str() + cleaned.size() || !std::isfinite(d))
        return ColumnError(ErrorCode::kInvalidValue, column, "not a number: '" + std::string(t.substr(0, 64)) + "'");
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.15g", d);
      out->append(buf);
      return Status::Ok();
    }
    case ValueType::kBool: {
      bool b;
      if (!ParseBoolText(Trim(text), &b))
        return ColumnError(ErrorCode::kInvalidValue, column, "not a boolean: '" + std::string(text.substr(0, 64)) + "'");
      out->append(b ? "true" : "false");
      return Status::Ok();
    }
    case ValueType::kList: {
      if (cell.kind == Cell::Kind::kJsonRaw && !cell.text.empty() && cell.text.front() == '[') {
        out->append(cell.text);
        return Status::Ok();
      }
      const std::string& sep = plan.spec ? plan.spec->separator : std::string("|");
      out->push_back('[');
      bool first = true;
      size_t start = 0;
      while (start <= text.size()) {
        size_t next = text.find(sep, start);
        if (next == std::string_view::npos) next = text.size();
        std::string_view element = Trim(text.substr(start, next - start));
        if (!element.empty()) {
          if (!first) out->push_back(',');
          first = false;
          AppendQuoted(element, out);
        }
        start = next + sep.size();
      }
      out->push_back(']');
      return Status::Ok();
    }
    case ValueType::kDatetime:
    case ValueType::kDate: {
      TimeFormat fmt;
      if (plan.spec && !plan.spec->time_format.empty()) fmt = *TimeFormat::Parse(plan.spec->time_format);
      auto ms = fmt.ParseMs(text, zone_);
      if (!ms.ok()) return ColumnError(ErrorCode::kInvalidValue, column, ms.status().message());
      if (*type == ValueType::kDatetime) {
        AppendDatetimeText(*ms, zone_, out);
      } else {
        out->push_back('"');
        out->append(FormatDate(zone_.DayOf(*ms)));
        out->push_back('"');
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status RowMapper::Map(const std::vector<std::string_view>& names, const std::vector<Cell>& cells,
                      int64_t track_id, std::string* out) {
  const bool use_header = prepared_ && names.size() == header_plans_.size();
  std::string_view id, event = mapping_.event, item_type = mapping_.item_type;
  std::string_view id_col = id_column_;
  int64_t time_ms = 0;
  bool has_time = false;
  std::string& props = scratch_;
  props.clear();
  const size_t n = std::min(names.size(), cells.size());
  for (size_t i = 0; i < n; ++i) {
    const Plan& plan = use_header ? header_plans_[i] : PlanFor(names[i]);
    const Cell& cell = cells[i];
    if (cell.kind == Cell::Kind::kJsonNull) continue;
    if (cell.kind == Cell::Kind::kText && cell.text.empty()) continue;  // empty CSV cell: absent
    switch (plan.role) {
      case Role::kSkip: break;
      case Role::kId: id = cell.text; break;
      case Role::kEvent: event = cell.text; break;
      case Role::kItemType: item_type = cell.text; break;
      case Role::kTime: {
        std::string_view text = cell.text;
        if (cell.kind == Cell::Kind::kJsonNumber) {
          // Epoch numbers in JSON: the same digit-count rule as "auto".
        }
        auto ms = time_format_.ParseMs(text, zone_);
        if (!ms.ok()) return ColumnError(ErrorCode::kInvalidValue, names[i], ms.status().message());
        time_ms = *ms;
        has_time = true;
        break;
      }
      case Role::kProperty: {
        size_t mark = props.size();
        if (!props.empty()) props.push_back(',');
        props.append(plan.key_json);
        Status st = AppendValue(plan, names[i], cell, &props);
        if (!st.ok()) {
          props.resize(mark);
          return st;
        }
        break;
      }
    }
  }
  id = Trim(id);
  if (id.empty()) return ColumnError(ErrorCode::kInvalidId, id_col, "empty id");
  if (kind_ == ImportKind::kEvents) {
    if (event.empty()) return ColumnError(ErrorCode::kMissingField, event_column_, "empty event name");
    if (!has_time) return ColumnError(ErrorCode::kMissingField, time_column_, "empty time");
  }
  if (kind_ == ImportKind::kItems && item_type.empty())
    return ColumnError(ErrorCode::kMissingField, item_type_column_.empty() ? "item_type" : item_type_column_, "empty item type");

  out->append(type_prefix_);
  if (kind_ == ImportKind::kEvents) {
    out->append(",\"event\":");
    AppendQuoted(event, out);
    out->append(",\"_track_id\":");
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), track_id);
    out->append(buf, res.ptr);
  }
  if (kind_ == ImportKind::kItems) {
    out->append(",\"item_type\":");
    AppendQuoted(item_type, out);
    out->append(",\"item_id\":");
    AppendQuoted(id, out);
  } else {
    out->append(",\"distinct_id\":");
    AppendQuoted(id, out);
    if (!mapping_.id_key.empty() && mapping_.id_key != "distinct_id") {
      out->append(",\"identities\":{");
      AppendQuoted(mapping_.id_key, out);
      out->push_back(':');
      AppendQuoted(id, out);
      out->push_back('}');
    }
  }
  if (has_time) {
    out->append(",\"time\":");
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), time_ms);
    out->append(buf, res.ptr);
  }
  if (mapping_.time_free && has_time) out->append(",\"time_free\":true");
  out->append(",\"properties\":{");
  out->append(props);
  out->append("}}");
  return Status::Ok();
}

}  // namespace sextant::import
