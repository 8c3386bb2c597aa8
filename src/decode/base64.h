// Standard base64 (RFC 4648 §4 alphabet "+/"), as every Sensors SDK sends it.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sextant::decode {

// Decodes `text`. Accepts input with or without '=' padding; '\r' and '\n' anywhere are
// ignored (MIME line wrapping). Any other character outside the alphabet, misplaced
// padding, or a dangling single character is kBadBase64. `max_output` bounds the decoded
// size (kPayloadTooLarge), checked before decoding.
Result<std::string> Base64Decode(std::string_view text, size_t max_output = SIZE_MAX);

// Base64Decode, and if that fails and `text` contains spaces, retries with every ' '
// turned into '+' (clients that forget to percent-encode '+': form decoding turned it
// into a space; protocol §1.2). The error returned is the one of the first attempt.
Result<std::string> Base64DecodeLenient(std::string_view text, size_t max_output = SIZE_MAX);

// Padded standard base64.
std::string Base64Encode(std::string_view bytes);

}  // namespace sextant::decode
