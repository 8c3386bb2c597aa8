// Hashes, MACs and encodings used to sign outbound requests (OpenSSL EVP underneath).
// All functions are pure and thread-safe; binary results are returned as raw bytes in a
// std::string and hex is always lower case.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sextant::channel {

// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// Lower-case hex of HmacSha256(key, data).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Raw 32-byte SHA-256 digest.
std::string Sha256(std::string_view data);
// Lower-case hex of the SHA-256 digest of `data`.
std::string Sha256Hex(std::string_view data);
// Lower-case hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

// Standard base64 (RFC 4648, with padding, no line breaks).
std::string Base64Encode(std::string_view bytes);
// Inverse of Base64Encode; whitespace (CR, LF, space, tab) is skipped. nullopt when the input
// is not valid base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace sextant::channel
