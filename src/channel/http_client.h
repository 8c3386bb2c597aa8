// A minimal synchronous HTTP/1.1 client for the channel adapters (Boost.Beast).
//
// Plain http:// only: TLS to the providers terminates at a local gateway (an egress proxy that
// holds the certificates and forwards to the provider over https), so the adapters never link
// a TLS stack. An https:// URL is rejected with a Status that says so.
//
// Thread-safety: the functions are thread-safe; each call owns its own io_context and socket
// (one connection per call, no pooling, `Connection: close`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sextant::channel {

struct HttpUrl {
  std::string host;    // as written in the URL (no brackets for IPv6 literals)
  uint16_t port = 80;  // 80 unless the URL names one
  std::string target;  // path plus query, at least "/"
};

// Parses "http://host[:port][/path][?query]". Errors (kInvalidValue, field "url") name what is
// wrong: scheme (https is refused, see above), empty host, bad port, user-info, fragment.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::string body;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// POSTs `body` to `url` and returns the response of any status (a 500 is a response, not an
// error). `headers` are sent as given; a "Host" entry replaces the default host[:port] (used
// when a gateway forwards to a provider that signs the Host). The whole exchange (resolve,
// connect, write, read) must finish within `timeout_ms`.
// Errors: kInvalidValue for a bad URL; kUnavailable for a transport failure (refused, reset,
// timeout, malformed or oversized answer — the message says which). Never throws.
// Response bodies are limited to 1 MiB.
Result<HttpResponse> HttpPost(const std::string& url, const HttpHeaders& headers,
                              std::string_view body, int timeout_ms);

}  // namespace sextant::channel
