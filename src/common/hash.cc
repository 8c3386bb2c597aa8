#include "common/hash.h"

#include <zlib.h>

namespace sextant {

uint32_t Crc32(std::string_view bytes, uint32_t crc) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace sextant
