#include "import/time_format.h"

#include <array>
#include <cctype>

namespace sextant::import {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Reads exactly `min..max` digits.
bool ReadInt(std::string_view text, size_t* pos, size_t min_digits, size_t max_digits, int* out) {
  size_t i = *pos;
  int v = 0;
  while (i < text.size() && i - *pos < max_digits && std::isdigit(static_cast<unsigned char>(text[i]))) {
    v = v * 10 + (text[i] - '0');
    ++i;
  }
  if (i - *pos < min_digits) return false;
  *out = v;
  *pos = i;
  return true;
}

bool ReadZone(std::string_view text, size_t* pos, int64_t* offset_ms) {
  size_t i = *pos;
  if (i >= text.size()) return false;
  if (text[i] == 'Z' || text[i] == 'z') {
    *offset_ms = 0;
    *pos = i + 1;
    return true;
  }
  if (text[i] != '+' && text[i] != '-') return false;
  const int sign = text[i] == '-' ? -1 : 1;
  ++i;
  int hh = 0, mm = 0;
  if (!ReadInt(text, &i, 2, 2, &hh)) return false;
  if (i < text.size() && text[i] == ':') ++i;
  if (!ReadInt(text, &i, 2, 2, &mm)) return false;
  if (hh > 23 || mm > 59) return false;
  *offset_ms = sign * (hh * 3'600'000LL + mm * 60'000LL);
  *pos = i;
  return true;
}

constexpr std::array<std::string_view, 5> kAutoPatterns = {
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d"};

}  // namespace

bool ParseWithPattern(std::string_view text, std::string_view pattern, const TimeZone& zone,
                      int64_t* ms) {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t millis = 0;
  bool has_zone = false;
  int64_t zone_ms = 0;
  size_t pos = 0;
  std::string expanded;
  for (size_t p = 0; p < pattern.size(); ++p) {
    if (pattern[p] == '%' && p + 1 < pattern.size()) {
      char c = pattern[++p];
      if (c == 'F') expanded += "%Y-%m-%d";
      else if (c == 'T') expanded += "%H:%M:%S";
      else {
        expanded.push_back('%');
        expanded.push_back(c);
      }
    } else {
      expanded.push_back(pattern[p]);
    }
  }
  for (size_t p = 0; p < expanded.size(); ++p) {
    char pc = expanded[p];
    if (pc != '%') {
      if (pos >= text.size() || text[pos] != pc) return false;
      ++pos;
      continue;
    }
    char spec = expanded[++p];
    bool ok = true;
    switch (spec) {
      case 'Y': ok = ReadInt(text, &pos, 4, 4, &year); break;
      case 'm': ok = ReadInt(text, &pos, 1, 2, &month); break;
      case 'd': ok = ReadInt(text, &pos, 1, 2, &day); break;
      case 'H': ok = ReadInt(text, &pos, 1, 2, &hour); break;
      case 'M': ok = ReadInt(text, &pos, 1, 2, &minute); break;
      case 'S':
        ok = ReadInt(text, &pos, 1, 2, &second);
        // Optional decimal fraction unless the pattern itself continues with '.'.
        if (ok && pos < text.size() && text[pos] == '.' &&
            !(p + 1 < expanded.size() && expanded[p + 1] == '.')) {
          ++pos;
          size_t start = pos;
          int64_t frac = 0, scale = 1;
          while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            if (pos - start < 3) {
              frac = frac * 10 + (text[pos] - '0');
              scale *= 10;
            }
            ++pos;
          }
          if (pos == start) return false;
          millis = frac * 1000 / scale;
        }
        break;
      case 'z': ok = ReadZone(text, &pos, &zone_ms); has_zone = ok; break;
      case '%': ok = pos < text.size() && text[pos++] == '%'; break;
      default: return false;
    }
    if (!ok) return false;
  }
  // A zone suffix is accepted after any pattern.
  if (pos < text.size() && !has_zone) {
    if (!ReadZone(text, &pos, &zone_ms)) return false;
    has_zone = true;
  }
  if (pos != text.size()) return false;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return false;
  int32_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int y2;
  unsigned m2, d2;
  CivilFromDays(days, &y2, &m2, &d2);
  if (static_cast<int>(d2) != day) return false;  // 2024-02-31 and the like
  int64_t local = int64_t{days} * 86'400'000 + hour * 3'600'000LL + minute * 60'000LL +
                  second * 1000LL + millis;
  *ms = local - (has_zone ? zone_ms : zone.offset_ms());
  return true;
}

Result<TimeFormat> TimeFormat::Parse(std::string_view spec) {
  TimeFormat f;
  if (spec.empty() || spec == "auto") {
    f.kind_ = Kind::kAuto;
  } else if (spec == "epoch_ms" || spec == "ms") {
    f.kind_ = Kind::kEpochMs;
  } else if (spec == "epoch_s" || spec == "s" || spec == "epoch") {
    f.kind_ = Kind::kEpochS;
  } else if (spec.find('%') != std::string_view::npos) {
    f.kind_ = Kind::kPattern;
    f.pattern_ = std::string(spec);
  } else {
    return Status(ErrorCode::kBadRequest,
                  "time format must be auto, epoch_ms, epoch_s or a %-pattern, got '" +
                      std::string(spec) + "'");
  }
  return f;
}

Result<int64_t> TimeFormat::ParseMs(std::string_view text, const TimeZone& zone) const {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  auto bad = [&] {
    return Status(ErrorCode::kInvalidValue, "cannot read time '" + std::string(text.substr(0, 64)) + "'");
  };
  auto epoch = [&](int64_t scale) -> Result<int64_t> {
    if (!AllDigits(text) || text.size() > 16) return bad();
    return static_cast<int64_t>(std::stoll(std::string(text))) * scale;
  };
  int64_t ms = 0;
  switch (kind_) {
    case Kind::kEpochMs: return epoch(1);
    case Kind::kEpochS: return epoch(1000);
    case Kind::kPattern:
      if (ParseWithPattern(text, pattern_, zone, &ms)) return ms;
      return bad();
    case Kind::kAuto:
      if (AllDigits(text)) {
        if (text.size() == 13) return epoch(1);
        if (text.size() >= 9 && text.size() <= 11) return epoch(1000);
        if (text.size() == 8 && ParseWithPattern(text, "%Y%m%d", zone, &ms)) return ms;
        if (text.size() == 14 && ParseWithPattern(text, "%Y%m%d%H%M%S", zone, &ms)) return ms;
        return bad();
      }
      for (std::string_view p : kAutoPatterns)
        if (ParseWithPattern(text, p, zone, &ms)) return ms;
      return bad();
  }
  return bad();
}

}  // namespace sextant::import
