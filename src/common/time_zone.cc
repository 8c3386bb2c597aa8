#include "common/time_zone.h"

#include <cstdio>

namespace sextant {

namespace {
struct KnownZone {
  std::string_view name;
  int offset_minutes;
};
constexpr KnownZone kKnownZones[] = {
    {"Asia/Shanghai", 480}, {"Asia/Chongqing", 480}, {"Asia/Hong_Kong", 480},
    {"Asia/Macau", 480},    {"Asia/Taipei", 480},    {"Asia/Singapore", 480},
    {"Asia/Tokyo", 540},    {"Asia/Seoul", 540},     {"UTC", 0},
    {"Etc/UTC", 0},         {"GMT", 0},
};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

std::optional<TimeZone> TimeZone::FromName(std::string_view name) {
  TimeZone zone;
  for (const KnownZone& known : kKnownZones) {
    if (known.name == name) {
      zone.name_ = std::string(name);
      zone.offset_ms_ = int64_t{known.offset_minutes} * 60'000;
      return zone;
    }
  }
  // "+HH:MM" / "-HH:MM"
  if (name.size() == 6 && (name[0] == '+' || name[0] == '-') && name[3] == ':') {
    auto digit = [&](size_t i) { return name[i] >= '0' && name[i] <= '9'; };
    if (!digit(1) || !digit(2) || !digit(4) || !digit(5)) return std::nullopt;
    int hours = (name[1] - '0') * 10 + (name[2] - '0');
    int minutes = (name[4] - '0') * 10 + (name[5] - '0');
    if (hours > 14 || minutes > 59) return std::nullopt;
    int64_t offset = (int64_t{hours} * 60 + minutes) * 60'000;
    zone.name_ = std::string(name);
    zone.offset_ms_ = name[0] == '-' ? -offset : offset;
    return zone;
  }
  return std::nullopt;
}

std::string UnknownTimeZoneMessage(std::string_view name) {
  std::string message = "unknown time zone \"" + std::string(name) +
                        "\": Sextant's zones have no daylight saving time; use one of";
  for (const KnownZone& known : kKnownZones) message += " " + std::string(known.name);
  message += ", or a fixed offset such as +08:00";
  return message;
}

int32_t TimeZone::DayOf(int64_t epoch_ms) const {
  return static_cast<int32_t>(FloorDiv(epoch_ms + offset_ms_, 86'400'000));
}

// Howard Hinnant's days_from_civil / civil_from_days.
int32_t DaysFromCivil(int year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

void CivilFromDays(int32_t days, int* year, unsigned* month, unsigned* day) {
  int64_t z = int64_t{days} + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int>(y + (*month <= 2));
}

std::string FormatDate(int32_t days) {
  int year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", year, month, day);
  return buf;
}

std::string FormatDatetime(int64_t epoch_ms, const TimeZone& zone) {
  int64_t local = epoch_ms + zone.offset_ms();
  int64_t days = FloorDiv(local, 86'400'000);
  int64_t ms_of_day = local - days * 86'400'000;
  int year;
  unsigned month, day;
  CivilFromDays(static_cast<int32_t>(days), &year, &month, &day);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u %02d:%02d:%02d.%03d", year, month, day,
                static_cast<int>(ms_of_day / 3'600'000), static_cast<int>(ms_of_day / 60'000 % 60),
                static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
  return buf;
}

}  // namespace sextant
