#include "server/request_router.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <cstring>

#include <simdjson.h>

#include "common/json_writer.h"
#include "decode/base64.h"
#include "decode/form.h"
#include "decode/native_batch.h"
#include "decode/record_parser.h"
#include "decode/segment_spec.h"
#include "decode/sensors_payload.h"
#include "server/application.h"
#include "server/customer_erasure.h"
#include "server/customer_scope.h"
#include "server/route_table.h"
#include "state/hash_chain.h"

namespace sextant::server {

namespace http = boost::beast::http;

namespace {

// The 43-byte transparent 1×1 GIF answered to GET /sa.gif (web SDK image mode).
constexpr unsigned char kPixelGif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}
bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string Header(const HttpRequest& request, http::field field) {
  auto it = request.find(field);
  return it == request.end() ? std::string() : std::string(it->value());
}
std::string Header(const HttpRequest& request, std::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? std::string() : std::string(it->value());
}

std::string ErrorBody(const Status& status) {
  JsonWriter writer;
  writer.BeginObject().Key("error").BeginObject();
  writer.Key("code").Int(static_cast<int>(status.code()));
  writer.Key("name").String(ErrorCodeName(status.code()));
  writer.Key("message").String(status.message());
  if (!status.field().empty()) writer.Key("field").String(status.field());
  writer.EndObject().EndObject();
  return writer.Take();
}

HttpResponse Json(const HttpRequest& request, int status, std::string body) {
  return MakeResponse(request, static_cast<http::status>(status), "application/json",
                      std::move(body));
}
HttpResponse Error(const HttpRequest& request, const Status& status) {
  return Json(request, HttpStatusFor(status.code()), ErrorBody(status));
}

// Adds the CORS headers the web SDK needs: the Origin echoed, with credentials (protocol §6).
void AddCors(const HttpRequest& request, HttpResponse* response) {
  std::string origin = Header(request, http::field::origin);
  if (origin.empty()) return;
  response->set(http::field::access_control_allow_origin, origin);
  response->set(http::field::access_control_allow_credentials, "true");
  response->set(http::field::vary, "Origin");
}

std::string QueryParam(std::string_view query, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> params;
  (void)decode::ParseUrlEncoded(query, &params);
  const std::string* value = decode::FindParam(params, name);
  return value ? *value : std::string();
}

size_t LimitParam(std::string_view query, size_t fallback, size_t max) {
  std::string text = QueryParam(query, "limit");
  size_t value = fallback;
  if (!text.empty()) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value == 0) value = fallback;
  }
  return std::min(value, max);
}

// Splits "/a/b/c" into {"a","b","c"} with each segment percent-decoded.
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(decode::UrlDecode(path.substr(pos, end - pos)));
    pos = end;
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void WriteProperties(JsonWriter& writer, const PropertyMap& properties, const TimeZone& zone) {
  writer.BeginObject();
  for (const auto& [name, value] : properties) {
    writer.Key(name);
    writer.PropertyValue(value, zone);
  }
  writer.EndObject();
}

std::string OutcomeBody(const ingest::IngestOutcome& outcome) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("accepted").Uint(outcome.accepted);
  writer.Key("duplicates").Uint(outcome.duplicates);
  writer.Key("rejected").BeginArray();
  for (const auto& rejected : outcome.rejected) {
    writer.BeginObject();
    writer.Key("index").Uint(rejected.index);
    writer.Key("code").Int(static_cast<int>(rejected.status.code()));
    writer.Key("name").String(ErrorCodeName(rejected.status.code()));
    writer.Key("field").String(rejected.status.field());
    writer.Key("reason").String(rejected.status.message());
    writer.EndObject();
  }
  writer.EndArray().EndObject();
  return writer.Take();
}

}  // namespace

namespace {

// {"valid", "entries", "head_hash", "redacted", "first_bad_sequence"?, "reason"?} of a hash-chain check
// (the decision ledger's and the audit trail's).
std::string VerificationJson(const state::ChainVerification& verification) {
  JsonWriter out;
  out.BeginObject();
  out.Key("valid").Bool(verification.valid);
  out.Key("entries").Uint(verification.entries);
  out.Key("head_hash").String(verification.head_hash);
  out.Key("redacted").Uint(verification.redacted);
  if (!verification.valid) {
    out.Key("first_bad_sequence").Uint(verification.first_bad_sequence);
    out.Key("reason").String(verification.reason);
  }
  out.EndObject();
  return out.Take();
}

}  // namespace

int HttpStatusFor(ErrorCode code) {
  int number = static_cast<int>(code);
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden:
    case ErrorCode::kBadToken: return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kUnknownProject: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kInvalidQuery: return 400;
    case ErrorCode::kQueryTooLarge: return 413;
    case ErrorCode::kTooManyRequests: return 429;
    case ErrorCode::kUnavailable: return 503;
    default: break;
  }
  if (number >= 9000) return 500;
  return 400;
}

void RequestRouter::Handle(HttpRequest& request, const RequestInfo& info, Responder respond) {
  const int64_t started = app_->clock().MonotonicMicros();
  Application* app = app_;
  Responder timed = [app, started, respond = std::move(respond)](HttpResponse response) {
    app->request_latency().Observe((app->clock().MonotonicMicros() - started) / 1e6);
    respond(std::move(response));
  };
  std::string_view target(request.target().data(), request.target().size());
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? std::string_view()
                                                               : target.substr(question + 1);

  if (EndsWith(path, "/sa") || EndsWith(path, "/sa.gif") || EndsWith(path, "/debug"))
    return HandleSensors(request, info, path, query, std::move(timed));
  if (StartsWith(path, "/v1/") && request.method() == http::verb::post)
    return HandleSegment(request, info, path.substr(4), std::move(timed));
  if (StartsWith(path, "/api/v1/") || path == "/api/v1")
    return HandleApi(request, info, path, query, std::move(timed));
  if (path == "/healthz")
    return timed(Json(request, 200, R"({"status":"ok"})"));
  if (path == "/metrics") {
    return timed(MakeResponse(request, http::status::ok, "text/plain; version=0.0.4", Metrics()));
  }
  if (std::optional<HttpResponse> page = app_->console().Serve(request, path))
    return timed(std::move(*page));
  timed(Error(request, Status(ErrorCode::kNotFound, "no such endpoint " + std::string(path))));
}

void RequestRouter::HandleSensors(HttpRequest& request, const RequestInfo& info,
                                  std::string_view path, std::string_view query,
                                  Responder respond) {
  const bool is_get = request.method() == http::verb::get || request.method() == http::verb::head;
  const bool debug = EndsWith(path, "/debug");
  if (request.method() == http::verb::options) {
    HttpResponse response = MakeResponse(request, http::status::no_content, "", "");
    AddCors(request, &response);
    response.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    std::string requested = Header(request, http::field::access_control_request_headers);
    response.set(http::field::access_control_allow_headers,
                 requested.empty() ? "Content-Type, Dry-Run" : requested);
    response.set(http::field::access_control_max_age, "86400");
    return respond(std::move(response));
  }
  if (!is_get && request.method() != http::verb::post) {
    HttpResponse response =
        Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET, POST or OPTIONS"));
    AddCors(request, &response);
    return respond(std::move(response));
  }

  ingest::RequestContext context;
  context.source = debug ? "debug" : "sa";
  context.peer_ip = info.peer_ip;
  context.forwarded_for = Header(request, "X-Forwarded-For");
  context.user_agent = Header(request, http::field::user_agent);
  std::string dry_run = Header(request, "Dry-Run");
  context.dry_run = dry_run == "true" || dry_run == "1";

  // Success answer: a GIF for GETs (image mode), "{}" for /debug, empty otherwise.
  auto success = [request_copy = HttpRequest(request.base()), is_get, debug]() {
    HttpResponse response =
        is_get && !debug
            ? MakeResponse(request_copy, http::status::ok, "image/gif",
                           std::string(reinterpret_cast<const char*>(kPixelGif), sizeof(kPixelGif)))
            : MakeResponse(request_copy, http::status::ok, "application/json", debug ? "{}" : "");
    response.set(http::field::cache_control, "no-cache, no-store");
    AddCors(request_copy, &response);
    return response;
  };
  auto failure = [request_copy = HttpRequest(request.base())](const Status& status) {
    HttpResponse response = Error(request_copy, status);
    AddCors(request_copy, &response);
    return response;
  };

  decode::SensorsPayloadLimits limits;
  limits.split_records = false;  // split and parse in one pass below
  auto payload = decode::DecodeSensorsPayload(query, request.body(), limits);
  std::string project_name = QueryParam(query, "project");
  if (project_name.empty()) project_name = "default";
  context.url_token = QueryParam(query, "token");
  if (!payload.ok()) {
    // Undecodable payloads are logged (never silently dropped); a crc mismatch is answered
    // 200 so that clients do not resend a payload that will never verify.
    Status status = payload.status();
    std::string excerpt = request.body().empty() ? std::string(query) : request.body();
    bool crc = status.code() == ErrorCode::kCrcMismatch;
    app_->pipeline().LogPayloadError(
        project_name, status, std::move(excerpt), context,
        [respond, status, crc, success, failure](Status logged) {
          if (!logged.ok()) return respond(failure(logged));
          respond(crc ? success() : failure(status));
        });
    return;
  }
  if (!payload->project.empty()) project_name = payload->project;
  auto project = app_->projects().Find(project_name);
  TimeZone zone = project ? project->time_zone : TimeZone();
  auto parsed = decode::ParseSensorsRecordList(payload->decoded_json, zone, limits.max_records);
  if (!parsed.ok()) {
    Status status(parsed.status().code(), parsed.status().message(), "data_list");
    app_->pipeline().LogPayloadError(project_name, status, std::move(payload->decoded_json), context,
                                     [respond, status, failure](Status logged) {
                                       respond(failure(logged.ok() ? status : logged));
                                     });
    return;
  }
  if (debug && parsed->size() > 1) {
    return respond(failure(Status(ErrorCode::kTooManyRecords,
                                  "debug mode accepts exactly one record per request",
                                  "data_list")));
  }
  std::vector<ingest::RecordInput> inputs = std::move(parsed.value());
  app_->pipeline().Ingest(
      project_name, std::move(inputs), context,
      [respond, debug, success, failure](ingest::IngestOutcome outcome, Status status) {
        if (!status.ok()) return respond(failure(status));
        if (debug && !outcome.rejected.empty()) {
          const Status& first = outcome.rejected.front().status;
          std::string message = first.field().empty() ? first.message()
                                                      : first.field() + ": " + first.message();
          return respond(failure(Status(first.code(), message, first.field())));
        }
        respond(success());
      });
}

