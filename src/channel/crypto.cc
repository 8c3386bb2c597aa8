#include "channel/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>

namespace sextant::channel {

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int out_len = 0;
  // HMAC() is the one-shot OpenSSL 3 API; it cannot fail for SHA-256 with in-memory input
  // except on allocation failure, where it returns nullptr and we return an empty MAC (which
  // can never verify, so the failure is visible rather than silent).
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &out_len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  return ToHex(HmacSha256(key, data));
}

std::string Sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &out_len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

std::string Sha256Hex(std::string_view data) { return ToHex(Sha256(data)); }

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t idx = 0;
  for (; idx + 3 <= bytes.size(); idx += 3) {
    uint32_t triple = (static_cast<uint8_t>(bytes[idx]) << 16) |
                      (static_cast<uint8_t>(bytes[idx + 1]) << 8) |
                      static_cast<uint8_t>(bytes[idx + 2]);
    out.push_back(kBase64Alphabet[(triple >> 18) & 63]);
    out.push_back(kBase64Alphabet[(triple >> 12) & 63]);
    out.push_back(kBase64Alphabet[(triple >> 6) & 63]);
    out.push_back(kBase64Alphabet[triple & 63]);
  }
  size_t rest = bytes.size() - idx;
  if (rest == 1) {
    uint32_t triple = static_cast<uint8_t>(bytes[idx]) << 16;
    out.push_back(kBase64Alphabet[(triple >> 18) & 63]);
    out.push_back(kBase64Alphabet[(triple >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t triple =
        (static_cast<uint8_t>(bytes[idx]) << 16) | (static_cast<uint8_t>(bytes[idx + 1]) << 8);
    out.push_back(kBase64Alphabet[(triple >> 18) & 63]);
    out.push_back(kBase64Alphabet[(triple >> 12) & 63]);
    out.push_back(kBase64Alphabet[(triple >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t accumulator = 0;
  int bits = 0;
  int padding = 0;
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    int value = Base64Value(c);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
  }
  // Leftover bits must be the zero fill of a final partial group, completed by padding.
  if (bits >= 6 || padding > 2 || (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0)) {
    return std::nullopt;
  }
  if (padding > 0 && (bits / 2) != padding) return std::nullopt;
  return out;
}

}  // namespace sextant::channel
