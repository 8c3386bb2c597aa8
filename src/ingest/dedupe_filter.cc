#include "ingest/dedupe_filter.h"

#include <string>

#include "common/hash.h"

namespace sextant::ingest {

uint64_t DedupeKey(uint32_t project, int64_t track_id, int64_t time_ms, std::string_view distinct_id,
                   std::string_view event_or_type) {
  uint64_t h = Hash64(distinct_id, project);
  h = HashCombine(h, static_cast<uint64_t>(track_id));
  h = HashCombine(h, static_cast<uint64_t>(time_ms));
  return HashCombine(h, Hash64(event_or_type));
}

bool DedupeFilter::Contains(uint64_t key) const {
  std::lock_guard lock(mu_);
  return current_.count(key) != 0 || previous_.count(key) != 0;
}

void DedupeFilter::Insert(uint64_t key) {
  std::lock_guard lock(mu_);
  MaybeRotateLocked();
  current_.insert(key);
}

size_t DedupeFilter::size() const {
  std::lock_guard lock(mu_);
  return current_.size() + previous_.size();
}

void DedupeFilter::MaybeRotateLocked() {
  int64_t now = clock_->NowMs();
  if (current_started_ms_ < 0) current_started_ms_ = now;
  if (current_.size() >= max_keys_ || now - current_started_ms_ >= window_ms_ / 2) {
    previous_.swap(current_);
    current_.clear();
    current_started_ms_ = now;
  }
}

}  // namespace sextant::ingest
