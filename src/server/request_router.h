// RequestRouter: maps HTTP requests to the ingest endpoints (Sensors /sa, /sa.gif, /debug;
// Segment /v1/*; native /api/v1/projects/{p}/records), the read API under /api/v1, and
// /healthz and /metrics. Status codes and error bodies are decided here, in one place
// (HttpStatusFor). See docs/openapi.yaml.
// Thread-safety: thread-safe; Handle() is called from every I/O thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "access/account_store.h"
#include "audience/audience_engine.h"
#include "server/http_server.h"
#include "state/project_registry.h"
#include "store/event_row.h"

namespace sextant::server {

class Application;

class RequestRouter {
 public:
  explicit RequestRouter(Application* app) : app_(app) {}
  void Handle(HttpRequest& request, const RequestInfo& info, Responder respond);

 private:
  void HandleSensors(HttpRequest& request, const RequestInfo& info, std::string_view path,
                     std::string_view query, Responder respond);
  void HandleSegment(HttpRequest& request, const RequestInfo& info, std::string_view kind,
                     Responder respond);
  void HandleApi(HttpRequest& request, const RequestInfo& info, std::string_view path,
                 std::string_view query, Responder respond);
  void HandleRecords(HttpRequest& request, const RequestInfo& info, const std::string& project,
                     Responder respond);
  // /api/v1/projects/{p}/metrics[/{id}[/run]] and /dashboards[/{id}[/run]] (docs/query.md).
  // `scope`: the caller's customers when it is scoped to a branch (customer_scope.h).
  using Scope = std::shared_ptr<const audience::CustomerScope>;
  void HandleCatalog(HttpRequest& request, std::shared_ptr<const state::ProjectInfo> project,
                     const std::vector<std::string>& parts, Scope scope, Responder respond);
  // /segments/..., /tags/... and /users/{id}/segments of a project (docs/segments.md).
  void HandleAudience(HttpRequest& request, std::shared_ptr<const state::ProjectInfo> project,
                      const std::vector<std::string>& parts, std::string_view query, Scope scope,
                      Responder respond);
  // /journeys/..., /touch-rules, /channels/..., /templates/..., /ledger, /tasks/...,
  // /users/{id}/consent of a project (docs/journeys.md, docs/touch-rules.md).
  void HandleJourneys(HttpRequest& request, std::shared_ptr<const state::ProjectInfo> project,
                      const std::vector<std::string>& parts, std::string_view query,
                      const access::Principal& principal, Responder respond);
  // POST /api/v1/auth/login (on the query pool: password hashing takes tens of milliseconds).
  void HandleLogin(HttpRequest& request, const RequestInfo& info, Responder respond);
  // /api/v1/auth/... (me, logout, password, tokens, routes) and /api/v1/admin/accounts/...
  void HandleAuth(HttpRequest& request, const std::vector<std::string>& parts,
                  const access::Principal& principal, Responder respond);
  // Endpoints under /api/v1 that do not take the admin token: the in-app pull (project token)
  // and the unsubscribe link (signed token). Returns false when `path` is neither.
  bool HandlePublicApi(HttpRequest& request, std::string_view path, std::string_view query,
                       Responder& respond);
  // /api/v1/admin/operators and /api/v1/admin/clock (simulated clock only).
  void HandleAdmin(HttpRequest& request, const std::vector<std::string>& parts,
                   Responder respond);
  std::string Metrics() const;
  // One customer's identities, profile and tags (GET /users/{id}).
  Result<std::string> UserJson(const state::ProjectInfo& project, store::UserId user);
  // Their events, newest first, as a JSON array.
  Result<std::string> UserEventsJson(const state::ProjectInfo& project, store::UserId user,
                                     size_t limit);
  // Everything held about one customer (GET /users/{id}/export; docs/access.md).
  // For a principal scoped to an org unit (a branch manager): OK when customer `id` belongs to
  // that unit or below (docs/access.md "Organisation tree"), else kForbidden naming both.
  // For a branch-scoped caller: what the route answers when it spans every branch's customers
  // and cannot be restricted to one (it is then refused), or nullptr.
  void WriteRetention(const state::ProjectInfo& project, JsonWriter& writer) const;
  static const char* CrossBranchAnswer(const std::vector<std::string>& parts);
  Status CheckCustomerScope(const state::ProjectInfo& project, const std::string& id,
                            const std::string& key, const access::Principal& principal);
  Result<std::string> CustomerExport(const state::ProjectInfo& project, store::UserId user,
                                     const std::string& distinct_id);

  Application* app_;
};

// ErrorCode → HTTP status, for API answers.
int HttpStatusFor(ErrorCode code);

}  // namespace sextant::server
