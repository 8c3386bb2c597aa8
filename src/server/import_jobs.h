// ImportJobs: files uploaded through the API (the console's Data page) and imported in the
// background — docs/import.md, "Import jobs".
//
// A job keeps its file under DATA_DIR/imports/ and runs the importer that `sextant import`
// runs (import/importer.h), posting to this server's own records endpoint over loopback with
// the admin token, so an import job validates, deduplicates and stores exactly as the CLI and
// the SDKs do. Its progress (bytes read, records answered, errors) is readable while it runs,
// and its error file (file:line: code field: reason per failed row) afterwards.
//
// Jobs run one at a time, in the order they were started (an import saturates ingest; two
// would only share it). Job records live in the state store under `impj/<pid>/<id>`; a job
// that was queued or running when the server stopped is marked "interrupted" at the next
// start — importing the same file again is safe: its events carry deterministic track ids,
// which the server deduplicates, and profile and item sets are idempotent.
//
// Thread-safety: thread-safe. One worker thread runs the queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "import/importer.h"
#include "state/kv_store.h"
#include "state/project_registry.h"

namespace sextant::server {

// What POST /imports asks for (its query parameters; the body is the file).
struct ImportRequest {
  std::string name;       // the file's name as uploaded (shown, and names errors)
  std::string kind;       // events | profiles | items | records
  std::string format;     // csv | jsonl; empty: by the name's extension (csv if none)
  std::string delimiter;  // CSV: one character, default ","
  std::string mapping;    // mapping JSON (docs/import.md); empty: by column names
  std::string created_by;
};

class ImportJobs {
 public:
  ImportJobs(std::string dir, state::KvStore* kv, Clock* clock);
  ~ImportJobs();

  // Loads the job records (queued or running ones become "interrupted") and starts the worker.
  Status Open();
  // Where jobs send records: this server, once it listens.
  void SetTarget(std::string server_url, std::string token);

  // Stores the file and queues the job; answers its JSON (status "queued"). kBadRequest names
  // the parameter at fault (an unknown kind, a bad mapping, an empty file).
  Result<std::string> Start(const state::ProjectInfo& project, const ImportRequest& request,
                            std::string_view file);
  // {"imports": [...]} newest first.
  std::string List(const state::ProjectInfo& project) const;
  Result<std::string> Get(const state::ProjectInfo& project, const std::string& id) const;
  // The job's error file (text, one failed row per line); empty when none failed.
  Result<std::string> Errors(const state::ProjectInfo& project, const std::string& id) const;
  // Stops a queued or running job: it reads no further (what was read is still sent).
  Result<std::string> Cancel(const state::ProjectInfo& project, const std::string& id);

  // Deletes an ended job with its error file (409 while it is queued or running).
  Result<std::string> Delete(const state::ProjectInfo& project, const std::string& id);

  // Cancels every job and joins the worker (call while the HTTP server still answers, so
  // that batches already read are sent).
  void Stop();

 private:
  struct Job {
    state::ProjectId project = 0;
    std::string project_name;
    std::string id;
    ImportRequest request;
    std::string status;  // queued, running, done, failed, cancelled, interrupted
    std::string message;
    uint64_t bytes = 0;
    import::ImportProgress progress;
    import::ImportReport report;
    int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
    std::atomic<bool> cancel{false};
  };

  std::string JobJsonLocked(const Job& job) const;
  Status SaveLocked(const Job& job);
  std::string FilePath(const Job& job) const;
  std::string ErrorsPath(const Job& job) const;
  void Worker();
  void Run(Job& job);

  const std::string dir_;
  state::KvStore* kv_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<state::ProjectId, uint64_t>, std::unique_ptr<Job>> jobs_;  // guarded by mu_
  std::deque<Job*> queue_;                                                        // guarded by mu_
  uint64_t next_id_ = 1;                                                          // guarded by mu_
  std::string server_url_, token_;                                                // guarded by mu_
  bool stopping_ = false;                                                         // guarded by mu_
  std::thread worker_;
};

}  // namespace sextant::server
