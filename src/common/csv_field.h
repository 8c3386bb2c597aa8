// One field of a CSV export (RFC 4180): as it is, or in double quotes (inner quotes doubled)
// when it holds a comma, a quote or a line break.
#pragma once

#include <string>
#include <string_view>

namespace sextant {

inline std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace sextant
