#include "decode/base64.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sextant::decode {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kTable = MakeTable();
}  // namespace

Result<std::string> Base64Decode(std::string_view text, size_t max_output) {
  if (max_output < SIZE_MAX - 3 && text.size() / 4 * 3 > max_output + 3) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "decoded payload would exceed " + std::to_string(max_output) + " bytes");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t accum = 0;
  int bits = 0;
  size_t symbols = 0;   // alphabet characters seen
  size_t padding = 0;   // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int8_t v = kTable[c];
    if (v < 0) {
      return Status(ErrorCode::kBadBase64,
                    "invalid base64 character 0x" +
                        std::string(1, "0123456789abcdef"[c >> 4]) +
                        std::string(1, "0123456789abcdef"[c & 15]) + " at offset " +
                        std::to_string(i));
    }
    if (padding > 0) return Status(ErrorCode::kBadBase64, "base64 data after '=' padding");
    ++symbols;
    accum = (accum << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accum >> bits) & 0xff));
    }
  }
  size_t rem = symbols % 4;
  if (rem == 1) return Status(ErrorCode::kBadBase64, "truncated base64 (dangling character)");
  if (padding > 0 && (padding > 2 || (rem + padding) % 4 != 0)) {
    return Status(ErrorCode::kBadBase64, "wrong base64 padding");
  }
  if (out.size() > max_output) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "decoded payload exceeds " + std::to_string(max_output) + " bytes");
  }
  return out;
}

Result<std::string> Base64DecodeLenient(std::string_view text, size_t max_output) {
  Result<std::string> first = Base64Decode(text, max_output);
  if (first.ok() || first.status().code() != ErrorCode::kBadBase64 ||
      text.find(' ') == std::string_view::npos) {
    return first;
  }
  std::string fixed(text);
  std::replace(fixed.begin(), fixed.end(), ' ', '+');
  Result<std::string> second = Base64Decode(fixed, max_output);
  if (second.ok()) return second;
  return first;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                 uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace sextant::decode
