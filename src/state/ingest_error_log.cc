#include "state/ingest_error_log.h"

#include "common/value_codec.h"

namespace sextant::state {

namespace {
std::string Prefix(ProjectId project) { return "err/" + std::to_string(project) + "/"; }

// Cuts at a UTF-8 boundary so the excerpt stays valid text.
std::string Excerpt(std::string text) {
  if (text.size() <= IngestErrorLog::kMaxExcerptBytes) return text;
  size_t cut = IngestErrorLog::kMaxExcerptBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "…";
  return text;
}
}  // namespace

uint64_t IngestErrorLog::NextSeq(ProjectId project) {
  std::lock_guard lock(mu_);
  auto it = next_seq_.find(project);
  if (it == next_seq_.end()) {
    uint64_t last = 0;
    (void)kv_->ScanPrefix(Prefix(project), [&](std::string_view key, std::string_view) {
      last = ReadBigEndian64(key.substr(key.size() - 8));
      return false;
    }, /*reverse=*/true);
    it = next_seq_.emplace(project, last + 1).first;
  }
  return it->second++;
}

void IngestErrorLog::Append(ProjectId project, IngestError error, KvStore::Batch* batch) {
  std::string key = Prefix(project);
  AppendBigEndian64(NextSeq(project), &key);
  std::string value;
  PutVarint64(static_cast<uint64_t>(error.time_ms), &value);
  PutVarint64(static_cast<uint64_t>(error.code), &value);
  PutLengthPrefixed(error.field, &value);
  PutLengthPrefixed(error.reason, &value);
  PutLengthPrefixed(Excerpt(std::move(error.record)), &value);
  PutLengthPrefixed(error.source, &value);
  batch->Put(key, value);
}

Result<std::vector<IngestError>> IngestErrorLog::List(ProjectId project, size_t limit) const {
  std::vector<IngestError> out;
  Status scan = kv_->ScanPrefix(Prefix(project), [&](std::string_view, std::string_view value) {
    if (out.size() >= limit) return false;
    IngestError error;
    uint64_t time_ms, code;
    std::string_view field, reason, record, source;
    if (!GetVarint64(&value, &time_ms) || !GetVarint64(&value, &code) ||
        !GetLengthPrefixed(&value, &field) || !GetLengthPrefixed(&value, &reason) ||
        !GetLengthPrefixed(&value, &record) || !GetLengthPrefixed(&value, &source))
      return true;  // skip a damaged entry rather than hide the others
    error.time_ms = static_cast<int64_t>(time_ms);
    error.code = static_cast<ErrorCode>(code);
    error.field = std::string(field);
    error.reason = std::string(reason);
    error.record = std::string(record);
    error.source = std::string(source);
    out.push_back(std::move(error));
    return true;
  }, /*reverse=*/true);
  if (!scan.ok()) return scan;
  return out;
}

Status IngestErrorLog::Trim() {
  std::vector<ProjectId> projects;
  {
    std::lock_guard lock(mu_);
    for (const auto& [project, seq] : next_seq_) projects.push_back(project);
  }
  for (ProjectId project : projects) {
    uint64_t next;
    {
      std::lock_guard lock(mu_);
      next = next_seq_[project];
    }
    if (next <= max_entries_ + 1) continue;
    std::string begin = Prefix(project), end = Prefix(project);
    AppendBigEndian64(0, &begin);
    AppendBigEndian64(next - max_entries_, &end);
    SEXTANT_RETURN_IF_ERROR(kv_->DeleteRange(begin, end));
  }
  return Status::Ok();
}

Result<uint64_t> IngestErrorLog::EraseMentioning(ProjectId project,
                                                 const std::vector<std::string>& needles,
                                                 KvStore::Batch* batch) const {
  std::vector<std::string> keys;
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(Prefix(project), [&](std::string_view key,
                                                               std::string_view value) {
    // The whole stored value is searched: the excerpt is in it verbatim.
    for (const std::string& needle : needles) {
      if (needle.size() < 3 || value.find(needle) == std::string_view::npos) continue;
      keys.emplace_back(key);
      break;
    }
    return true;
  }));
  for (const std::string& key : keys) batch->Delete(key);
  return static_cast<uint64_t>(keys.size());
}

}  // namespace sextant::state
