// Java String.hashCode(), used by the web and Android SDKs as a payload checksum
// ("crc" / "ext=crc=<n>", protocol §1.2).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace sextant::decode {

// h = 31*h + c over the UTF-16 code units of `text` (decoded from UTF-8; base64 text is
// ASCII so this is one unit per byte), with 32-bit wrap-around; signed like Java's int.
// Invalid UTF-8 bytes count as one unit each with the byte's value.
int32_t JavaStringHashCode(std::string_view text);

}  // namespace sextant::decode
