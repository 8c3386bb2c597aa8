#include "decode/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace sextant::decode {

bool HasGzipMagic(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

Result<std::string> Gunzip(std::string_view data, size_t max_output) {
  z_stream stream{};
  // 15 window bits + 32: detect gzip or zlib header automatically.
  if (inflateInit2(&stream, 15 + 32) != Z_OK) {
    return Status(ErrorCode::kInternal, "inflateInit2 failed");
  }
  struct Closer {
    z_stream* s;
    ~Closer() { inflateEnd(s); }
  } closer{&stream};

  std::string out;
  size_t consumed = 0;
  constexpr size_t kChunk = 64 * 1024;
  char buffer[kChunk];
  while (true) {
    // zlib's avail_in is 32-bit; feed at most 1 GiB at a time.
    size_t feed = std::min<size_t>(data.size() - consumed, size_t{1} << 30);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
    stream.avail_in = static_cast<uInt>(feed);
    int rc = Z_OK;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = kChunk;
      rc = inflate(&stream, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        std::string why = stream.msg ? stream.msg : (rc == Z_BUF_ERROR ? "truncated stream" : "corrupt stream");
        return Status(ErrorCode::kBadGzip, "gzip: " + why, "gzip");
      }
      size_t produced = kChunk - stream.avail_out;
      if (out.size() + produced > max_output) {
        return Status(ErrorCode::kPayloadTooLarge,
                      "decompressed payload exceeds " + std::to_string(max_output) + " bytes",
                      "gzip");
      }
      out.append(buffer, produced);
    } while (rc != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0));
    consumed += feed - stream.avail_in;
    if (rc == Z_STREAM_END) {
      std::string_view rest = data.substr(consumed);
      if (!HasGzipMagic(rest)) return out;  // done; trailing junk ignored
      if (inflateReset(&stream) != Z_OK) return Status(ErrorCode::kBadGzip, "gzip: reset failed", "gzip");
      continue;
    }
    if (consumed >= data.size()) {
      return Status(ErrorCode::kBadGzip, "gzip: truncated stream", "gzip");
    }
  }
}

std::string GzipCompress(std::string_view data) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace sextant::decode
