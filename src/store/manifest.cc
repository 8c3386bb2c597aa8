#include "store/manifest.h"

#include "common/hash.h"
#include "store/row_codec.h"

namespace sextant::store {

namespace {
constexpr uint64_t kManifestMagic = 0x31464e4d54585853ull;  // "SXXTMNF1" little endian
constexpr uint32_t kManifestVersion = 1;
}  // namespace

std::string EncodeManifest(const Manifest& manifest) {
  std::string out;
  PutFixed64(&out, kManifestMagic);
  PutFixed32(&out, kManifestVersion);
  PutFixed64(&out, manifest.checkpoint_lsn);
  PutFixed64(&out, manifest.next_part_seq);
  PutFixed32(&out, static_cast<uint32_t>(manifest.days.size()));
  for (const ManifestDay& day : manifest.days) {
    PutFixed32(&out, day.project);
    PutFixed32(&out, static_cast<uint32_t>(day.day));
    PutFixed64(&out, day.flushed_lsn);
    PutFixed32(&out, static_cast<uint32_t>(day.parts.size()));
    for (const ManifestPart& part : day.parts) {
      PutFixed64(&out, part.seq);
      PutFixed64(&out, part.file_bytes);
      PutFixed32(&out, part.rows);
    }
  }
  PutFixed32(&out, Crc32(out));
  return out;
}

Status DecodeManifest(std::string_view bytes, Manifest* manifest) {
  auto corrupt = [](const std::string& what) {
    return Status(ErrorCode::kCorruption, "MANIFEST: " + what);
  };
  if (bytes.size() < 4) return corrupt("too short");
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (Crc32(body) != DecodeFixed32(bytes.data() + body.size())) return corrupt("checksum mismatch");
  uint64_t magic;
  uint32_t version;
  uint32_t day_count;
  if (!GetFixed64(&body, &magic) || magic != kManifestMagic) return corrupt("bad magic");
  if (!GetFixed32(&body, &version) || version != kManifestVersion) return corrupt("bad version");
  *manifest = Manifest();
  if (!GetFixed64(&body, &manifest->checkpoint_lsn) ||
      !GetFixed64(&body, &manifest->next_part_seq) || !GetFixed32(&body, &day_count)) {
    return corrupt("truncated header");
  }
  for (uint32_t d = 0; d < day_count; ++d) {
    ManifestDay day;
    uint32_t day_number;
    uint32_t part_count;
    if (!GetFixed32(&body, &day.project) || !GetFixed32(&body, &day_number) ||
        !GetFixed64(&body, &day.flushed_lsn) || !GetFixed32(&body, &part_count) ||
        part_count > body.size() / 20) {
      return corrupt("truncated day entry");
    }
    day.day = static_cast<int32_t>(day_number);
    day.parts.resize(part_count);
    for (ManifestPart& part : day.parts) {
      if (!GetFixed64(&body, &part.seq) || !GetFixed64(&body, &part.file_bytes) ||
          !GetFixed32(&body, &part.rows)) {
        return corrupt("truncated part entry");
      }
    }
    manifest->days.push_back(std::move(day));
  }
  if (!body.empty()) return corrupt("trailing bytes");
  return Status::Ok();
}

}  // namespace sextant::store
