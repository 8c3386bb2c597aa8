#include "decode/record_validator.h"

#include <cmath>
#include <string>

namespace sextant::decode {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != b[i]) return false;
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out.append("...");
  out.push_back('"');
  return out;
}

Status CheckId(std::string_view id, std::string_view what, std::string_view field,
               const ValidationOptions& options) {
  if (id.empty()) return Status(ErrorCode::kInvalidId, std::string(what) + " is empty", std::string(field));
  if (id.size() > options.max_id_bytes) {
    return Status(ErrorCode::kInvalidId,
                  std::string(what) + " is longer than " + std::to_string(options.max_id_bytes) +
                      " bytes",
                  std::string(field));
  }
  return Status::Ok();
}

Status CheckValue(const std::string& field, const Value& value, const ValidationOptions& options) {
  switch (value.type()) {
    case ValueType::kNumber:
      if (!std::isfinite(value.number()) || std::fabs(value.number()) > kMaxNumberMagnitude) {
        return Status(ErrorCode::kInvalidValue, "NUMBER out of range ±9E15", field);
      }
      break;
    case ValueType::kString:
      if (value.str().size() > options.max_string_bytes) {
        return Status(ErrorCode::kValueTooLong,
                      "STRING longer than " + std::to_string(options.max_string_bytes) + " bytes",
                      field);
      }
      break;
    case ValueType::kList: {
      const auto& list = value.list();
      if (list.size() > options.max_list_elements) {
        return Status(ErrorCode::kValueTooLong,
                      "LIST has more than " + std::to_string(options.max_list_elements) +
                          " elements",
                      field);
      }
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].size() > options.max_string_bytes) {
          return Status(ErrorCode::kValueTooLong,
                        "LIST element longer than " + std::to_string(options.max_string_bytes) +
                            " bytes",
                        field + "[" + std::to_string(i) + "]");
        }
      }
      break;
    }
    default:
      break;
  }
  return Status::Ok();
}

}  // namespace

bool IsReservedName(std::string_view name) {
  static constexpr std::string_view kReserved[] = {
      "distinct_id", "original_id", "time",    "properties", "id",   "first_id", "second_id",
      "users",       "events",      "event",   "user_id",    "date", "datetime"};
  if (!name.empty() && name[0] == '$') return false;  // presets: no reserved name starts with $
  for (std::string_view reserved : kReserved)
    if (EqualsIgnoreCase(name, reserved)) return true;
  return StartsWithIgnoreCase(name, "user_tag") || StartsWithIgnoreCase(name, "user_group");
}

Status CheckName(std::string_view name, std::string_view field) {
  if (IsReservedName(name)) {
    return Status(ErrorCode::kReservedName, Quote(name) + " is a reserved name", std::string(field));
  }
  if (name.empty()) return Status(ErrorCode::kInvalidName, "empty name", std::string(field));
  if (name.size() > 100) {
    return Status(ErrorCode::kInvalidName, Quote(name) + " is longer than 100 characters",
                  std::string(field));
  }
  if (!(IsAlpha(name[0]) || name[0] == '_' || name[0] == '$')) {
    return Status(ErrorCode::kInvalidName,
                  Quote(name) + " must start with a letter, '_' or '$'", std::string(field));
  }
  for (char c : name.substr(1)) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == '$')) {
      return Status(ErrorCode::kInvalidName,
                    Quote(name) + " may contain only letters, digits, '_' and '$'",
                    std::string(field));
    }
  }
  return Status::Ok();
}

