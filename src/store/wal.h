// Wal: the segmented, checksummed write-ahead log of the event store.
//
// Files: <dir>/<seq>.log, seq increasing. Each record is
//   [u32 payload length][u32 crc32 of payload][u64 lsn][payload]   (little endian)
// LSNs increase strictly across records and segments. See docs/storage-format.md.
//
// Wal only moves bytes: it does not know what a payload means, and it does not batch; the
// event store's commit thread frames a group of records into one buffer and hands it to
// Write() (one write(2) call), then Sync().
//
// Thread-safety: all methods are thread-safe (one internal mutex). Write/Sync/TruncateTo are
// meant for the single commit thread; Roll/DeleteSegmentsUpTo for the maintenance path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::store {

class Wal {
 public:
  static constexpr size_t kHeaderSize = 16;
  // Records longer than this are treated as garbage by recovery.
  static constexpr uint32_t kMaxRecordBytes = 1u << 30;

  struct Options {
    // SegmentFull() turns true once the current segment is larger than this.
    uint64_t segment_bytes = 64ull << 20;
  };

  struct RecoveryInfo {
    uint64_t max_lsn = 0;           // highest lsn found (0 if none)
    uint64_t records = 0;
    uint64_t truncated_bytes = 0;   // torn tail cut from the last segment
  };

  // Called for every valid record, in lsn order. An error aborts Open.
  using RecordFn = std::function<Status(uint64_t lsn, std::string_view payload)>;

  // Opens (creating) `dir`, replays every segment through `fn`, truncates a torn tail of the
  // last segment (a short record, or a bad checksum on the last record), and starts a new
  // segment for writing. Any other damage is kCorruption naming the file and offset.
  static Result<std::unique_ptr<Wal>> Open(const std::string& dir, Options options,
                                           const RecordFn& fn, RecoveryInfo* info);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends the 16-byte frame header for `payload` to `out`, then the payload.
  static void AppendRecord(std::string* out, uint64_t lsn, std::string_view payload);
  // Fills a 16-byte header in place (payload follows elsewhere; crc is of the payload).
  static void EncodeHeader(char* header, uint64_t lsn, uint32_t payload_len, uint32_t crc);

  // Writes already framed records (one write(2), retried on partial writes). `last_lsn` is the
  // highest lsn in `records`. On error the segment is truncated back to where it was.
  Status Write(std::string_view records, uint64_t last_lsn);
  // fdatasync of the current segment.
  Status Sync();
  // Cuts the current segment back to `offset` (used to undo a group whose pre-sync hook failed).
  Status TruncateTo(uint64_t offset);
  uint64_t CurrentOffset() const;
  // True once the current segment reached Options::segment_bytes (the caller then Roll()s).
  bool SegmentFull() const;

  // Syncs and closes the current segment and opens a new one.
  Status Roll();
  // After a failed write, sync or roll (disk full, a file system gone read-only): makes the log
  // writable again if the disk now allows it — syncs the current segment (whose failed tail the
  // caller has cut) and starts a new one, or opens the segment a failed roll could not. The
  // error names the file and the reason.
  Status Recover();
  // Deletes every closed segment whose records all have lsn <= `lsn`.
  Status DeleteSegmentsUpTo(uint64_t lsn);

  uint64_t TotalBytes() const;
  size_t SegmentCount() const;

 private:
  struct Segment {
    uint64_t seq = 0;
    uint64_t bytes = 0;
    uint64_t max_lsn = 0;
  };
  Wal(std::string dir, Options options) : dir_(std::move(dir)), options_(options) {}
  std::string SegmentPath(uint64_t seq) const;
  Status OpenNewSegmentLocked();
  Status RollLocked();
  // Closes the current (synced) segment and opens the next one.
  Status StartNextSegmentLocked();

  const std::string dir_;
  const Options options_;
  mutable std::mutex mu_;
  std::vector<Segment> closed_;  // guarded by mu_
  Segment current_;              // guarded by mu_
  int fd_ = -1;                  // guarded by mu_
};

}  // namespace sextant::store
