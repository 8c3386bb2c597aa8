#include "store/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/hash.h"
#include "store/file_util.h"
#include "store/row_codec.h"

namespace sextant::store {

namespace {

bool ParseSegmentName(const std::string& name, uint64_t* seq) {
  if (name.size() <= 4 || name.substr(name.size() - 4) != ".log") return false;
  std::string digits = name.substr(0, name.size() - 4);
  if (digits.empty() || digits.size() > 19) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  *seq = std::stoull(digits);
  return true;
}

}  // namespace

void Wal::EncodeHeader(char* header, uint64_t lsn, uint32_t payload_len, uint32_t crc) {
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(payload_len >> (8 * i));
  for (int i = 0; i < 4; ++i) header[4 + i] = static_cast<char>(crc >> (8 * i));
  for (int i = 0; i < 8; ++i) header[8 + i] = static_cast<char>(lsn >> (8 * i));
}

void Wal::AppendRecord(std::string* out, uint64_t lsn, std::string_view payload) {
  char header[kHeaderSize];
  EncodeHeader(header, lsn, static_cast<uint32_t>(payload.size()), Crc32(payload));
  out->append(header, kHeaderSize);
  out->append(payload);
}

std::string Wal::SegmentPath(uint64_t seq) const {
  return dir_ + "/" + std::to_string(seq) + ".log";
}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, Options options,
                                       const RecordFn& fn, RecoveryInfo* info) {
  SEXTANT_RETURN_IF_ERROR(MakeDirs(dir));
  std::unique_ptr<Wal> wal(new Wal(dir, options));
  RecoveryInfo local;
  if (info == nullptr) info = &local;
  *info = RecoveryInfo();

  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    uint64_t seq;
    if (ParseSegmentName(entry.path().filename().string(), &seq)) seqs.push_back(seq);
  }
  if (ec) return Status(ErrorCode::kIoError, "list " + dir + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());

  // A torn tail can only be in the last segment that holds bytes: later empty segments are
  // ones opened by a previous recovery or roll that crashed before its first write.
  size_t last_nonempty = 0;
  for (size_t seg_idx = 0; seg_idx < seqs.size(); ++seg_idx) {
    std::error_code size_ec;
    if (std::filesystem::file_size(wal->SegmentPath(seqs[seg_idx]), size_ec) > 0 && !size_ec) {
      last_nonempty = seg_idx;
    }
  }
  uint64_t last_lsn = 0;
  for (size_t seg_idx = 0; seg_idx < seqs.size(); ++seg_idx) {
    const bool last_segment = seg_idx >= last_nonempty;
    const std::string path = wal->SegmentPath(seqs[seg_idx]);
    std::string data;
    SEXTANT_RETURN_IF_ERROR(ReadFile(path, &data));
    Segment segment;
    segment.seq = seqs[seg_idx];
    uint64_t offset = 0;
    while (offset < data.size()) {
      const uint64_t remaining = data.size() - offset;
      std::string problem;
      bool torn = false;
      uint32_t len = 0;
      uint64_t lsn = 0;
      if (remaining < kHeaderSize) {
        problem = "short record header";
        torn = true;
      } else {
        len = DecodeFixed32(data.data() + offset);
        uint32_t crc = DecodeFixed32(data.data() + offset + 4);
        lsn = DecodeFixed64(data.data() + offset + 8);
        if (len > kMaxRecordBytes || len > remaining - kHeaderSize) {
          problem = "record extends past end of file";
          torn = true;
        } else if (Crc32(std::string_view(data.data() + offset + kHeaderSize, len)) != crc) {
          problem = "checksum mismatch";
          // A bad checksum is a torn write only if it is the last record of the log.
          torn = kHeaderSize + len == remaining;
        } else if (lsn <= last_lsn) {
          problem = "lsn " + std::to_string(lsn) + " not above previous " +
                    std::to_string(last_lsn);
        }
      }
      if (!problem.empty()) {
        if (torn && last_segment) {
          SEXTANT_RETURN_IF_ERROR(TruncateFile(path, offset));
          info->truncated_bytes = remaining;
          data.resize(offset);
          break;
        }
        return Status(ErrorCode::kCorruption,
                      path + " offset " + std::to_string(offset) + ": " + problem);
      }
      SEXTANT_RETURN_IF_ERROR(fn(lsn, std::string_view(data.data() + offset + kHeaderSize, len)));
      last_lsn = lsn;
      segment.max_lsn = lsn;
      ++info->records;
      offset += kHeaderSize + len;
    }
    segment.bytes = data.size();
    wal->closed_.push_back(segment);
  }
  info->max_lsn = last_lsn;
  wal->current_.seq = seqs.empty() ? 1 : seqs.back() + 1;
  std::lock_guard<std::mutex> lock(wal->mu_);
  SEXTANT_RETURN_IF_ERROR(wal->OpenNewSegmentLocked());
  return wal;
}

