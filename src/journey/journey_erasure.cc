// JourneyEngine::ErasePeople: a person's erasure from the journey state (docs/access.md,
// "Erasure"; key layout in docs/storage-format.md, "jrn/").
#include <simdjson.h>

#include <algorithm>
#include <unordered_set>

#include "journey/journey_engine.h"
#include "journey/journey_internal.h"

namespace sextant::journey {

namespace {

// The user id a JSON record (outbox message, task) is about; 0 if it names none.
UserId UserOf(simdjson::dom::parser& parser, std::string_view json) {
  simdjson::dom::element root;
  uint64_t user = 0;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return 0;
  if (root["user"].get_uint64().get(user) != simdjson::SUCCESS) return 0;
  return static_cast<UserId>(user);
}

}  // namespace

Result<JourneyEngine::ErasedJourneyState> JourneyEngine::ErasePeople(
    const state::ProjectInfo& project, const std::vector<UserId>& users) {
  ErasedJourneyState erased;
  if (users.empty()) return erased;
  // Events handed over before the erasure would otherwise enter them again afterwards.
  Drain();
  const std::unordered_set<UserId> targets(users.begin(), users.end());
  // No delivery pass in flight: it settles without `mu` and would write back a retry of an
  // outbox record erased here. Lock order: delivery_mu before mu.
  std::lock_guard delivery_lock(impl_->delivery_mu);
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  state::KvStore& kv = *impl_->kv;
  const ProjectId pid = project.id;
  state::KvStore::Batch batch;
  auto delete_prefix = [&](const std::string& prefix, uint64_t* count,
                           const std::function<bool(std::string_view key,
                                                    std::string_view value)>& matches) -> Status {
    std::vector<std::string> keys;
    SEXTANT_RETURN_IF_ERROR(kv.ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
      if (matches(key.substr(prefix.size()), value)) keys.emplace_back(key);
      return true;
    }));
    for (const std::string& key : keys) batch.Delete(key);
    if (count != nullptr) *count += keys.size();
    return Status::Ok();
  };
  auto user_suffix = [](std::string_view rest) -> UserId {
    return rest.size() >= 4 ? state::ReadBigEndian32(rest.substr(rest.size() - 4)) : 0;
  };

  for (auto& [id, journey] : (*runtime)->journeys) {
    for (UserId user : users) {
      const std::string key = InstanceKey(pid, id, user);
      if (kv.Get(key).ok()) {
        batch.Delete(key);
        ++erased.instances;
      }
      journey.active.remove(user);
      journey.waiting.remove(user);
      journey.with_instance.remove(user);
      for (auto& [node_id, members] : journey.at_node) members.remove(user);
    }
    // A scheduled entry still walking its customers skips them.
    if (journey.fire_cursor < journey.fire_queue.size()) {
      auto begin = journey.fire_queue.begin() + static_cast<std::ptrdiff_t>(journey.fire_cursor);
      journey.fire_queue.erase(std::remove_if(begin, journey.fire_queue.end(),
                                              [&](UserId user) { return targets.count(user) > 0; }),
                               journey.fire_queue.end());
    }
  }
  // Timers: "t/<due BE64><journey id>\x1f<user BE32>".
  SEXTANT_RETURN_IF_ERROR(delete_prefix(JourneyKey(pid, "t"), &erased.timers,
                                        [&](std::string_view rest, std::string_view) {
                                          return targets.count(user_suffix(rest)) > 0;
                                        }));
  // Keyed by user first: touch history, response counts, priority claims, consent, in-app.
  for (UserId user : users) {
    (*runtime)->touch_history.Erase(user);
    (*runtime)->with_response_counts.remove(user);
    (*runtime)->with_consent.remove(user);
    for (const char* space : {"h", "r", "p", "x", "m"}) {
      std::string prefix = JourneyKey(pid, space);
      state::AppendBigEndian32(user, &prefix);
      uint64_t* count = std::string_view(space) == "h"   ? &erased.touches
                        : std::string_view(space) == "m" ? &erased.messages
                                                         : nullptr;
      SEXTANT_RETURN_IF_ERROR(
          delete_prefix(prefix, count, [](std::string_view, std::string_view) { return true; }));
    }
  }
  // Undelivered outbox records and advisor tasks name the user inside.
  simdjson::dom::parser parser;
  SEXTANT_RETURN_IF_ERROR(delete_prefix(JourneyKey(pid, "o"), &erased.messages,
                                        [&](std::string_view, std::string_view value) {
                                          return targets.count(UserOf(parser, value)) > 0;
                                        }));
  std::unordered_set<std::string> task_ids;
  SEXTANT_RETURN_IF_ERROR(delete_prefix(JourneyKey(pid, "k"), &erased.tasks,
                                        [&](std::string_view task_id, std::string_view value) {
                                          if (targets.count(UserOf(parser, value)) == 0)
                                            return false;
                                          task_ids.emplace(task_id);
                                          return true;
                                        }));
  // Task deadlines: "ts/<deadline BE64><task id>".
  SEXTANT_RETURN_IF_ERROR(delete_prefix(JourneyKey(pid, "ts"), nullptr,
                                        [&](std::string_view rest, std::string_view) {
                                          return rest.size() > 8 &&
                                                 task_ids.count(std::string(rest.substr(8))) > 0;
                                        }));
  for (UserId user : users) {
    auto redacted = impl_->ledger.RedactUser(pid, user, &batch);
    if (!redacted.ok()) return redacted.status();
    erased.ledger_entries += *redacted;
  }
  SEXTANT_RETURN_IF_ERROR(kv.Write(&batch));
  SEXTANT_RETURN_IF_ERROR(kv.SyncWal());
  return erased;
}

}  // namespace sextant::journey
