// Parsing of times and dates in imported files.
//
// Formats: "epoch_ms", "epoch_s", "auto" (default), or a strftime-like pattern with %Y %m %d
// %H %M %S %F (= %Y-%m-%d) %T (= %H:%M:%S) %z (Z, ±HH:MM or ±HHMM) and %% ; %S also takes an
// optional decimal fraction (".5" = 500 ms — ordinary decimal semantics, unlike the SDK quirk
// of docs/record-model.md, because core-system exports write real decimals).
// "auto": 13-digit numbers are epoch ms, 9–11 digits epoch s, 8 digits yyyyMMdd, 14 digits
// yyyyMMddHHmmss; otherwise "yyyy-MM-dd[ T]HH:mm:ss[.f]", "yyyy/MM/dd HH:mm:ss", "yyyy-MM-dd",
// "yyyy/MM/dd", each optionally followed by a zone (Z / ±HH:MM). Wall times without a zone are
// read in the mapping's time zone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time_zone.h"

namespace sextant::import {

class TimeFormat {
 public:
  enum class Kind { kAuto, kEpochMs, kEpochS, kPattern };
  TimeFormat() = default;
  // Accepts the names above or a pattern containing '%'.
  static Result<TimeFormat> Parse(std::string_view spec);

  Kind kind() const { return kind_; }
  const std::string& pattern() const { return pattern_; }

  // Epoch milliseconds of `text`.
  Result<int64_t> ParseMs(std::string_view text, const TimeZone& zone) const;

 private:
  Kind kind_ = Kind::kAuto;
  std::string pattern_;
};

// Matches `text` against a pattern; true and *ms on success.
bool ParseWithPattern(std::string_view text, std::string_view pattern, const TimeZone& zone,
                      int64_t* ms);

}  // namespace sextant::import
