// URL parsing for the channel adapters: only the parts a plain TCP client needs.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sextant::channel {

struct ParsedUrl {
  std::string host;    // as written in the URL, lower-cased; IPv6 literals without brackets
  uint16_t port = 0;   // the URL's port, or the scheme's default
  std::string target;  // path plus query, at least "/"
};

// Parses "<scheme>://host[:port][/path][?query]" where <scheme> must equal `scheme`
// (case-insensitive). Errors are Status(kInvalidValue, "url: <reason>", "url"): wrong or
// missing scheme (a TLS scheme such as https/smtps gets a message that TLS terminates at a
// local gateway), user-info, empty host, a port outside 1..65535, a fragment, or spaces and
// control bytes in the target.
Result<ParsedUrl> ParseUrl(std::string_view url, std::string_view scheme, uint16_t default_port);

// The Host header value for a parsed URL: host, bracketed when IPv6, plus ":port" when the
// port is not `default_port`.
std::string HostHeader(const ParsedUrl& url, uint16_t default_port);

}  // namespace sextant::channel
