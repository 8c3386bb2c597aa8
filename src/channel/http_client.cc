#include "channel/http_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>

#include "channel/http_request.h"
#include "channel/tcp_deadline.h"
#include "channel/url.h"

namespace sextant::channel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t idx = 0; idx < a.size(); ++idx) {
    if (std::tolower(static_cast<unsigned char>(a[idx])) !=
        std::tolower(static_cast<unsigned char>(b[idx]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

namespace internal {

Status TransportError(const char* step, const beast::error_code& ec, int timeout_ms) {
  return Status(ErrorCode::kUnavailable, DescribeError(step, ec, timeout_ms));
}

Status CheckHeaders(const HttpHeaders& headers) {
  for (const auto& [name, value] : headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      return Status(ErrorCode::kInvalidValue,
                    "header " + name + ": names must be non-empty tokens and values one line",
                    "headers");
    }
  }
  return Status::Ok();
}

http::request<http::string_body> BuildPost(const ParsedUrl& url, const HttpHeaders& headers,
                                           std::string_view body, bool keep_alive) {
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  bool host_given = false;
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, "host")) {
      host_given = true;
      request.set(http::field::host, value);
    } else {
      request.insert(name, value);
    }
  }
  if (!host_given) request.set(http::field::host, HostHeader(url, kHttpPort));
  if (request.find(http::field::user_agent) == request.end()) {
    request.set(http::field::user_agent, "sextant-channel/1");
  }
  request.keep_alive(keep_alive);  // HTTP/1.1: "Connection: close" when false
  request.body() = std::string(body);
  request.prepare_payload();
  return request;
}

}  // namespace internal

Result<HttpResponse> HttpPost(const std::string& url, const HttpHeaders& headers,
                              std::string_view body, int timeout_ms) {
  Result<ParsedUrl> parsed = ParseUrl(url, "http", internal::kHttpPort);
  if (!parsed.ok()) return parsed.status();
  if (timeout_ms <= 0) {
    return Status(ErrorCode::kInvalidValue, "timeout_ms: must be positive", "timeout_ms");
  }
  SEXTANT_RETURN_IF_ERROR(internal::CheckHeaders(headers));

  // Boost reports allocation failures and a few internal errors by throwing; an adapter must
  // answer with a value instead.
  try {
    internal::Deadline deadline = internal::DeadlineAfterMs(timeout_ms);
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec =
        internal::ConnectBefore(ioc, stream, parsed->host, parsed->port, deadline);
    if (ec) return internal::TransportError("connect", ec, timeout_ms);

    http::request<http::string_body> request =
        internal::BuildPost(*parsed, headers, body, /*keep_alive=*/false);

    stream.expires_at(deadline);
    ec = internal::RunToCompletion(ioc, [&](auto handler) {
           http::async_write(stream, request, std::move(handler));
         }).ec;
    if (ec) return internal::TransportError("write", ec, timeout_ms);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(internal::kMaxResponseBody);
    stream.expires_at(deadline);
    ec = internal::RunToCompletion(ioc, [&](auto handler) {
           http::async_read(stream, buffer, parser, std::move(handler));
         }).ec;
    if (ec) return internal::TransportError("read", ec, timeout_ms);

    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    HttpResponse response;
    response.status = static_cast<int>(parser.get().result_int());
    response.body = std::move(parser.get().body());
    return response;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kUnavailable, std::string("http: ") + e.what());
  }
}

}  // namespace sextant::channel
