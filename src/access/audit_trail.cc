#include "access/audit_trail.h"

#include "common/json_writer.h"

namespace sextant::access {

Result<uint64_t> AuditTrail::Append(const AuditEntry& entry) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("time").Int(clock_->NowMs());
  writer.Key("actor").String(entry.actor);
  writer.Key("actor_kind").String(entry.actor_kind);
  writer.Key("action").String(entry.action);
  writer.Key("method").String(entry.method);
  writer.Key("route").String(entry.route);
  writer.Key("target").String(entry.target);
  if (!entry.project.empty()) writer.Key("project").String(entry.project);
  writer.Key("peer").String(entry.peer);
  writer.Key("status").Int(entry.status);
  if (!entry.detail.empty()) writer.Key("detail").String(entry.detail);
  writer.EndObject();
  const std::string body = writer.Take();
  std::lock_guard lock(mu_);
  if (!head_loaded_) {
    auto head = state::ReadChainHead(*kv_, kAuditPrefix);
    if (!head.ok()) return head.status();
    head_ = std::move(*head);
    head_loaded_ = true;
  }
  const uint64_t sequence = head_.sequence + 1;
  std::string key(kAuditPrefix);
  state::AppendBigEndian64(sequence, &key);
  std::string hash;
  SEXTANT_RETURN_IF_ERROR(kv_->Put(key, state::ChainValue(head_.hash, body, &hash)));
  SEXTANT_RETURN_IF_ERROR(kv_->SyncWal());
  head_.sequence = sequence;
  head_.hash = std::move(hash);
  return sequence;
}

Result<std::string> AuditTrail::Query(size_t limit, uint64_t before,
                                      const std::string& actor) const {
  std::string out = "{\"entries\":[";
  size_t count = 0;
  const std::string needle = actor.empty() ? std::string() : "\"actor\":" + [&] {
    JsonWriter writer;
    writer.String(actor);
    return writer.Take();
  }();
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      kAuditPrefix,
      [&](std::string_view key, std::string_view value) {
        const uint64_t sequence = state::ReadBigEndian64(key.substr(kAuditPrefix.size()));
        if (before != 0 && sequence >= before) return true;
        if (value.size() < 128) return true;
        if (!needle.empty() && value.substr(128).find(needle) == std::string_view::npos)
          return true;
        out += (count ? "," : "") + state::RenderChainEntry(sequence, value);
        return ++count < limit;
      },
      /*reverse=*/true));
  return out + "]}";
}

Result<state::ChainVerification> AuditTrail::Verify() const {
  return state::VerifyChain(*kv_, kAuditPrefix);
}

}  // namespace sextant::access
