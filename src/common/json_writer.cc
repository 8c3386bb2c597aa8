#include "common/json_writer.h"

#include <cmath>
#include <cstdio>

namespace sextant {

void AppendJsonEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Printable ASCII other than '"' and '\\' is copied as it is, a run at a time (most text is
  // such runs; appending byte by byte was a visible share of the journey decision thread).
  auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  out->reserve(out->size() + text.size() + 2);
  size_t i = 0;
  while (i < text.size()) {
    size_t run_end = i;
    while (run_end < text.size() && plain(static_cast<unsigned char>(text[run_end]))) ++run_end;
    if (run_end != i) {
      out->append(text.data() + i, run_end - i);
      i = run_end;
      if (i == text.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default:
          if (c < 0x20) {
            *out += "\\u00";
            *out += kHex[c >> 4];
            *out += kHex[c & 15];
          } else {
            *out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Validate one UTF-8 sequence; copy it if valid, else emit U+FFFD for this byte.
    // Valid means RFC 3629, as strict JSON parsers (simdjson in the server) check it: no
    // overlong forms (C0, C1, E0 80-9F, F0 80-8F), no UTF-16 surrogates (ED A0-BF), nothing
    // above U+10FFFF (F4 90-BF, F5-FF). The output must always be valid UTF-8.
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : (c >> 4) == 0xE ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool valid = len != 0 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (valid) {
      const unsigned char second = static_cast<unsigned char>(text[i + 1]);
      if (c == 0xE0) valid = second >= 0xA0;
      else if (c == 0xED) valid = second <= 0x9F;
      else if (c == 0xF0) valid = second >= 0x90;
      else if (c == 0xF4) valid = second <= 0x8F;
    }
    if (valid) {
      out->append(text.substr(i, len));
      i += len;
    } else {
      *out += "\xEF\xBF\xBD";
      ++i;
    }
  }
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_ += ',';
    has_element_.back() = true;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_ += '{';
  has_element_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_ += '}';
  has_element_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_ += '[';
  has_element_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_ += ']';
  has_element_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  out_ += '"';
  AppendJsonEscaped(key, &out_);
  out_ += "\":";
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  out_ += '"';
  AppendJsonEscaped(value, &out_);
  out_ += '"';
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}
JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  if (value == std::floor(value) && std::fabs(value) < 9e15) {
    out_ += std::to_string(static_cast<int64_t>(value));
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  // Prefer the shortest representation that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    char candidate[32];
    std::snprintf(candidate, sizeof(candidate), "%.*g", precision, value);
    if (std::strtod(candidate, nullptr) == value) {
      out_ += candidate;
      return *this;
    }
  }
  out_ += buf;
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_ += json;
  return *this;
}

JsonWriter& JsonWriter::PropertyValue(const Value& value, const TimeZone& zone) {
  switch (value.type()) {
    case ValueType::kNumber: return Double(value.number());
    case ValueType::kBool: return Bool(value.boolean());
    case ValueType::kString: return String(value.str());
    case ValueType::kList:
      BeginArray();
      for (const std::string& element : value.list()) String(element);
      return EndArray();
    case ValueType::kDatetime: return String(FormatDatetime(value.datetime_ms(), zone));
    case ValueType::kDate: return String(FormatDate(value.date_days()));
  }
  return Null();
}

}  // namespace sextant
