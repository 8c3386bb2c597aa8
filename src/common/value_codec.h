// Compact binary encoding of Values and property maps, used for state kept in the KV store
// (profiles, items). Format: a ValueType byte followed by the payload (varint lengths,
// little-endian fixed-width numbers). Decoding untrusted or corrupt bytes never crashes: it
// returns false.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/value.h"

namespace sextant {

void PutVarint64(uint64_t value, std::string* out);
bool GetVarint64(std::string_view* in, uint64_t* value);
void PutLengthPrefixed(std::string_view bytes, std::string* out);
bool GetLengthPrefixed(std::string_view* in, std::string_view* bytes);

void EncodeValue(const Value& value, std::string* out);
bool DecodeValue(std::string_view* in, Value* value);

using PropertyMap = std::vector<std::pair<std::string, Value>>;
std::string EncodePropertyMap(const PropertyMap& properties);
bool DecodePropertyMap(std::string_view bytes, PropertyMap* properties);

}  // namespace sextant
