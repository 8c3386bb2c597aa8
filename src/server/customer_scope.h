// The customers a caller scoped to a branch may see (docs/access.md, "Organisation tree").
//
// A customer belongs to the org unit in their profile property `org_unit`; a customer without
// one belongs to the unit of the account named by their `advisor_id` (the advisor who serves
// them); a customer with neither belongs to head office only. A principal whose org unit is
// below the root (and who is not an admin) sees the customers of its unit and the units below
// it — in customer lookups (RequestRouter::CheckCustomerScope), in every analysis query and in
// segment sizes and member lists (through the CustomerScope built here).
#pragma once

#include <optional>

#include "access/account_store.h"
#include "audience/audience_engine.h"

namespace sextant::server {

// The scope of `principal`, or nullopt when it sees every customer. Reads the account tree
// once, so an advisor moved between branches counts where they are now.
std::optional<audience::CustomerScope> CustomerScopeOf(const access::Principal& principal,
                                                       const access::AccountStore& accounts);

}  // namespace sextant::server
