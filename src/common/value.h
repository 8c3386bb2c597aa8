// Property values in the Sensors record model.
//
// Types (fixed per property per project at first sight, see the schema registry):
//   NUMBER   JSON number, stored as double
//   BOOL     JSON true/false
//   STRING   JSON string
//   LIST     JSON array of strings
//   DATETIME string "yyyy-MM-dd HH:mm:ss[.S{1,3}]", stored as ms since the Unix epoch, the wall
//            time read in the project's time zone; the fraction is an integer count of ms
//            (".6" is 6 ms, not 600 ms — see docs/record-model.md)
//   DATE     string "yyyy-MM-dd", stored as days since 1970-01-01
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sextant {

enum class ValueType : uint8_t {
  kNumber = 1,
  kBool = 2,
  kString = 3,
  kList = 4,
  kDatetime = 5,
  kDate = 6,
};

// "NUMBER", "BOOL", ... as in the Sensors manual.
std::string_view ValueTypeName(ValueType type);
// Inverse of ValueTypeName (case-insensitive); false if unknown.
bool ParseValueTypeName(std::string_view name, ValueType* out);

struct DatetimeMs {
  int64_t ms = 0;
  bool operator==(const DatetimeMs&) const = default;
};
struct DateDays {
  int32_t days = 0;
  bool operator==(const DateDays&) const = default;
};

// A typed property value. Cheap to move; copying copies strings.
class Value {
 public:
  Value() : data_(0.0) {}
  static Value Number(double v) { return Value(Data(v)); }
  static Value Bool(bool v) { return Value(Data(v)); }
  static Value String(std::string v) { return Value(Data(std::move(v))); }
  static Value List(std::vector<std::string> v) { return Value(Data(std::move(v))); }
  static Value Datetime(int64_t ms) { return Value(Data(DatetimeMs{ms})); }
  static Value Date(int32_t days) { return Value(Data(DateDays{days})); }

  ValueType type() const;
  double number() const { return std::get<double>(data_); }
  bool boolean() const { return std::get<bool>(data_); }
  const std::string& str() const { return std::get<std::string>(data_); }
  std::string& mutable_str() { return std::get<std::string>(data_); }
  const std::vector<std::string>& list() const { return std::get<std::vector<std::string>>(data_); }
  std::vector<std::string>& mutable_list() { return std::get<std::vector<std::string>>(data_); }
  int64_t datetime_ms() const { return std::get<DatetimeMs>(data_).ms; }
  int32_t date_days() const { return std::get<DateDays>(data_).days; }

  bool operator==(const Value& other) const = default;

 private:
  using Data = std::variant<double, bool, std::string, std::vector<std::string>, DatetimeMs, DateDays>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
};

}  // namespace sextant
