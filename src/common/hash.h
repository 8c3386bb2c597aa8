// Non-cryptographic hashing and checksums.
#pragma once

#include <cstdint>
#include <string_view>

namespace sextant {

// 64-bit FNV-1a followed by a murmur-style finaliser: stable across builds and platforms
// (it is persisted in deduplication keys), good enough dispersion for hash tables.
inline uint64_t Hash64(std::string_view bytes, uint64_t seed = 0) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashCombine(uint64_t a, uint64_t b) {
  return Hash64(std::string_view(reinterpret_cast<const char*>(&b), sizeof(b)), a);
}

// CRC-32 (zlib polynomial) of `bytes`, continuing from `crc`.
uint32_t Crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace sextant
