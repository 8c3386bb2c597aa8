#include "decode/native_batch.h"

#include "decode/json_util.h"

namespace sextant::decode {

namespace {
constexpr std::string_view kWhitespace = " \t\r\n";

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

Status TooMany(size_t max_records) {
  return Status(ErrorCode::kTooManyRecords,
                "more than " + std::to_string(max_records) + " records in one batch");
}
}  // namespace

Result<std::vector<std::string>> SplitNativeBatch(std::string_view body, size_t max_records) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  std::string_view trimmed = Trim(body);
  if (trimmed.empty()) return Status(ErrorCode::kMissingPayload, "empty batch body");

  std::vector<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (trimmed.front() == '[') {
    SEXTANT_RETURN_IF_ERROR(internal::ParseJson(parser, trimmed, "", &root));
    simdjson::dom::array array;
    if (root.get_array().get(array)) {
      return Status(ErrorCode::kBadJson, "batch body must be a JSON array or NDJSON objects");
    }
    if (array.size() > max_records) return TooMany(max_records);
    out.reserve(array.size());
    for (simdjson::dom::element e : array) out.push_back(internal::ToJson(e));
    return out;
  }
  if (trimmed.front() != '{') {
    return Status(ErrorCode::kBadJson, "batch body must be a JSON array or NDJSON objects");
  }
  // NDJSON is recognised from its first line (a complete JSON object followed by more
  // lines), so a large NDJSON body is not first parsed whole as a single value in vain.
  size_t first_newline = trimmed.find('\n');
  std::string_view first_line =
      first_newline == std::string_view::npos ? trimmed : Trim(trimmed.substr(0, first_newline));
  bool ndjson = first_newline != std::string_view::npos &&
                internal::ParseJson(parser, first_line, "", &root).ok() && root.is_object();
  if (!ndjson && internal::ParseJson(parser, trimmed, "", &root).ok()) {
    out.emplace_back(trimmed);
    return out;
  }
  size_t pos = 0;
  while (pos < trimmed.size()) {
    size_t end = trimmed.find('\n', pos);
    if (end == std::string_view::npos) end = trimmed.size();
    std::string_view line = Trim(trimmed.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) continue;
    if (out.size() >= max_records) return TooMany(max_records);
    out.emplace_back(line);
  }
  return out;
}

}  // namespace sextant::decode
