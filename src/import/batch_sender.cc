#include "import/batch_sender.h"

#include <simdjson.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>

#include "common/error_code.h"

namespace sextant::import {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// One keep-alive connection, reopened on demand.
class Connection {
 public:
  explicit Connection(const SenderOptions& options) : options_(options), resolver_(ioc_) {}

  // Posts `body`; fills status and answer. Throws boost::system::system_error on I/O errors.
  void Post(const std::string& body, int* status, std::string* answer) {
    if (!stream_) Open();
    http::request<http::span_body<const char>> req{http::verb::post, options_.target, 11};
    req.set(http::field::host, options_.host + ":" + options_.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "sextant-import");
    if (!options_.token.empty()) req.set(http::field::authorization, "Bearer " + options_.token);
    req.keep_alive(true);
    req.body() = http::span_body<const char>::value_type(body.data(), body.size());
    req.prepare_payload();
    stream_->expires_after(std::chrono::seconds(120));
    http::write(*stream_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(*stream_, buffer_, parser);
    auto res = parser.release();
    *status = res.result_int();
    *answer = std::move(res.body());
    if (!res.keep_alive()) Close();
  }
  void Close() {
    if (stream_) {
      beast::error_code ec;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    }
    stream_.reset();
    buffer_.clear();
  }

 private:
  void Open() {
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    stream_->expires_after(std::chrono::seconds(10));
    stream_->connect(resolver_.resolve(options_.host, options_.port));
    stream_->socket().set_option(tcp::no_delay(true));
    buffer_.clear();
  }

  const SenderOptions& options_;
  net::io_context ioc_;
  tcp::resolver resolver_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

BatchSender::BatchSender(SenderOptions options, RowErrorFn on_error)
    : options_(std::move(options)), on_error_(std::move(on_error)) {}

BatchSender::~BatchSender() { Finish(); }

void BatchSender::Start() {
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this] { Loop(); });
}

void BatchSender::Submit(Batch batch) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.size() < 2u * options_.connections; });
  queue_.push_back(std::move(batch));
  lock.unlock();
  cv_.notify_all();
}

void BatchSender::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::string BatchSender::fatal_message() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(error_mu_));
  return fatal_message_;
}

void BatchSender::Loop() {
  Connection conn(options_);
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_.notify_all();
    if (fatal_) {
      FailBatch(batch, "unavailable", "import stopped after an earlier fatal error");
      continue;
    }
    SendOne(conn, batch);
  }
}

void BatchSender::FailBatch(const Batch& batch, std::string_view code, std::string_view reason) {
  std::lock_guard<std::mutex> lock(error_mu_);
  for (const LineRef& where : batch.lines) on_error_(where, code, "", reason);
  failed_ += batch.lines.size();
  rows_done_ += batch.lines.size();
}

void BatchSender::SendOne(Connection& conn, Batch& batch) {
  std::string answer;
  int status = 0;
  std::string last_error;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      ++retries_;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt - 1, 5)));
    }
    try {
      conn.Post(batch.body, &status, &answer);
    } catch (const std::exception& e) {
      conn.Close();
      last_error = std::string("connection to ") + options_.host + ":" + options_.port + ": " + e.what();
      continue;
    }
    if (status == 429 || status >= 500) {
      last_error = "HTTP " + std::to_string(status) + ": " + answer.substr(0, 200);
      continue;
    }
    break;
  }
  if (status == 0 || status == 429 || status >= 500) {
    FailBatch(batch, "unavailable", last_error);
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool parsed = !parser.parse(answer).get(doc);
  if (status / 100 != 2) {
    std::string code = "http_" + std::to_string(status), message = answer.substr(0, 300);
    if (parsed) {
      std::string_view s;
      if (!doc["error"]["name"].get_string().get(s)) code = std::string(s);
      if (!doc["error"]["message"].get_string().get(s)) message = std::string(s);
    }
    if (status == 401 || status == 403 || status == 404) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!fatal_) fatal_message_ = "HTTP " + std::to_string(status) + " " + code + ": " + message;
      fatal_ = true;
    }
    FailBatch(batch, code, message);
    return;
  }
  if (!parsed) {
    FailBatch(batch, "bad_json", "the server's answer is not JSON");
    return;
  }
  int64_t n = 0;
  if (!doc["accepted"].get_int64().get(n)) accepted_ += n;
  if (!doc["duplicates"].get_int64().get(n)) duplicates_ += n;
  simdjson::dom::array rejected;
  uint64_t failed_here = 0;
  if (!doc["rejected"].get_array().get(rejected)) {
    std::lock_guard<std::mutex> lock(error_mu_);
    for (auto r : rejected) {
      int64_t index = -1;
      std::string_view name = "rejected", field, reason;
      if (r["index"].get_int64().get(index)) index = -1;
      if (r["name"].get_string().get(name)) {
        int64_t code = 0;
        if (!r["code"].get_int64().get(code))
          name = ErrorCodeName(static_cast<ErrorCode>(code));
      }
      if (r["field"].get_string().get(field)) field = {};
      if (r["reason"].get_string().get(reason)) reason = {};
      LineRef where{0, 0};
      if (index >= 0 && static_cast<uint64_t>(index) < batch.lines.size()) where = batch.lines[index];
      on_error_(where, name, field, reason);
      ++failed_here;
    }
  }
  failed_ += failed_here;
  rows_done_ += batch.lines.size();
}

}  // namespace sextant::import