void RequestRouter::HandleSegment(HttpRequest& request, const RequestInfo& info,
                                  std::string_view kind, Responder respond) {
  // Write key from HTTP Basic auth (user name) — "<project>" or "<project>:<token>".
  std::string authorization = Header(request, http::field::authorization);
  std::string write_key;
  if (StartsWith(authorization, "Basic ")) {
    auto decoded = decode::Base64Decode(std::string_view(authorization).substr(6), 4096);
    if (decoded.ok()) write_key = *decoded;
    if (!write_key.empty() && write_key.back() == ':') write_key.pop_back();
  }
  if (write_key.empty()) {
    // analytics-node also accepts the write key in the body; fall back to the default project.
    write_key = "default";
  }
  std::string project_name = write_key, token;
  size_t colon = write_key.find(':');
  if (colon != std::string::npos) {
    project_name = write_key.substr(0, colon);
    token = write_key.substr(colon + 1);
  }
  auto project = app_->projects().Find(project_name);
  if (!project) {
    return respond(Error(request, Status(ErrorCode::kUnknownProject,
                                         "unknown project " + project_name + " (write key)")));
  }
  auto decoded = decode::DecodeSegment(kind, request.body(), project->time_zone);
  ingest::RequestContext context;
  context.source = "segment";
  context.peer_ip = info.peer_ip;
  context.forwarded_for = Header(request, "X-Forwarded-For");
  context.user_agent = Header(request, http::field::user_agent);
  context.url_token = token;
  if (!decoded.ok()) {
    Status status = decoded.status();
    HttpRequest request_copy(request.base());
    app_->pipeline().LogPayloadError(project_name, status, request.body(), context,
                                     [respond, status, request_copy](Status) {
                                       respond(Error(request_copy, status));
                                     });
    return;
  }
  std::vector<ingest::RecordInput> inputs;
  for (auto& message : *decoded) {
    ingest::RecordInput input;
    input.raw_json = request.body().size() <= 2048 ? request.body() : request.body().substr(0, 2048);
    input.parsed = std::move(message);
    inputs.push_back(std::move(input));
  }
  HttpRequest request_copy(request.base());
  app_->pipeline().Ingest(project_name, std::move(inputs), context,
                          [respond, request_copy](ingest::IngestOutcome outcome, Status status) {
                            if (!status.ok()) return respond(Error(request_copy, status));
                            JsonWriter writer;
                            writer.BeginObject().Key("success").Bool(true);
                            writer.Key("accepted").Uint(outcome.accepted);
                            writer.Key("rejected").Uint(outcome.rejected.size());
                            writer.EndObject();
                            respond(Json(request_copy, 200, writer.Take()));
                          });
}

void RequestRouter::HandleRecords(HttpRequest& request, const RequestInfo& info,
                                  const std::string& project_name, Responder respond) {
  auto project = app_->projects().Find(project_name);
  if (!project)
    return respond(Error(request, Status(ErrorCode::kNotFound, "unknown project " + project_name)));
  // A JSON array is split and parsed in one pass; NDJSON line by line.
  constexpr size_t kMaxBatchRecords = 100'000;
  std::vector<ingest::RecordInput> inputs;
  std::string_view body = request.body();
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '[') {
    auto parsed = decode::ParseSensorsRecordList(body, project->time_zone, kMaxBatchRecords);
    if (!parsed.ok()) return respond(Error(request, parsed.status()));
    inputs = std::move(parsed.value());
  } else {
    auto split = decode::SplitNativeBatch(body, kMaxBatchRecords);
    if (!split.ok()) return respond(Error(request, split.status()));
    inputs.reserve(split->size());
    for (std::string& json : *split) {
      ingest::RecordInput input;
      input.parsed = decode::ParseSensorsRecord(json, project->time_zone);
      input.raw_json = std::move(json);
      inputs.push_back(std::move(input));
    }
  }
  ingest::RequestContext context;
  context.source = "batch";
  context.peer_ip = info.peer_ip;
  context.forwarded_for = Header(request, "X-Forwarded-For");
  context.user_agent = Header(request, http::field::user_agent);
  context.all_projects_authorized = true;  // the admin token authorises every project
  std::string dry_run = Header(request, "Dry-Run");
  context.dry_run = dry_run == "true" || dry_run == "1";
  HttpRequest request_copy(request.base());
  app_->pipeline().Ingest(project_name, std::move(inputs), context,
                          [respond, request_copy](ingest::IngestOutcome outcome, Status status) {
                            if (!status.ok()) return respond(Error(request_copy, status));
                            respond(Json(request_copy, 200, OutcomeBody(outcome)));
                          });
}

