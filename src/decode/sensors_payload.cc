#include "decode/sensors_payload.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "decode/base64.h"
#include "decode/form.h"
#include "decode/gzip.h"
#include "decode/java_hash.h"
#include "decode/json_util.h"

namespace sextant::decode {

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

const std::string* Lookup(const Params& body, const Params& query, std::string_view key) {
  if (const std::string* v = FindParam(body, key)) return v;
  return FindParam(query, key);
}

// "crc=-123" inside ext (web: ext is exactly "crc=<n>"; tolerate other "k=v" parts around).
std::optional<std::string_view> CrcFromExt(std::string_view ext) {
  size_t pos = 0;
  while (pos <= ext.size()) {
    size_t end = ext.find_first_of("&;,", pos);
    if (end == std::string_view::npos) end = ext.size();
    std::string_view part = ext.substr(pos, end - pos);
    if (part.substr(0, 4) == "crc=") return part.substr(4);
    pos = end + 1;
  }
  return std::nullopt;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool LooksLikeJson(std::string_view raw) {
  size_t i = raw.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && (raw[i] == '[' || raw[i] == '{');
}

}  // namespace

Result<SensorsPayload> DecodeSensorsPayload(std::string_view query, std::string_view body,
                                            const SensorsPayloadLimits& limits) {
  Params query_params, body_params;
  SEXTANT_RETURN_IF_ERROR(ParseUrlEncoded(query, &query_params));
  SEXTANT_RETURN_IF_ERROR(ParseUrlEncoded(body, &body_params));

  SensorsPayload payload;
  if (const std::string* p = FindParam(query_params, "project")) payload.project = *p;
  if (const std::string* t = FindParam(query_params, "token")) payload.token = *t;

  std::string field = "data_list";
  const std::string* text = Lookup(body_params, query_params, "data_list");
  if (text == nullptr || text->empty()) {
    field = "data";
    text = Lookup(body_params, query_params, "data");
  }
  if (text == nullptr || text->empty()) {
    return Status(ErrorCode::kMissingPayload, "request has no \"data_list\" or \"data\" parameter",
                  "data");
  }

  // Encrypted payloads are refused before touching the bytes.
  std::string_view gzip_param;
  if (const std::string* g = Lookup(body_params, query_params, "gzip")) gzip_param = TrimSpaces(*g);
  if (gzip_param == "9" || gzip_param == "13") {
    return Status(ErrorCode::kEncryptedPayload,
                  "encrypted payloads (gzip=" + std::string(gzip_param) + ") are not supported",
                  "gzip");
  }

  Result<std::string> decoded = Base64DecodeLenient(*text, limits.max_decoded_bytes);
  if (!decoded.ok()) {
    return Status(decoded.status().code(), field + ": " + decoded.status().message(), field);
  }
  std::string raw = std::move(decoded).value();

  if (HasGzipMagic(raw) || (gzip_param == "1" && !LooksLikeJson(raw))) {
    Result<std::string> inflated = Gunzip(raw, limits.max_decoded_bytes);
    if (!inflated.ok()) return inflated.status();
    raw = std::move(inflated).value();
  }

  // Checksum of the base64 text as the client computed it (before URL encoding).
  std::optional<std::string_view> crc_text;
  if (const std::string* crc = Lookup(body_params, query_params, "crc")) {
    crc_text = TrimSpaces(*crc);
  } else if (const std::string* ext = Lookup(body_params, query_params, "ext")) {
    crc_text = CrcFromExt(*ext);
  }
  if (crc_text.has_value()) {
    int32_t expected = 0;
    auto [ptr, ec] = std::from_chars(crc_text->data(), crc_text->data() + crc_text->size(), expected);
    if (ec != std::errc() || ptr != crc_text->data() + crc_text->size()) {
      return Status(ErrorCode::kCrcMismatch,
                    "crc \"" + std::string(crc_text->substr(0, 32)) + "\" is not a 32-bit integer",
                    "crc");
    }
    bool match = JavaStringHashCode(*text) == expected;
    if (!match && text->find(' ') != std::string::npos) {
      std::string fixed = *text;
      std::replace(fixed.begin(), fixed.end(), ' ', '+');
      match = JavaStringHashCode(fixed) == expected;
    }
    if (!match) {
      return Status(ErrorCode::kCrcMismatch,
                    "crc " + std::to_string(expected) + " does not match the " + field +
                        " hash " + std::to_string(JavaStringHashCode(*text)),
                    "crc");
    }
    payload.crc_checked = true;
  }

  if (!limits.split_records) {
    payload.decoded_json = std::move(raw);
    return payload;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  SEXTANT_RETURN_IF_ERROR(internal::ParseJson(parser, raw, field, &root));
  simdjson::dom::array array;
  if (root.is_object()) {
    payload.records_json.push_back(internal::ToJson(root));
  } else if (!root.get_array().get(array)) {
    if (array.size() > limits.max_records) {
      return Status(ErrorCode::kTooManyRecords,
                    std::to_string(array.size()) + " records, more than the limit of " +
                        std::to_string(limits.max_records),
                    field);
    }
    payload.records_json.reserve(array.size());
    for (simdjson::dom::element record : array) payload.records_json.push_back(internal::ToJson(record));
  } else {
    return Status(ErrorCode::kBadJson,
                  field + " must hold a JSON object or array, got " +
                      std::string(internal::JsonTypeName(root)),
                  field);
  }
  return payload;
}

}  // namespace sextant::decode
