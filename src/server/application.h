// Application: owns and wires every component of `sextant serve` — state store, registries,
// identity, profiles, event store, ingest pipeline, HTTP server — and their lifecycle.
// The CLI builds one from ServeOptions; tests can too.
//
// Data directory layout: DIR/state (RocksDB), DIR/events (WAL + parts), DIR/admin_token.
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/thread_pool.hpp>

#include "access/account_store.h"
#include "access/audit_trail.h"
#include "access/pii_masking.h"
#include "audience/audience_engine.h"
#include "catalog/catalog_store.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "identity/identity_store.h"
#include "ingest/ingest_pipeline.h"
#include "journey/journey_engine.h"
#include "profile/profile_store.h"
#include "server/console_files.h"
#include "server/import_jobs.h"
#include "server/recent_events.h"
#include "query/query_engine.h"
#include "server/http_server.h"
#include "state/ingest_error_log.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "state/schema_registry.h"
#include "store/event_store.h"

namespace sextant::server {

struct ServeOptions {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";
  uint16_t port = 8106;
  std::string admin_token;          // empty = from DIR/admin_token, created on first start
  bool strict_durability = true;    // false = relaxed: WAL fsync every 200 ms, ack before it
  int io_threads = 2;
  uint64_t max_body_bytes = 64ull << 20;
  uint32_t max_header_bytes = 64 * 1024;
  int retention_days = 0;           // 0 = keep events forever
  int64_t max_past_ms = 2LL * 365 * 86'400'000;
  int64_t max_future_ms = 3'600'000;
  std::vector<std::string> trusted_proxies = {"127.0.0.1", "::1"};
  // Projects to create at start if missing: "name" or "name:token".
  std::vector<std::string> projects;
  // Analysis queries: how many run at once, and the memory for cached day columns.
  int concurrent_queries = 2;
  size_t query_cache_bytes = size_t{4} << 30;
  // "system", or "simulated": time starts at `simulated_start_ms` (0 = the system time at start)
  // and moves only through POST /api/v1/admin/clock (tests, demos of journeys).
  std::string clock = "system";
  int64_t simulated_start_ms = 0;
  // The built web console (web/dist) served at "/"; empty = none (an explanation page).
  std::string console_dir;
  // Keyring for encryption at rest of personal data (state/state_cipher.h); empty = the
  // SEXTANT_PII_KEYS environment variable, else no encryption.
  std::string pii_key_file;
};

class RequestRouter;

class Application {
 public:
  explicit Application(ServeOptions options, Clock* clock = &SystemClock::Instance());
  ~Application();

  // Opens the stores (recovering from the WAL), rebuilds derived state, starts serving.
  Status Start();
  // Stops serving, flushes heads to parts, closes stores. Idempotent. Answers the first error
  // of the final flush and syncs (nothing acknowledged is lost by one: it is in the WAL and is
  // replayed at the next start, but the operator is told, and `serve` exits non-zero).
  Status Stop();

  uint16_t port() const { return port_; }
  const std::string& admin_token() const { return admin_token_; }

  // Components, for the router.
  state::ProjectRegistry& projects() { return *projects_; }
  state::SchemaRegistry& schemas() { return *schemas_; }
  state::IngestErrorLog& error_log() { return *error_log_; }
  identity::IdentityStore& identities() { return *identities_; }
  profile::ProfileStore& profiles() { return *profiles_; }
  store::EventStore& events() { return *events_; }
  ingest::IngestPipeline& pipeline() { return *pipeline_; }
  query::QueryEngine& queries() { return *queries_; }
  catalog::CatalogStore& catalog() { return *catalog_; }
  audience::AudienceEngine& audience() { return *audience_; }
  journey::JourneyEngine& journeys() { return *journeys_; }
  access::AccountStore& accounts() { return *accounts_; }
  access::AuditTrail& audit() { return *audit_; }
  access::PiiRegistry& pii() { return *pii_; }
  RecentEvents& recent_events() { return *recent_events_; }
  ImportJobs& imports() { return *imports_; }
  // The simulated clock in --clock simulated mode, else null.
  SimulatedClock* simulated_clock() { return simulated_clock_.get(); }
  // Runs `job` on the query pool (analysis queries must not block I/O threads).
  void RunQuery(std::function<void()> job);
  state::KvStore& kv() { return *kv_; }
  state::KvStore& journey_queue_kv() { return *journey_queue_kv_; }
  const ServeOptions& options() const { return options_; }
  Clock& clock() { return *clock_; }
  Histogram& request_latency() { return request_latency_; }
  const ConsoleFiles& console() const { return console_; }

 private:
  Status LoadAdminToken();
  void MaintenanceLoop();

  ServeOptions options_;
  Clock* clock_;
  ConsoleFiles console_;
  std::string admin_token_;
  uint16_t port_ = 0;
  std::unique_ptr<state::KvStore> kv_;
  // Commits waiting for journey decisions (<data dir>/journey-queue; JourneyEngineOptions::
  // commit_queue). Declared after kv_ and before the engines, so it outlives them.
  std::unique_ptr<state::KvStore> journey_queue_kv_;
  std::unique_ptr<state::ProjectRegistry> projects_;
  std::unique_ptr<state::SchemaRegistry> schemas_;
  std::unique_ptr<state::IngestErrorLog> error_log_;
  std::unique_ptr<identity::IdentityStore> identities_;
  std::unique_ptr<profile::ProfileStore> profiles_;
  std::unique_ptr<store::EventStore> events_;
  std::unique_ptr<ingest::IngestPipeline> pipeline_;
  std::unique_ptr<query::QueryEngine> queries_;
  std::unique_ptr<catalog::CatalogStore> catalog_;
  std::unique_ptr<audience::AudienceEngine> audience_;
  std::unique_ptr<journey::JourneyEngine> journeys_;
  std::unique_ptr<access::AccountStore> accounts_;
  std::unique_ptr<access::AuditTrail> audit_;
  std::unique_ptr<access::PiiRegistry> pii_;
  std::unique_ptr<RecentEvents> recent_events_;
  std::unique_ptr<ImportJobs> imports_;
  std::unique_ptr<SimulatedClock> simulated_clock_;
  std::unique_ptr<boost::asio::thread_pool> query_pool_;
  std::unique_ptr<RequestRouter> router_;
  std::unique_ptr<HttpServer> http_;
  Histogram request_latency_{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stopping_ = false;  // guarded by maintenance_mu_
  std::thread maintenance_;
  bool started_ = false;
};

}  // namespace sextant::server
