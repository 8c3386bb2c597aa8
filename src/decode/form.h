// application/x-www-form-urlencoded parsing (query strings and request bodies).
//
// Tolerant by design, because every SDK and curl variant must be accepted:
//   - '+' decodes to a space; "%XX" (hex, either case) to the byte XX;
//   - a '%' not followed by two hex digits is kept literally ("100%" stays "100%");
//   - "a" (no '=') yields ("a", ""); empty segments ("a=1&&b=2") are skipped;
//   - decoded bytes are not checked for UTF-8 (values are base64 or ids; callers validate).
// The only error is kBadForm for more than kMaxFormParams parameters (a cheap DoS guard).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sextant::decode {

inline constexpr size_t kMaxFormParams = 10000;

// Appends the decoded (key, value) pairs of `text` to `out`, in order (duplicates kept).
Status ParseUrlEncoded(std::string_view text,
                       std::vector<std::pair<std::string, std::string>>* out);

// Percent-decodes `text` with '+' as space (form rules above).
std::string UrlDecode(std::string_view text);

// Percent-encodes everything except [A-Za-z0-9-_.~] (like encodeURIComponent / curl
// --data-urlencode). Used by tests and tools.
std::string UrlEncode(std::string_view text);

// First value of `key` in `params`, or nullptr.
const std::string* FindParam(const std::vector<std::pair<std::string, std::string>>& params,
                             std::string_view key);

}  // namespace sextant::decode
