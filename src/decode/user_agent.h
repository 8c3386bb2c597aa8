// Small, hand-written User-Agent parser for server-side enrichment of web records
// ($os, $os_version, $browser, $browser_version, $model, $manufacturer; protocol §2.5).
// Covers Chrome/Chromium (HeadlessChrome reports "Chrome"), Edge, Firefox, Safari, Opera,
// WeChat (MicroMessenger) on Windows, macOS, iOS, Android, Chrome OS and Linux. Unknown parts
// are left empty. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace sextant::decode {

struct UserAgentInfo {
  std::string os, os_version, browser, browser_version, model, manufacturer;
};

UserAgentInfo ParseUserAgent(std::string_view ua);

}  // namespace sextant::decode
