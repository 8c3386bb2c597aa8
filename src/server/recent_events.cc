#include "server/recent_events.h"

#include "common/json_writer.h"

namespace sextant::server {

RecentEvents::RecentEvents(Clock* clock, state::SchemaRegistry* schemas, size_t capacity,
                           int64_t watch_ms)
    : clock_(clock),
      schemas_(schemas),
      capacity_(capacity),
      watch_ms_(watch_ms),
      all_events_([] {
        auto interest = std::make_shared<ingest::EventInterest>();
        interest->all = true;
        return interest;
      }()) {}

std::shared_ptr<const ingest::EventInterest> RecentEvents::InterestOf(state::ProjectId project) {
  std::lock_guard lock(mu_);
  auto found = streams_.find(project);
  if (found == streams_.end() || clock_->NowMs() - found->second.watched_at_ms > watch_ms_)
    return nullptr;
  return all_events_;
}

void RecentEvents::OnCommitted(ingest::CommittedChanges changes) {
  if (changes.events.empty()) return;
  std::lock_guard lock(mu_);
  Stream& stream = streams_[changes.project];
  // Only the newest `capacity_` of a large batch can survive; skip the rest without copying.
  const size_t first =
      changes.events.size() > capacity_ ? changes.events.size() - capacity_ : 0;
  stream.next_seq += first;
  for (size_t index = first; index < changes.events.size(); ++index) {
    stream.events.emplace_back(stream.next_seq++, std::move(changes.events[index]));
    if (stream.events.size() > capacity_) stream.events.pop_front();
  }
}

std::string RecentEvents::Read(const state::ProjectInfo& project, size_t limit, uint64_t after) {
  const int64_t now = clock_->NowMs();
  std::vector<std::pair<uint64_t, store::EventRow>> picked;
  int64_t since = 0;
  {
    std::lock_guard lock(mu_);
    Stream& stream = streams_[project.id];
    if (now - stream.watched_at_ms > watch_ms_) {
      stream.watching_since_ms = now;  // a new watch: what was kept before is stale
      stream.events.clear();
    }
    stream.watched_at_ms = now;
    since = stream.watching_since_ms;
    for (auto it = stream.events.rbegin(); it != stream.events.rend() && picked.size() < limit;
         ++it) {
      if (it->first <= after) break;
      picked.push_back(*it);
    }
  }
  state::ProjectSchema* schema = schemas_->ForProject(project);
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("watching_since").Int(since);
  writer.Key("events").BeginArray();
  for (const auto& [seq, row] : picked) {
    writer.BeginObject();
    writer.Key("seq").Uint(seq);
    writer.Key("event").String(schema->EventName(row.event_id));
    writer.Key("time").Int(row.time_ms);
    writer.Key("received").Int(row.receive_time_ms);
    writer.Key("distinct_id").String(row.distinct_id);
    writer.Key("properties").BeginObject();
    for (const store::PropertyCell& cell : row.properties) {
      writer.Key(schema->PropertyName(cell.property_id));
      writer.PropertyValue(cell.value, project.time_zone);
    }
    writer.EndObject();
    writer.EndObject();
  }
  writer.EndArray().EndObject();
  return writer.Take();
}

}  // namespace sextant::server
