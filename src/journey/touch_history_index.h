// TouchHistoryIndex: the touches of the last weeks per customer, in memory, so that the caps and
// the priority rule of a touch decision read no state store. The state store keeps the same
// history ("jrn/<pid>/h/<user BE32><time BE64><touch id>" → JSON) as the durable copy the index
// is loaded from; the engine writes both.
//
// Cost: 24 bytes per touch (32 with the allocator's rounding) plus about 100 bytes per customer
// with any touch in the window (hash node, bucket, vector); channel and journey names are
// interned once per index.
//
// Thread-safety: none; the journey engine calls it with its mutex held.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "journey/touch_rules.h"
#include "store/event_row.h"

namespace sextant::journey {

class TouchHistoryIndex {
 public:
  using UserId = store::UserId;

  void Add(UserId user, const TouchRecord& touch);
  // Appends to `out` the touches of `user` at or after `since_ms`. Returns true when the customer
  // also has touches before `since_ms`; with `drop_expired` they leave the index (the caller
  // deletes their store records) and are not reported again.
  bool Collect(UserId user, int64_t since_ms, std::vector<TouchRecord>* out,
               bool drop_expired = true);
  void Erase(UserId user);
  size_t customers() const { return touches_.size(); }

 private:
  struct Touch {
    int64_t time_ms = 0;
    uint32_t channel = 0;  // index into names_
    uint32_t journey = 0;  // index into names_
    int32_t priority = 0;
    bool transactional = false;
  };
  uint32_t Intern(const std::string& name);

  std::unordered_map<UserId, std::vector<Touch>> touches_;  // each in the order added
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> name_codes_;
};

}  // namespace sextant::journey
