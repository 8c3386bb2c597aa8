// The MANIFEST: the set of live parts and the WAL checkpoint. Replaced atomically
// (temp file + fsync + rename + directory fsync). Layout: docs/storage-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::store {

struct ManifestPart {
  uint64_t seq = 0;
  uint64_t file_bytes = 0;
  uint32_t rows = 0;
};

struct ManifestDay {
  uint32_t project = 0;
  int32_t day = 0;
  // Every row of this (project, day) in a WAL record with lsn <= flushed_lsn is in `parts`.
  uint64_t flushed_lsn = 0;
  std::vector<ManifestPart> parts;
};

struct Manifest {
  // Every row of every WAL record with lsn <= checkpoint_lsn is in a part (or was dropped by
  // retention); such records are never replayed and their segments may be deleted.
  uint64_t checkpoint_lsn = 0;
  uint64_t next_part_seq = 1;
  std::vector<ManifestDay> days;
};

std::string EncodeManifest(const Manifest& manifest);
Status DecodeManifest(std::string_view bytes, Manifest* manifest);

}  // namespace sextant::store
