// Permissions and roles. Every API route declares the one permission it needs
// (server/route_table.cc); an account holds the union of its roles' permissions, and an API
// token at most the scopes it was created with (a subset of its account's permissions).
//
// The role → permission table is the product's access policy; docs/access.md shows it as a
// table and must change with it.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sextant::access {

enum class Permission : uint8_t {
  kAdmin,           // accounts, projects, operators, simulated clock
  kDataRead,        // schema, ingest errors, user lookup, items
  kDataWrite,       // records through the API (import)
  kPiiRead,         // unmasked personal data (phone, id card, name, email)
  kAnalysisRead,    // run analysis queries, open saved metrics and dashboards
  kAnalysisWrite,   // save metrics and dashboards
  kAudienceRead,    // tags and segments, their users and history
  kAudienceWrite,   // create, edit, run tags and segments
  kJourneyRead,     // journeys, reports, dry runs and backtests
  kJourneyWrite,    // create and edit journeys; submit, start, pause, resume, stop, publish
  kJourneyApprove,  // approve / reject journeys and templates (maker-checker)
  kRulesRead,       // touch rules, channels, templates, consent
  kRulesWrite,      // change them
  kTaskRead,        // advisor tasks
  kTaskWork,        // complete advisor tasks
  kLedgerRead,      // the decision ledger
  kAuditRead,       // the audit trail
  kCount
};

using PermissionSet = std::bitset<static_cast<size_t>(Permission::kCount)>;

// "data.read", ... (stable: tokens' scopes and the console use these names).
std::string_view PermissionName(Permission permission);
std::optional<Permission> ParsePermission(std::string_view name);
PermissionSet AllPermissions();
std::vector<std::string> PermissionNames(const PermissionSet& set);

// The built-in roles: admin, operator, approver, analyst, advisor, auditor.
const std::vector<std::string>& RoleNames();
// nullopt for an unknown role.
std::optional<PermissionSet> RolePermissions(std::string_view role);

inline bool Has(const PermissionSet& set, Permission permission) {
  return set.test(static_cast<size_t>(permission));
}

}  // namespace sextant::access
