#include "access/pii_masking.h"

#include <simdjson.h>

#include "common/csv_field.h"
#include "common/json_writer.h"

namespace sextant::access {

namespace {

constexpr std::pair<std::string_view, PiiKind> kDefaultFields[] = {
    {"phone", PiiKind::kPhone},          {"mobile", PiiKind::kPhone},
    {"mobile_phone", PiiKind::kPhone},   {"phone_number", PiiKind::kPhone},
    {"telephone", PiiKind::kPhone},      {"$phone", PiiKind::kPhone},
    {"$identity_mobile", PiiKind::kPhone}, {"$identity_phone", PiiKind::kPhone},
    {"id_card", PiiKind::kIdCard},       {"id_no", PiiKind::kIdCard},
    {"id_number", PiiKind::kIdCard},     {"idcard", PiiKind::kIdCard},
    {"$identity_id_card", PiiKind::kIdCard},
    {"name", PiiKind::kName},            {"real_name", PiiKind::kName},
    {"full_name", PiiKind::kName},       {"customer_name", PiiKind::kName},
    {"$name", PiiKind::kName},
    {"email", PiiKind::kEmail},          {"$email", PiiKind::kEmail},
    {"$identity_email", PiiKind::kEmail},
    {"address", PiiKind::kAddress},      {"home_address", PiiKind::kAddress},
};

constexpr std::string_view kKindNames[] = {"phone", "id_card", "name", "email", "address", "secret"};

// Byte length of the UTF-8 sequence starting with `lead`.
size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// The first `count` characters of `text` (whole UTF-8 sequences) and how many remain.
std::pair<std::string_view, size_t> KeepCharacters(std::string_view text, size_t count) {
  size_t bytes = 0, kept = 0;
  while (bytes < text.size() && kept < count) {
    bytes += Utf8Length(static_cast<unsigned char>(text[bytes]));
    ++kept;
  }
  bytes = std::min(bytes, text.size());
  size_t rest = 0;
  for (size_t at = bytes; at < text.size(); at += Utf8Length(static_cast<unsigned char>(text[at])))
    ++rest;
  return {text.substr(0, bytes), rest};
}

}  // namespace

std::string_view PiiKindName(PiiKind kind) { return kKindNames[static_cast<int>(kind)]; }

std::optional<PiiKind> ParsePiiKind(std::string_view name) {
  for (size_t index = 0; index < std::size(kKindNames); ++index) {
    if (kKindNames[index] == name) return static_cast<PiiKind>(index);
  }
  return std::nullopt;
}

std::string MaskText(PiiKind kind, std::string_view text) {
  switch (kind) {
    case PiiKind::kPhone: {
      if (text.size() < 8) return "****";
      return std::string(text.substr(0, 3)) + "****" + std::string(text.substr(text.size() - 4));
    }
    case PiiKind::kIdCard: {
      if (text.size() < 10) return "****";
      return std::string(text.substr(0, 4)) + std::string(text.size() - 8, '*') +
             std::string(text.substr(text.size() - 4));
    }
    case PiiKind::kName: {
      auto [first, rest] = KeepCharacters(text, 1);
      return std::string(first) + std::string(std::max<size_t>(rest, 1), '*');
    }
    case PiiKind::kEmail: {
      const size_t at = text.find('@');
      if (at == std::string_view::npos || at == 0) return "****";
      return std::string(KeepCharacters(text, 1).first) + "***" + std::string(text.substr(at));
    }
    case PiiKind::kAddress:
      return std::string(KeepCharacters(text, 6).first) + "****";
    case PiiKind::kSecret:
      return "****";
  }
  return "****";
}

PiiPolicy PiiPolicy::Defaults() {
  PiiPolicy policy;
  for (const auto& [name, kind] : kDefaultFields) policy.fields_.emplace(std::string(name), kind);
  return policy;
}

Result<PiiPolicy> PiiPolicy::FromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object root, fields;
  if (parser.parse(json.data(), json.size()).get_object().get(root) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "body must be a JSON object");
  PiiPolicy policy = Defaults();
  simdjson::dom::element element;
  if (root["fields"].get(element) != simdjson::SUCCESS) return policy;
  if (element.get_object().get(fields) != simdjson::SUCCESS)
    return Status(ErrorCode::kBadRequest, "fields: must be an object of field → kind", "fields");
  for (auto field : fields) {
    std::string_view kind_name;
    const std::string path = "fields." + std::string(field.key);
    if (field.value.get_string().get(kind_name) != simdjson::SUCCESS)
      return Status(ErrorCode::kBadRequest, path + ": must be a string", path);
    if (field.key.empty() || field.key.size() > 100)
      return Status(ErrorCode::kBadRequest, path + ": field names are 1–100 bytes", path);
    policy.overrides_[std::string(field.key)] = std::string(kind_name);
    if (kind_name == "none") {
      policy.fields_.erase(std::string(field.key));
      continue;
    }
    auto kind = ParsePiiKind(kind_name);
    if (!kind) {
      return Status(ErrorCode::kBadRequest,
                    path + ": unknown kind \"" + std::string(kind_name) +
                        "\" (phone, id_card, name, email, address, secret, none)",
                    path);
    }
    policy.fields_[std::string(field.key)] = *kind;
  }
  return policy;
}

std::string PiiPolicy::ToJson() const {
  JsonWriter writer;
  writer.BeginObject().Key("fields").BeginObject();
  for (const auto& [name, kind] : overrides_) writer.Key(name).String(kind);
  writer.EndObject().Key("effective").BeginObject();
  for (const auto& [name, kind] : fields_) writer.Key(name).String(PiiKindName(kind));
  writer.EndObject().EndObject();
  return writer.Take();
}

