// IngestPipeline: everything between a decoded payload and an acknowledgement.
//
// For each record, in order: parse result → project (record-level "project" overrides the
// request's) and token → Sensors validation → receive time for records without time →
// deduplication → schema types (fixed at first sight) → [dry run stops here] → ID-Mapping →
// enrichment ($ip, user agent, $is_first_day) → event row / profile / item change.
// Refused records go to the ingest-error log with code, field and an excerpt; the answer lists
// them by index. `done` runs once every accepted change is durable (event WAL fsynced and the
// state store's log synced), so an acknowledged record survives kill -9.
//
// Concurrency: parsing and validation run on the calling thread without locks; the stateful
// steps of one project run under that project's ingest lock, so records of one request are
// applied in order and identities are linked deterministically. `done` runs on the event
// store's commit thread (or inline for dry runs) and must not block.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/record.h"
#include "common/status.h"
#include "decode/record_parser.h"
#include "decode/record_validator.h"
#include "identity/identity_store.h"
#include "ingest/commit_observer.h"
#include "ingest/dedupe_filter.h"
#include "profile/profile_store.h"
#include "state/ingest_error_log.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "store/event_store.h"

namespace sextant::ingest {

struct IngestOptions {
  decode::ValidationOptions validation;  // now_ms is filled per request
  int64_t dedupe_window_ms = 7LL * 86'400'000;
  size_t dedupe_max_keys_per_generation = 4'000'000;
  // Only these peers may set the client address with X-Forwarded-For.
  std::vector<std::string> trusted_proxies = {"127.0.0.1", "::1"};
};

struct RequestContext {
  std::string source;        // "sa", "debug", "batch", "segment" — for the error log
  std::string peer_ip;       // TCP peer
  std::string forwarded_for; // X-Forwarded-For header, if any
  std::string user_agent;
  std::string url_token;     // ?token= of the request
  bool dry_run = false;      // validate only, store nothing
  // The caller is authenticated for every project (the admin API): project tokens are not
  // asked for. Public ingest endpoints (/sa, /v1/*) leave this false.
  bool all_projects_authorized = false;
};

// One record of a payload: its parse result and, if the caller kept it, its JSON text (for the
// error log; when empty the pipeline renders the parsed record instead).
using RecordInput = decode::ParsedRecord;

// A record rendered back to Sensors JSON (for error-log excerpts when the request's own text
// of the record was not kept). The token is never rendered.
std::string RenderRecordJson(const Record& record, const TimeZone& zone);

struct RejectedRecord {
  size_t index = 0;
  Status status;
};

struct IngestOutcome {
  size_t accepted = 0;
  size_t duplicates = 0;
  std::vector<RejectedRecord> rejected;
};

struct IngestMetrics {
  LabeledCounter records_accepted;  // by source
  LabeledCounter records_rejected;  // by reason (error code name)
  Counter dedupe_hits;
};

class IngestPipeline {
 public:
  IngestPipeline(IngestOptions options, const Clock* clock, state::KvStore* kv,
                 state::ProjectRegistry* projects, state::SchemaRegistry* schemas,
                 state::IngestErrorLog* error_log, identity::IdentityStore* identities,
                 profile::ProfileStore* profiles, store::EventStore* events);

  // Rebuilds the deduplication filter from stored events of the last window (parts and
  // heads, so WAL-recovered rows included) and from the KV store's keys of profile/item
  // operations. Call once after opening, before serving.
  Status RebuildDedupe();

  // Processes `records` for `default_project` (the URL's / route's project name).
  // `done(outcome, status)`: status is non-OK only for server faults (nothing acknowledged).
  void Ingest(const std::string& default_project, std::vector<RecordInput> records,
              const RequestContext& context,
              std::function<void(IngestOutcome, Status)> done);

  // Logs a payload-level problem (e.g. a crc mismatch) durably, then calls `done`.
  void LogPayloadError(const std::string& project, const Status& status, std::string excerpt,
                       const RequestContext& context, std::function<void(Status)> done);

  // Address the request came from: X-Forwarded-For's first entry if the peer is trusted.
  std::string ClientIp(const RequestContext& context) const;

  // Receives durable changes (set before serving; null = nobody).
  // Observers are told in the order added. Add them before ingest starts.
  void AddCommitObserver(CommitObserver* observer) { observers_.push_back(observer); }

  // The lock under which the stateful steps of `project`'s records run (identity resolution,
  // profile changes). Holding it keeps records from resolving ids while they are changed
  // elsewhere (erasure of a person).
  std::mutex& ProjectLock(state::ProjectId project);

  IngestMetrics& metrics() { return metrics_; }
  const DedupeFilter& dedupe() const { return dedupe_; }

 private:
  struct Group {
    std::shared_ptr<const state::ProjectInfo> project;
    std::vector<size_t> indexes;  // into the request's records
  };
  // Stateful steps for one project's records; returns the event rows to append.
  std::vector<store::EventRow> ApplyGroup(const state::ProjectInfo& project,
                                          std::vector<RecordInput>& records,
                                          const std::vector<size_t>& indexes,
                                          const RequestContext& context, int64_t now_ms,
                                          IngestOutcome* outcome, state::KvStore::Batch* batch,
                                          std::vector<store::UserId>* profile_users,
                                          std::vector<uint64_t>* dedupe_keys);
  void Reject(const state::ProjectInfo* project, size_t index, const RecordInput& input,
              Status status, const RequestContext& context, int64_t now_ms, IngestOutcome* outcome,
              state::KvStore::Batch* batch);
  void Enrich(Record* record, const RequestContext& context) const;

  const IngestOptions options_;
  const Clock* clock_;
  state::KvStore* kv_;
  state::ProjectRegistry* projects_;
  state::SchemaRegistry* schemas_;
  state::IngestErrorLog* error_log_;
  identity::IdentityStore* identities_;
  profile::ProfileStore* profiles_;
  store::EventStore* events_;
  DedupeFilter dedupe_;
  IngestMetrics metrics_;
  std::vector<CommitObserver*> observers_;
  std::mutex locks_mu_;
  std::unordered_map<state::ProjectId, std::unique_ptr<std::mutex>> project_locks_;  // guarded by locks_mu_
};

}  // namespace sextant::ingest
