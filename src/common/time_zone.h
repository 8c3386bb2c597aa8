// Project time zones. Sextant's target market uses zones without daylight saving time
// (Asia/Shanghai, Asia/Hong_Kong, Asia/Singapore, Asia/Tokyo, UTC), so a zone is a fixed
// offset; names outside the table, or "+08:00"-style offsets, are parsed as such.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sextant {

class TimeZone {
 public:
  TimeZone() = default;  // Asia/Shanghai
  // nullopt if the name is neither a known zone nor a "+HH:MM" / "-HH:MM" offset.
  static std::optional<TimeZone> FromName(std::string_view name);

  const std::string& name() const { return name_; }
  int64_t offset_ms() const { return offset_ms_; }

  // Day number (days since 1970-01-01 in this zone) of an epoch-ms instant.
  int32_t DayOf(int64_t epoch_ms) const;
  // Epoch ms of local midnight starting `day`.
  int64_t DayStartMs(int32_t day) const { return int64_t{day} * 86'400'000 - offset_ms_; }

 private:
  std::string name_ = "Asia/Shanghai";
  int64_t offset_ms_ = 8 * 3'600'000;
};

// The answer to a zone name FromName refuses: names it and says what is accepted (the zones
// without daylight saving time known here, and fixed offsets), e.g. for "America/New_York".
std::string UnknownTimeZoneMessage(std::string_view name);

// Civil-date helpers (proleptic Gregorian).
int32_t DaysFromCivil(int year, unsigned month, unsigned day);
void CivilFromDays(int32_t days, int* year, unsigned* month, unsigned* day);
// "2024-01-02" for a day number.
std::string FormatDate(int32_t days);
// "2024-01-02 03:04:05.006" for an epoch-ms instant read in `zone`.
std::string FormatDatetime(int64_t epoch_ms, const TimeZone& zone);

}  // namespace sextant
