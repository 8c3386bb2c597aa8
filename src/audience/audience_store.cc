// How audience definitions are stored in the state store: JSON documents that carry the
// definition as the user gave it plus the fields the engine assigns.
#include <simdjson.h>

#include <cstring>

#include "audience/audience_internal.h"
#include "common/value_codec.h"

namespace sextant::audience {
namespace {

int64_t IntMember(const simdjson::dom::element& root, const char* key) {
  int64_t value = 0;
  if (root[key].get_int64().get(value) != simdjson::SUCCESS) {
    double real = 0;
    if (root[key].get_double().get(real) == simdjson::SUCCESS) value = static_cast<int64_t>(real);
  }
  return value;
}

}  // namespace

std::string ValueText(const Value& value, const TimeZone& zone) {
  if (value.type() == ValueType::kString) return value.str();
  JsonWriter out;
  out.PropertyValue(value, zone);
  std::string text = out.Take();
  // DATETIME and DATE render as JSON strings: without the quotes.
  if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
  return text;
}

std::string EncodeStoredSegment(const SegmentDefinition& definition, int64_t last_refresh_ms,
                                double last_refresh_elapsed_ms) {
  JsonWriter out;
  out.BeginObject();
  out.Key("id").String(definition.id);
  out.Key("name").String(definition.name);
  out.Key("description").String(definition.description);
  if (definition.kind == SegmentDefinition::Kind::kRule) {
    out.Key("rule").Raw(definition.rule_json);
    out.Key("refresh");
    definition.refresh.Write(out);
  }
  out.Key("realtime").Bool(definition.realtime);
  out.Key("source").String(definition.source);
  out.Key("created_ms").Int(definition.created_ms);
  out.Key("updated_ms").Int(definition.updated_ms);
  out.Key("last_refresh_ms").Int(last_refresh_ms);
  out.Key("last_refresh_elapsed_ms").Double(last_refresh_elapsed_ms);
  out.EndObject();
  return out.Take();
}

Result<StoredSegment> DecodeStoredSegment(std::string_view bytes) {
  auto definition = ParseSegmentDefinition(bytes);
  if (!definition.ok()) return definition.status();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(bytes.data(), bytes.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kCorruption, "undecodable segment");
  }
  StoredSegment stored;
  stored.definition = std::move(*definition);
  std::string_view text;
  if (root["id"].get_string().get(text) == simdjson::SUCCESS)
    stored.definition.id = std::string(text);
  if (root["source"].get_string().get(text) == simdjson::SUCCESS) {
    stored.definition.source = std::string(text);
  }
  stored.definition.refresh_given = true;
  stored.definition.created_ms = IntMember(root, "created_ms");
  stored.definition.updated_ms = IntMember(root, "updated_ms");
  stored.last_refresh_ms = IntMember(root, "last_refresh_ms");
  double elapsed = 0;
  if (root["last_refresh_elapsed_ms"].get_double().get(elapsed) == simdjson::SUCCESS) {
    stored.last_refresh_elapsed_ms = elapsed;
  }
  if (stored.definition.id.empty()) return Status(ErrorCode::kCorruption, "segment without id");
  return stored;
}

std::string EncodeStoredTag(const TagDefinition& tag, int64_t last_run_ms,
                            double last_run_elapsed_ms, uint64_t coverage) {
  JsonWriter out;
  out.BeginObject();
  out.Key("id").String(tag.id);
  out.Key("created_ms").Int(tag.created_ms);
  out.Key("updated_ms").Int(tag.updated_ms);
  out.Key("last_run_ms").Int(last_run_ms);
  out.Key("last_run_elapsed_ms").Double(last_run_elapsed_ms);
  out.Key("coverage").Uint(coverage);
  out.Key("definition").Raw(tag.definition_json);
  out.EndObject();
  return out.Take();
}

Result<StoredTag> DecodeStoredTag(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::dom::element root, definition;
  if (parser.parse(bytes.data(), bytes.size()).get(root) != simdjson::SUCCESS ||
      root["definition"].get(definition) != simdjson::SUCCESS) {
    return Status(ErrorCode::kCorruption, "undecodable tag");
  }
  auto tag = ParseTagDefinition(simdjson::minify(definition));
  if (!tag.ok()) return tag.status();
  StoredTag stored;
  stored.definition = std::move(*tag);
  std::string_view text;
  if (root["id"].get_string().get(text) == simdjson::SUCCESS)
    stored.definition.id = std::string(text);
  stored.definition.created_ms = IntMember(root, "created_ms");
  stored.definition.updated_ms = IntMember(root, "updated_ms");
  stored.last_run_ms = IntMember(root, "last_run_ms");
  double elapsed = 0;
  if (root["last_run_elapsed_ms"].get_double().get(elapsed) == simdjson::SUCCESS) {
    stored.last_run_elapsed_ms = elapsed;
  }
  stored.coverage = static_cast<uint64_t>(IntMember(root, "coverage"));
  if (stored.definition.id.empty()) return Status(ErrorCode::kCorruption, "tag without id");
  return stored;
}

// Tag snapshot: type byte, dictionary (STRING tags), then per person with a value: varint gap
// from the previous user id and the value (double bits or varint dictionary code).
std::string EncodeColumn(const UserColumn& column) {
  std::string out;
  out.push_back(static_cast<char>(column.type()));
  if (!column.numeric()) {
    PutVarint64(column.dictionary_size(), &out);
    for (uint32_t code = 1; code <= column.dictionary_size(); ++code) {
      EncodeValue(column.Dictionary(code), &out);
    }
  }
  UserId previous = 0;
  for (UserId user = 1; user < column.size(); ++user) {
    if (!column.Has(user)) continue;
    PutVarint64(user - previous, &out);
    previous = user;
    if (column.numeric()) {
      const double number = column.Number(user);
      char bits[8];
      std::memcpy(bits, &number, 8);
      out.append(bits, 8);
    } else {
      PutVarint64(column.Code(user), &out);
    }
  }
  return out;
}

Result<UserColumn> DecodeColumn(std::string_view bytes) {
  auto corrupt = [] { return Status(ErrorCode::kCorruption, "undecodable tag snapshot"); };
  if (bytes.empty()) return corrupt();
  UserColumn column(static_cast<ValueType>(bytes[0]));
  bytes.remove_prefix(1);
  std::vector<Value> dictionary;
  if (!column.numeric()) {
    uint64_t size = 0;
    if (!GetVarint64(&bytes, &size) || size > bytes.size()) return corrupt();
    dictionary.resize(size);
    for (Value& value : dictionary) {
      if (!DecodeValue(&bytes, &value)) return corrupt();
    }
  }
  UserId user = 0;
  while (!bytes.empty()) {
    uint64_t gap = 0;
    if (!GetVarint64(&bytes, &gap) || gap == 0 || user + gap > UINT32_MAX) return corrupt();
    user += static_cast<UserId>(gap);
    if (column.numeric()) {
      if (bytes.size() < 8) return corrupt();
      double number;
      std::memcpy(&number, bytes.data(), 8);
      bytes.remove_prefix(8);
      column.SetNumber(user, number);
    } else {
      uint64_t code = 0;
      if (!GetVarint64(&bytes, &code) || code == 0 || code > dictionary.size()) return corrupt();
      column.Set(user, &dictionary[code - 1]);
    }
  }
  return column;
}

}  // namespace sextant::audience
