#include "audience/user_column.h"

#include "common/value_codec.h"

namespace sextant::audience {
namespace {

double AsNumber(const Value& value) {
  switch (value.type()) {
    case ValueType::kNumber:
      return value.number();
    case ValueType::kBool:
      return value.boolean() ? 1 : 0;
    case ValueType::kDatetime:
      return static_cast<double>(value.datetime_ms());
    case ValueType::kDate:
      return value.date_days();
    default:
      return std::nan("");
  }
}

Value FromNumber(ValueType type, double number) {
  switch (type) {
    case ValueType::kBool:
      return Value::Bool(number != 0);
    case ValueType::kDatetime:
      return Value::Datetime(static_cast<int64_t>(number));
    case ValueType::kDate:
      return Value::Date(static_cast<int32_t>(number));
    default:
      return Value::Number(number);
  }
}

bool SameKind(ValueType column, ValueType value) {
  const bool column_text = column == ValueType::kString || column == ValueType::kList;
  const bool value_text = value == ValueType::kString || value == ValueType::kList;
  return column_text ? column == value : !value_text;
}

}  // namespace

uint32_t UserColumn::Intern(const Value& value) {
  std::string key;
  if (value.type() == ValueType::kString) {
    key = value.str();
  } else {
    EncodeValue(value, &key);
  }
  auto [it, inserted] = code_of_.try_emplace(std::move(key), 0);
  if (inserted) {
    dictionary_.push_back(value);
    it->second = static_cast<uint32_t>(dictionary_.size());
  }
  return it->second;
}

void UserColumn::Set(UserId user, const Value* value) {
  if (value != nullptr && !SameKind(type_, value->type())) value = nullptr;
  if (numeric()) {
    if (user >= numbers_.size()) {
      if (value == nullptr) return;
      numbers_.resize(std::max<size_t>(user + 1, numbers_.size() * 3 / 2), std::nan(""));
    }
    numbers_[user] = value ? AsNumber(*value) : std::nan("");
    return;
  }
  if (user >= codes_.size()) {
    if (value == nullptr) return;
    codes_.resize(std::max<size_t>(user + 1, codes_.size() * 3 / 2), 0);
  }
  codes_[user] = value ? Intern(*value) : 0;
}

void UserColumn::SetNumber(UserId user, double number) {
  if (!numeric()) return;
  if (user >= numbers_.size()) {
    if (std::isnan(number)) return;
    numbers_.resize(std::max<size_t>(user + 1, numbers_.size() * 3 / 2), std::nan(""));
  }
  numbers_[user] = number;
}

std::optional<Value> UserColumn::Get(UserId user) const {
  if (numeric()) {
    const double number = Number(user);
    if (std::isnan(number)) return std::nullopt;
    return FromNumber(type_, number);
  }
  const uint32_t code = Code(user);
  if (code == 0) return std::nullopt;
  return dictionary_[code - 1];
}

bool UserColumn::Has(UserId user) const {
  return numeric() ? !std::isnan(Number(user)) : Code(user) != 0;
}

Roaring UserColumn::Present() const {
  Roaring out;
  if (numeric()) {
    for (UserId user = 1; user < numbers_.size(); ++user) {
      if (!std::isnan(numbers_[user])) out.add(user);
    }
  } else {
    for (UserId user = 1; user < codes_.size(); ++user) {
      if (codes_[user] != 0) out.add(user);
    }
  }
  return out;
}

Roaring UserColumn::Select(const query::CompiledCondition& condition, UserId user_limit) const {
  // What an absent value gives; users beyond the stored slots are absent.
  const bool absent_matches = query::EvaluateValue(condition, nullptr);
  Roaring out;
  const UserId stored = std::min<UserId>(size(), user_limit);
  std::vector<uint32_t> batch;
  batch.reserve(4096);
  auto flush = [&] {
    out.addMany(batch.size(), batch.data());
    batch.clear();
  };
  if (numeric()) {
    for (UserId user = 1; user < stored; ++user) {
      if (query::EvaluateNumber(condition, numbers_[user])) {
        batch.push_back(user);
        if (batch.size() == 4096) flush();
      }
    }
  } else {
    std::vector<uint8_t> code_matches(dictionary_.size() + 1);
    code_matches[0] = absent_matches;
    for (size_t code = 1; code <= dictionary_.size(); ++code) {
      code_matches[code] = query::EvaluateValue(condition, &dictionary_[code - 1]);
    }
    for (UserId user = 1; user < stored; ++user) {
      if (code_matches[codes_[user]]) {
        batch.push_back(user);
        if (batch.size() == 4096) flush();
      }
    }
  }
  flush();
  if (absent_matches && stored < user_limit) out.addRange(std::max<UserId>(stored, 1), user_limit);
  return out;
}

size_t UserColumn::MemoryBytes() const {
  size_t bytes = numbers_.capacity() * sizeof(double) + codes_.capacity() * sizeof(uint32_t);
  for (const Value& value : dictionary_) {
    bytes += sizeof(Value) + 32 + (value.type() == ValueType::kString ? value.str().size() : 0);
  }
  return bytes;
}

}  // namespace sextant::audience
