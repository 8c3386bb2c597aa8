#include "server/import_jobs.h"

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json_writer.h"
#include "common/thread_name.h"
#include "import/row_mapper.h"

namespace sextant::server {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kJobPrefix = "impj/";

std::string JobKey(state::ProjectId project, uint64_t id) {
  std::string key = std::string(kJobPrefix) + std::to_string(project) + "/";
  state::AppendBigEndian64(id, &key);
  return key;
}

// The uploaded name reduced to a safe file name: its last path component, with characters
// other than letters, digits, '.', '-' and '_' replaced (UTF-8 bytes are kept).
std::string SafeFileName(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  std::string out;
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    const bool keep = std::isalnum(byte) || c == '.' || c == '-' || c == '_' || byte >= 0x80;
    out.push_back(keep ? c : '_');
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.empty()) out = "upload";
  return out.substr(0, 120);
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Status BadParameter(const std::string& parameter, const std::string& message) {
  return Status(ErrorCode::kBadRequest, parameter + ": " + message, parameter);
}

}  // namespace

ImportJobs::ImportJobs(std::string dir, state::KvStore* kv, Clock* clock)
    : dir_(std::move(dir)), kv_(kv), clock_(clock) {}

ImportJobs::~ImportJobs() { Stop(); }

Status ImportJobs::Open() {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return Status(ErrorCode::kIoError, "cannot create " + dir_ + ": " + error.message());
  std::vector<std::unique_ptr<Job>> loaded;
  Status bad;
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(kJobPrefix, [&](std::string_view key, std::string_view value) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(value).get(root) != simdjson::SUCCESS) {
      bad = Status(ErrorCode::kCorruption, "undecodable import job record " + std::string(key));
      return false;
    }
    auto job = std::make_unique<Job>();
    auto text = [&](const char* field) {
      std::string_view out;
      return root[field].get_string().get(out) == simdjson::SUCCESS ? std::string(out)
                                                                    : std::string();
    };
    auto number = [&](const char* field) {
      int64_t out = 0;
      return root[field].get_int64().get(out) == simdjson::SUCCESS ? out : int64_t{0};
    };
    job->project = static_cast<state::ProjectId>(number("project_id"));
    job->project_name = text("project");
    job->id = text("id");
    job->request.name = text("name");
    job->request.kind = text("kind");
    job->request.format = text("format");
    job->request.created_by = text("created_by");
    job->status = text("status");
    job->message = text("message");
    job->bytes = static_cast<uint64_t>(number("bytes"));
    job->progress.bytes_done = static_cast<uint64_t>(number("bytes_done"));
    job->progress.rows_done = static_cast<uint64_t>(number("records_done"));
    job->progress.errors = static_cast<uint64_t>(number("errors"));
    job->report.rows = static_cast<uint64_t>(number("rows"));
    job->report.accepted = static_cast<uint64_t>(number("accepted"));
    job->report.duplicates = static_cast<uint64_t>(number("duplicates"));
    job->report.failed = static_cast<uint64_t>(number("failed"));
    job->created_ms = number("created_ms");
    job->started_ms = number("started_ms");
    job->finished_ms = number("finished_ms");
    double seconds = 0;
    if (root["seconds"].get_double().get(seconds) == simdjson::SUCCESS) job->report.seconds = seconds;
    if (job->status == "queued" || job->status == "running") {
      job->status = "interrupted";
      job->message = "the server stopped before the import finished; import the file again "
                     "(rows already stored are recognised and not stored twice)";
      job->finished_ms = clock_->NowMs();
    }
    loaded.push_back(std::move(job));
    return true;
  }));
  SEXTANT_RETURN_IF_ERROR(bad);
  std::lock_guard lock(mu_);
  for (auto& job : loaded) {
    const uint64_t id = std::strtoull(job->id.c_str(), nullptr, 10);
    next_id_ = std::max(next_id_, id + 1);
    if (job->status == "interrupted") {
      // A job cut short by a crash left its upload behind: it holds customer data.
      std::error_code ignored;
      fs::remove(FilePath(*job), ignored);
      fs::remove(fs::path(FilePath(*job)).parent_path() / "mapping.json", ignored);
    }
    SEXTANT_RETURN_IF_ERROR(SaveLocked(*job));  // the interrupted mark
    jobs_[{job->project, id}] = std::move(job);
  }
  worker_ = std::thread([this] {
    SetCurrentThreadName("import-jobs");
    Worker();
  });
  return Status::Ok();
}

