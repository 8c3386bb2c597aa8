#include "journey/decision_ledger.h"

#include <simdjson.h>

#include "common/json_writer.h"
#include "state/hash_chain.h"

namespace sextant::journey {
namespace {

std::string Prefix(std::string_view space, state::ProjectId project) {
  return std::string(space) + "/" + std::to_string(project) + "/";
}

// The fields of a ledger entry that say what was decided without saying about whom.
constexpr std::string_view kKeptOnRedaction[] = {
    "kind",    "decision", "reason", "time",     "journey", "version",  "node",
    "channel", "purpose",  "arm",    "variant",  "template", "touch_id", "assignee"};

}  // namespace

std::string LedgerKey(state::ProjectId project, uint64_t sequence) {
  std::string key = Prefix("led", project);
  state::AppendBigEndian64(sequence, &key);
  return key;
}

Result<DecisionLedger::Head*> DecisionLedger::HeadOf(state::ProjectId project) {
  Head& head = heads_[project];
  if (head.loaded) return &head;
  auto stored = state::ReadChainHead(*kv_, Prefix("led", project));
  if (!stored.ok()) return stored.status();
  head.sequence = stored->sequence;
  head.hash = std::move(stored->hash);
  head.loaded = true;
  return &head;
}

Result<uint64_t> DecisionLedger::Append(state::ProjectId project, store::UserId user,
                                        const std::string& journey_id, const std::string& body_json,
                                        state::KvStore::Batch* batch) {
  std::lock_guard lock(mu_);
  auto head = HeadOf(project);
  if (!head.ok()) return head.status();
  const uint64_t sequence = (*head)->sequence + 1;
  std::string hash;
  std::string value = state::ChainValue((*head)->hash, body_json, &hash);
  batch->Put(LedgerKey(project, sequence), value);
  std::string by_user = Prefix("ledu", project);
  state::AppendBigEndian32(user, &by_user);
  state::AppendBigEndian64(sequence, &by_user);
  batch->Put(by_user, "");
  std::string by_journey = Prefix("ledj", project) + journey_id + '\x1f';
  state::AppendBigEndian64(sequence, &by_journey);
  batch->Put(by_journey, "");
  (*head)->sequence = sequence;
  (*head)->hash = std::move(hash);
  return sequence;
}

Result<std::string> DecisionLedger::Query(state::ProjectId project, store::UserId user,
                                          const std::string& journey_id, size_t limit) const {
  std::vector<uint64_t> sequences;
  if (user != 0 || !journey_id.empty()) {
    std::string prefix;
    if (user != 0) {
      prefix = Prefix("ledu", project);
      state::AppendBigEndian32(user, &prefix);
    } else {
      prefix = Prefix("ledj", project) + journey_id + '\x1f';
    }
    SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
        prefix,
        [&](std::string_view key, std::string_view) {
          sequences.push_back(state::ReadBigEndian64(key.substr(prefix.size())));
          return sequences.size() < limit;
        },
        /*reverse=*/true));
  }
  std::string out = "[";
  auto add = [&](uint64_t sequence, std::string_view stored) {
    if (out.size() > 1) out += ",";
    out += state::RenderChainEntry(sequence, stored);
  };
  if (user != 0 || !journey_id.empty()) {
    for (uint64_t sequence : sequences) {
      auto stored = kv_->Get(LedgerKey(project, sequence));
      if (!stored.ok()) return stored.status();
      add(sequence, *stored);
    }
  } else {
    const std::string prefix = Prefix("led", project);
    size_t count = 0;
    SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
        prefix,
        [&](std::string_view key, std::string_view value) {
          add(state::ReadBigEndian64(key.substr(prefix.size())), value);
          return ++count < limit;
        },
        /*reverse=*/true));
  }
  out += "]";
  return out;
}

Result<uint64_t> DecisionLedger::RedactUser(state::ProjectId project, store::UserId user,
                                            state::KvStore::Batch* batch) {
  std::string prefix = Prefix("ledu", project);
  state::AppendBigEndian32(user, &prefix);
  std::vector<uint64_t> sequences;
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view) {
    sequences.push_back(state::ReadBigEndian64(key.substr(prefix.size())));
    return true;
  }));
  simdjson::dom::parser parser;
  for (uint64_t sequence : sequences) {
    auto stored = kv_->Get(LedgerKey(project, sequence));
    if (!stored.ok()) return stored.status();
    JsonWriter redacted;
    redacted.BeginObject();
    simdjson::dom::object body;
    // An unreadable body keeps nothing but the mark (its digest still chains).
    if (parser.parse(state::ChainEntryBody(*stored)).get(body) == simdjson::SUCCESS) {
      for (auto field : body) {
        for (std::string_view kept : kKeptOnRedaction) {
          if (field.key != kept) continue;
          redacted.Key(field.key).Raw(simdjson::minify(field.value));
        }
      }
    }
    redacted.Key("erased").Bool(true);
    redacted.EndObject();
    batch->Put(LedgerKey(project, sequence), state::RedactChainEntry(*stored, redacted.Take()));
  }
  return static_cast<uint64_t>(sequences.size());
}

Result<LedgerVerification> DecisionLedger::Verify(state::ProjectId project) const {
  return state::VerifyChain(*kv_, Prefix("led", project));
}

}  // namespace sextant::journey
