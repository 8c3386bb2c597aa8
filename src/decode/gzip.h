// gzip / zlib inflation with an output bound (decompression-bomb protection).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sextant::decode {

// True if `data` starts with the gzip magic bytes 1f 8b.
bool HasGzipMagic(std::string_view data);

// Inflates a gzip stream (several concatenated members are accepted, like `gzip -d`) or a
// zlib stream (header auto-detected). Bytes after the last complete member that do not
// start another gzip member are ignored, like java.util.zip.GZIPInputStream.
// Errors: kBadGzip (corrupt/truncated stream), kPayloadTooLarge (more than `max_output`
// bytes would be produced; inflation stops there, so memory stays bounded).
Result<std::string> Gunzip(std::string_view data, size_t max_output);

// gzip-compresses `data` (for tests, tools and fuzz seeds).
std::string GzipCompress(std::string_view data);

}  // namespace sextant::decode