void ImportJobs::SetTarget(std::string server_url, std::string token) {
  std::lock_guard lock(mu_);
  server_url_ = std::move(server_url);
  token_ = std::move(token);
}

std::string ImportJobs::FilePath(const Job& job) const {
  return (fs::path(dir_) / std::to_string(job.project) / job.id / SafeFileName(job.request.name))
      .string();
}

std::string ImportJobs::ErrorsPath(const Job& job) const {
  return (fs::path(dir_) / std::to_string(job.project) / job.id / "errors.txt").string();
}

Result<std::string> ImportJobs::Start(const state::ProjectInfo& project,
                                      const ImportRequest& request, std::string_view file) {
  auto job = std::make_unique<Job>();
  job->project = project.id;
  job->project_name = project.name;
  job->request = request;
  if (job->request.name.empty()) job->request.name = "upload.csv";
  import::ImportKind kind;
  if (job->request.kind.empty()) job->request.kind = "events";
  if (!import::ParseImportKind(job->request.kind, &kind)) {
    return BadParameter("kind", "must be events, profiles, items or records, got \"" +
                                    job->request.kind + "\"");
  }
  std::string& format = job->request.format;
  if (format.empty()) {
    const std::string& name = job->request.name;
    format = EndsWith(name, ".jsonl") || EndsWith(name, ".ndjson") || EndsWith(name, ".json")
                 ? "jsonl"
                 : "csv";
  }
  if (format != "csv" && format != "jsonl") {
    return BadParameter("format", "must be csv or jsonl, got \"" + format + "\"");
  }
  if (kind == import::ImportKind::kRecords && format != "jsonl") {
    return BadParameter("format", "records are imported from JSON lines (format jsonl)");
  }
  const std::string& delimiter = job->request.delimiter;
  if (!delimiter.empty() && delimiter != "tab" && delimiter.size() != 1) {
    return BadParameter("delimiter", "must be one character (or \"tab\")");
  }
  if (!job->request.mapping.empty()) {
    auto mapping = import::ParseMapping(job->request.mapping);
    if (!mapping.ok()) {
      return Status(ErrorCode::kBadRequest, "mapping: " + mapping.status().message(),
                    mapping.status().field().empty() ? "mapping"
                                                     : "mapping." + mapping.status().field());
    }
    auto mapper = import::RowMapper::Create(*mapping, kind);
    if (!mapper.ok()) {
      return Status(ErrorCode::kBadRequest, "mapping: " + mapper.status().message(), "mapping");
    }
  }
  if (file.empty()) return BadParameter("body", "the file is empty");

  std::lock_guard lock(mu_);
  if (stopping_) return Status(ErrorCode::kUnavailable, "the server is stopping");
  const uint64_t id = next_id_++;
  job->id = std::to_string(id);
  job->status = "queued";
  job->bytes = file.size();
  job->progress.total_bytes = file.size();
  job->created_ms = clock_->NowMs();
  // The file and the mapping go to disk first: the job record must never name a missing file.
  std::error_code error;
  const fs::path file_path = FilePath(*job);
  fs::create_directories(file_path.parent_path(), error);
  if (error) {
    return Status(ErrorCode::kIoError,
                  "cannot create " + file_path.parent_path().string() + ": " + error.message());
  }
  for (const auto& [path, bytes] :
       {std::pair<fs::path, std::string_view>{file_path, file},
        {file_path.parent_path() / "mapping.json",
         job->request.mapping.empty() ? std::string_view() : std::string_view(job->request.mapping)}}) {
    if (bytes.empty()) continue;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Status(ErrorCode::kIoError, "cannot write " + path.string());
  }
  SEXTANT_RETURN_IF_ERROR(SaveLocked(*job));
  Job* queued = job.get();
  jobs_[{project.id, id}] = std::move(job);
  queue_.push_back(queued);
  cv_.notify_all();
  return JobJsonLocked(*queued);
}

