#include "server/application.h"

#include <boost/asio/post.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/thread_name.h"
#include "server/customer_erasure.h"
#include "server/request_router.h"

namespace sextant::server {

namespace fs = std::filesystem;

Application::Application(ServeOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock), console_(options_.console_dir) {}

Application::~Application() { (void)Stop(); }

Status Application::LoadAdminToken() {
  fs::path path = fs::path(options_.data_dir) / "admin_token";
  if (!options_.admin_token.empty()) {
    admin_token_ = options_.admin_token;
    return Status::Ok();
  }
  std::ifstream in(path);
  if (in && std::getline(in, admin_token_) && !admin_token_.empty()) return Status::Ok();
  std::random_device random;
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  admin_token_ = "sx_";
  for (int i = 0; i < 32; ++i) admin_token_ += kAlphabet[random() % 36];
  std::ofstream out(path, std::ios::trunc);
  out << admin_token_ << "\n";
  out.close();
  if (!out) return Status(ErrorCode::kIoError, "cannot write " + path.string());
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  return Status::Ok();
}

Status Application::Start() {
  if (options_.clock == "simulated") {
    simulated_clock_ = std::make_unique<SimulatedClock>(
        options_.simulated_start_ms != 0 ? options_.simulated_start_ms : clock_->NowMs());
    clock_ = simulated_clock_.get();
  } else if (options_.clock != "system") {
    return Status(ErrorCode::kBadRequest, "--clock must be system or simulated");
  }
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + options_.data_dir + ": " + ec.message());
  SEXTANT_RETURN_IF_ERROR(LoadAdminToken());

  auto kv = state::KvStore::Open((fs::path(options_.data_dir) / "state").string());
  if (!kv.ok()) return kv.status();
  kv_ = std::move(kv.value());
  auto cipher = state::StateCipher::Load(options_.pii_key_file);
  if (!cipher.ok()) return cipher.status();
  kv_->SetCipher(*cipher);
  // A store with sealed personal data cannot run without its keys: say so now rather than
  // answer "not found" for every customer.
  auto sealed_with = kv_->FirstSealedKeyId();
  if (!sealed_with.ok()) return sealed_with.status();
  if (*sealed_with != 0 && (*cipher == nullptr || !(*cipher)->Has(*sealed_with)))
    return state::MissingKeyError(*sealed_with);
  // Sessions, token expiry and lockouts follow the wall clock even when journeys run on the
  // simulated one (moving it a month ahead must not sign everyone out).
  auto accounts = access::AccountStore::Open(kv_.get(), &SystemClock::Instance(),
                                             access::AccountStore::Options{});
  if (!accounts.ok()) return accounts.status();
  accounts_ = std::move(accounts.value());
  audit_ = std::make_unique<access::AuditTrail>(kv_.get(), &SystemClock::Instance());
  pii_ = std::make_unique<access::PiiRegistry>(kv_.get());
  auto projects = state::ProjectRegistry::Open(kv_.get());
  if (!projects.ok()) return projects.status();
  projects_ = std::move(projects.value());
  for (const std::string& spec : options_.projects) {
    size_t colon = spec.find(':');
    std::string name = spec.substr(0, colon);
    if (projects_->Find(name)) continue;
    auto created = projects_->Create(
        name, colon == std::string::npos ? std::string() : spec.substr(colon + 1), "");
    if (!created.ok()) return created.status();
  }
  auto schemas = state::SchemaRegistry::Open(kv_.get(), *projects_);
  if (!schemas.ok()) return schemas.status();
  schemas_ = std::move(schemas.value());
  error_log_ = std::make_unique<state::IngestErrorLog>(kv_.get());
  identities_ = std::make_unique<identity::IdentityStore>(kv_.get());
  profiles_ = std::make_unique<profile::ProfileStore>(kv_.get());

  store::EventStoreOptions store_options;
  store_options.dir = (fs::path(options_.data_dir) / "events").string();
  store_options.clock = clock_;
  store_options.sync_wal = options_.strict_durability;
  store_options.retention_days = options_.retention_days;
  for (const auto& project : projects_->List()) {
    store_options.retention_days_by_project[project->id] = project->retention_days;
  }
  // Track ids only matter for deduplication; keep them for the rows its window can reach.
  store_options.track_id_horizon_ms = ingest::IngestOptions().dedupe_window_ms;
  state::KvStore* kv_raw = kv_.get();
  store_options.pre_sync_hooks.push_back([kv_raw] { return kv_raw->SyncWal(); });
  auto erased = LoadErasedUsers(*kv_);
  if (!erased.ok()) return erased.status();
  store_options.erased_users = std::move(*erased);
  auto events = store::EventStore::Open(std::move(store_options));
  if (!events.ok()) return events.status();
  events_ = std::move(events.value());

