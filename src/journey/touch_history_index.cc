#include "journey/touch_history_index.h"

#include <algorithm>

namespace sextant::journey {

uint32_t TouchHistoryIndex::Intern(const std::string& name) {
  auto [found, inserted] = name_codes_.try_emplace(name, static_cast<uint32_t>(names_.size()));
  if (inserted) names_.push_back(name);
  return found->second;
}

void TouchHistoryIndex::Add(UserId user, const TouchRecord& touch) {
  touches_[user].push_back(Touch{touch.time_ms, Intern(touch.channel), Intern(touch.journey_id),
                                 touch.priority, touch.transactional});
}

bool TouchHistoryIndex::Collect(UserId user, int64_t since_ms, std::vector<TouchRecord>* out,
                                bool drop_expired) {
  auto found = touches_.find(user);
  if (found == touches_.end()) return false;
  std::vector<Touch>& list = found->second;
  bool had_expired = false;
  for (const Touch& touch : list) {
    if (touch.time_ms < since_ms) {
      had_expired = true;
      continue;
    }
    out->push_back(TouchRecord{touch.time_ms, names_[touch.channel], names_[touch.journey],
                               touch.priority, touch.transactional});
  }
  if (had_expired && drop_expired) {
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Touch& touch) { return touch.time_ms < since_ms; }),
               list.end());
    if (list.empty()) touches_.erase(found);
  }
  return had_expired;
}

void TouchHistoryIndex::Erase(UserId user) { touches_.erase(user); }

}  // namespace sextant::journey
