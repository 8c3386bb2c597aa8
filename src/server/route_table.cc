#include "server/route_table.h"

#include "common/json_writer.h"

namespace sextant::server {

namespace http = boost::beast::http;
using access::Permission;

namespace {

constexpr http::verb kGet = http::verb::get;
constexpr http::verb kPost = http::verb::post;
constexpr http::verb kPut = http::verb::put;
constexpr http::verb kDelete = http::verb::delete_;

Route Open(http::verb method, std::string_view pattern) {
  return Route{method, pattern, RouteAccess::kPublic};
}
Route SignedIn(http::verb method, std::string_view pattern) {
  return Route{method, pattern, RouteAccess::kAuthenticated};
}
Route Needs(http::verb method, std::string_view pattern, Permission permission,
            std::string_view note = {}) {
  return Route{method, pattern, RouteAccess::kPermission, permission, note};
}

std::vector<Route> BuildRoutes() {
  using P = Permission;
  return {
      // --- sign-in and accounts (docs/access.md) ---
      Open(kPost, "/api/v1/auth/login"),
      SignedIn(kPost, "/api/v1/auth/logout"),
      SignedIn(kGet, "/api/v1/auth/me"),
      SignedIn(kPost, "/api/v1/auth/password"),
      SignedIn(kGet, "/api/v1/auth/tokens"),
      SignedIn(kPost, "/api/v1/auth/tokens"),
      SignedIn(kDelete, "/api/v1/auth/tokens/{id}"),
      SignedIn(kGet, "/api/v1/auth/routes"),
      Needs(kGet, "/api/v1/admin/accounts", P::kAdmin),
      Needs(kPost, "/api/v1/admin/accounts", P::kAdmin),
      Needs(kGet, "/api/v1/admin/accounts/{name}", P::kAdmin),
      Needs(kPut, "/api/v1/admin/accounts/{name}", P::kAdmin),
      Needs(kDelete, "/api/v1/admin/accounts/{name}", P::kAdmin),
      Needs(kGet, "/api/v1/admin/operators", P::kAdmin),
      Needs(kPut, "/api/v1/admin/operators", P::kAdmin),
      Needs(kGet, "/api/v1/admin/clock", P::kAdmin),
      Needs(kPost, "/api/v1/admin/clock", P::kAdmin),
      // --- projects and data ---
      SignedIn(kGet, "/api/v1/projects"),  // lists only the caller's projects
      Needs(kPost, "/api/v1/projects", P::kAdmin),
      Needs(kGet, "/api/v1/projects/{project}", P::kDataRead),
      Needs(kPut, "/api/v1/projects/{project}", P::kAdmin,
            "the project's retention by age (deletes expired event days at once)"),
      Needs(kPost, "/api/v1/projects/{project}/records", P::kDataWrite),
      Needs(kGet, "/api/v1/projects/{project}/schema", P::kDataRead),
      Needs(kGet, "/api/v1/projects/{project}/ingest-errors", P::kDataRead),
      // Import jobs: a file uploaded and imported in the background, with its progress.
      Needs(kPost, "/api/v1/projects/{project}/imports", P::kDataWrite),
      Needs(kGet, "/api/v1/projects/{project}/imports", P::kDataRead),
      Needs(kGet, "/api/v1/projects/{project}/imports/{id}", P::kDataRead),
      Needs(kDelete, "/api/v1/projects/{project}/imports/{id}", P::kDataWrite),
      Needs(kGet, "/api/v1/projects/{project}/imports/{id}/errors", P::kDataRead),
      Needs(kPost, "/api/v1/projects/{project}/imports/{id}/cancel", P::kDataWrite),
      Needs(kGet, "/api/v1/projects/{project}/events/recent", P::kDataRead),
      Needs(kGet, "/api/v1/projects/{project}/users/{id}", P::kDataRead),
      Needs(kDelete, "/api/v1/projects/{project}/users/{id}", P::kAdmin,
            "erasure of the customer from every store (data-subject deletion)"),
      Needs(kGet, "/api/v1/projects/{project}/users/{id}/events", P::kDataRead),
      // Data-subject access: everything held about one customer, as a file.
      Needs(kGet, "/api/v1/projects/{project}/users/{id}/export", P::kAdmin),
      Needs(kGet, "/api/v1/projects/{project}/users/{id}/segments", P::kAudienceRead),
      Needs(kGet, "/api/v1/projects/{project}/users/{id}/consent", P::kRulesRead),
      Needs(kPut, "/api/v1/projects/{project}/users/{id}/consent", P::kRulesWrite),
      Needs(kGet, "/api/v1/projects/{project}/items/{item_type}/{item_id}", P::kDataRead),
      Needs(kGet, "/api/v1/projects/{project}/pii", P::kDataRead),
      Needs(kPut, "/api/v1/projects/{project}/pii", P::kAdmin),
      // --- analysis ---
      Needs(kPost, "/api/v1/projects/{project}/query", P::kAnalysisRead),
      Needs(kGet, "/api/v1/projects/{project}/metrics", P::kAnalysisRead),
      Needs(kPost, "/api/v1/projects/{project}/metrics", P::kAnalysisWrite),
      Needs(kGet, "/api/v1/projects/{project}/metrics/{id}", P::kAnalysisRead),
      Needs(kPut, "/api/v1/projects/{project}/metrics/{id}", P::kAnalysisWrite),
      Needs(kDelete, "/api/v1/projects/{project}/metrics/{id}", P::kAnalysisWrite),
      Needs(kPost, "/api/v1/projects/{project}/metrics/{id}/run", P::kAnalysisRead),
      Needs(kGet, "/api/v1/projects/{project}/dashboards", P::kAnalysisRead),
      Needs(kPost, "/api/v1/projects/{project}/dashboards", P::kAnalysisWrite),
      Needs(kGet, "/api/v1/projects/{project}/dashboards/{id}", P::kAnalysisRead),
      Needs(kPut, "/api/v1/projects/{project}/dashboards/{id}", P::kAnalysisWrite),
      Needs(kDelete, "/api/v1/projects/{project}/dashboards/{id}", P::kAnalysisWrite),
      Needs(kGet, "/api/v1/projects/{project}/dashboards/{id}/run", P::kAnalysisRead),
      // --- tags and segments ---
      Needs(kGet, "/api/v1/projects/{project}/segments", P::kAudienceRead),
      Needs(kPost, "/api/v1/projects/{project}/segments", P::kAudienceWrite),
      Needs(kPost, "/api/v1/projects/{project}/segments/estimate", P::kAudienceRead),
      Needs(kGet, "/api/v1/projects/{project}/segments/{id}", P::kAudienceRead),
      Needs(kPut, "/api/v1/projects/{project}/segments/{id}", P::kAudienceWrite),
      Needs(kDelete, "/api/v1/projects/{project}/segments/{id}", P::kAudienceWrite),
      Needs(kPost, "/api/v1/projects/{project}/segments/{id}/refresh", P::kAudienceWrite),
      Needs(kGet, "/api/v1/projects/{project}/segments/{id}/users", P::kAudienceRead),
      Needs(kGet, "/api/v1/projects/{project}/segments/{id}/history", P::kAudienceRead),
      Needs(kPost, "/api/v1/projects/{project}/segments/{id}/insight", P::kAudienceRead),
      Needs(kPost, "/api/v1/projects/{project}/segments/{id}/lookalike", P::kAudienceWrite),
      Needs(kGet, "/api/v1/projects/{project}/tags", P::kAudienceRead),
      Needs(kPost, "/api/v1/projects/{project}/tags", P::kAudienceWrite),
      Needs(kGet, "/api/v1/projects/{project}/tags/categories", P::kAudienceRead),
      Needs(kGet, "/api/v1/projects/{project}/tags/{id}", P::kAudienceRead),
      Needs(kPut, "/api/v1/projects/{project}/tags/{id}", P::kAudienceWrite),
      Needs(kDelete, "/api/v1/projects/{project}/tags/{id}", P::kAudienceWrite),
      Needs(kPost, "/api/v1/projects/{project}/tags/{id}/run", P::kAudienceWrite),
      Needs(kGet, "/api/v1/projects/{project}/tags/{id}/history", P::kAudienceRead),
      Needs(kPost, "/api/v1/projects/{project}/tags/{id}/values", P::kAudienceWrite),  // imports values
      // --- journeys ---
      Needs(kGet, "/api/v1/projects/{project}/journeys", P::kJourneyRead),
      Needs(kPost, "/api/v1/projects/{project}/journeys", P::kJourneyWrite),
      Needs(kPost, "/api/v1/projects/{project}/journeys/dry-run", P::kJourneyRead),
      Needs(kGet, "/api/v1/projects/{project}/journeys/{id}", P::kJourneyRead),
      Needs(kPut, "/api/v1/projects/{project}/journeys/{id}", P::kJourneyWrite),
      Needs(kDelete, "/api/v1/projects/{project}/journeys/{id}", P::kJourneyWrite),
      Needs(kGet, "/api/v1/projects/{project}/journeys/{id}/versions", P::kJourneyRead),
      Needs(kGet, "/api/v1/projects/{project}/journeys/{id}/report", P::kJourneyRead),
      Needs(kGet, "/api/v1/projects/{project}/journeys/{id}/ledger", P::kLedgerRead),
      Needs(kGet, "/api/v1/projects/{project}/journeys/{id}/customers/{distinct_id}",
            P::kJourneyRead),
      Needs(kPost, "/api/v1/projects/{project}/journeys/{id}/backtest", P::kJourneyRead),
      Needs(kPost, "/api/v1/projects/{project}/journeys/{id}/trigger", P::kJourneyWrite),
      Needs(kPost, "/api/v1/projects/{project}/journeys/{id}/approve", P::kJourneyApprove),
      Needs(kPost, "/api/v1/projects/{project}/journeys/{id}/reject", P::kJourneyApprove),
      Needs(kPost, "/api/v1/projects/{project}/journeys/{id}/{action}", P::kJourneyWrite,
            "submit, start, pause, resume, stop, publish"),
      // --- touch rules, channels, templates, consent ---
      Needs(kGet, "/api/v1/projects/{project}/touch-rules", P::kRulesRead),
      Needs(kPut, "/api/v1/projects/{project}/touch-rules", P::kRulesWrite),
      Needs(kGet, "/api/v1/projects/{project}/channels", P::kRulesRead),
      Needs(kPut, "/api/v1/projects/{project}/channels/{name}", P::kRulesWrite),
      Needs(kPost, "/api/v1/projects/{project}/channels/{name}/test", P::kRulesWrite),
      Needs(kGet, "/api/v1/projects/{project}/templates", P::kRulesRead),
      Needs(kPut, "/api/v1/projects/{project}/templates/{name}", P::kRulesWrite),
      Needs(kPost, "/api/v1/projects/{project}/templates/{name}/approve", P::kJourneyApprove),
      Needs(kPost, "/api/v1/projects/{project}/templates/{name}/preview", P::kRulesRead),
      // --- ledger and advisor tasks ---
      Needs(kGet, "/api/v1/projects/{project}/ledger", P::kLedgerRead),
      Needs(kGet, "/api/v1/projects/{project}/ledger/verify", P::kLedgerRead),
      Needs(kGet, "/api/v1/projects/{project}/tasks", P::kTaskRead,
            "an advisor sees only tasks assigned to them or unassigned"),
      Needs(kPost, "/api/v1/projects/{project}/tasks/{task_id}/{action}", P::kTaskWork,
            "an advisor claims unassigned tasks and completes their own"),
      // --- audit trail ---
      Needs(kGet, "/api/v1/audit", P::kAuditRead),
      Needs(kGet, "/api/v1/audit/verify", P::kAuditRead),
      // --- the app's own endpoints (project token / signed link, not a bearer token) ---
      Open(kGet, "/api/v1/projects/{project}/inapp/{distinct_id}"),
      Open(kGet, "/api/v1/projects/{project}/unsubscribe"),
  };
}

// Splits "/a/b/c" into {"a","b","c"}; empty segments (a doubled or trailing slash) are kept so
// that they match nothing.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

// Matches and, on success, extracts the {project} segment.
bool PatternMatches(std::string_view pattern, const std::vector<std::string_view>& parts,
                    std::string* project) {
  std::vector<std::string_view> pattern_parts = SplitPath(pattern);
  if (pattern_parts.size() != parts.size()) return false;
  std::string found_project;
  for (size_t index = 0; index < parts.size(); ++index) {
    std::string_view want = pattern_parts[index];
    if (!want.empty() && want.front() == '{') {
      if (parts[index].empty()) return false;
      if (want == "{project}") found_project = std::string(parts[index]);
    } else if (want != parts[index]) {
      return false;
    }
  }
  *project = std::move(found_project);
  return true;
}

}  // namespace

// POSTs that change nothing (or, for records, are the data path rather than configuration).
constexpr std::string_view kNotAudited[] = {
    "/api/v1/auth/login",  // audited by the login handler, with the outcome
    "/api/v1/projects/{project}/records",
    "/api/v1/projects/{project}/query",
    "/api/v1/projects/{project}/metrics/{id}/run",
    "/api/v1/projects/{project}/segments/estimate",
    "/api/v1/projects/{project}/segments/{id}/insight",
    "/api/v1/projects/{project}/journeys/dry-run",
    "/api/v1/projects/{project}/journeys/{id}/backtest",
    "/api/v1/projects/{project}/templates/{name}/preview",
};

// Answers with customer profiles, identities, event properties or rendered messages.
constexpr std::string_view kCustomerData[] = {
    "/api/v1/projects/{project}/ingest-errors",
    "/api/v1/projects/{project}/events/recent",
    "/api/v1/projects/{project}/users/{id}",
    "/api/v1/projects/{project}/users/{id}/events",
    "/api/v1/projects/{project}/users/{id}/export",
    "/api/v1/projects/{project}/items/{item_type}/{item_id}",
    "/api/v1/projects/{project}/query",
    "/api/v1/projects/{project}/metrics/{id}/run",
    "/api/v1/projects/{project}/dashboards/{id}/run",
    "/api/v1/projects/{project}/segments/{id}/users",
    "/api/v1/projects/{project}/journeys/dry-run",
    "/api/v1/projects/{project}/journeys/{id}/ledger",
    "/api/v1/projects/{project}/journeys/{id}/customers/{distinct_id}",
    "/api/v1/projects/{project}/journeys/{id}/backtest",
    "/api/v1/projects/{project}/templates/{name}/preview",
    "/api/v1/projects/{project}/ledger",
    "/api/v1/projects/{project}/tasks",
};

const std::vector<Route>& ApiRoutes() {
  static const std::vector<Route> kRoutes = [] {
    std::vector<Route> routes = BuildRoutes();
    for (Route& route : routes) {
      route.audited = route.method != kGet;
      for (std::string_view pattern : kNotAudited) route.audited &= route.pattern != pattern;
      for (std::string_view pattern : kCustomerData) route.customer_data |= route.pattern == pattern;
    }
    return routes;
  }();
  return kRoutes;
}

RouteMatch MatchRoute(http::verb method, std::string_view path) {
  RouteMatch match;
  const std::vector<std::string_view> parts = SplitPath(path);
  // A literal segment wins over a parameter: a request for journeys/dry-run must not fall to
  // journeys/{id} when its method differs (that would answer 405 from the wrong route).
  for (const Route& route : ApiRoutes()) {
    std::string project;
    if (!PatternMatches(route.pattern, parts, &project)) continue;
    if (route.method == method) {
      match.route = &route;
      match.project = std::move(project);
      return match;
    }
    match.path_known = true;
    const std::string name(http::to_string(route.method));
    if (match.allowed_methods.find(name) == std::string::npos)
      match.allowed_methods += (match.allowed_methods.empty() ? "" : ", ") + name;
  }
  return match;
}

std::string RouteTableJson() {
  JsonWriter writer;
  writer.BeginObject().Key("routes").BeginArray();
  for (const Route& route : ApiRoutes()) {
    writer.BeginObject();
    writer.Key("method").String(std::string(http::to_string(route.method)));
    writer.Key("path").String(route.pattern);
    writer.Key("access").String(route.access == RouteAccess::kPublic          ? "public"
                                : route.access == RouteAccess::kAuthenticated ? "authenticated"
                                                                              : "permission");
    if (route.access == RouteAccess::kPermission)
      writer.Key("permission").String(access::PermissionName(route.permission));
    if (!route.note.empty()) writer.Key("note").String(route.note);
    writer.Key("audited").Bool(route.audited);
    writer.Key("customer_data").Bool(route.customer_data);
    writer.EndObject();
  }
  writer.EndArray().EndObject();
  return writer.Take();
}

}  // namespace sextant::server