  ingest::IngestOptions ingest_options;
  ingest_options.validation.max_past_ms = options_.max_past_ms;
  ingest_options.validation.max_future_ms = options_.max_future_ms;
  ingest_options.trusted_proxies = options_.trusted_proxies;
  pipeline_ = std::make_unique<ingest::IngestPipeline>(
      std::move(ingest_options), clock_, kv_.get(), projects_.get(), schemas_.get(),
      error_log_.get(), identities_.get(), profiles_.get(), events_.get());
  SEXTANT_RETURN_IF_ERROR(pipeline_->RebuildDedupe());
  query::QueryEngineOptions query_options;
  query_options.cache_budget_bytes = options_.query_cache_bytes;
  queries_ = std::make_unique<query::QueryEngine>(events_.get(), schemas_.get(), identities_.get(),
                                                  kv_.get(), clock_, query_options);
  catalog_ = std::make_unique<catalog::CatalogStore>(kv_.get(), clock_);
  audience_ = std::make_unique<audience::AudienceEngine>(queries_.get(), schemas_.get(),
                                                         identities_.get(), projects_.get(),
                                                         kv_.get(), clock_);
  audience_->SetPipeline(pipeline_.get());
  pipeline_->AddCommitObserver(audience_.get());
  audience_->Start();
  auto journey_queue = state::KvStore::Open((fs::path(options_.data_dir) / "journey-queue").string());
  if (!journey_queue.ok()) return journey_queue.status();
  journey_queue_kv_ = std::move(journey_queue.value());
  journey::JourneyEngineOptions journey_options;
  journey_options.commit_queue = journey_queue_kv_.get();
  journey_options.sync_commit_queue = options_.strict_durability;
  journeys_ = std::make_unique<journey::JourneyEngine>(
      journey_options, kv_.get(), projects_.get(), schemas_.get(),
      identities_.get(), profiles_.get(), audience_.get(), pipeline_.get(), clock_);
  pipeline_->AddCommitObserver(journeys_.get());
  recent_events_ = std::make_unique<RecentEvents>(&SystemClock::Instance(), schemas_.get());
  pipeline_->AddCommitObserver(recent_events_.get());
  SEXTANT_RETURN_IF_ERROR(journeys_->Start());
  SEXTANT_RETURN_IF_ERROR(ResumeErasures(*this));
  imports_ = std::make_unique<ImportJobs>((fs::path(options_.data_dir) / "imports").string(),
                                          kv_.get(), clock_);
  SEXTANT_RETURN_IF_ERROR(imports_->Open());
  query_pool_ = std::make_unique<boost::asio::thread_pool>(
      static_cast<size_t>(std::max(1, options_.concurrent_queries)));

  router_ = std::make_unique<RequestRouter>(this);
  HttpServerOptions http_options;
  http_options.host = options_.host;
  http_options.port = options_.port;
  http_options.io_threads = options_.io_threads;
  http_options.max_body_bytes = options_.max_body_bytes;
  http_options.max_header_bytes = options_.max_header_bytes;
  RequestRouter* router = router_.get();
  http_ = std::make_unique<HttpServer>(
      http_options, [router](HttpRequest& request, const RequestInfo& info, Responder respond) {
        router->Handle(request, info, std::move(respond));
      });
  auto port = http_->Start();
  if (!port.ok()) return port.status();
  port_ = *port;
  // Import jobs post to this server over loopback (or to the one address it listens on).
  const std::string& host = options_.host;
  const bool any_address = host.empty() || host == "0.0.0.0" || host == "::" || host == "localhost";
  imports_->SetTarget("http://" + (any_address ? std::string("127.0.0.1") : host) + ":" +
                          std::to_string(port_),
                      admin_token_);
  started_ = true;
  maintenance_ = std::thread([this] {
    SetCurrentThreadName("maintenance");
    MaintenanceLoop();
  });
  return Status::Ok();
}

void Application::MaintenanceLoop() {
  std::unique_lock lock(maintenance_mu_);
  while (!stopping_) {
    maintenance_cv_.wait_for(lock, std::chrono::seconds(10));
    if (stopping_) break;
    lock.unlock();
    (void)schemas_->SaveCounts();
    (void)error_log_->Trim();
    lock.lock();
  }
}

void Application::RunQuery(std::function<void()> job) {
  boost::asio::post(*query_pool_, std::move(job));
}

Status Application::Stop() {
  if (!started_) return Status::Ok();
  started_ = false;
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // Import jobs stop reading while the server still answers, so what they read is stored.
  if (imports_) imports_->Stop();
  if (http_) http_->Stop();
  if (query_pool_) query_pool_->join();  // running queries finish before the stores close
  // Applies what ingest handed over and saves realtime membership; its last membership events
  // are appended before the event store closes.
  if (journeys_) journeys_->Stop();
  if (audience_) audience_->Stop();
  Status first;
  auto keep_first = [&first](Status status) {
    if (first.ok() && !status.ok()) first = std::move(status);
  };
  if (events_) keep_first(events_->Close());
  if (schemas_) keep_first(schemas_->SaveCounts());
  if (journey_queue_kv_) keep_first(journey_queue_kv_->SyncWal());
  if (kv_) {
    keep_first(kv_->SyncWal());
    // Space only; nothing depends on it. A full compaction rewrites the whole store: seconds
    // for a small one, minutes for the GiBs of millions of customers' journey state (a 5 M
    // customer send took minutes to stop) — there the memtables are only flushed, and RocksDB's
    // background compaction goes on after the next start.
    constexpr uint64_t kCompactOnStopBelowBytes = uint64_t{256} << 20;
    if (kv_->ApproximateBytes() < kCompactOnStopBelowBytes) {
      (void)kv_->Compact();
    } else {
      (void)kv_->Flush();
    }
  }
  return first;
}

}  // namespace sextant::server
