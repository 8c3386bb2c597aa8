// CommitObserver: what the ingest pipeline tells other engines (segments and tags, later
// journeys) once a request's changes are durable — the events they asked for and the users
// whose profile changed.
// Thread-safety: InterestOf is called on ingest threads, OnCommitted on the event store's
// commit thread; implementations must be thread-safe and must not block.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "state/project_registry.h"
#include "store/event_row.h"

namespace sextant::ingest {

// Which event ids of a project an observer wants: by event id, or all; and, when an observer
// waits for event names the schema does not know yet, every event id from `new_events_from` on
// (ids are dense and grow, so those are exactly the names first seen after the interest was made).
struct EventInterest {
  bool all = false;
  std::vector<uint8_t> by_event;
  store::EventId new_events_from = 0;  // 0 = none
  bool Wants(store::EventId event) const {
    return all || (event < by_event.size() && by_event[event] != 0) ||
           (new_events_from != 0 && event >= new_events_from);
  }
};

struct CommittedChanges {
  state::ProjectId project = 0;
  std::vector<store::EventRow> events;         // only events the observer wants
  std::vector<store::UserId> profile_users;    // users whose profile changed, in order
  int64_t committed_us = 0;                    // Clock::MonotonicMicros() when durable
  uint64_t sequence = 0;                       // assigned by the observer
};

class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  // The events of `project` to hand over (nullptr: none, and no profile changes either).
  virtual std::shared_ptr<const EventInterest> InterestOf(state::ProjectId project) = 0;
  virtual void OnCommitted(CommittedChanges changes) = 0;
};

}  // namespace sextant::ingest
