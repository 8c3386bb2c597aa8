#include "ingest/dedupe_filter.h"

#include <algorithm>
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

bool FlatKeySet::Contains(uint64_t key) const {
  const uint64_t slot_key = Slot(key);
  for (uint64_t pos = slot_key & mask_;; pos = (pos + 1) & mask_) {
    if (slots_[pos] == slot_key) return true;
    if (slots_[pos] == 0) return false;
  }
}

void FlatKeySet::Grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, 0);
  mask_ = slots_.size() - 1;
  size_ = 0;
  for (uint64_t slot_key : old)
    if (slot_key != 0) Insert(slot_key);  // Slot(slot_key) == slot_key for non-zero keys
}

void FlatKeySet::Insert(uint64_t key) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const uint64_t slot_key = Slot(key);
  for (uint64_t pos = slot_key & mask_;; pos = (pos + 1) & mask_) {
    if (slots_[pos] == slot_key) return;
    if (slots_[pos] == 0) {
      slots_[pos] = slot_key;
      ++size_;
      return;
    }
  }
}

void FlatKeySet::Clear() {
  std::vector<uint64_t>(kInitialSlots, 0).swap(slots_);
  mask_ = kInitialSlots - 1;
  size_ = 0;
}

bool DedupeFilter::Contains(uint64_t key) const {
  std::lock_guard lock(mu_);
  if (!current_.Contains(key) && !previous_.Contains(key)) return false;
  return forgotten_current_.empty() && forgotten_previous_.empty()
             ? true
             : !forgotten_current_.count(key) && !forgotten_previous_.count(key);
}

void DedupeFilter::Insert(uint64_t key) {
  std::lock_guard lock(mu_);
  MaybeRotateLocked();
  current_.Insert(key);
  if (!forgotten_current_.empty()) forgotten_current_.erase(key);
  if (!forgotten_previous_.empty()) forgotten_previous_.erase(key);
}

void DedupeFilter::Forget(const std::vector<uint64_t>& keys) {
  std::lock_guard lock(mu_);
  forgotten_current_.insert(keys.begin(), keys.end());
}

size_t DedupeFilter::size() const {
  std::lock_guard lock(mu_);
  return current_.size() + previous_.size();
}

void DedupeFilter::MaybeRotateLocked() {
  int64_t now = clock_->NowMs();
  if (current_started_ms_ < 0) current_started_ms_ = now;
  if (current_.size() >= max_keys_ || now - current_started_ms_ >= window_ms_ / 2) {
    std::swap(previous_, current_);
    current_.Clear();
    forgotten_previous_ = std::move(forgotten_current_);
    forgotten_current_.clear();
    current_started_ms_ = now;
  }
}

}  // namespace sextant::ingest
