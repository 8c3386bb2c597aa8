#include "journey/decision_ledger.h"

#include "channel/crypto.h"

namespace sextant::journey {
namespace {

const std::string kZeroHash(64, '0');

std::string Prefix(std::string_view space, state::ProjectId project) {
  return std::string(space) + "/" + std::to_string(project) + "/";
}

std::string ChainHash(std::string_view previous, std::string_view body) {
  std::string input;
  input.reserve(previous.size() + body.size());
  input.append(previous).append(body);
  return channel::Sha256Hex(input);
}

// The stored form with the sequence and hashes spliced into the body object.
std::string Render(uint64_t sequence, std::string_view stored) {
  std::string_view hash = stored.substr(0, 64), previous = stored.substr(64, 64);
  std::string_view body = stored.substr(128);
  std::string out = "{\"seq\":" + std::to_string(sequence) + ",\"hash\":\"" + std::string(hash) +
                    "\",\"prev\":\"" + std::string(previous) + "\"";
  if (body.size() > 2)
    out += "," + std::string(body.substr(1));
  else
    out += "}";
  return out;
}

}  // namespace

std::string LedgerKey(state::ProjectId project, uint64_t sequence) {
  std::string key = Prefix("led", project);
  state::AppendBigEndian64(sequence, &key);
  return key;
}

Result<DecisionLedger::Head*> DecisionLedger::HeadOf(state::ProjectId project) {
  Head& head = heads_[project];
  if (head.loaded) return &head;
  head.hash = kZeroHash;
  const std::string prefix = Prefix("led", project);
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      prefix,
      [&](std::string_view key, std::string_view value) {
        head.sequence = state::ReadBigEndian64(key.substr(prefix.size()));
        head.hash = std::string(value.substr(0, 64));
        return false;
      },
      /*reverse=*/true));
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
  std::string hash = ChainHash((*head)->hash, body_json);
  std::string value = hash + (*head)->hash + body_json;
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
    out += Render(sequence, stored);
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

Result<LedgerVerification> DecisionLedger::Verify(state::ProjectId project) const {
  LedgerVerification verification;
  verification.head_hash = kZeroHash;
  const std::string prefix = Prefix("led", project);
  uint64_t expected = 1;
  SEXTANT_RETURN_IF_ERROR(
      kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
        const uint64_t sequence = state::ReadBigEndian64(key.substr(prefix.size()));
        auto fail = [&](std::string reason) {
          verification.valid = false;
          verification.first_bad_sequence = sequence;
          verification.reason = std::move(reason);
          return false;
        };
        if (sequence != expected) return fail("entry " + std::to_string(expected) + " is missing");
        if (value.size() < 128) return fail("entry is truncated");
        if (value.substr(64, 64) != verification.head_hash)
          return fail("previous hash does not match");
        if (ChainHash(verification.head_hash, value.substr(128)) != value.substr(0, 64)) {
          return fail("hash does not match the entry's content");
        }
        verification.head_hash = std::string(value.substr(0, 64));
        ++verification.entries;
        ++expected;
        return true;
      }));
  return verification;
}

}  // namespace sextant::journey
