#include <cstdio>

#include "query/analyses.h"

namespace sextant::query {

int32_t TimeBuckets::MonthOf(int32_t day) {
  int year;
  unsigned month, day_of_month;
  CivilFromDays(day, &year, &month, &day_of_month);
  return year * 12 + static_cast<int32_t>(month) - 1;
}

int32_t TimeBuckets::FirstDayOfMonth(int32_t month_index) {
  return DaysFromCivil(month_index / 12, static_cast<unsigned>(month_index % 12) + 1, 1);
}

TimeBuckets::TimeBuckets(TimeUnit unit, DayRange range, const TimeZone& zone)
    : unit_(unit),
      range_(range),
      offset_ms_(zone.offset_ms()),
      range_start_ms_(zone.DayStartMs(range.first_day)),
      range_end_ms_(zone.DayStartMs(range.last_day + 1) - 1) {
  switch (unit) {
    case TimeUnit::kHour: count_ = static_cast<size_t>(range.last_day - range.first_day + 1) * 24; break;
    case TimeUnit::kDay: count_ = static_cast<size_t>(range.last_day - range.first_day + 1); break;
    case TimeUnit::kWeek: count_ = static_cast<size_t>(WeekOf(range.last_day) - WeekOf(range.first_day) + 1); break;
    case TimeUnit::kMonth: count_ = static_cast<size_t>(MonthOf(range.last_day) - MonthOf(range.first_day) + 1); break;
    case TimeUnit::kTotal: count_ = 1; break;
  }
}

int32_t TimeBuckets::BucketOfDay(int32_t day, int64_t epoch_ms) const {
  switch (unit_) {
    case TimeUnit::kHour: {
      const int64_t local = epoch_ms + offset_ms_;
      const int64_t hour = FloorDiv(local, 3'600'000) - FloorDiv(local, 86'400'000) * 24;
      return static_cast<int32_t>((day - range_.first_day) * 24 + hour);
    }
    case TimeUnit::kDay: return day - range_.first_day;
    case TimeUnit::kWeek: return WeekOf(day) - WeekOf(range_.first_day);
    case TimeUnit::kMonth: return MonthOf(day) - MonthOf(range_.first_day);
    case TimeUnit::kTotal: return 0;
  }
  return 0;
}

std::string TimeBuckets::Label(size_t bucket) const {
  const auto b = static_cast<int32_t>(bucket);
  switch (unit_) {
    case TimeUnit::kHour: {
      char hour[8];
      std::snprintf(hour, sizeof(hour), " %02d:00", b % 24);
      return FormatDate(range_.first_day + b / 24) + hour;
    }
    case TimeUnit::kDay: return FormatDate(range_.first_day + b);
    case TimeUnit::kWeek: return FormatDate((WeekOf(range_.first_day) + b) * 7 - 3);
    case TimeUnit::kMonth: return FormatDate(FirstDayOfMonth(MonthOf(range_.first_day) + b));
    case TimeUnit::kTotal: return FormatDate(range_.first_day);
  }
  return {};
}

}  // namespace sextant::query