std::string ImportJobs::List(const state::ProjectInfo& project) const {
  std::lock_guard lock(mu_);
  JsonWriter out;
  out.BeginObject().Key("imports").BeginArray();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (it->first.first == project.id) out.Raw(JobJsonLocked(*it->second));
  }
  out.EndArray().EndObject();
  return out.Take();
}

Result<std::string> ImportJobs::Get(const state::ProjectInfo& project,
                                    const std::string& id) const {
  std::lock_guard lock(mu_);
  auto found = jobs_.find({project.id, std::strtoull(id.c_str(), nullptr, 10)});
  if (found == jobs_.end() || found->second->id != id) {
    return Status(ErrorCode::kNotFound, "no import job " + id);
  }
  return JobJsonLocked(*found->second);
}

Result<std::string> ImportJobs::Errors(const state::ProjectInfo& project,
                                       const std::string& id) const {
  std::string path, stored_file, shown_name;
  {
    std::lock_guard lock(mu_);
    auto found = jobs_.find({project.id, std::strtoull(id.c_str(), nullptr, 10)});
    if (found == jobs_.end() || found->second->id != id) {
      return Status(ErrorCode::kNotFound, "no import job " + id);
    }
    path = ErrorsPath(*found->second);
    stored_file = FilePath(*found->second);
    shown_name = SafeFileName(found->second->request.name);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string();
  std::ostringstream read;
  read << in.rdbuf();
  // The importer names the file it read (under DATA_DIR); the caller knows it by its name.
  std::string text = read.str(), out;
  out.reserve(text.size());
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + begin, end - begin);
    if (line.starts_with(stored_file + ":")) {
      out += shown_name;
      line.remove_prefix(stored_file.size());
    }
    out += line;
    begin = end;
  }
  return out;
}

Result<std::string> ImportJobs::Cancel(const state::ProjectInfo& project, const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = jobs_.find({project.id, std::strtoull(id.c_str(), nullptr, 10)});
  if (found == jobs_.end() || found->second->id != id) {
    return Status(ErrorCode::kNotFound, "no import job " + id);
  }
  Job& job = *found->second;
  if (job.status == "queued") {
    std::erase(queue_, &job);
    job.status = "cancelled";
    job.finished_ms = clock_->NowMs();
    std::error_code ignored;
    fs::remove_all(fs::path(FilePath(job)).parent_path(), ignored);
    SEXTANT_RETURN_IF_ERROR(SaveLocked(job));
  } else if (job.status == "running") {
    job.cancel = true;  // the worker records the outcome
  } else {
    return Status(ErrorCode::kConflict, "import job " + id + " has already ended (" + job.status + ")");
  }
  return JobJsonLocked(job);
}

Result<std::string> ImportJobs::Delete(const state::ProjectInfo& project, const std::string& id) {
  std::lock_guard lock(mu_);
  const uint64_t number = std::strtoull(id.c_str(), nullptr, 10);
  auto found = jobs_.find({project.id, number});
  if (found == jobs_.end() || found->second->id != id) {
    return Status(ErrorCode::kNotFound, "no import job " + id);
  }
  if (found->second->status == "queued" || found->second->status == "running") {
    return Status(ErrorCode::kConflict, "import job " + id + " is " + found->second->status +
                                            ": cancel it first");
  }
  std::error_code ignored;
  fs::remove_all(fs::path(FilePath(*found->second)).parent_path(), ignored);
  SEXTANT_RETURN_IF_ERROR(kv_->Delete(JobKey(project.id, number)));
  jobs_.erase(found);
  return std::string(R"({"deleted":true})");
}

void ImportJobs::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [key, job] : jobs_) job->cancel = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ImportJobs::Worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;  // queued jobs stay "queued" in the state store: interrupted at start
    Job* job = queue_.front();
    queue_.pop_front();
    job->status = "running";
    job->started_ms = clock_->NowMs();
    (void)SaveLocked(*job);
    lock.unlock();
    Run(*job);
    lock.lock();
  }
}

