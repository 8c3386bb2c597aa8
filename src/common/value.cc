#include "common/value.h"

#include <strings.h>

namespace sextant {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNumber: return "NUMBER";
    case ValueType::kBool: return "BOOL";
    case ValueType::kString: return "STRING";
    case ValueType::kList: return "LIST";
    case ValueType::kDatetime: return "DATETIME";
    case ValueType::kDate: return "DATE";
  }
  return "UNKNOWN";
}

bool ParseValueTypeName(std::string_view name, ValueType* out) {
  for (ValueType type : {ValueType::kNumber, ValueType::kBool, ValueType::kString, ValueType::kList,
                         ValueType::kDatetime, ValueType::kDate}) {
    std::string_view candidate = ValueTypeName(type);
    if (candidate.size() == name.size() &&
        strncasecmp(candidate.data(), name.data(), name.size()) == 0) {
      *out = type;
      return true;
    }
  }
  return false;
}

ValueType Value::type() const {
  switch (data_.index()) {
    case 0: return ValueType::kNumber;
    case 1: return ValueType::kBool;
    case 2: return ValueType::kString;
    case 3: return ValueType::kList;
    case 4: return ValueType::kDatetime;
    default: return ValueType::kDate;
  }
}

}  // namespace sextant
