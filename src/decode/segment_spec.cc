#include "decode/segment_spec.h"

#include <optional>

#include "common/hash.h"
#include "decode/json_util.h"
#include "decode/record_validator.h"

namespace sextant::decode {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

constexpr uint64_t kTrackIdMask = (uint64_t{1} << 62) - 1;

std::optional<element> Field(const element& obj, std::string_view key) {
  element value;
  if (obj.at_key(key).get(value) || value.is_null()) return std::nullopt;
  return value;
}

bool StringField(const element& obj, std::string_view key, std::string* out) {
  std::optional<element> v = Field(obj, key);
  return v.has_value() && internal::GetIdString(*v, out);
}

// Lenient Segment value conversion: nested objects and non-string array elements become
// JSON text instead of errors (Segment clients send them freely).
bool ConvertSegmentValue(const element& e, const TimeZone& zone, Value* out) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return false;
    case element_type::OBJECT:
      *out = Value::String(internal::ToJson(e));
      return true;
    case element_type::ARRAY: {
      simdjson::dom::array array;
      if (e.get_array().get(array)) return false;
      std::vector<std::string> list;
      for (element item : array) {
        std::string_view s;
        if (!item.get_string().get(s)) {
          list.emplace_back(s);
        } else {
          list.push_back(internal::ToJson(item));
        }
      }
      *out = Value::List(std::move(list));
      return true;
    }
    default: {
      bool is_null = false;
      return internal::ConvertPropertyValue(e, zone, "", out, &is_null).ok() && !is_null;
    }
  }
}

void SetProperty(Record* record, std::string name, Value value) {
  for (auto& [key, existing] : record->properties) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  record->properties.emplace_back(std::move(name), std::move(value));
}

// Copies the members of `obj` (if an object) as properties, names sanitised, with `prefix`.
// `renames` maps a Segment key to a fixed Sensors name (page properties).
void CopyProperties(const std::optional<element>& obj, const TimeZone& zone, std::string_view prefix,
                    Record* record,
                    std::initializer_list<std::pair<std::string_view, std::string_view>> renames = {}) {
  object members;
  if (!obj.has_value() || obj->get_object().get(members)) return;
  for (auto field : members) {
    Value value;
    if (!ConvertSegmentValue(field.value, zone, &value)) continue;
    std::string name;
    for (const auto& [from, to] : renames) {
      if (field.key == from) name = std::string(to);
    }
    if (name.empty()) name = SegmentName(std::string(prefix) + std::string(field.key));
    SetProperty(record, std::move(name), std::move(value));
  }
}

Status ParseTime(const element& msg, const TimeZone& zone, Record* record) {
  for (std::string_view key : {"timestamp", "originalTimestamp", "sentAt"}) {
    std::optional<element> v = Field(msg, key);
    if (!v.has_value()) continue;
    int64_t ms = 0;
    std::string_view s;
    if (internal::GetInt64(*v, &ms)) {
      if (ms >= 1'000'000'000LL && ms <= 9'999'999'999LL) ms *= 1000;
    } else if (v->get_string().get(s) || !ParseIso8601Ms(s, zone, &ms)) {
      return Status(ErrorCode::kInvalidValue, std::string(key) + " is not an ISO-8601 time",
                    std::string(key));
    }
    record->time_ms = ms;
    record->has_time = true;
    return Status::Ok();
  }
  return Status::Ok();
}