void ImportJobs::Run(Job& job) {
  import::ImportOptions options;
  {
    std::lock_guard lock(mu_);
    options.server = server_url_;
    options.token = token_;
  }
  options.project = job.project_name;
  (void)import::ParseImportKind(job.request.kind, &options.kind);
  options.format = job.request.format;
  const fs::path file_path = FilePath(job);
  if (fs::exists(file_path.parent_path() / "mapping.json")) {
    options.mapping_file = (file_path.parent_path() / "mapping.json").string();
  }
  options.errors_file = ErrorsPath(job);
  options.batch = 2000;
  options.connections = 2;
  options.delimiter = job.request.delimiter == "tab" ? '\t'
                      : job.request.delimiter.empty() ? ','
                                                      : job.request.delimiter[0];
  options.progress = 0;
  options.files = {file_path.string()};
  options.cancel = &job.cancel;
  options.on_progress = [this, &job](const import::ImportProgress& progress) {
    std::lock_guard lock(mu_);
    job.progress = progress;
  };
  import::ImportReport report;
  Status result = import::RunImport(options, &report);

  std::lock_guard lock(mu_);
  job.report = report;
  job.finished_ms = clock_->NowMs();
  if (!result.ok()) {
    job.status = "failed";
    job.message = result.message();
  } else if (report.fatal == "cancelled") {
    job.status = "cancelled";
    job.message = stopping_ ? "the server stopped; import the file again to finish" : "";
    if (stopping_) job.status = "interrupted";
  } else if (!report.fatal.empty()) {
    job.status = "failed";
    job.message = report.fatal;
  } else {
    job.status = "done";
  }
  // The uploaded file holds customer data: it goes once the job has ended (the error file,
  // which names lines and reasons, stays until the job is deleted).
  std::error_code ignored;
  fs::remove(file_path, ignored);
  fs::remove(file_path.parent_path() / "mapping.json", ignored);
  (void)SaveLocked(job);
}

Status ImportJobs::SaveLocked(const Job& job) {
  // The stored record is the job's JSON plus the numeric project id.
  std::string json = JobJsonLocked(job);
  json.insert(1, "\"project_id\":" + std::to_string(job.project) + ",");
  SEXTANT_RETURN_IF_ERROR(
      kv_->Put(JobKey(job.project, std::strtoull(job.id.c_str(), nullptr, 10)), json));
  return kv_->SyncWal();
}

std::string ImportJobs::JobJsonLocked(const Job& job) const {
  JsonWriter out;
  out.BeginObject();
  out.Key("id").String(job.id);
  out.Key("project").String(job.project_name);
  out.Key("name").String(job.request.name);
  out.Key("kind").String(job.request.kind);
  out.Key("format").String(job.request.format);
  out.Key("created_by").String(job.request.created_by);
  out.Key("status").String(job.status);
  if (!job.message.empty()) out.Key("message").String(job.message);
  out.Key("bytes").Uint(job.bytes);
  out.Key("bytes_done").Uint(job.progress.bytes_done);
  out.Key("percent").Double(job.bytes == 0 ? 0.0
                                           : 100.0 * static_cast<double>(job.progress.bytes_done) /
                                                 static_cast<double>(job.bytes));
  out.Key("records_done").Uint(job.progress.rows_done);
  out.Key("errors").Uint(job.status == "running" ? job.progress.errors : job.report.failed);
  out.Key("rows").Uint(job.report.rows);
  out.Key("accepted").Uint(job.report.accepted);
  out.Key("duplicates").Uint(job.report.duplicates);
  out.Key("failed").Uint(job.report.failed);
  out.Key("seconds").Double(job.report.seconds);
  out.Key("created_ms").Int(job.created_ms);
  out.Key("started_ms").Int(job.started_ms);
  out.Key("finished_ms").Int(job.finished_ms);
  out.EndObject();
  return out.Take();
}

}  // namespace sextant::server