void RequestRouter::HandleApi(HttpRequest& request, const RequestInfo& info, std::string_view path,
                              std::string_view query, Responder respond) {
  // Authorisation happens here, once, from the route table; handlers below assume it passed.
  if (request.method() == http::verb::options) {
    // CORS preflight of the app's in-app pull from a web page on another origin (it sends the
    // project token in an Authorization header). Nothing else under /api/v1 is for browsers of
    // other origins.
    const RouteMatch get_match = MatchRoute(http::verb::get, path);
    if (get_match.route != nullptr && get_match.route->access == RouteAccess::kPublic &&
        EndsWith(get_match.route->pattern, "/inapp/{distinct_id}")) {
      HttpResponse response = MakeResponse(request, http::status::no_content, "", "");
      AddCors(request, &response);
      response.set(http::field::access_control_allow_methods, "GET, OPTIONS");
      response.set(http::field::access_control_allow_headers, "Authorization");
      response.set(http::field::access_control_max_age, "86400");
      return respond(std::move(response));
    }
  }
  const RouteMatch match = MatchRoute(request.method(), path);
  if (match.route == nullptr) {
    if (match.path_known) {
      return respond(Error(request, Status(ErrorCode::kMethodNotAllowed,
                                           "use " + match.allowed_methods)));
    }
    return respond(
        Error(request, Status(ErrorCode::kNotFound, "no such endpoint " + std::string(path))));
  }
  const Route& route = *match.route;
  if (route.access == RouteAccess::kPublic) {
    if (path == "/api/v1/auth/login") return HandleLogin(request, info, std::move(respond));
    if (HandlePublicApi(request, path, query, respond)) return;
    return respond(
        Error(request, Status(ErrorCode::kNotFound, "no such endpoint " + std::string(path))));
  }
  std::string authorization = Header(request, http::field::authorization);
  if (!StartsWith(authorization, "Bearer ")) {
    HttpResponse response = Error(
        request, Status(ErrorCode::kUnauthorized,
                        "missing bearer token (Authorization: Bearer <token>; sign in with "
                        "POST /api/v1/auth/login)"));
    response.set(http::field::www_authenticate, "Bearer");
    return respond(std::move(response));
  }
  const std::string_view token = std::string_view(authorization).substr(7);
  Result<access::Principal> authenticated = ConstantTimeEquals(token, app_->admin_token())
                                                ? Result<access::Principal>(access::BootstrapAdmin())
                                                : app_->accounts().Authenticate(token);
  if (!authenticated.ok()) {
    HttpResponse response = Error(request, authenticated.status());
    if (authenticated.status().code() == ErrorCode::kUnauthorized)
      response.set(http::field::www_authenticate, "Bearer");
    return respond(std::move(response));
  }
  const access::Principal& principal = *authenticated;
  access::AuditEntry audit;
  audit.actor = principal.name;
  audit.actor_kind = principal.kind;
  audit.method = std::string(http::to_string(request.method()));
  audit.route = std::string(route.pattern);
  audit.target = std::string(path);
  audit.project = match.project;
  audit.peer = info.peer_ip;
  auto refuse = [&](Status status) {
    audit.action = "denied";
    audit.status = HttpStatusFor(status.code());
    audit.detail = status.message();
    (void)app_->audit().Append(audit);  // a refusal is answered even if it cannot be recorded
    respond(Error(request, status));
  };
  if (route.access == RouteAccess::kPermission && !principal.Can(route.permission)) {
    std::string roles;
    for (const std::string& role : principal.roles) roles += (roles.empty() ? "" : ", ") + role;
    return refuse(Status(ErrorCode::kForbidden,
                         audit.method + " " + audit.route + " needs the " +
                             std::string(access::PermissionName(route.permission)) +
                             " permission; " + principal.name + " (" + roles + ", " +
                             principal.kind + ") does not have it"));
  }
  if (!match.project.empty() && !principal.InProject(match.project)) {
    return refuse(Status(ErrorCode::kForbidden,
                         principal.name + " is not a member of project " + match.project));
  }
  if (route.customer_data) {
    // Personal data is masked for callers without pii.read; CSV answers and files are exports
    // and are audited (who took which customers out, and whether they saw the personal data).
    std::shared_ptr<const access::PiiPolicy> policy =
        principal.Can(access::Permission::kPiiRead) ? nullptr : app_->pii().For(match.project);
    access::AuditEntry export_entry = audit;
    export_entry.action = "export";
    export_entry.detail = policy ? "personal data masked" : "personal data unmasked";
    respond = [app = app_, policy, export_entry,
               respond = std::move(respond)](HttpResponse response) mutable {
      const bool csv = StartsWith(std::string(response[http::field::content_type]), "text/csv");
      const bool file = response.find(http::field::content_disposition) != response.end();
      if (policy && response.result_int() < 300) {
        response.body() = csv ? policy->MaskCsv(response.body()) : policy->MaskJson(response.body());
        response.prepare_payload();
      }
      if (csv || file) {
        export_entry.status = static_cast<int>(response.result_int());
        (void)app->audit().Append(export_entry);
      }
      respond(std::move(response));
    };
  }
  if (route.audited) {
    // The change is recorded with its outcome before the answer leaves: an answered change
    // always has its audit entry. If the entry cannot be written, the caller is told (500)
    // although the change itself stands.
    // Erasure of a customer is its own action, recorded with what was removed.
    const bool erasure = request.method() == http::verb::delete_ &&
                         match.route->pattern == "/api/v1/projects/{project}/users/{id}";
    audit.action = erasure ? "erase" : "change";
    if (erasure) {
      // The trail proves which customer was erased without keeping their id: the target names
      // the SHA-256 of the id, which an auditor recomputes from the request they hold.
      const std::vector<std::string> segments = Segments(path);
      audit.target = std::string(path.substr(0, path.rfind('/') + 1)) + "sha256:" +
                     state::Sha256Hex(segments.empty() ? std::string() : segments.back());
    }
    audit.detail = Header(request, "X-Sextant-Operator");
    if (!audit.detail.empty()) audit.detail = "operator " + audit.detail;
    respond = [app = app_, audit, erasure, respond = std::move(respond),
               request_copy = HttpRequest(request.base())](HttpResponse response) mutable {
      audit.status = static_cast<int>(response.result_int());
      // A completed erasure was audited by EraseCustomer itself, before its job was deleted.
      if (erasure && audit.status < 300) return respond(std::move(response));
      if (audit.status >= 400) {
        audit.detail += (audit.detail.empty() ? "" : "; ") + response.body().substr(0, 300);
      }
      auto appended = app->audit().Append(audit);
      if (!appended.ok()) return respond(Error(request_copy, appended.status()));
      respond(std::move(response));
    };
  }
  std::vector<std::string> parts = Segments(path.substr(std::strlen("/api/v1")));
  const bool get = request.method() == http::verb::get;
  const bool post = request.method() == http::verb::post;
  auto not_found = [&] {
    respond(Error(request, Status(ErrorCode::kNotFound, "no such endpoint " + std::string(path))));
  };
  if (!parts.empty() && (parts[0] == "auth" || (parts[0] == "admin" && parts.size() >= 2 &&
                                                 parts[1] == "accounts")))
    return HandleAuth(request, parts, principal, std::move(respond));
  if (!parts.empty() && parts[0] == "admin") return HandleAdmin(request, parts, std::move(respond));
  if (!parts.empty() && parts[0] == "audit") {
    if (parts.size() == 2) {  // verify
      auto verification = app_->audit().Verify();
      if (!verification.ok()) return respond(Error(request, verification.status()));
      return respond(Json(request, 200, VerificationJson(*verification)));
    }
    uint64_t before = 0;
    const std::string before_text = QueryParam(query, "before");
    std::from_chars(before_text.data(), before_text.data() + before_text.size(), before);
    auto entries = app_->audit().Query(LimitParam(query, 100, 10'000), before,
                                       QueryParam(query, "actor"));
    if (!entries.ok()) return respond(Error(request, entries.status()));
    return respond(Json(request, 200, std::move(*entries)));
  }
  if (parts.empty() || parts[0] != "projects") return not_found();

  if (parts.size() == 1) {
    if (get) {
      JsonWriter writer;
      writer.BeginObject().Key("projects").BeginArray();
      for (const auto& project : app_->projects().List()) {
        if (!principal.InProject(project->name)) continue;
        writer.BeginObject();
        writer.Key("name").String(project->name);
        writer.Key("time_zone").String(project->time_zone.name());
        writer.Key("token_required").Bool(!project->token.empty());
        WriteRetention(*project, writer);
        writer.EndObject();
      }
      writer.EndArray().EndObject();
      return respond(Json(request, 200, writer.Take()));
    }
    if (post) {
      // Body: {"name": "...", "token": "...", "time_zone": "..."}.
      std::string name, token, time_zone;
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      if (parser.parse(request.body()).get(root) != simdjson::SUCCESS || !root.is_object())
        return respond(Error(request, Status(ErrorCode::kBadRequest, "body must be a JSON object")));
      for (auto [key, target] : {std::pair<const char*, std::string*>{"name", &name},
                                 {"token", &token}, {"time_zone", &time_zone}}) {
        std::string_view text;
        simdjson::dom::element field;
        if (root[key].get(field) != simdjson::SUCCESS) continue;
        if (field.get_string().get(text) != simdjson::SUCCESS)
          return respond(Error(request, Status(ErrorCode::kBadRequest,
                                               std::string(key) + " must be a string", key)));
        *target = std::string(text);
      }
      auto field = [&](const char* key) {
        return std::string(key) == "name" ? name : std::string(key) == "token" ? token : time_zone;
      };
      auto created = app_->projects().Create(field("name"), field("token"), field("time_zone"));
      if (!created.ok()) return respond(Error(request, created.status()));
      JsonWriter writer;
      writer.BeginObject().Key("name").String((*created)->name).EndObject();
      return respond(Json(request, 201, writer.Take()));
    }
    return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET or POST")));
  }

  const std::string& project_name = parts[1];
  auto project = app_->projects().Find(project_name);
  if (!project)
    return respond(Error(request, Status(ErrorCode::kNotFound, "unknown project " + project_name)));
  const TimeZone& zone = project->time_zone;
  if (parts.size() == 2) {
    if (request.method() == http::verb::put) {
      // Body: {"retention_days": N} (docs/access.md, "Retention by age").
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      int64_t days = 0;
      if (parser.parse(request.body()).get(root) != simdjson::SUCCESS || !root.is_object())
        return respond(Error(request, Status(ErrorCode::kBadRequest, "body must be a JSON object")));
      if (root["retention_days"].get_int64().get(days) != simdjson::SUCCESS) {
        return respond(Error(request, Status(ErrorCode::kBadRequest,
                                             "retention_days: required, an integer",
                                             "retention_days")));
      }
      auto updated = app_->projects().SetRetentionDays(
          project_name, static_cast<int>(std::clamp<int64_t>(days, -2, 40'000)));
      if (!updated.ok()) return respond(Error(request, updated.status()));
      project = *updated;
      // Applied now, so the answer is true when it is given: expired days are gone.
      app_->events().SetRetentionDays(project->id, project->retention_days);
      Status applied = app_->events().ApplyRetention();
      if (!applied.ok()) return respond(Error(request, applied));
    } else if (!get) {
      return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET or PUT")));
    }
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("name").String(project->name);
    writer.Key("time_zone").String(project->time_zone.name());
    writer.Key("token_required").Bool(!project->token.empty());
    WriteRetention(*project, writer);
    writer.EndObject();
    return respond(Json(request, 200, writer.Take()));
  }
  if (parts.size() >= 4 && parts[2] == "users" && principal.ScopedToOrgUnit()) {
    Status scope = CheckCustomerScope(*project, parts[3], QueryParam(query, "key"), principal);
    if (!scope.ok()) return respond(Error(request, scope));
  }
  // The customers a branch-scoped caller may see; null for everyone else.
  Scope scope;
  if (auto scoped = CustomerScopeOf(principal, app_->accounts())) {
    scope = std::make_shared<const audience::CustomerScope>(std::move(*scoped));
  }
  if (principal.ScopedToOrgUnit()) {
    if (parts.size() == 6 && parts[2] == "journeys" && parts[4] == "customers") {
      Status in_scope = CheckCustomerScope(*project, parts[5], "", principal);
      if (!in_scope.ok()) return respond(Error(request, in_scope));
    }
    // Answers that count or list customers of every branch and cannot be cut to one: a
    // branch-scoped caller is refused them rather than shown other branches' customers.
    if (const char* answer = CrossBranchAnswer(parts)) {
      return respond(Error(
          request, Status(ErrorCode::kForbidden,
                          std::string(answer) + " covers the customers of every branch; " +
                              principal.name + " sees only org unit " + principal.org_unit)));
    }
  }
  if (parts.size() == 3 && parts[2] == "pii") {
    if (request.method() == http::verb::get)
      return respond(Json(request, 200, app_->pii().For(project_name)->ToJson()));
    auto stored = app_->pii().Set(project_name, request.body());
    if (!stored.ok()) return respond(Error(request, stored.status()));
    return respond(Json(request, 200, std::move(*stored)));
  }
  if (parts.size() == 3 && parts[2] == "records") {
    if (!post) return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use POST")));
    return HandleRecords(request, info, project_name, std::move(respond));
  }
  if (parts.size() == 3 && parts[2] == "query") {
    if (!post) return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use POST")));
    // Analysis runs on the query pool; the answer is sent from there.
    app_->RunQuery([this, request_copy = HttpRequest(request), project, scope,
                    respond = std::move(respond)]() mutable {
      auto answer = app_->queries().Run(*project, request_copy.body(), nullptr,
                                        scope ? &scope->filter : nullptr);
      if (!answer.ok()) return respond(Error(request_copy, answer.status()));
      respond(MakeResponse(request_copy, http::status::ok, answer->content_type,
                           std::move(answer->body)));
    });
    return;
  }
  if (parts.size() >= 3 && (parts[2] == "metrics" || parts[2] == "dashboards"))
    return HandleCatalog(request, project, parts, scope, std::move(respond));
  if (parts.size() >= 3 && (parts[2] == "segments" || parts[2] == "tags" ||
                            (parts[2] == "users" && parts.size() == 5 && parts[4] == "segments"))) {
    return HandleAudience(request, project, parts, query, scope, std::move(respond));
  }
  if (parts.size() >= 3 &&
      (parts[2] == "journeys" || parts[2] == "touch-rules" || parts[2] == "channels" ||
       parts[2] == "templates" || parts[2] == "ledger" || parts[2] == "tasks" ||
       (parts[2] == "users" && parts.size() == 5 && parts[4] == "consent"))) {
    return HandleJourneys(request, project, parts, query, principal, std::move(respond));
  }
  if (parts.size() >= 3 && parts[2] == "imports") {
    // Import jobs (docs/import.md, "Import jobs"): POST the file, then follow its progress.
    ImportJobs& jobs = app_->imports();
    const http::verb method = request.method();
    Result<std::string> answer = Status(ErrorCode::kMethodNotAllowed, "use GET or POST");
    int status = 200;
    if (parts.size() == 3 && method == http::verb::post) {
      ImportRequest import_request;
      import_request.name = QueryParam(query, "name");
      import_request.kind = QueryParam(query, "kind");
      import_request.format = QueryParam(query, "format");
      import_request.delimiter = QueryParam(query, "delimiter");
      import_request.mapping = QueryParam(query, "mapping");
      import_request.created_by = principal.name;
      answer = jobs.Start(*project, import_request, request.body());
      status = 202;
    } else if (parts.size() == 3 && get) {
      answer = jobs.List(*project);
    } else if (parts.size() == 4 && get) {
      answer = jobs.Get(*project, parts[3]);
    } else if (parts.size() == 4 && method == http::verb::delete_) {
      answer = jobs.Delete(*project, parts[3]);
    } else if (parts.size() == 5 && parts[4] == "errors" && get) {
      auto text = jobs.Errors(*project, parts[3]);
      if (!text.ok()) return respond(Error(request, text.status()));
      return respond(MakeResponse(request, http::status::ok, "text/plain; charset=utf-8",
                                  std::move(*text)));
    } else if (parts.size() == 5 && parts[4] == "cancel" && post) {
      answer = jobs.Cancel(*project, parts[3]);
    }
    if (!answer.ok()) return respond(Error(request, answer.status()));
    return respond(Json(request, status, std::move(*answer)));
  }
  const bool erase_user = request.method() == http::verb::delete_ && parts.size() == 4 &&
                          parts[2] == "users";
  if (!get && !erase_user)
    return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET")));

  if (parts.size() == 3 && parts[2] == "schema") {
    state::ProjectSchema* schema = app_->schemas().ForProject(*project);
    JsonWriter writer;
    writer.BeginObject();
    auto list = [&](const char* key, state::SchemaKind kind, bool typed) {
      writer.Key(key).BeginArray();
      for (const auto& entry : schema->List(kind)) {
        writer.BeginObject();
        writer.Key("name").String(entry.name);
        if (typed) writer.Key("type").String(ValueTypeName(entry.type));
        writer.Key("count").Uint(entry.count);
        writer.Key("first_seen").Int(entry.first_seen_ms);
        writer.EndObject();
      }
      writer.EndArray();
    };
    list("events", state::SchemaKind::kEvent, false);
    list("properties", state::SchemaKind::kEventProperty, true);
    list("user_properties", state::SchemaKind::kUserProperty, true);
    writer.EndObject();
    return respond(Json(request, 200, writer.Take()));
  }

  if (parts.size() == 4 && parts[2] == "events" && parts[3] == "recent") {
    uint64_t after = 0;
    const std::string after_text = QueryParam(query, "after");
    std::from_chars(after_text.data(), after_text.data() + after_text.size(), after);
    return respond(Json(request, 200,
                        app_->recent_events().Read(*project, LimitParam(query, 50, 200), after)));
  }
  if (parts.size() == 3 && parts[2] == "ingest-errors") {
    auto errors = app_->error_log().List(project->id, LimitParam(query, 100, 10'000));
    if (!errors.ok()) return respond(Error(request, errors.status()));
    JsonWriter writer;
    writer.BeginObject().Key("errors").BeginArray();
    for (const auto& error : *errors) {
      writer.BeginObject();
      writer.Key("time").Int(error.time_ms);
      writer.Key("code").Int(static_cast<int>(error.code));
      writer.Key("name").String(ErrorCodeName(error.code));
      writer.Key("field").String(error.field);
      writer.Key("reason").String(error.reason);
      writer.Key("record").String(error.record);
      writer.Key("source").String(error.source);
      writer.EndObject();
    }
    writer.EndArray().EndObject();
    return respond(Json(request, 200, writer.Take()));
  }

  if (parts.size() == 5 && parts[2] == "items") {
    auto item = app_->profiles().GetItem(project->id, parts[3], parts[4]);
    if (!item.ok()) {
      if (item.status().code() == ErrorCode::kNotFound)
        return respond(Error(request, Status(ErrorCode::kNotFound, "no item " + parts[3] + "/" + parts[4])));
      return respond(Error(request, item.status()));
    }
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("item_type").String(parts[3]);
    writer.Key("item_id").String(parts[4]);
    writer.Key("properties");
    WriteProperties(writer, *item, zone);
    writer.EndObject();
    return respond(Json(request, 200, writer.Take()));
  }

  if ((parts.size() == 4 || parts.size() == 5) && parts[2] == "users") {
    std::string key = QueryParam(query, "key");
    auto user = key.empty() ? app_->identities().LookupDistinctId(project->id, parts[3])
                            : app_->identities().Lookup(project->id, key, parts[3]);
    if (!user.ok()) return respond(Error(request, user.status()));
    if (*user == 0)
      return respond(Error(request, Status(ErrorCode::kNotFound, "no user with id " + parts[3])));
    if (parts.size() == 4 && request.method() == http::verb::delete_) {
      // Erasure rewrites parts and compacts the state store: on the query pool.
      return app_->RunQuery([this, project, user = *user, audit,
                             request_copy = HttpRequest(request.base()), respond]() {
        auto answer = EraseCustomer(*app_, *project, user, audit);
        if (!answer.ok()) return respond(Error(request_copy, answer.status()));
        respond(Json(request_copy, 200, std::move(*answer)));
      });
    }
    if (parts.size() == 4) {
      auto answer = UserJson(*project, *user);
      if (!answer.ok()) return respond(Error(request, answer.status()));
      return respond(Json(request, 200, std::move(*answer)));
    }
    if (parts[4] == "events") {
      auto answer = UserEventsJson(*project, *user, LimitParam(query, 100, 100'000));
      if (!answer.ok()) return respond(Error(request, answer.status()));
      return respond(Json(request, 200, "{\"events\":" + std::move(*answer) + "}"));
    }
    if (parts[4] == "export") {
      // Everything held about one customer (data-subject access): on the query pool, it scans.
      Application* app = app_;
      return app_->RunQuery([this, app, project, user = *user, distinct_id = parts[3],
                             request_copy = HttpRequest(request.base()), respond]() {
        auto answer = CustomerExport(*project, user, distinct_id);
        if (!answer.ok()) return respond(Error(request_copy, answer.status()));
        HttpResponse response = Json(request_copy, 200, std::move(*answer));
        response.set(http::field::content_disposition,
                     "attachment; filename=\"customer-" + std::to_string(user) + ".json\"");
        (void)app;
        respond(std::move(response));
      });
    }
  }
  not_found();
}

void RequestRouter::WriteRetention(const state::ProjectInfo& project, JsonWriter& writer) const {
  // "retention_days": the project's setting; "events_kept_days": what applies (null = forever).
  writer.Key("retention_days").Int(project.retention_days);
  const int effective =
      project.retention_days == 0 ? app_->options().retention_days : project.retention_days;
  writer.Key("events_kept_days");
  if (effective > 0) {
    writer.Int(effective);
  } else {
    writer.Null();
  }
}

const char* RequestRouter::CrossBranchAnswer(const std::vector<std::string>& parts) {
  // parts: {"projects", "<p>", area, ...}
  const std::string& area = parts[2];
  const std::string sub = parts.size() >= 5 ? parts[4] : std::string();
  if (area == "events" || area == "ingest-errors") return "the live event stream and ingest errors";
  if (area == "ledger") return "the decision ledger";
  if (area == "imports" && sub == "errors") return "an import's rejected rows";
  if (area == "segments" && (sub == "history" || sub == "insight" || sub == "lookalike")) {
    return "a segment's history, insight or lookalike";
  }
  if (area == "tags" && sub == "history") return "a tag's value distributions";
  if (area == "journeys" && (sub == "report" || sub == "ledger" || sub == "backtest")) {
    return "a journey's report, ledger or backtest";
  }
  return nullptr;
}

Status RequestRouter::CheckCustomerScope(const state::ProjectInfo& project,
                                         const std::string& id, const std::string& key,
                                         const access::Principal& principal) {
  auto user = key.empty() ? app_->identities().LookupDistinctId(project.id, id)
                          : app_->identities().Lookup(project.id, key, id);
  if (!user.ok()) return user.status();
  if (*user == 0) return Status::Ok();  // the handler answers 404
  // The customer's org unit: their profile's `org_unit`, else that of the account named by
  // their `advisor_id` (the advisor who serves them); none = head office only.
  std::string unit;
  auto profile = app_->profiles().GetProfile(project.id, *user);
  if (profile.ok()) {
    for (const auto& [name, value] : *profile) {
      if (value.type() != ValueType::kString) continue;
      if (name == "org_unit") unit = value.str();
      if (name == "advisor_id" && unit.empty()) unit = app_->accounts().OrgUnitOf(value.str());
    }
  }
  if (!unit.empty() && principal.CoversOrgUnit(unit)) return Status::Ok();
  return Status(ErrorCode::kForbidden,
                "customer " + id + " belongs to " + (unit.empty() ? std::string("no branch") : unit) +
                    ", outside " + principal.name + "'s org unit " + principal.org_unit);
}

Result<std::string> RequestRouter::UserJson(const state::ProjectInfo& project,
                                            store::UserId user) {
  auto identities = app_->identities().IdentitiesOf(project.id, user);
  if (!identities.ok()) return identities.status();
  auto profile = app_->profiles().GetProfile(project.id, user);
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("user_id").Uint(user);
  writer.Key("identities").BeginArray();
  for (const Identity& id : *identities)
    writer.BeginObject().Key("key").String(id.key).Key("value").String(id.value).EndObject();
  writer.EndArray();
  auto merged = app_->identities().MergedUsers(project.id, user);
  writer.Key("merged_user_ids").BeginArray();
  if (merged.ok())
    for (store::UserId id : *merged) writer.Uint(id);
  writer.EndArray();
  writer.Key("profile");
  WriteProperties(writer, profile.ok() ? *profile : PropertyMap(), project.time_zone);
  writer.Key("tags");
  SEXTANT_RETURN_IF_ERROR(app_->audience().WriteUserTags(project, user, writer));
  writer.EndObject();
  return writer.Take();
}

Result<std::string> RequestRouter::UserEventsJson(const state::ProjectInfo& project,
                                                  store::UserId user, size_t limit) {
  auto range = app_->events().DayRange(project.id);
  if (!range) return std::string("[]");
  struct Row {
    int64_t time_ms;
    store::EventId event_id;
    std::string distinct_id;
    std::vector<std::pair<store::PropertyId, Value>> properties;
  };
  std::vector<Row> rows;
  state::ProjectSchema* schema = app_->schemas().ForProject(project);
  // The person's events are stored under their user id and under the ids of the anonymous
  // users merged into them (docs/identity.md).
  std::vector<store::UserId> users = {user};
  auto merged = app_->identities().MergedUsers(project.id, user);
  if (merged.ok()) users.insert(users.end(), merged->begin(), merged->end());
  store::ScanSpec spec;
  spec.first_day = range->first;
  spec.last_day = range->second;
  spec.with_distinct_id = true;
  for (const auto& entry : schema->List(state::SchemaKind::kEventProperty))
    spec.property_ids.push_back(entry.id);
  for (store::UserId member : users) {
    spec.only_user = member;
    SEXTANT_RETURN_IF_ERROR(app_->events().Scan(project.id, spec, [&](const store::EventBatch& batch) {
      for (size_t row = 0; row < batch.size; ++row) {
        if (batch.user_ids[row] != member) continue;
        Row out{batch.times_ms[row], batch.event_ids[row], batch.distinct_ids[row], {}};
        for (size_t k = 0; k < spec.property_ids.size(); ++k) {
          const std::optional<Value>& value = batch.property_values[k][row];
          if (value) out.properties.emplace_back(spec.property_ids[k], *value);
        }
        rows.push_back(std::move(out));
      }
      return true;
    }));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.time_ms > b.time_ms; });
  if (rows.size() > limit) rows.resize(limit);
  JsonWriter writer;
  writer.BeginArray();
  for (const Row& row : rows) {
    writer.BeginObject();
    writer.Key("event").String(schema->EventName(row.event_id));
    writer.Key("time").Int(row.time_ms);
    writer.Key("distinct_id").String(row.distinct_id);
    writer.Key("properties").BeginObject();
    for (const auto& [id, value] : row.properties) {
      writer.Key(schema->PropertyName(id));
      writer.PropertyValue(value, project.time_zone);
    }
    writer.EndObject();
    writer.EndObject();
  }
  writer.EndArray();
  return writer.Take();
}

Result<std::string> RequestRouter::CustomerExport(const state::ProjectInfo& project,
                                                  store::UserId user,
                                                  const std::string& distinct_id) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("exported_at").Int(SystemClock::Instance().NowMs());
  writer.Key("project").String(project.name);
  writer.Key("distinct_id").String(distinct_id);
  auto customer = UserJson(project, user);
  if (!customer.ok()) return customer.status();
  writer.Key("customer").Raw(*customer);
  auto segments = app_->audience().UserSegments(project, user);
  if (!segments.ok()) return segments.status();
  writer.Key("segments").Raw(segments->body);  // {"segments": [...]} as GET /users/{id}/segments
  auto events = UserEventsJson(project, user, std::numeric_limits<size_t>::max());
  if (!events.ok()) return events.status();
  writer.Key("events").Raw(*events);
  // Journeys the customer is or was in: the state of each instance.
  journey::JourneyEngine& journeys = app_->journeys();
  writer.Key("journeys").BeginArray();
  auto listed = journeys.ListJourneys(project);
  if (!listed.ok()) return listed.status();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array journey_list;
  if (parser.parse(listed->body).get(root) == simdjson::SUCCESS &&
      root["journeys"].get_array().get(journey_list) == simdjson::SUCCESS) {
    for (simdjson::dom::element entry : journey_list) {
      std::string_view id;
      if (entry["id"].get_string().get(id) != simdjson::SUCCESS) continue;
      auto state = journeys.JourneyCustomerState(project, std::string(id), user);
      if (state.ok()) writer.Raw(*state);
    }
  }
  writer.EndArray();
  auto ledger = journeys.Ledger(project, "", distinct_id, std::numeric_limits<size_t>::max());
  if (!ledger.ok()) return ledger.status();
  simdjson::dom::element entries;
  writer.Key("decisions");
  if (parser.parse(ledger->body).get(root) == simdjson::SUCCESS &&
      root["entries"].get(entries) == simdjson::SUCCESS) {
    writer.Raw(simdjson::minify(entries));
  } else {
    writer.BeginArray().EndArray();
  }
  // Advisor tasks about the customer.
  auto tasks = journeys.ListTasks(project, "", "");
  if (!tasks.ok()) return tasks.status();
  writer.Key("tasks").BeginArray();
  simdjson::dom::array task_list;
  if (parser.parse(tasks->body).get(root) == simdjson::SUCCESS &&
      root["tasks"].get_array().get(task_list) == simdjson::SUCCESS) {
    for (simdjson::dom::element task : task_list) {
      std::string_view about;
      if (task["distinct_id"].get_string().get(about) == simdjson::SUCCESS && about == distinct_id)
        writer.Raw(simdjson::minify(task));
    }
  }
  writer.EndArray();
  writer.EndObject();
  return writer.Take();
}

void RequestRouter::HandleAudience(HttpRequest& request,
                                   std::shared_ptr<const state::ProjectInfo> project,
                                   const std::vector<std::string>& parts, std::string_view query,
                                   Scope scope, Responder respond) {
  // Everything runs on the query pool: computing a segment or a tag scans events.
  using audience::AudienceAnswer;
  using Handler =
      std::function<Result<AudienceAnswer>(audience::AudienceEngine&, const HttpRequest&)>;
  Handler handler;
  const http::verb method = request.method();
  const bool get = method == http::verb::get;
  const bool post = method == http::verb::post;
  const bool put = method == http::verb::put;
  const bool del = method == http::verb::delete_;
  const state::ProjectInfo& info = *project;
  const std::string query_text(query);
  auto method_error = [&](const char* allowed) {
    respond(Error(request, Status(ErrorCode::kMethodNotAllowed, std::string("use ") + allowed)));
  };
  const std::string id = parts.size() >= 4 ? parts[3] : std::string();
  const std::string action = parts.size() >= 5 ? parts[4] : std::string();

  if (parts[2] == "users") {
    if (!get) return method_error("GET");
    std::string key = QueryParam(query, "key");
    auto user = key.empty() ? app_->identities().LookupDistinctId(project->id, parts[3])
                            : app_->identities().Lookup(project->id, key, parts[3]);
    if (!user.ok()) return respond(Error(request, user.status()));
    if (*user == 0) {
      return respond(Error(request, Status(ErrorCode::kNotFound, "no user with id " + parts[3])));
    }
    const store::UserId user_id = *user;
    handler = [&info, user_id](audience::AudienceEngine& engine, const HttpRequest&) {
      return engine.UserSegments(info, user_id);
    };
  } else if (parts[2] == "segments") {
    if (parts.size() == 3) {
      if (get) {
        handler = [&info, scope](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.ListSegments(info, scope.get());
        };
      } else if (post) {
        const bool csv =
            Header(request, http::field::content_type).find("csv") != std::string::npos;
        if (csv) {
          handler = [&info, query_text](audience::AudienceEngine& engine, const HttpRequest& r) {
            return engine.CreateStaticSegment(info, QueryParam(query_text, "name"),
                                              QueryParam(query_text, "description"), r.body());
          };
        } else {
          handler = [&info, scope](audience::AudienceEngine& engine, const HttpRequest& r) {
            simdjson::dom::parser parser;
            simdjson::dom::element root, inner;
            const bool from_query = parser.parse(r.body()).get(root) == simdjson::SUCCESS &&
                                    root.is_object() &&
                                    root["query"].get(inner) == simdjson::SUCCESS;
            return from_query ? engine.CreateSegmentFromQuery(info, r.body(), scope.get())
                              : engine.CreateSegment(info, r.body());
          };
        }
      } else {
        return method_error("GET or POST");
      }
    } else if (parts.size() == 4 && id == "estimate") {
      if (!post) return method_error("POST");
      handler = [&info, scope](audience::AudienceEngine& engine, const HttpRequest& r) {
        return engine.EstimateSegment(info, r.body(), scope.get());
      };
    } else if (parts.size() == 4) {
      if (get) {
        handler = [&info, id, scope](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.GetSegment(info, id, scope.get());
        };
      } else if (put) {
        handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest& r) {
          return engine.UpdateSegment(info, id, r.body());
        };
      } else if (del) {
        handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.DeleteSegment(info, id);
        };
      } else {
        return method_error("GET, PUT or DELETE");
      }
    } else if (parts.size() == 5 &&
               (action == "refresh" || action == "insight" || action == "lookalike")) {
      if (!post) return method_error("POST");
      handler = [&info, id, action](audience::AudienceEngine& engine, const HttpRequest& r) {
        if (action == "refresh") return engine.RefreshSegment(info, id);
        if (action == "insight") return engine.SegmentInsight(info, id, r.body());
        return engine.SegmentLookalike(info, id, r.body());
      };
    } else if (parts.size() == 5 && (action == "users" || action == "history")) {
      if (!get) return method_error("GET");
      handler = [&info, id, action, query_text, scope](audience::AudienceEngine& engine,
                                                       const HttpRequest&) {
        if (action == "history") return engine.SegmentHistory(info, id);
        size_t offset = 0;
        const std::string offset_text = QueryParam(query_text, "offset");
        if (!offset_text.empty()) {
          std::from_chars(offset_text.data(), offset_text.data() + offset_text.size(), offset);
        }
        std::vector<std::string> columns;
        const std::string column_text = QueryParam(query_text, "columns");
        for (size_t begin = 0; begin < column_text.size();) {
          size_t end = column_text.find(',', begin);
          if (end == std::string::npos) end = column_text.size();
          if (end > begin) columns.push_back(column_text.substr(begin, end - begin));
          begin = end + 1;
        }
        const bool csv = QueryParam(query_text, "format") == "csv";
        return engine.SegmentUsers(
            info, id, offset,
            LimitParam(query_text, csv ? 1'000'000 : 100, csv ? 100'000'000 : 10'000), columns,
            csv, scope.get());
      };
    }
  } else {  // tags
    if (parts.size() == 3) {
      if (get) {
        handler = [&info, scope](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.ListTags(info, scope.get());
        };
      } else if (post) {
        handler = [&info](audience::AudienceEngine& engine, const HttpRequest& r) {
          return engine.CreateTag(info, r.body());
        };
      } else {
        return method_error("GET or POST");
      }
    } else if (parts.size() == 4 && id == "categories") {
      if (!get) return method_error("GET");
      handler = [&info](audience::AudienceEngine& engine, const HttpRequest&) {
        return engine.TagCategories(info);
      };
    } else if (parts.size() == 4) {
      if (get) {
        handler = [&info, id, scope](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.GetTag(info, id, scope.get());
        };
      } else if (put) {
        handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest& r) {
          return engine.UpdateTag(info, id, r.body());
        };
      } else if (del) {
        handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest&) {
          return engine.DeleteTag(info, id);
        };
      } else {
        return method_error("GET, PUT or DELETE");
      }
    } else if (parts.size() == 5 && action == "run") {
      if (!post) return method_error("POST");
      handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest&) {
        return engine.RunTag(info, id);
      };
    } else if (parts.size() == 5 && action == "history") {
      if (!get) return method_error("GET");
      handler = [&info, id](audience::AudienceEngine& engine, const HttpRequest&) {
        return engine.TagHistory(info, id);
      };
    } else if (parts.size() == 5 && action == "values") {
      if (!post) return method_error("POST");
      const bool merge = QueryParam(query, "mode") == "merge";
      handler = [&info, id, merge](audience::AudienceEngine& engine, const HttpRequest& r) {
        return engine.ImportTagValues(info, id, r.body(), merge);
      };
    }
  }
  if (!handler) {
    return respond(Error(request, Status(ErrorCode::kNotFound, "no such endpoint")));
  }
  app_->RunQuery([this, request_copy = HttpRequest(request), project, handler = std::move(handler),
                  respond = std::move(respond)]() mutable {
    auto answer = handler(app_->audience(), request_copy);
    if (!answer.ok()) return respond(Error(request_copy, answer.status()));
    respond(MakeResponse(request_copy, static_cast<http::status>(answer->status),
                         answer->content_type, std::move(answer->body)));
  });
}

void RequestRouter::HandleCatalog(HttpRequest& request,
                                  std::shared_ptr<const state::ProjectInfo> project,
                                  const std::vector<std::string>& parts, Scope scope,
                                  Responder respond) {
  // parts: projects, {p}, metrics|dashboards [, {id} [, run]].
  const bool metrics = parts[2] == "metrics";
  const std::string kind = metrics ? "metric" : "dashboard";
  catalog::CatalogStore& store = app_->catalog();
  const http::verb method = request.method();
  auto fail = [&](const Status& status) { respond(Error(request, status)); };
  auto wrong_method = [&](const std::string& allowed) {
    fail(Status(ErrorCode::kMethodNotAllowed, "use " + allowed));
  };
  // The inner object of an error answer, for one result of a dashboard run.
  auto write_error = [](JsonWriter& writer, const Status& status) {
    writer.BeginObject();
    writer.Key("code").Int(static_cast<int>(status.code()));
    writer.Key("name").String(ErrorCodeName(status.code()));
    writer.Key("message").String(status.message());
    if (!status.field().empty()) writer.Key("field").String(status.field());
    writer.EndObject();
  };

  if (parts.size() == 3) {
    if (method == http::verb::get) {
      JsonWriter writer;
      writer.BeginObject().Key(parts[2]).BeginArray();
      if (metrics) {
        auto list = store.ListMetrics(project->id);
        if (!list.ok()) return fail(list.status());
        for (const catalog::Metric& metric : *list) catalog::WriteJson(metric, &writer);
      } else {
        auto list = store.ListDashboards(project->id);
        if (!list.ok()) return fail(list.status());
        for (const catalog::Dashboard& dashboard : *list) catalog::WriteJson(dashboard, &writer);
      }
      writer.EndArray().EndObject();
      return respond(Json(request, 200, writer.Take()));
    }
    if (method != http::verb::post) return wrong_method("GET or POST");
    if (metrics) {
      auto created = store.CreateMetric(*project, request.body());
      if (!created.ok()) return fail(created.status());
      return respond(Json(request, 201, catalog::ToJson(*created)));
    }
    auto created = store.CreateDashboard(project->id, request.body());
    if (!created.ok()) return fail(created.status());
    return respond(Json(request, 201, catalog::ToJson(*created)));
  }

  // Ids are 1..2^32-1; anything else names nothing.
  const std::string& id_text = parts[3];
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id == 0) {
    return fail(Status(ErrorCode::kNotFound,
                       "no " + kind + " with id " + id_text.substr(0, 40) +
                           " (ids are positive integers)"));
  }

  if (parts.size() == 4) {
    if (method == http::verb::get) {
      if (metrics) {
        auto metric = store.GetMetric(project->id, id);
        if (!metric.ok()) return fail(metric.status());
        return respond(Json(request, 200, catalog::ToJson(*metric)));
      }
      auto dashboard = store.GetDashboard(project->id, id);
      if (!dashboard.ok()) return fail(dashboard.status());
      return respond(Json(request, 200, catalog::ToJson(*dashboard)));
    }
    if (method == http::verb::put) {
      if (metrics) {
        auto metric = store.ReplaceMetric(*project, id, request.body());
        if (!metric.ok()) return fail(metric.status());
        return respond(Json(request, 200, catalog::ToJson(*metric)));
      }
      auto dashboard = store.ReplaceDashboard(project->id, id, request.body());
      if (!dashboard.ok()) return fail(dashboard.status());
      return respond(Json(request, 200, catalog::ToJson(*dashboard)));
    }
    if (method == http::verb::delete_) {
      Status deleted = metrics ? store.DeleteMetric(project->id, id)
                               : store.DeleteDashboard(project->id, id);
      if (!deleted.ok()) return fail(deleted);
      return respond(MakeResponse(request, http::status::no_content, "", ""));
    }
    return wrong_method("GET, PUT or DELETE");
  }

  if (parts.size() != 5 || parts[4] != "run") {
    return fail(Status(ErrorCode::kNotFound, "no such endpoint under " + parts[2]));
  }
  if (metrics) {
    if (method != http::verb::post) return wrong_method("POST");
    auto metric = store.GetMetric(project->id, id);
    if (!metric.ok()) return fail(metric.status());
    // The saved query runs on the query pool, exactly as POST /query would run it.
    app_->RunQuery([this, request_copy = HttpRequest(request.base()), project, scope,
                    query = std::move(metric->query), respond = std::move(respond)]() mutable {
      auto answer =
          app_->queries().Run(*project, query, nullptr, scope ? &scope->filter : nullptr);
      if (!answer.ok()) {
        return respond(Error(request_copy, catalog::InMetricQuery(answer.status())));
      }
      respond(MakeResponse(request_copy, http::status::ok, answer->content_type,
                           std::move(answer->body)));
    });
    return;
  }
  if (method != http::verb::get) return wrong_method("GET");
  auto dashboard = store.GetDashboard(project->id, id);
  if (!dashboard.ok()) return fail(dashboard.status());
  // One job runs the dashboard's metrics in order: a dashboard takes one slot of the query
  // pool, and a failing metric gives its own error without failing the others.
  app_->RunQuery([this, request_copy = HttpRequest(request.base()), project,
                  dashboard = std::move(*dashboard), write_error, scope,
                  respond = std::move(respond)]() mutable {
    JsonWriter writer;
    writer.BeginObject().Key("dashboard");
    catalog::WriteJson(dashboard, &writer);
    writer.Key("results").BeginArray();
    for (const catalog::DashboardItem& item : dashboard.items) {
      writer.BeginObject().Key("metric_id").Uint(item.metric_id);
      auto metric = app_->catalog().GetMetric(project->id, item.metric_id);
      Status status = metric.status();
      if (metric.ok()) {
        auto answer = app_->queries().Run(*project, metric->query, nullptr,
                                          scope ? &scope->filter : nullptr);
        status = catalog::InMetricQuery(answer.status());
        if (answer.ok() && !answer->content_type.starts_with("application/json")) {
          status = Status(ErrorCode::kInvalidQuery,
                          "the metric's query answers " + answer->content_type +
                              ", not JSON; run it with POST /metrics/{id}/run",
                          "query");
        } else if (answer.ok()) {
          writer.Key("answer").Raw(answer->body);
        }
      }
      if (!status.ok()) {
        writer.Key("error");
        write_error(writer, status);
      }
      writer.EndObject();
    }
    writer.EndArray().EndObject();
    respond(Json(request_copy, 200, writer.Take()));
  });
}

std::string RequestRouter::Metrics() const {
  std::string out;
  ingest::IngestMetrics& metrics = app_->pipeline().metrics();
  RenderLabeled("sextant_records_accepted_total", "Records accepted, by ingest source.", "source",
                metrics.records_accepted, &out);
  RenderLabeled("sextant_records_rejected_total", "Records refused, by reason (error code name).",
                "reason", metrics.records_rejected, &out);
  RenderCounter("sextant_dedupe_hits_total", "Resent records recognised as duplicates.",
                metrics.dedupe_hits.value(), &out);
  RenderGauge("sextant_dedupe_keys", "Deduplication keys held in memory.",
              static_cast<double>(app_->pipeline().dedupe().size()), &out);
  app_->request_latency().Render("sextant_http_request_duration_seconds",
                                 "HTTP request latency from parsed request to response.", &out);
  app_->audience().membership_latency().Render(
      "sextant_segment_membership_seconds",
      "Time from an ingest commit to the realtime segment membership change it caused.", &out);
  app_->journeys().decision_latency().Render(
      "sextant_journey_decision_seconds",
      "Time from an ingest commit to the journey decisions (entries, moves, touches) it caused.",
      &out);
  app_->journeys().decision_queue_wait().Render(
      "sextant_journey_decision_queue_seconds",
      "Time from an ingest commit to the start of the journey worker step that decides it.",
      &out);
  app_->journeys().decision_step().Render(
      "sextant_journey_step_seconds",
      "Time per journey worker step, from its start until its decisions are written.", &out);
  RenderGauge("sextant_journey_decision_thread_nice",
              "Nice value of the journey decision thread (-10 when the system allowed it, else 0).",
              static_cast<double>(app_->journeys().decision_thread_nice()), &out);
  store::StoreStats stats = app_->events().Stats();
  out += "# HELP sextant_wal_fsync_duration_seconds WAL fsync latency.\n"
         "# TYPE sextant_wal_fsync_duration_seconds histogram\n";
  // The store's last bucket is a catch-all with a huge bound: render it as +Inf.
  uint64_t cumulative = 0;
  bool wrote_inf = false;
  for (size_t i = 0; i < stats.fsync_bucket_counts.size(); ++i) {
    cumulative += stats.fsync_bucket_counts[i];
    bool last = i + 1 == stats.fsync_bucket_counts.size();
    bool catch_all = i >= stats.fsync_bucket_upper_us.size() || stats.fsync_bucket_upper_us[i] >= 1e12;
    if (catch_all && !last) continue;
    std::string le = catch_all ? "+Inf" : std::to_string(stats.fsync_bucket_upper_us[i] / 1e6);
    wrote_inf = wrote_inf || catch_all;
    out += "sextant_wal_fsync_duration_seconds_bucket{le=\"" + le + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  if (!wrote_inf)
    out += "sextant_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += "sextant_wal_fsync_duration_seconds_sum " + std::to_string(stats.fsync_sum_us / 1e6) + "\n";
  out += "sextant_wal_fsync_duration_seconds_count " + std::to_string(stats.wal_syncs) + "\n";
  RenderGauge("sextant_store_parts", "Immutable event parts on disk.", static_cast<double>(stats.parts), &out);
  RenderGauge("sextant_store_part_bytes", "Bytes of event parts on disk.", static_cast<double>(stats.part_bytes), &out);
  RenderGauge("sextant_store_head_rows", "Rows in in-memory heads (not yet in parts).", static_cast<double>(stats.head_rows), &out);
  RenderGauge("sextant_store_wal_bytes", "Bytes of WAL segments on disk.", static_cast<double>(stats.wal_bytes), &out);
  RenderGauge("sextant_store_rows", "Event rows stored (parts and heads).", static_cast<double>(stats.rows_total), &out);
  RenderCounter("sextant_store_compactions_total", "Part compactions run.", stats.compactions, &out);
  RenderSecondsCounter("sextant_store_ingest_throttled_seconds_total",
                       "Seconds commits waited for the heads to be written into parts (ingest "
                       "faster than the store's maintenance).",
                       static_cast<double>(stats.throttled_us) / 1e6, &out);
  RenderCounter("sextant_store_compacted_rows_total",
                "Rows rewritten by part compactions (over rows stored: the write amplification).",
                stats.compacted_rows, &out);
  RenderGauge("sextant_state_bytes", "Approximate bytes of the state store.",
              static_cast<double>(app_->kv().ApproximateBytes()), &out);
  return out;
}

}  // namespace sextant::server

namespace sextant::server {

bool RequestRouter::HandlePublicApi(HttpRequest& request, std::string_view path,
                                    std::string_view query, Responder& respond) {
  std::vector<std::string> parts = Segments(path.substr(std::strlen("/api/v1")));
  if (parts.size() < 3 || parts[0] != "projects") return false;
  const bool inapp = parts.size() == 4 && parts[2] == "inapp";
  const bool unsubscribe = parts.size() == 3 && parts[2] == "unsubscribe";
  if (!inapp && !unsubscribe) return false;
  auto project = app_->projects().Find(parts[1]);
  if (!project) {
    respond(Error(request, Status(ErrorCode::kNotFound, "unknown project " + parts[1])));
    return true;
  }
  if (inapp) {
    if (request.method() != http::verb::get) {
      respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET")));
      return true;
    }
    // The app authenticates with the project's ingest token (Bearer or ?token=).
    std::string token = QueryParam(query, "token");
    std::string authorization = Header(request, http::field::authorization);
    if (StartsWith(authorization, "Bearer ")) token = authorization.substr(7);
    if (!project->token.empty() && !ConstantTimeEquals(token, project->token)) {
      HttpResponse response =
          Error(request, Status(ErrorCode::kUnauthorized, "wrong or missing project token"));
      AddCors(request, &response);  // so that the app's page can read why
      respond(std::move(response));
      return true;
    }
    auto answer = app_->journeys().PullInApp(*project, parts[3]);
    if (!answer.ok()) {
      respond(Error(request, answer.status()));
    } else {
      HttpResponse response = MakeResponse(request, http::status::ok, answer->content_type, answer->body);
      AddCors(request, &response);
      respond(std::move(response));
    }
    return true;
  }
  auto answer = app_->journeys().Unsubscribe(*project, QueryParam(query, "token"));
  if (answer.ok()) {
    Status synced = app_->kv().SyncWal();
    if (!synced.ok()) answer = synced;
  }
  if (!answer.ok()) {
    respond(Error(request, answer.status()));
  } else {
    respond(MakeResponse(request, http::status::ok, answer->content_type, answer->body));
  }
  return true;
}

void RequestRouter::HandleLogin(HttpRequest& request, const RequestInfo& info,
                                 Responder respond) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view name, password;
  if (parser.parse(request.body()).get(root) != simdjson::SUCCESS || !root.is_object())
    return respond(Error(request, Status(ErrorCode::kBadRequest, "body must be a JSON object")));
  if (root["name"].get_string().get(name) != simdjson::SUCCESS)
    return respond(Error(request, Status(ErrorCode::kBadRequest, "name: required string", "name")));
  if (root["password"].get_string().get(password) != simdjson::SUCCESS) {
    return respond(
        Error(request, Status(ErrorCode::kBadRequest, "password: required string", "password")));
  }
  Application* app = app_;
  app_->RunQuery([app, request_copy = HttpRequest(request), name = std::string(name),
                  password = std::string(password), peer = info.peer_ip,
                  respond = std::move(respond)]() {
    auto login = app->accounts().Login(name, password, peer);
    access::AuditEntry audit;
    audit.actor = name;
    audit.actor_kind = login.ok() ? "session" : "anonymous";
    audit.action = login.ok() ? "login" : "login_failed";
    audit.method = "POST";
    audit.route = audit.target = "/api/v1/auth/login";
    audit.peer = peer;
    audit.status = login.ok() ? 200 : HttpStatusFor(login.status().code());
    if (!login.ok()) audit.detail = login.status().message();
    auto appended = app->audit().Append(audit);
    if (!login.ok()) return respond(Error(request_copy, login.status()));
    if (!appended.ok()) return respond(Error(request_copy, appended.status()));
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("token").String(login->token);
    writer.Key("expires_at").Int(login->expires_at_ms);
    writer.Key("account").Raw(access::PrincipalJson(login->principal));
    writer.EndObject();
    respond(Json(request_copy, 200, writer.Take()));
  });
}

void RequestRouter::HandleAuth(HttpRequest& request, const std::vector<std::string>& parts,
                               const access::Principal& principal, Responder respond) {
  const http::verb method = request.method();
  access::AccountStore& accounts = app_->accounts();
  auto answer = [&](int status, Result<std::string> body) {
    if (!body.ok()) return respond(Error(request, body.status()));
    respond(Json(request, status, std::move(*body)));
  };
  auto done = [&](Status status) {
    answer(200, status.ok() ? Result<std::string>(std::string("{}")) : Result<std::string>(status));
  };
  // The route table admitted (method, path); only the shapes it lists arrive here.
  if (parts[0] == "auth") {
    const std::string& what = parts[1];
    if (what == "me") return answer(200, access::PrincipalJson(principal));
    if (what == "routes") return answer(200, RouteTableJson());
    if (what == "logout") {
      std::string authorization = Header(request, http::field::authorization);
      if (principal.kind == "admin_token") return done(Status::Ok());  // nothing to end
      return done(accounts.Logout(std::string_view(authorization).substr(7)));
    }
    if (what == "tokens" && parts.size() == 2 && method == http::verb::get)
      return answer(200, accounts.ListApiTokens(principal));
    if (what == "tokens" && parts.size() == 2)
      return answer(201, accounts.CreateApiToken(principal, request.body()));
    if (what == "tokens" && parts.size() == 3) return done(accounts.RevokeApiToken(principal, parts[2]));
    if (what == "password") {
      Application* app = app_;
      return app_->RunQuery([app, request_copy = HttpRequest(request), principal, respond]() {
        Status changed = app->accounts().ChangePassword(principal, request_copy.body());
        if (!changed.ok()) return respond(Error(request_copy, changed));
        respond(Json(request_copy, 200, "{}"));
      });
    }
  } else {  // admin/accounts[/{name}]
    if (parts.size() == 2 && method == http::verb::get) return answer(200, accounts.ListAccounts());
    if (parts.size() == 3 && method == http::verb::get) return answer(200, accounts.GetAccount(parts[2]));
    if (parts.size() == 3 && method == http::verb::delete_) return done(accounts.DeleteAccount(parts[2]));
    // Creating an account or setting a password hashes it: off the I/O thread.
    Application* app = app_;
    const std::string name = parts.size() == 3 ? parts[2] : std::string();
    return app_->RunQuery([app, request_copy = HttpRequest(request), name, respond]() {
      auto result = name.empty() ? app->accounts().CreateAccount(request_copy.body())
                                 : app->accounts().UpdateAccount(name, request_copy.body());
      if (!result.ok()) return respond(Error(request_copy, result.status()));
      respond(Json(request_copy, name.empty() ? 201 : 200, std::move(*result)));
    });
  }
  respond(Error(request, Status(ErrorCode::kNotFound, "no such endpoint")));
}

void RequestRouter::HandleAdmin(HttpRequest& request, const std::vector<std::string>& parts,
                                Responder respond) {
  const bool get = request.method() == http::verb::get;
  const bool put = request.method() == http::verb::put;
  const bool post = request.method() == http::verb::post;
  auto answer_of = [&](const Result<journey::JourneyAnswer>& answer) {
    if (!answer.ok()) return respond(Error(request, answer.status()));
    respond(MakeResponse(request, static_cast<http::status>(answer->status), answer->content_type,
                         answer->body));
  };
  if (parts.size() == 2 && parts[1] == "operators") {
    if (get) return answer_of(app_->journeys().GetOperators());
    if (put) {
      auto answer = app_->journeys().SetOperators(request.body());
      if (answer.ok()) {
        Status synced = app_->kv().SyncWal();
        if (!synced.ok()) answer = synced;
      }
      return answer_of(answer);
    }
    return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET or PUT")));
  }
  if (parts.size() == 2 && parts[1] == "clock") {
    SimulatedClock* clock = app_->simulated_clock();
    if (clock == nullptr) {
      return respond(Error(request, Status(ErrorCode::kNotFound,
                                           "the clock endpoint exists only with --clock simulated")));
    }
    if (get) {
      return respond(Json(request, 200, "{\"now_ms\":" + std::to_string(clock->NowMs()) + "}"));
    }
    if (!post) return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, "use GET or POST")));
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(request.body()).get(root) != simdjson::SUCCESS || !root.is_object()) {
      return respond(Error(request, Status(ErrorCode::kBadRequest, "body must be a JSON object")));
    }
    int64_t value = 0;
    int64_t target = 0;
    if (root["advance_seconds"].get_int64().get(value) == simdjson::SUCCESS) {
      if (value < 0) {
        return respond(Error(request, Status(ErrorCode::kBadRequest, "advance_seconds: must not be negative", "advance_seconds")));
      }
      target = clock->NowMs() + value * 1000;
    } else if (root["set"].get_int64().get(value) == simdjson::SUCCESS) {
      if (value < clock->NowMs()) {
        return respond(Error(request, Status(ErrorCode::kBadRequest, "set: the clock never moves back", "set")));
      }
      target = value;
    } else {
      return respond(Error(request, Status(ErrorCode::kBadRequest, "give advance_seconds or set (ms)")));
    }
    HttpRequest request_copy(request.base());
    Application* app = app_;
    // The clock steps through every due time up to the target, so each timer, deferred touch
    // and retry runs at its own time; everything due runs before the answer (on the query pool:
    // it waits for what it ingests).
    app_->RunQuery([app, clock, target, request_copy, respond]() {
      // Events acknowledged before this request are applied at the time they were ingested.
      app->audience().Drain();
      app->journeys().Drain();
      int stalled = 0;  // steps that found work due now but did not move it on
      for (int steps = 0; steps < 100'000 && stalled < 3; ++steps) {
        const int64_t next = app->journeys().NextDueMs();
        if (next > target) break;
        if (next > clock->NowMs()) clock->SetMs(next);
        app->audience().RunDue();
        const bool progressed = app->journeys().RunDueNow();
        stalled = progressed ? 0 : stalled + 1;
      }
      clock->SetMs(std::max(target, clock->NowMs()));
      app->audience().RunDue();
      app->journeys().RunDueNow();
      respond(Json(request_copy, 200, "{\"now_ms\":" + std::to_string(app->clock().NowMs()) + "}"));
    });
    return;
  }
  respond(Error(request, Status(ErrorCode::kNotFound, "no such admin endpoint")));
}