Result<Record> MessageToRecord(std::string_view kind, const element& msg,
                               const std::optional<element>& batch_context, const TimeZone& zone) {
  if (!msg.is_object()) {
    return Status(ErrorCode::kBadJson, "message must be a JSON object, got " +
                                           std::string(internal::JsonTypeName(msg)));
  }
  Record record;
  std::string user_id, anonymous_id;
  StringField(msg, "userId", &user_id);
  StringField(msg, "anonymousId", &anonymous_id);
  if (kind == "alias") {
    std::string previous_id;
    StringField(msg, "previousId", &previous_id);
    if (user_id.empty()) return Status(ErrorCode::kMissingField, "alias needs userId", "userId");
    if (previous_id.empty()) {
      return Status(ErrorCode::kMissingField, "alias needs previousId", "previousId");
    }
    record.type = RecordType::kTrackSignup;
    record.event = "$SignUp";
    record.original_id = previous_id;
  }
  if (user_id.empty() && anonymous_id.empty()) {
    return Status(ErrorCode::kMissingField, "message needs userId or anonymousId", "userId");
  }
  record.distinct_id = user_id.empty() ? anonymous_id : user_id;
  record.login_id = user_id;
  record.anonymous_id = anonymous_id;
  if (!user_id.empty()) record.identities.push_back({"$identity_login_id", user_id});
  if (!anonymous_id.empty()) record.identities.push_back({"$identity_anonymous_id", anonymous_id});

  std::string message_id;
  if (StringField(msg, "messageId", &message_id) && !message_id.empty()) {
    record.track_id = static_cast<int64_t>(Hash64(message_id) & kTrackIdMask);
  }
  SEXTANT_RETURN_IF_ERROR(ParseTime(msg, zone, &record));

  std::optional<element> properties = Field(msg, "properties");
  std::optional<element> traits = Field(msg, "traits");
  std::string name;
  StringField(msg, "name", &name);

  if (kind == "track") {
    std::string event;
    StringField(msg, "event", &event);
    if (event.empty()) return Status(ErrorCode::kMissingField, "track needs event", "event");
    record.type = RecordType::kTrack;
    record.event = SegmentName(event);
    CopyProperties(properties, zone, "", &record);
    if (record.event != event) SetProperty(&record, "$segment_event", Value::String(event));
  } else if (kind == "identify") {
    record.type = RecordType::kProfileSet;
    if (!traits.has_value()) {  // analytics.js puts traits under context.traits
      if (std::optional<element> context = Field(msg, "context")) traits = Field(*context, "traits");
    }
    CopyProperties(traits, zone, "", &record);
  } else if (kind == "page") {
    record.type = RecordType::kTrack;
    record.event = "$pageview";
    CopyProperties(properties, zone, "", &record,
                   {{"url", "$url"}, {"title", "$title"}, {"referrer", "$referrer"},
                    {"path", "$url_path"}, {"name", "page_name"}});
    if (!name.empty()) SetProperty(&record, "page_name", Value::String(name));
  } else if (kind == "screen") {
    record.type = RecordType::kTrack;
    record.event = "$AppViewScreen";
    CopyProperties(properties, zone, "", &record, {{"name", "$screen_name"}});
    if (!name.empty()) SetProperty(&record, "$screen_name", Value::String(name));
  } else if (kind == "group") {
    std::string group_id;
    StringField(msg, "groupId", &group_id);
    if (group_id.empty()) return Status(ErrorCode::kMissingField, "group needs groupId", "groupId");
    record.type = RecordType::kProfileSet;
    SetProperty(&record, "group_id", Value::String(group_id));
    CopyProperties(traits, zone, "group_", &record);
  } else if (kind == "alias") {
    CopyProperties(properties, zone, "", &record);
  } else {
    return Status(ErrorCode::kInvalidType, "unknown Segment message type \"" + std::string(kind) + "\"",
                  "type");
  }

  std::optional<element> context = Field(msg, "context");
  if (!context.has_value()) context = batch_context;
  if (context.has_value() && context->is_object()) {
    std::string text;
    if (StringField(*context, "ip", &text) && !text.empty()) SetProperty(&record, "$ip", Value::String(text));
    if (StringField(*context, "userAgent", &text) && !text.empty()) {
      SetProperty(&record, "$user_agent", Value::String(text));
    }
    if (std::optional<element> library = Field(*context, "library")) {
      if (library->is_object()) {
        StringField(*library, "name", &record.lib);
        StringField(*library, "version", &record.lib_version);
      }
    }
  }
  return record;
}

bool IsKnownKind(std::string_view kind) {
  return kind == "track" || kind == "identify" || kind == "alias" || kind == "page" ||
         kind == "screen" || kind == "group";
}

int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string SegmentName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  if (IsReservedName(out)) out = "segment_" + out;
  if (out.size() > 100) out.resize(100);
  return out;
}

bool ParseIso8601Ms(std::string_view s, const TimeZone& zone, int64_t* out_ms) {
  int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (s.size() == 10) {
    *out_ms = days * 86'400'000 - zone.offset_ms();
    return true;
  }
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return false;
  }
  int hour = Digits(s, 11, 2), minute = Digits(s, 14, 2), second = Digits(s, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return false;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int scale = 100;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int64_t offset_ms = zone.offset_ms();
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      offset_ms = 0;
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      int oh = Digits(s, pos + 1, 2), om = -1;
      size_t end = pos + 3;
      if (end < s.size() && s[end] == ':') {
        om = Digits(s, end + 1, 2);
        end += 3;
      } else if (end + 2 <= s.size()) {
        om = Digits(s, end, 2);
        end += 2;
      } else {
        om = 0;
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offset_ms = sign * (int64_t{oh} * 3'600'000 + int64_t{om} * 60'000);
      pos = end;
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;
  *out_ms = days * 86'400'000 + int64_t{hour} * 3'600'000 + int64_t{minute} * 60'000 +
            int64_t{second} * 1000 + millis - offset_ms;
  return true;
}

Result<std::vector<Result<Record>>> DecodeSegment(std::string_view path_kind,
                                                  std::string_view body, const TimeZone& zone) {
  if (path_kind != "batch" && !IsKnownKind(path_kind)) {
    return Status(ErrorCode::kInvalidType,
                  "unknown Segment endpoint \"" + std::string(path_kind.substr(0, 32)) + "\"");
  }
  simdjson::dom::parser parser;
  element root;
  SEXTANT_RETURN_IF_ERROR(internal::ParseJson(parser, body, "", &root));
  if (!root.is_object()) {
    return Status(ErrorCode::kBadJson, "body must be a JSON object");
  }
  std::vector<Result<Record>> out;
  if (path_kind != "batch") {
    out.push_back(MessageToRecord(path_kind, root, std::nullopt, zone));
    return out;
  }
  simdjson::dom::array batch;
  std::optional<element> messages = Field(root, "batch");
  if (!messages.has_value() || messages->get_array().get(batch)) {
    return Status(ErrorCode::kMissingPayload, "body has no \"batch\" array", "batch");
  }
  std::optional<element> batch_context = Field(root, "context");
  out.reserve(batch.size());
  for (element msg : batch) {
    std::string kind;
    if (!msg.is_object()) {
      out.push_back(MessageToRecord("", msg, batch_context, zone));
    } else if (!StringField(msg, "type", &kind)) {
      out.push_back(Status(ErrorCode::kMissingField, "batch message has no \"type\"", "type"));
    } else if (!IsKnownKind(kind)) {
      out.push_back(Status(ErrorCode::kInvalidType,
                           "unknown Segment message type \"" + kind.substr(0, 32) + "\"", "type"));
    } else {
      out.push_back(MessageToRecord(kind, msg, batch_context, zone));
    }
  }
  return out;
}

}  // namespace sextant::decode
