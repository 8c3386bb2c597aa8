// BatchSender: posts NDJSON batches to `POST /api/v1/projects/{p}/records` over several
// keep-alive HTTP/1.1 connections (Boost.Beast, one blocking sender thread per connection) and
// maps the server's per-record rejections back to source line numbers.
//
// Retries: connection failures, 429 and 5xx are retried with backoff (at most `max_attempts`
// per batch); that is safe because event records carry deterministic `_track_id`s and the server
// drops duplicates. Any other non-2xx answer fails every row of the batch with the server's code.
// Thread-safety: Submit/Finish from one producer thread; counters are atomic.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace sextant::import {

struct LineRef {
  uint32_t file = 0;
  uint64_t line = 0;
};

struct Batch {
  std::string body;            // a JSON array of records
  std::vector<LineRef> lines;  // source of each record, by index
};

// Called (from sender threads, serialised by the sender) for every failed row.
using RowErrorFn = std::function<void(const LineRef& where, std::string_view code_name,
                                      std::string_view field, std::string_view reason)>;

struct SenderOptions {
  std::string host = "127.0.0.1";
  std::string port = "8106";
  std::string target;  // "/api/v1/projects/P/records"
  std::string token;
  int connections = 8;
  int max_attempts = 6;
};

class BatchSender {
 public:
  BatchSender(SenderOptions options, RowErrorFn on_error);
  ~BatchSender();

  void Start();
  // Blocks while 2 × connections batches are queued.
  void Submit(Batch batch);
  // Sends everything queued and joins the threads.
  void Finish();

  uint64_t rows_done() const { return rows_done_.load(); }
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t duplicates() const { return duplicates_.load(); }
  uint64_t failed() const { return failed_.load(); }
  uint64_t retries() const { return retries_.load(); }
  // Set when a batch failed as a whole for a reason that will repeat (bad token, unknown
  // project): the importer stops early.
  bool fatal() const { return fatal_.load(); }
  std::string fatal_message() const;

 private:
  void Loop();
  void SendOne(class Connection& conn, Batch& batch);
  void FailBatch(const Batch& batch, std::string_view code, std::string_view reason);

  SenderOptions options_;
  RowErrorFn on_error_;
  std::mutex error_mu_;  // serialises on_error_
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;  // guarded by mu_
  bool closing_ = false;     // guarded by mu_
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> rows_done_{0}, accepted_{0}, duplicates_{0}, failed_{0}, retries_{0};
  std::atomic<bool> fatal_{false};
  std::string fatal_message_;  // guarded by error_mu_
};

}  // namespace sextant::import