void RequestRouter::HandleJourneys(HttpRequest& request,
                                   std::shared_ptr<const state::ProjectInfo> project,
                                   const std::vector<std::string>& parts, std::string_view query,
                                   const access::Principal& principal, Responder respond) {
  using journey::JourneyAnswer;
  using journey::JourneyEngine;
  using Handler = std::function<Result<JourneyAnswer>(JourneyEngine&, const std::string& body)>;
  const http::verb method = request.method();
  const bool get = method == http::verb::get;
  const bool post = method == http::verb::post;
  const bool put = method == http::verb::put;
  const bool del = method == http::verb::delete_;
  // Who acts, with which maker-checker roles: an account acts as itself with the roles its
  // permissions give; the admin token acts for the operator named in X-Sextant-Operator, with
  // the roles PUT /api/v1/admin/operators gave that name (automation, and the tests' set-up).
  journey::JourneyActor acting;
  if (principal.kind == "admin_token") {
    acting.name = Header(request, "X-Sextant-Operator");
    if (!acting.name.empty()) acting.roles = app_->journeys().OperatorRoles(acting.name);
  } else {
    acting.name = principal.name;
    if (principal.Can(access::Permission::kJourneyWrite)) acting.roles = {"maker", "operator"};
    if (principal.Can(access::Permission::kJourneyApprove)) acting.roles.insert("approver");
  }
  const std::string actor = acting.name;
  // Advisors (task permissions without journey.read) see and work only their own tasks.
  const std::string only_advisor =
      principal.Can(access::Permission::kJourneyRead) ? std::string() : principal.name;
  const std::string area = parts[2];
  const std::string id = parts.size() >= 4 ? parts[3] : std::string();
  const std::string sub = parts.size() >= 5 ? parts[4] : std::string();
  std::shared_ptr<const state::ProjectInfo> info = project;
  Handler handler;
  const char* allowed = "GET";
  // A branch-scoped caller's customers, for the journey list's and detail's counts.
  std::shared_ptr<const Roaring> visible;
  if (area == "journeys" && get && (parts.size() == 3 || parts.size() == 4)) {
    if (auto scope = CustomerScopeOf(principal, app_->accounts())) {
      auto members = app_->audience().ScopeMembers(*project, *scope);
      if (!members.ok()) return respond(Error(request, members.status()));
      visible = std::make_shared<const Roaring>(std::move(*members));
    }
  }
  if (area == "journeys") {
    if (parts.size() == 3) {
      allowed = "GET or POST";
      if (get) handler = [info, visible](JourneyEngine& e, const std::string&) { return e.ListJourneys(*info, visible.get()); };
      if (post) handler = [info, actor](JourneyEngine& e, const std::string& b) { return e.CreateJourney(*info, actor, b); };
    } else if (parts.size() == 4 && id == "dry-run") {
      allowed = "POST";
      if (post) handler = [info](JourneyEngine& e, const std::string& b) { return e.DryRun(*info, b); };
    } else if (parts.size() == 4) {
      allowed = "GET, PUT or DELETE";
      if (get) handler = [info, id, visible](JourneyEngine& e, const std::string&) { return e.GetJourney(*info, id, visible.get()); };
      if (put) handler = [info, id, actor](JourneyEngine& e, const std::string& b) { return e.UpdateJourney(*info, id, actor, b); };
      if (del) handler = [info, id, actor](JourneyEngine& e, const std::string&) { return e.DeleteJourney(*info, id, actor); };
    } else if (parts.size() == 5 && sub == "versions") {
      if (get) handler = [info, id](JourneyEngine& e, const std::string&) { return e.JourneyVersions(*info, id); };
    } else if (parts.size() == 5 && sub == "report") {
      if (get) handler = [info, id](JourneyEngine& e, const std::string&) { return e.JourneyReport(*info, id); };
    } else if (parts.size() == 5 && sub == "ledger") {
      const size_t limit = LimitParam(query, 100, 10'000);
      if (get) handler = [info, id, limit](JourneyEngine& e, const std::string&) { return e.Ledger(*info, id, "", limit); };
    } else if (parts.size() == 6 && sub == "customers") {
      const std::string distinct_id = parts[5];
      if (get) handler = [info, id, distinct_id](JourneyEngine& e, const std::string&) { return e.JourneyCustomer(*info, id, distinct_id); };
    } else if (parts.size() == 5 && sub == "backtest") {
      allowed = "POST";
      query::QueryEngine* queries = &app_->queries();
      if (post) handler = [info, id, queries](JourneyEngine& e, const std::string& b) { return e.Backtest(*info, id, b, queries); };
    } else if (parts.size() == 5 && sub == "trigger") {
      allowed = "POST";
      if (post) handler = [info, id](JourneyEngine& e, const std::string& b) { return e.TriggerJourney(*info, id, b); };
    } else if (parts.size() == 5) {
      allowed = "POST";
      if (post) handler = [info, id, sub, acting](JourneyEngine& e, const std::string& b) { return e.JourneyAction(*info, id, sub, acting, b); };
    }
  } else if (area == "touch-rules" && parts.size() == 3) {
    allowed = "GET or PUT";
    if (get) handler = [info](JourneyEngine& e, const std::string&) { return e.GetTouchRules(*info); };
    if (put) handler = [info](JourneyEngine& e, const std::string& b) { return e.PutTouchRules(*info, b); };
  } else if (area == "channels") {
    allowed = parts.size() == 3 ? "GET" : parts.size() == 4 ? "PUT" : "POST";
    if (parts.size() == 3 && get) handler = [info](JourneyEngine& e, const std::string&) { return e.ListChannels(*info); };
    if (parts.size() == 4 && put) handler = [info, id](JourneyEngine& e, const std::string& b) { return e.PutChannel(*info, id, b); };
    if (parts.size() == 5 && sub == "test" && post) handler = [info, id](JourneyEngine& e, const std::string& b) { return e.TestChannel(*info, id, b); };
  } else if (area == "templates") {
    if (parts.size() == 3) {
      if (get) handler = [info](JourneyEngine& e, const std::string&) { return e.ListTemplates(*info); };
    } else if (parts.size() == 4) {
      allowed = "PUT";
      if (put) handler = [info, id, actor](JourneyEngine& e, const std::string& b) { return e.PutTemplate(*info, id, actor, b); };
    } else if (parts.size() == 5 && sub == "approve") {
      allowed = "POST";
      if (post) handler = [info, id, acting](JourneyEngine& e, const std::string&) { return e.ApproveTemplate(*info, id, acting); };
    } else if (parts.size() == 5 && sub == "preview") {
      allowed = "POST";
      if (post) handler = [info, id](JourneyEngine& e, const std::string& b) { return e.PreviewTemplate(*info, id, b); };
    }
  } else if (area == "ledger") {
    if (parts.size() == 3 && get) {
      const std::string journey_id = QueryParam(query, "journey");
      const std::string distinct_id = QueryParam(query, "distinct_id");
      const size_t limit = LimitParam(query, 100, 10'000);
      handler = [info, journey_id, distinct_id, limit](JourneyEngine& e, const std::string&) {
        return e.Ledger(*info, journey_id, distinct_id, limit);
      };
    } else if (parts.size() == 4 && id == "verify" && get) {
      handler = [info](JourneyEngine& e, const std::string&) -> Result<JourneyAnswer> {
        auto verification = e.VerifyLedger(*info);
        if (!verification.ok()) return verification.status();
        return JourneyAnswer{200, VerificationJson(*verification)};
      };
    }
  } else if (area == "tasks") {
    if (parts.size() == 3 && get) {
      const std::string assignee = only_advisor.empty() ? QueryParam(query, "assignee") : only_advisor;
      const std::string status = QueryParam(query, "status");
      // A branch manager (org unit below the root) sees the tasks of the advisors in their
      // branch, and their own.
      std::function<bool(std::string_view)> visible;
      if (only_advisor.empty() && principal.ScopedToOrgUnit()) {
        visible = [app = app_, scope = principal](std::string_view task_assignee) {
          if (task_assignee == scope.name) return true;
          const std::string unit = app->accounts().OrgUnitOf(std::string(task_assignee));
          return !unit.empty() && scope.CoversOrgUnit(unit);
        };
      }
      handler = [info, assignee, status, visible](JourneyEngine& e, const std::string&) { return e.ListTasks(*info, assignee, status, visible); };
    } else if (parts.size() == 5) {
      allowed = "POST";
      if (post) handler = [info, id, sub, only_advisor](JourneyEngine& e, const std::string& b) { return e.TaskAction(*info, id, sub, b, only_advisor); };
    }
  } else if (area == "users") {
    allowed = "GET or PUT";
    if (get) handler = [info, id](JourneyEngine& e, const std::string&) { return e.GetConsent(*info, id); };
    if (put) handler = [info, id](JourneyEngine& e, const std::string& b) { return e.SetConsent(*info, id, b); };
  }
  if (!handler) {
    return respond(Error(request, Status(ErrorCode::kMethodNotAllowed, std::string("use ") + allowed)));
  }
  HttpRequest request_copy(request.base());
  std::string body = request.body();
  Application* app = app_;
  // On the query pool: journey actions may wait for the events they ingest to be durable.
  const bool writes = !get;
  app_->RunQuery([app, request_copy, body = std::move(body), handler = std::move(handler), respond,
                  writes]() {
    auto answer = handler(app->journeys(), body);
    if (!answer.ok()) return respond(Error(request_copy, answer.status()));
    // A change is durable before it is acknowledged, as an ingested record is.
    if (writes) {
      Status synced = app->kv().SyncWal();
      if (!synced.ok()) return respond(Error(request_copy, synced));
    }
    respond(MakeResponse(request_copy, static_cast<http::status>(answer->status),
                         answer->content_type, std::move(answer->body)));
  });
}

}  // namespace sextant::server