std::optional<PiiKind> PiiPolicy::KindOf(std::string_view field) const {
  auto found = fields_.find(field);
  if (found == fields_.end()) return std::nullopt;
  return found->second;
}

namespace {

// Copies `element` into `writer`, masking per the file comment. `in_personal_object` = the
// element is the value of a "profile"/"properties" key; `in_identities` = of "identities".
void WriteMasked(const PiiPolicy& policy, simdjson::dom::element element, JsonWriter& writer,
                 bool in_personal_object, bool in_identities) {
  auto masked_scalar = [&](PiiKind kind, simdjson::dom::element value) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      writer.String(MaskText(kind, text));
    } else if (value.is_number()) {
      writer.String(MaskText(kind, simdjson::minify(value)));
    } else {
      writer.Raw(simdjson::minify(value));  // null, booleans: nothing personal to hide
    }
  };
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object;
      if (element.get_object().get(object) != simdjson::SUCCESS) return;
      std::optional<PiiKind> identity_kind;
      if (in_identities) {
        std::string_view key;
        if (object["key"].get_string().get(key) == simdjson::SUCCESS) identity_kind = policy.KindOf(key);
      }
      writer.BeginObject();
      for (auto field : object) {
        writer.Key(field.key);
        if (in_personal_object) {
          if (auto kind = policy.KindOf(field.key)) {
            masked_scalar(*kind, field.value);
            continue;
          }
        }
        if (identity_kind && field.key == "value") {
          masked_scalar(*identity_kind, field.value);
          continue;
        }
        const bool personal = field.key == "profile" || field.key == "properties";
        WriteMasked(policy, field.value, writer, personal, field.key == "identities");
      }
      writer.EndObject();
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      writer.BeginArray();
      simdjson::dom::array array;
      if (element.get_array().get(array) == simdjson::SUCCESS) {
        for (simdjson::dom::element item : array) WriteMasked(policy, item, writer, false, in_identities);
      }
      writer.EndArray();
      return;
    }
    default:
      writer.Raw(simdjson::minify(element));
  }
}

// Splits one CSV record (RFC 4180, as CsvField writes it) starting at `*at`; advances past its
// line break.
std::vector<std::string> ReadCsvRecord(std::string_view csv, size_t* at) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  size_t index = *at;
  for (; index < csv.size(); ++index) {
    const char c = csv[index];
    if (quoted) {
      if (c == '"' && index + 1 < csv.size() && csv[index + 1] == '"') {
        fields.back() += '"';
        ++index;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      ++index;
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  *at = index;
  return fields;
}

}  // namespace

std::string PiiPolicy::MaskJson(std::string_view json) const {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return std::string(json);
  JsonWriter writer;
  WriteMasked(*this, root, writer, false, false);
  return writer.Take();
}

std::string PiiPolicy::MaskCsv(std::string_view csv) const {
  size_t at = 0;
  if (csv.empty()) return std::string(csv);
  std::vector<std::string> header = ReadCsvRecord(csv, &at);
  std::vector<std::optional<PiiKind>> kinds;
  bool any = false;
  for (const std::string& column : header) {
    kinds.push_back(KindOf(column));
    any |= kinds.back().has_value();
  }
  if (!any) return std::string(csv);
  std::string out(csv.substr(0, at));
  while (at < csv.size()) {
    std::vector<std::string> fields = ReadCsvRecord(csv, &at);
    for (size_t column = 0; column < fields.size(); ++column) {
      if (column) out += ',';
      const bool mask = column < kinds.size() && kinds[column] && !fields[column].empty();
      out += CsvField(mask ? MaskText(*kinds[column], fields[column]) : fields[column]);
    }
    out += '\n';
  }
  return out;
}

std::shared_ptr<const PiiPolicy> PiiRegistry::For(const std::string& project) {
  std::lock_guard lock(mu_);
  auto found = cache_.find(project);
  if (found != cache_.end()) return found->second;
  auto stored = kv_->Get("pii/" + project);
  Result<PiiPolicy> policy = stored.ok() ? PiiPolicy::FromJson(*stored) : PiiPolicy::Defaults();
  // A stored policy that no longer parses falls back to the defaults rather than to nothing.
  auto shared = std::make_shared<const PiiPolicy>(policy.ok() ? std::move(*policy) : PiiPolicy::Defaults());
  cache_[project] = shared;
  return shared;
}

Result<std::string> PiiRegistry::Set(const std::string& project, std::string_view json) {
  auto policy = PiiPolicy::FromJson(json);
  if (!policy.ok()) return policy.status();
  std::string stored = policy->ToJson();
  std::lock_guard lock(mu_);
  // Only the overrides are stored; the defaults may grow in later versions.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string overrides = "{}";
  if (parser.parse(stored).get(root) == simdjson::SUCCESS) {
    simdjson::dom::element fields;
    if (root["fields"].get(fields) == simdjson::SUCCESS)
      overrides = "{\"fields\":" + std::string(simdjson::minify(fields)) + "}";
  }
  SEXTANT_RETURN_IF_ERROR(kv_->Put("pii/" + project, overrides));
  SEXTANT_RETURN_IF_ERROR(kv_->SyncWal());
  cache_[project] = std::make_shared<const PiiPolicy>(std::move(*policy));
  return stored;
}

}  // namespace sextant::access
