// RouteTable: every endpoint under /api/v1 with the access it needs. The router authorises a
// request against this table before any handler runs, so an endpoint missing here answers 404
// and an endpoint cannot be reached without the permission written next to it. The black-box
// test tests/blackbox/access.test.js walks GET /api/v1/auth/routes (this table) and proves,
// route by route, that no route answers without authentication and none answers to a role
// that lacks its permission.
//
// Thread-safety: immutable after static initialisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ostream>

#include <boost/beast/http/verb.hpp>

#include "access/permission.h"

namespace sextant::server {

enum class RouteAccess {
  kPublic,         // no bearer token: login, and endpoints with their own token (in-app, unsubscribe)
  kAuthenticated,  // any signed-in caller (who am I, log out, own API tokens)
  kPermission,     // the caller must hold `permission`
};

struct Route {
  boost::beast::http::verb method;
  // Segments separated by '/'; "{name}" matches any one non-empty segment. Literal routes are
  // listed before the parameterised ones they overlap ("journeys/dry-run" before "journeys/{id}").
  std::string_view pattern;
  RouteAccess access;
  access::Permission permission = access::Permission::kAdmin;  // when access == kPermission
  // For project routes: only some rows are the caller's (advisors see their own tasks).
  std::string_view note = {};
  // Whether a call is written to the audit trail: every method but GET, except the POSTs that
  // only read (queries, estimates, dry runs, previews) and the data path (records).
  bool audited = false;
  // Whether the answer carries customer data: masked for callers without pii.read
  // (access/pii_masking.h), and a CSV answer is an export (audited).
  bool customer_data = false;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method (see path_known)
  bool path_known = false;       // some route has this path with another method → 405
  std::string allowed_methods;   // when path_known and no route
  std::string project;           // the {project} segment, if the pattern has one
};

const std::vector<Route>& ApiRoutes();
RouteMatch MatchRoute(boost::beast::http::verb method, std::string_view path);
// {"routes": [{"method", "path", "access", "permission"?}]} — GET /api/v1/auth/routes.
std::string RouteTableJson();

}  // namespace sextant::server
