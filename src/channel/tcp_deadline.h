// Internal to the channel module: blocking-style TCP I/O with one deadline per call, built on
// Beast's tcp_stream. The calling thread runs a private io_context until each asynchronous
// step completes, so the caller sees a synchronous API while every step honours the deadline
// (synchronous Asio calls would ignore it). Used by http_client.cc and smtp_sender.cc.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace sextant::channel::internal {

using Deadline = std::chrono::steady_clock::time_point;

inline Deadline DeadlineAfterMs(int timeout_ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
}

struct IoResult {
  boost::beast::error_code ec;
  std::size_t bytes = 0;  // bytes transferred, for operations that report a count
};

// Starts one asynchronous operation with `start(handler)` and runs `ioc` until it completes.
// The operation's own deadline (tcp_stream::expires_at) bounds the wait.
template <typename Start>
IoResult RunToCompletion(boost::asio::io_context& ioc, Start&& start) {
  IoResult result{boost::asio::error::operation_aborted, 0};
  start([&result](boost::beast::error_code ec, auto&&... rest) {
    result.ec = ec;
    if constexpr (sizeof...(rest) == 1 &&
                  (std::is_integral_v<std::remove_cvref_t<decltype(rest)>> && ...)) {
      ((result.bytes = static_cast<std::size_t>(rest)), ...);
    }
  });
  ioc.restart();
  ioc.run();
  return result;
}

// Resolves `host` (IP literals skip the resolver) and connects `stream` to the first endpoint
// that accepts, before `deadline`. Name resolution uses the system resolver, whose own timeout
// (resolv.conf) can outlast the deadline: a lookup in flight cannot be abandoned safely.
boost::beast::error_code ConnectBefore(boost::asio::io_context& ioc,
                                       boost::beast::tcp_stream& stream, const std::string& host,
                                       uint16_t port, Deadline deadline);

// "<step>: timed out (deadline N ms)" for the deadline error, else "<step>: <error message>".
std::string DescribeError(const char* step, const boost::beast::error_code& ec, int timeout_ms);

}  // namespace sextant::channel::internal
