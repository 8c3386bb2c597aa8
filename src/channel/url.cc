#include "channel/url.h"

#include <cctype>
#include <charconv>

namespace sextant::channel {
namespace {

Status UrlError(std::string reason) {
  return Status(ErrorCode::kInvalidValue, "url: " + std::move(reason), "url");
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<ParsedUrl> ParseUrl(std::string_view url, std::string_view scheme, uint16_t default_port) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return UrlError("expected " + std::string(scheme) + "://host[:port][/path]");
  }
  std::string url_scheme = Lower(url.substr(0, scheme_end));
  if (url_scheme != Lower(scheme)) {
    if (url_scheme == Lower(scheme) + "s") {
      return UrlError(url_scheme +
                      " is not supported: TLS terminates at a local gateway; configure its " +
                      std::string(scheme) + ":// address (docs/channels.md)");
    }
    return UrlError("scheme must be " + std::string(scheme) + ", not " + url_scheme);
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return UrlError("fragments are not allowed");
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return UrlError("spaces and control characters are not allowed");
    }
  }
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return UrlError("user info (user@host) is not allowed");
  }

  ParsedUrl parsed;
  parsed.port = default_port;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError("unterminated IPv6 literal");
    parsed.host = Lower(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return UrlError("unexpected text after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return UrlError("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return UrlError("empty port");
      authority = authority.substr(0, colon);
    }
    parsed.host = Lower(authority);
  }
  if (parsed.host.empty()) return UrlError("empty host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return UrlError("port must be a number in 1..65535");
    }
    parsed.port = static_cast<uint16_t>(port);
  }
  parsed.target =
      authority_end == std::string_view::npos ? "" : std::string(rest.substr(authority_end));
  if (parsed.target.empty() || parsed.target.front() == '?') parsed.target.insert(0, "/");
  return parsed;
}

std::string HostHeader(const ParsedUrl& url, uint16_t default_port) {
  std::string out = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != default_port) out += ":" + std::to_string(url.port);
  return out;
}

}  // namespace sextant::channel
