#include "common/value_codec.h"

#include <cstring>

namespace sextant {

void PutVarint64(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool GetVarint64(std::string_view* in, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

void PutLengthPrefixed(std::string_view bytes, std::string* out) {
  PutVarint64(bytes.size(), out);
  out->append(bytes);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* bytes) {
  uint64_t length;
  if (!GetVarint64(in, &length) || length > in->size()) return false;
  *bytes = in->substr(0, length);
  in->remove_prefix(length);
  return true;
}

namespace {
template <typename T>
void PutFixed(T value, std::string* out) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out->append(buf, sizeof(T));
}
template <typename T>
bool GetFixed(std::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}
}  // namespace

void EncodeValue(const Value& value, std::string* out) {
  out->push_back(static_cast<char>(value.type()));
  switch (value.type()) {
    case ValueType::kNumber: PutFixed(value.number(), out); break;
    case ValueType::kBool: out->push_back(value.boolean() ? 1 : 0); break;
    case ValueType::kString: PutLengthPrefixed(value.str(), out); break;
    case ValueType::kList:
      PutVarint64(value.list().size(), out);
      for (const std::string& element : value.list()) PutLengthPrefixed(element, out);
      break;
    case ValueType::kDatetime: PutFixed(value.datetime_ms(), out); break;
    case ValueType::kDate: PutFixed(value.date_days(), out); break;
  }
}

bool DecodeValue(std::string_view* in, Value* value) {
  if (in->empty()) return false;
  auto type = static_cast<ValueType>((*in)[0]);
  in->remove_prefix(1);
  switch (type) {
    case ValueType::kNumber: {
      double number;
      if (!GetFixed(in, &number)) return false;
      *value = Value::Number(number);
      return true;
    }
    case ValueType::kBool:
      if (in->empty()) return false;
      *value = Value::Bool((*in)[0] != 0);
      in->remove_prefix(1);
      return true;
    case ValueType::kString: {
      std::string_view text;
      if (!GetLengthPrefixed(in, &text)) return false;
      *value = Value::String(std::string(text));
      return true;
    }
    case ValueType::kList: {
      uint64_t count;
      if (!GetVarint64(in, &count) || count > in->size()) return false;
      std::vector<std::string> elements;
      elements.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        std::string_view element;
        if (!GetLengthPrefixed(in, &element)) return false;
        elements.emplace_back(element);
      }
      *value = Value::List(std::move(elements));
      return true;
    }
    case ValueType::kDatetime: {
      int64_t ms;
      if (!GetFixed(in, &ms)) return false;
      *value = Value::Datetime(ms);
      return true;
    }
    case ValueType::kDate: {
      int32_t days;
      if (!GetFixed(in, &days)) return false;
      *value = Value::Date(days);
      return true;
    }
  }
  return false;
}

std::string EncodePropertyMap(const PropertyMap& properties) {
  std::string out;
  PutVarint64(properties.size(), &out);
  for (const auto& [name, value] : properties) {
    PutLengthPrefixed(name, &out);
    EncodeValue(value, &out);
  }
  return out;
}

bool DecodePropertyMap(std::string_view bytes, PropertyMap* properties) {
  uint64_t count;
  if (!GetVarint64(&bytes, &count) || count > bytes.size()) return false;
  properties->clear();
  properties->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view name;
    Value value;
    if (!GetLengthPrefixed(&bytes, &name) || !DecodeValue(&bytes, &value)) return false;
    properties->emplace_back(std::string(name), std::move(value));
  }
  return bytes.empty();
}

}  // namespace sextant
