#include "server/customer_erasure.h"

#include <simdjson.h>

#include <charconv>
#include <map>
#include <mutex>

#include "common/crash_point.h"
#include "common/json_writer.h"
#include "server/application.h"

namespace sextant::server {

namespace {

// The project id of "<prefix><pid>/..." keys; 0 if malformed.
store::ProjectId ProjectOfKey(std::string_view rest) {
  store::ProjectId project = 0;
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return 0;
  auto [end, error] = std::from_chars(rest.data(), rest.data() + slash, project);
  return error == std::errc() && end == rest.data() + slash ? project : 0;
}

std::string ErasedKey(store::ProjectId project, store::UserId user) {
  std::string key = "ers/" + std::to_string(project) + "/";
  state::AppendBigEndian32(user, &key);
  return key;
}
std::string JobKey(store::ProjectId project, store::UserId user) {
  std::string key = "ersj/" + std::to_string(project) + "/";
  state::AppendBigEndian32(user, &key);
  return key;
}

struct ErasureJob {
  store::ProjectId project = 0;
  std::vector<store::UserId> users;  // the canonical user first
  std::vector<std::string> ids;      // the person's id values (to find quoted records)
  uint64_t identities = 0;
  int64_t requested_ms = 0;
  access::AuditEntry request;  // who asked, from where, the target (customer by digest)
};

std::string EncodeJob(const ErasureJob& job) {
  JsonWriter out;
  out.BeginObject();
  out.Key("users").BeginArray();
  for (store::UserId user : job.users) out.Uint(user);
  out.EndArray();
  out.Key("ids").BeginArray();
  for (const std::string& id : job.ids) out.String(id);
  out.EndArray();
  out.Key("identities").Uint(job.identities);
  out.Key("requested_ms").Int(job.requested_ms);
  out.Key("request").BeginObject();
  out.Key("actor").String(job.request.actor);
  out.Key("actor_kind").String(job.request.actor_kind);
  out.Key("method").String(job.request.method);
  out.Key("route").String(job.request.route);
  out.Key("target").String(job.request.target);
  out.Key("project").String(job.request.project);
  out.Key("peer").String(job.request.peer);
  out.Key("detail").String(job.request.detail);
  out.EndObject();
  out.EndObject();
  return out.Take();
}

Result<ErasureJob> DecodeJob(store::ProjectId project, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ErasureJob job;
  job.project = project;
  simdjson::dom::array users, ids;
  if (parser.parse(json).get(root) != simdjson::SUCCESS ||
      root["users"].get_array().get(users) != simdjson::SUCCESS ||
      root["ids"].get_array().get(ids) != simdjson::SUCCESS)
    return Status(ErrorCode::kCorruption, "undecodable erasure job of project " + std::to_string(project));
  for (simdjson::dom::element user : users) {
    uint64_t id = 0;
    if (user.get_uint64().get(id) == simdjson::SUCCESS) job.users.push_back(static_cast<store::UserId>(id));
  }
  for (simdjson::dom::element id : ids) {
    std::string_view text;
    if (id.get_string().get(text) == simdjson::SUCCESS) job.ids.emplace_back(text);
  }
  uint64_t identities = 0;
  if (root["identities"].get_uint64().get(identities) == simdjson::SUCCESS) job.identities = identities;
  int64_t requested = 0;
  if (root["requested_ms"].get_int64().get(requested) == simdjson::SUCCESS) job.requested_ms = requested;
  simdjson::dom::object request;
  if (root["request"].get_object().get(request) == simdjson::SUCCESS) {
    for (auto [key, target] : {std::pair<const char*, std::string*>{"actor", &job.request.actor},
                               {"actor_kind", &job.request.actor_kind},
                               {"method", &job.request.method},
                               {"route", &job.request.route},
                               {"target", &job.request.target},
                               {"project", &job.request.project},
                               {"peer", &job.request.peer},
                               {"detail", &job.request.detail}}) {
      std::string_view text;
      if (request[key].get_string().get(text) == simdjson::SUCCESS) *target = std::string(text);
    }
  }
  if (job.users.empty())
    return Status(ErrorCode::kCorruption, "erasure job of project " + std::to_string(project) + " names no user");
  return job;
}

// Every step after the durable start; each is idempotent, so a resumed job repeats them. The
// erasure is audited before its job is deleted: a crash in between repeats the steps and the
// audit entry, so an erasure may be audited twice but never not at all.
Result<std::string> FinishErasure(Application& app, const state::ProjectInfo& project,
                                  const ErasureJob& job, bool resumed) {
  auto events = app.events().EraseUsers(project.id, job.users);
  if (!events.ok()) return events.status();
  CrashPoint("erasure.events_erased");
  auto audience = app.audience().ErasePeople(project, job.users);
  if (!audience.ok()) return audience.status();
  auto journeys = app.journeys().ErasePeople(project, job.users);
  if (!journeys.ok()) return journeys.status();
  state::KvStore::Batch batch;
  auto errors = app.error_log().EraseMentioning(project.id, job.ids, &batch);
  if (!errors.ok()) return errors.status();
  SEXTANT_RETURN_IF_ERROR(app.kv().Write(&batch));

  JsonWriter out;
  out.BeginObject();
  out.Key("user_id").Uint(job.users.front());
  out.Key("user_ids").BeginArray();
  for (store::UserId user : job.users) out.Uint(user);
  out.EndArray();
  out.Key("identities").Uint(job.identities);
  out.Key("events").Uint(events->rows_removed);
  out.Key("parts_rewritten").Uint(events->parts_rewritten);
  out.Key("segments").Uint(audience->segments);
  out.Key("tag_snapshots").Uint(audience->tag_snapshots);
  out.Key("journey_instances").Uint(journeys->instances);
  out.Key("timers").Uint(journeys->timers);
  out.Key("touch_history").Uint(journeys->touches);
  out.Key("messages").Uint(journeys->messages);
  out.Key("tasks").Uint(journeys->tasks);
  out.Key("ledger_entries_redacted").Uint(journeys->ledger_entries);
  out.Key("ingest_errors").Uint(*errors);
  out.EndObject();
  std::string summary = out.Take();

  access::AuditEntry entry = job.request;
  entry.action = "erase";
  entry.status = 200;
  if (resumed) {
    entry.detail += std::string(entry.detail.empty() ? "" : "; ") +
                    "finished at start after an interruption";
  }
  entry.detail += (entry.detail.empty() ? "" : "; ") + summary;
  auto appended = app.audit().Append(entry);
  if (!appended.ok()) return appended.status();
  CrashPoint("erasure.audited");

  SEXTANT_RETURN_IF_ERROR(app.kv().Delete(JobKey(project.id, job.users.front())));
  SEXTANT_RETURN_IF_ERROR(app.kv().SyncWal());
  // Deleted state must also leave the state store's files: flush its memtable (its log goes)
  // and rewrite its tables without the deleted keys. The journey queue store's log and
  // tables held the customer's events between ingest and decision.
  SEXTANT_RETURN_IF_ERROR(app.kv().Compact());
  SEXTANT_RETURN_IF_ERROR(app.journey_queue_kv().Compact());
  return summary;
}

}  // namespace

Result<std::map<store::ProjectId, std::vector<store::UserId>>> LoadErasedUsers(
    const state::KvStore& kv) {
  std::map<store::ProjectId, std::vector<store::UserId>> erased;
  SEXTANT_RETURN_IF_ERROR(kv.ScanPrefix("ers/", [&](std::string_view key, std::string_view) {
    // "ers/<pid>/<user BE32>"
    const std::string_view rest = key.substr(4);
    const store::ProjectId project = ProjectOfKey(rest);
    if (project == 0 || rest.size() != rest.find('/') + 5) return true;
    erased[project].push_back(state::ReadBigEndian32(rest.substr(rest.size() - 4)));
    return true;
  }));
  return erased;
}

Result<std::string> EraseCustomer(Application& app, const state::ProjectInfo& project,
                                  store::UserId user, const access::AuditEntry& request) {
  ErasureJob job;
  job.project = project.id;
  job.request = request;
  job.requested_ms = SystemClock::Instance().NowMs();
  {
    // No record of the project resolves ids while they are removed.
    std::lock_guard ingest(app.pipeline().ProjectLock(project.id));
    state::KvStore::Batch batch;
    std::vector<Identity> identities;
    SEXTANT_RETURN_IF_ERROR(
        app.identities().ErasePerson(project.id, user, &batch, &job.users, &identities));
    for (const Identity& id : identities) job.ids.push_back(id.value);
    job.identities = identities.size();
    app.profiles().EraseProfiles(project.id, job.users, &batch);
    for (store::UserId erased : job.users)
      batch.Put(ErasedKey(project.id, erased), std::to_string(job.requested_ms));
    batch.Put(JobKey(project.id, job.users.front()), EncodeJob(job));
    SEXTANT_RETURN_IF_ERROR(app.kv().Write(&batch));
    SEXTANT_RETURN_IF_ERROR(app.kv().SyncWal());
  }
  CrashPoint("erasure.started");
  return FinishErasure(app, project, job, /*resumed=*/false);
}

Status ResumeErasures(Application& app) {
  std::vector<std::pair<store::ProjectId, std::string>> jobs;
  SEXTANT_RETURN_IF_ERROR(app.kv().ScanPrefix("ersj/", [&](std::string_view key, std::string_view value) {
    const store::ProjectId project = ProjectOfKey(key.substr(5));
    if (project != 0) jobs.emplace_back(project, std::string(value));
    return true;
  }));
  for (const auto& [project_id, json] : jobs) {
    std::shared_ptr<const state::ProjectInfo> project;
    for (const auto& candidate : app.projects().List())
      if (candidate->id == project_id) project = candidate;
    if (!project) continue;
    auto job = DecodeJob(project_id, json);
    if (!job.ok()) return job.status();
    auto finished = FinishErasure(app, *project, *job, /*resumed=*/true);
    if (!finished.ok()) return finished.status();
  }
  return Status::Ok();
}

}  // namespace sextant::server