Wal::~Wal() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) {
    (void)::fdatasync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

Status Wal::OpenNewSegmentLocked() {
  const std::string path = SegmentPath(current_.seq);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status(ErrorCode::kIoError, "open " + path + ": " + std::strerror(errno));
  current_.bytes = 0;
  current_.max_lsn = 0;
  return SyncDir(dir_);
}

Status Wal::Write(std::string_view records, uint64_t last_lsn) {
  std::lock_guard<std::mutex> lock(mu_);
  // A roll that could not open its new segment left none: open it now (or say why not).
  if (fd_ < 0) SEXTANT_RETURN_IF_ERROR(OpenNewSegmentLocked());
  Status st = WriteAll(fd_, records);
  if (!st.ok()) {
    // Leave no half record behind: a later record after garbage would read as corruption.
    (void)::ftruncate(fd_, static_cast<off_t>(current_.bytes));
    (void)::lseek(fd_, static_cast<off_t>(current_.bytes), SEEK_SET);
    return st;
  }
  current_.bytes += records.size();
  if (last_lsn > current_.max_lsn) current_.max_lsn = last_lsn;
  return Status::Ok();
}

Status Wal::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) SEXTANT_RETURN_IF_ERROR(OpenNewSegmentLocked());
  if (::fdatasync(fd_) != 0) {
    return Status(ErrorCode::kIoError, "fdatasync " + SegmentPath(current_.seq) + ": " +
                                           std::strerror(errno));
  }
  return Status::Ok();
}

Status Wal::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return OpenNewSegmentLocked();
  if (::fdatasync(fd_) != 0) {
    return Status(ErrorCode::kIoError, "fdatasync " + SegmentPath(current_.seq) + ": " +
                                           std::strerror(errno));
  }
  if (current_.bytes == 0) return Status::Ok();
  return StartNextSegmentLocked();
}

Status Wal::StartNextSegmentLocked() {
  ::close(fd_);
  fd_ = -1;
  closed_.push_back(current_);
  current_ = Segment();
  current_.seq = closed_.back().seq + 1;
  return OpenNewSegmentLocked();
}

Status Wal::TruncateTo(uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0 || offset > current_.bytes) return Status(ErrorCode::kInternal, "bad truncate");
  if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0 ||
      ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return Status(ErrorCode::kIoError, std::string("truncate wal: ") + std::strerror(errno));
  }
  current_.bytes = offset;
  return Status::Ok();
}

bool Wal::SegmentFull() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.bytes >= options_.segment_bytes;
}

uint64_t Wal::CurrentOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.bytes;
}

Status Wal::Roll() {
  std::lock_guard<std::mutex> lock(mu_);
  return RollLocked();
}

Status Wal::RollLocked() {
  if (fd_ < 0) return OpenNewSegmentLocked();
  if (current_.bytes == 0) return Status::Ok();  // nothing to roll away from
  if (::fdatasync(fd_) != 0) {
    return Status(ErrorCode::kIoError, "fdatasync " + SegmentPath(current_.seq) + ": " +
                                           std::strerror(errno));
  }
  return StartNextSegmentLocked();
}

Status Wal::DeleteSegmentsUpTo(uint64_t lsn) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Segment> kept;
  Status result;
  for (const Segment& segment : closed_) {
    if (segment.max_lsn <= lsn) {
      const std::string path = SegmentPath(segment.seq);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        result = Status(ErrorCode::kIoError, "unlink " + path + ": " + std::strerror(errno));
        kept.push_back(segment);
      }
    } else {
      kept.push_back(segment);
    }
  }
  closed_ = std::move(kept);
  return result;
}

uint64_t Wal::TotalBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = current_.bytes;
  for (const Segment& segment : closed_) total += segment.bytes;
  return total;
}

size_t Wal::SegmentCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_.size() + 1;
}

}  // namespace sextant::store
