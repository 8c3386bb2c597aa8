#include <utility>  // before Asio's awaitable.hpp, which uses std::exchange without it

#include "channel/http_connection_pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "channel/http_request.h"
#include "channel/tcp_deadline.h"
#include "channel/url.h"

namespace sextant::channel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace internal {

// One kept-alive connection: the stream, the endpoint it is connected to ("host:port"), and
// its read buffer (bytes past one answer belong to the next on the same connection).
struct Connection {
  explicit Connection(asio::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  std::string endpoint;  // "" = not connected
  beast::flat_buffer buffer;

  void Close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    endpoint.clear();
    buffer.clear();
  }
};

}  // namespace internal

namespace {

using internal::Connection;
using internal::TransportError;

// Connects `connection` to host:port before `deadline`. IP literals skip the resolver; names
// go through the system resolver (see tcp_deadline.h for its own timeout).
asio::awaitable<beast::error_code> Connect(Connection& connection, const ParsedUrl& url,
                                           internal::Deadline deadline) {
  beast::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(url.host, ec);
  connection.stream.expires_at(deadline);
  if (!ec) {
    co_await connection.stream.async_connect(tcp::endpoint(literal, url.port),
                                             asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto endpoints = co_await resolver.async_resolve(
      url.host, std::to_string(url.port), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  if (std::chrono::steady_clock::now() >= deadline) co_return beast::error::timeout;
  co_await connection.stream.async_connect(endpoints,
                                           asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

// One exchange on `connection`, connecting first when it is closed or open to another
// endpoint. `resend_if_stale`: a kept-alive connection the server closed while idle fails
// the write or ends before any byte of the answer; the request then goes once more on a fresh
// connection.
asio::awaitable<Result<HttpResponse>> Exchange(Connection& connection, const ParsedUrl& url,
                                               const http::request<http::string_body>& request,
                                               int timeout_ms, size_t* connections_opened) {
  const internal::Deadline deadline = internal::DeadlineAfterMs(timeout_ms);
  const std::string endpoint = url.host + ":" + std::to_string(url.port);
  if (!connection.endpoint.empty() && connection.endpoint != endpoint) connection.Close();
  for (int attempt = 0;; ++attempt) {
    const bool reused = !connection.endpoint.empty();
    beast::error_code ec;
    if (!reused) {
      ++*connections_opened;
      ec = co_await Connect(connection, url, deadline);
      if (ec) {
        connection.Close();
        co_return TransportError("connect", ec, timeout_ms);
      }
      connection.endpoint = endpoint;
    }
    connection.stream.expires_at(deadline);
    co_await http::async_write(connection.stream, request,
                               asio::redirect_error(asio::use_awaitable, ec));
    const bool stale = reused && attempt == 0;
    if (ec) {
      connection.Close();
      if (stale && ec != beast::error::timeout) continue;
      co_return TransportError("write", ec, timeout_ms);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(internal::kMaxResponseBody);
    connection.stream.expires_at(deadline);
    co_await http::async_read(connection.stream, connection.buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      const bool nothing_read = !parser.got_some();
      connection.Close();
      if (stale && nothing_read && ec != beast::error::timeout) continue;
      co_return TransportError("read", ec, timeout_ms);
    }
    if (!parser.get().keep_alive()) connection.Close();
    HttpResponse response;
    response.status = static_cast<int>(parser.get().result_int());
    response.body = std::move(parser.get().body());
    co_return response;
  }
}

}  // namespace

struct HttpConnectionPool::Impl {
  explicit Impl(size_t max) : max_connections(max == 0 ? 1 : max) {}
  size_t max_connections;
  asio::io_context ioc;
  std::vector<std::unique_ptr<internal::Connection>> connections;  // created lazily, kept between batches
  size_t connections_opened = 0;
};

HttpConnectionPool::HttpConnectionPool(size_t max_connections)
    : impl_(std::make_unique<Impl>(max_connections)) {}

HttpConnectionPool::~HttpConnectionPool() {
  for (auto& connection : impl_->connections) connection->Close();
}

size_t HttpConnectionPool::connections_opened() const { return impl_->connections_opened; }

std::vector<Result<HttpResponse>> HttpConnectionPool::PostAll(
    std::span<const HttpPostRequest> requests, int timeout_ms) {
  std::vector<Result<HttpResponse>> results(
      requests.size(), Result<HttpResponse>(Status(ErrorCode::kUnavailable, "http: not sent")));
  // Requests that cannot be written get their answer here; the rest are queued.
  std::vector<std::pair<ParsedUrl, http::request<http::string_body>>> prepared(requests.size());
  std::vector<size_t> queue;
  for (size_t idx = 0; idx < requests.size(); ++idx) {
    Result<ParsedUrl> parsed = ParseUrl(requests[idx].url, "http", internal::kHttpPort);
    if (!parsed.ok()) {
      results[idx] = parsed.status();
      continue;
    }
    if (timeout_ms <= 0) {
      results[idx] =
          Status(ErrorCode::kInvalidValue, "timeout_ms: must be positive", "timeout_ms");
      continue;
    }
    if (Status headers = internal::CheckHeaders(requests[idx].headers); !headers.ok()) {
      results[idx] = headers;
      continue;
    }
    try {
      prepared[idx].second = internal::BuildPost(*parsed, requests[idx].headers,
                                                 requests[idx].body, /*keep_alive=*/true);
    } catch (const std::exception& e) {
      results[idx] = Status(ErrorCode::kUnavailable, std::string("http: ") + e.what());
      continue;
    }
    prepared[idx].first = std::move(*parsed);
    queue.push_back(idx);
  }
  if (queue.empty()) return results;

  Impl& impl = *impl_;
  const size_t workers = std::min(impl.max_connections, queue.size());
  while (impl.connections.size() < workers)
    impl.connections.push_back(std::make_unique<Connection>(impl.ioc));
  // Each worker takes the next queued request until none is left; all run on this thread.
  size_t next = 0;
  auto worker = [&](Connection& connection) -> asio::awaitable<void> {
    while (next < queue.size()) {
      const size_t idx = queue[next++];
      try {
        results[idx] = co_await Exchange(connection, prepared[idx].first, prepared[idx].second,
                                         timeout_ms, &impl.connections_opened);
      } catch (const std::exception& e) {
        connection.Close();
        results[idx] = Status(ErrorCode::kUnavailable, std::string("http: ") + e.what());
      }
    }
  };
  try {
    for (size_t idx = 0; idx < workers; ++idx)
      asio::co_spawn(impl.ioc, worker(*impl.connections[idx]), asio::detached);
    impl.ioc.restart();
    impl.ioc.run();
  } catch (const std::exception& e) {
    // Only co_spawn's own allocation can get here; whatever did not finish is reported.
    for (auto& connection : impl.connections) connection->Close();
    for (size_t idx : queue) {
      if (!results[idx].ok() && results[idx].status().message() == "http: not sent")
        results[idx] = Status(ErrorCode::kUnavailable, std::string("http: ") + e.what());
    }
  }
  return results;
}

}  // namespace sextant::channel
