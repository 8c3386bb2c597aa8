// PII classification and masking. Profile properties, event properties and identity keys that
// hold personal data (phone, id-card number, name, email, address) are classified per project;
// API answers with customer data are masked for callers without the pii.read permission
// (docs/access.md, "Personal data").
//
// What is masked, exactly:
// - in JSON answers: members of any object that is the value of a "profile" or "properties"
//   key, when the member's name is classified; and {"key": k, "value": v} elements of an
//   "identities" array when k is classified. Nothing else — configuration (journey definitions,
//   segment rules) is never rewritten.
// - in CSV answers (exports): the columns whose header is classified.
// Masks keep enough to recognise a customer on the phone, not to reach them: 138****5678,
// 1101**********1234, 张*, z***@example.com, 上海市浦东新****.
//
// Thread-safety: PiiPolicy is immutable after construction; PiiRegistry is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "state/kv_store.h"

namespace sextant::access {

enum class PiiKind { kPhone, kIdCard, kName, kEmail, kAddress, kSecret };

std::string_view PiiKindName(PiiKind kind);
std::optional<PiiKind> ParsePiiKind(std::string_view name);
// The masked form of `text` (UTF-8 aware: a name keeps its first character, not its first byte).
std::string MaskText(PiiKind kind, std::string_view text);

class PiiPolicy {
 public:
  // The built-in classification: common property and identity names (phone, mobile,
  // $identity_mobile, id_card, name, real_name, email, address, ...).
  static PiiPolicy Defaults();
  // {"fields": {"<property or identity key>": "phone" | "id_card" | "name" | "email" |
  // "address" | "secret" | "none"}} on top of the defaults ("none" declassifies a default).
  static Result<PiiPolicy> FromJson(std::string_view json);
  std::string ToJson() const;

  std::optional<PiiKind> KindOf(std::string_view field) const;
  bool empty() const { return fields_.empty(); }

  // The answer with classified values masked (see the file comment). A body that is not valid
  // JSON is returned as it is.
  std::string MaskJson(std::string_view json) const;
  std::string MaskCsv(std::string_view csv) const;

 private:
  std::map<std::string, PiiKind, std::less<>> fields_;
  std::map<std::string, std::string> overrides_;  // as given, for ToJson
};

// The policy of each project, stored at "pii/<project>" (the overrides only).
class PiiRegistry {
 public:
  explicit PiiRegistry(state::KvStore* kv) : kv_(kv) {}
  std::shared_ptr<const PiiPolicy> For(const std::string& project);
  // Validates and stores `json` (PiiPolicy::FromJson) for `project`; answers the effective policy.
  Result<std::string> Set(const std::string& project, std::string_view json);

 private:
  state::KvStore* kv_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const PiiPolicy>> cache_;  // guarded by mu_
};

}  // namespace sextant::access
