// Internal to the channel module: the POST request every HTTP sender writes, shared by
// HttpPost (one connection per call) and HttpConnectionPool (kept-alive connections).
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>

#include "channel/http_client.h"
#include "channel/url.h"
#include "common/status.h"

namespace sextant::channel::internal {

inline constexpr uint16_t kHttpPort = 80;
inline constexpr uint64_t kMaxResponseBody = 1 << 20;  // bytes of an answer's body read at most

// kUnavailable with DescribeError's text: "<step>: timed out (deadline N ms)" or the error.
Status TransportError(const char* step, const boost::beast::error_code& ec, int timeout_ms);

// Header names must be non-empty tokens without ':' and values one line; else kInvalidValue
// (field "headers") naming the header.
Status CheckHeaders(const HttpHeaders& headers);

// POST `url.target` with `headers` as given — a "Host" entry replaces the default host[:port] —
// a default User-Agent, `body` with its Content-Length, and "Connection: close" unless
// `keep_alive`. REQUIRES: CheckHeaders(headers).ok().
boost::beast::http::request<boost::beast::http::string_body> BuildPost(
    const ParsedUrl& url, const HttpHeaders& headers, std::string_view body, bool keep_alive);

}  // namespace sextant::channel::internal
