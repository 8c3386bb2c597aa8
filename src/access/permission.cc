#include "access/permission.h"

#include <array>
#include <initializer_list>

namespace sextant::access {

namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Permission::kCount)> kNames = {
    "admin",         "data.read",     "data.write",      "pii.read",     "analysis.read",
    "analysis.write", "audience.read", "audience.write", "journey.read", "journey.write",
    "journey.approve", "rules.read",  "rules.write",     "task.read",    "task.work",
    "ledger.read",   "audit.read",
};

PermissionSet SetOf(std::initializer_list<Permission> permissions) {
  PermissionSet set;
  for (Permission permission : permissions) set.set(static_cast<size_t>(permission));
  return set;
}

}  // namespace

std::string_view PermissionName(Permission permission) {
  return kNames[static_cast<size_t>(permission)];
}

std::optional<Permission> ParsePermission(std::string_view name) {
  for (size_t index = 0; index < kNames.size(); ++index) {
    if (kNames[index] == name) return static_cast<Permission>(index);
  }
  return std::nullopt;
}

PermissionSet AllPermissions() { return PermissionSet().set(); }

std::vector<std::string> PermissionNames(const PermissionSet& set) {
  std::vector<std::string> names;
  for (size_t index = 0; index < kNames.size(); ++index) {
    if (set.test(index)) names.emplace_back(kNames[index]);
  }
  return names;
}

const std::vector<std::string>& RoleNames() {
  static const std::vector<std::string> kRoles = {"admin",   "operator", "approver",
                                                  "analyst", "advisor",  "auditor"};
  return kRoles;
}

std::optional<PermissionSet> RolePermissions(std::string_view role) {
  using P = Permission;
  if (role == "admin") return AllPermissions();
  // Builds segments and journeys, runs analysis; cannot approve or see the audit trail.
  if (role == "operator") {
    return SetOf({P::kDataRead, P::kDataWrite, P::kAnalysisRead, P::kAnalysisWrite,
                  P::kAudienceRead, P::kAudienceWrite, P::kJourneyRead, P::kJourneyWrite,
                  P::kRulesRead, P::kRulesWrite, P::kTaskRead, P::kLedgerRead});
  }
  // Reviews what operators submit: reads everything a journey depends on, changes nothing else.
  if (role == "approver") {
    return SetOf({P::kDataRead, P::kAnalysisRead, P::kAudienceRead, P::kJourneyRead,
                  P::kJourneyApprove, P::kRulesRead, P::kLedgerRead});
  }
  // Read-only analysis.
  if (role == "analyst") {
    return SetOf({P::kDataRead, P::kAnalysisRead, P::kAudienceRead, P::kJourneyRead});
  }
  // Their own tasks, with their customers' contact details unmasked (they call them).
  if (role == "advisor") return SetOf({P::kTaskRead, P::kTaskWork, P::kPiiRead});
  // Read-only audit and ledger, and the journeys and rules those entries refer to.
  if (role == "auditor") {
    return SetOf({P::kAuditRead, P::kLedgerRead, P::kJourneyRead, P::kRulesRead});
  }
  return std::nullopt;
}

}  // namespace sextant::access