Status ValidateRecord(Record* record, const ValidationOptions& options) {
  const RecordType type = record->type;
  const bool is_event = IsEventRecord(type);
  const bool is_item = IsItemRecord(type);

  // 1. Event name.
  if (is_event) {
    if (record->event.empty()) {
      switch (type) {
        case RecordType::kTrackSignup: record->event = "$SignUp"; break;
        case RecordType::kTrackIdBind: record->event = "$BindID"; break;
        case RecordType::kTrackIdUnbind: record->event = "$UnbindID"; break;
        default:
          return Status(ErrorCode::kMissingField, "track record without \"event\"", "event");
      }
    }
    SEXTANT_RETURN_IF_ERROR(CheckName(record->event, "event"));
  } else {
    record->event.clear();
  }

  // 2. Ids.
  if (!is_item) {
    if (record->distinct_id.empty() && record->identities.empty()) {
      return Status(ErrorCode::kMissingField, "record needs \"distinct_id\" or \"identities\"",
                    "distinct_id");
    }
    if (!record->distinct_id.empty()) {
      SEXTANT_RETURN_IF_ERROR(CheckId(record->distinct_id, "distinct_id", "distinct_id", options));
    }
  }
  if (type == RecordType::kTrackSignup) {
    if (record->original_id.empty()) {
      return Status(ErrorCode::kMissingField, "track_signup needs \"original_id\"", "original_id");
    }
    SEXTANT_RETURN_IF_ERROR(CheckId(record->original_id, "original_id", "original_id", options));
  }
  if (!record->login_id.empty())
    SEXTANT_RETURN_IF_ERROR(CheckId(record->login_id, "login_id", "login_id", options));
  if (!record->anonymous_id.empty())
    SEXTANT_RETURN_IF_ERROR(CheckId(record->anonymous_id, "anonymous_id", "anonymous_id", options));
  for (const Identity& identity : record->identities) {
    std::string field = "identities." + identity.key;
    SEXTANT_RETURN_IF_ERROR(CheckName(identity.key, field));
    SEXTANT_RETURN_IF_ERROR(CheckId(identity.value, "identity value", field, options));
  }
  if (type == RecordType::kTrackIdBind && record->identities.size() < 2) {
    return Status(ErrorCode::kInvalidValue, "track_id_bind needs at least 2 identities",
                  "identities");
  }
  if (type == RecordType::kTrackIdUnbind && record->identities.size() != 1) {
    return Status(ErrorCode::kInvalidValue, "track_id_unbind needs exactly 1 identity",
                  "identities");
  }

  // 3. Items.
  if (is_item) {
    if (record->item_type.empty()) {
      return Status(ErrorCode::kMissingField, "item record needs \"item_type\"", "item_type");
    }
    SEXTANT_RETURN_IF_ERROR(CheckName(record->item_type, "item_type"));
    if (record->item_id.empty()) {
      return Status(ErrorCode::kMissingField, "item record needs \"item_id\"", "item_id");
    }
    SEXTANT_RETURN_IF_ERROR(CheckId(record->item_id, "item_id", "item_id", options));
  }

  // 4. Time window.
  if (record->has_time && !record->time_free) {
    if (record->time_ms < options.now_ms - options.max_past_ms ||
        record->time_ms > options.now_ms + options.max_future_ms) {
      return Status(ErrorCode::kTimeOutOfWindow,
                    "time " + std::to_string(record->time_ms) +
                        " is outside the accepted window (set time_free for imports)",
                    "time");
    }
  }

  // 5. Project override.
  if (!record->project.empty()) SEXTANT_RETURN_IF_ERROR(CheckName(record->project, "project"));

  // 6. Properties.
  if (type == RecordType::kProfileDelete) return Status::Ok();
  if (record->properties.size() > options.max_properties) {
    return Status(ErrorCode::kInvalidValue,
                  "more than " + std::to_string(options.max_properties) + " properties",
                  "properties");
  }
  for (auto& [name, value] : record->properties) {
    // The field path is built only when there is something to report: this loop runs for
    // every property of every record. (Init-capture: clang before 16 cannot capture a
    // structured binding by name.)
    auto field = [&key = name] { return "properties." + key; };
    auto with_field = [&field](const Status& status) {
      return Status(status.code(), status.message(), field());
    };
    if (Status named = CheckName(name, {}); !named.ok()) return with_field(named);
    if (type == RecordType::kProfileUnset) continue;
    if (type == RecordType::kProfileIncrement && value.type() != ValueType::kNumber) {
      return Status(ErrorCode::kInvalidValue,
                    "profile_increment values must be NUMBER, got " +
                        std::string(ValueTypeName(value.type())),
                    field());
    }
    if (type == RecordType::kProfileAppend) {
      if (value.type() == ValueType::kString) {
        value = Value::List({value.str()});
      } else if (value.type() != ValueType::kList) {
        return Status(ErrorCode::kInvalidValue,
                      "profile_append values must be LIST, got " +
                          std::string(ValueTypeName(value.type())),
                      field());
      }
    }
    if (Status checked = CheckValue({}, value, options); !checked.ok()) {
      // CheckValue names list elements as "<field>[i]"; keep that suffix.
      std::string where = field() + checked.field();
      return Status(checked.code(), checked.message(), std::move(where));
    }
  }
  return Status::Ok();
}

}  // namespace sextant::decode
