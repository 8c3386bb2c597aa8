#include "channel/tcp_deadline.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

namespace sextant::channel::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

beast::error_code ConnectBefore(asio::io_context& ioc, beast::tcp_stream& stream,
                                const std::string& host, uint16_t port, Deadline deadline) {
  beast::error_code ec;
  asio::ip::address literal = asio::ip::make_address(host, ec);
  if (!ec) {
    stream.expires_at(deadline);
    return RunToCompletion(ioc,
                           [&](auto handler) {
                             stream.async_connect(tcp::endpoint(literal, port), std::move(handler));
                           })
        .ec;
  }

  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code resolve_ec = asio::error::operation_aborted;
  bool resolved = false;
  resolver.async_resolve(host, std::to_string(port),
                         [&](beast::error_code result_ec, tcp::resolver::results_type results) {
                           resolve_ec = result_ec;
                           endpoints = std::move(results);
                           resolved = true;
                         });
  ioc.restart();
  ioc.run_until(deadline);
  if (!resolved) {
    resolver.cancel();
    ioc.restart();
    ioc.run();
    return beast::error::timeout;
  }
  if (resolve_ec) return resolve_ec;
  stream.expires_at(deadline);
  return RunToCompletion(ioc,
                         [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); })
      .ec;
}

std::string DescribeError(const char* step, const beast::error_code& ec, int timeout_ms) {
  if (ec == beast::error::timeout) {
    return std::string(step) + ": timed out (deadline " + std::to_string(timeout_ms) + " ms)";
  }
  return std::string(step) + ": " + ec.message();
}

}  // namespace sextant::channel::internal
