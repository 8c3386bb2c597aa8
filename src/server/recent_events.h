// RecentEvents: the last events ingested into each project, for the console's live event
// stream (GET /api/v1/projects/{p}/events/recent).
//
// Contract: it costs nothing while nobody watches. A project's events are handed over by the
// ingest pipeline (a CommitObserver asking for every event) only while someone has read its
// stream in the last `watch_ms`; the first read after a quiet spell starts the stream and
// answers the events committed since. At most `capacity` events are kept per project.
//
// Thread-safety: thread-safe (InterestOf on ingest threads, OnCommitted on the commit thread,
// Read on request threads).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "ingest/commit_observer.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"

namespace sextant::server {

class RecentEvents final : public ingest::CommitObserver {
 public:
  RecentEvents(Clock* clock, state::SchemaRegistry* schemas, size_t capacity = 200,
               int64_t watch_ms = 30'000);

  std::shared_ptr<const ingest::EventInterest> InterestOf(state::ProjectId project) override;
  void OnCommitted(ingest::CommittedChanges changes) override;

  // {"watching_since": ms, "events": [{"seq", "event", "time", "received", "distinct_id",
  // "properties"}]} newest first, only those with seq > `after`; marks the project watched.
  std::string Read(const state::ProjectInfo& project, size_t limit, uint64_t after);

 private:
  struct Stream {
    int64_t watched_at_ms = 0;  // last Read
    int64_t watching_since_ms = 0;
    uint64_t next_seq = 1;
    std::deque<std::pair<uint64_t, store::EventRow>> events;  // oldest first
  };

  Clock* clock_;
  state::SchemaRegistry* schemas_;
  const size_t capacity_;
  const int64_t watch_ms_;
  const std::shared_ptr<const ingest::EventInterest> all_events_;
  std::mutex mu_;
  std::map<state::ProjectId, Stream> streams_;  // guarded by mu_
};

}  // namespace sextant::server
