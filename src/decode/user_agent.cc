#include "decode/user_agent.h"

#include <algorithm>
#include <vector>

namespace sextant::decode {

namespace {

// Version after `token` (e.g. "Chrome/"): the run of [0-9._] that follows.
bool VersionAfter(std::string_view ua, std::string_view token, std::string* out) {
  size_t pos = ua.find(token);
  if (pos == std::string_view::npos) return false;
  pos += token.size();
  size_t end = pos;
  while (end < ua.size() && ((ua[end] >= '0' && ua[end] <= '9') || ua[end] == '.' || ua[end] == '_')) ++end;
  out->assign(ua.substr(pos, end - pos));
  std::replace(out->begin(), out->end(), '_', '.');
  return true;
}

bool Contains(std::string_view ua, std::string_view token) {
  return ua.find(token) != std::string_view::npos;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// "en-us", "zh-CN", "zh_CN": a locale tag, not a model.
bool LooksLikeLocale(std::string_view s) {
  return (s.size() == 2 || (s.size() == 5 && (s[2] == '-' || s[2] == '_'))) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
         });
}

std::string ManufacturerOf(std::string_view model) {
  struct Prefix {
    std::string_view prefix, manufacturer;
  };
  static constexpr Prefix kPrefixes[] = {
      {"SM-", "Samsung"},   {"GT-", "Samsung"},    {"Galaxy", "Samsung"}, {"SAMSUNG", "Samsung"},
      {"Pixel", "Google"},  {"Nexus", "Google"},   {"HUAWEI", "Huawei"},  {"Huawei", "Huawei"},
      {"HONOR", "Honor"},   {"Honor", "Honor"},    {"Redmi", "Xiaomi"},   {"MI ", "Xiaomi"},
      {"Mi ", "Xiaomi"},    {"Xiaomi", "Xiaomi"},  {"POCO", "Xiaomi"},    {"M2", "Xiaomi"},
      {"OPPO", "OPPO"},     {"CPH", "OPPO"},       {"PB", "OPPO"},        {"vivo", "vivo"},
      {"V1", "vivo"},       {"V2", "vivo"},        {"ONEPLUS", "OnePlus"}, {"OnePlus", "OnePlus"},
      {"Moto", "Motorola"}, {"moto", "Motorola"},  {"LM-", "LG"},         {"Nokia", "Nokia"},
      {"Lenovo", "Lenovo"}, {"MEIZU", "Meizu"},    {"meizu", "Meizu"},    {"SONY", "Sony"},
  };
  for (const Prefix& p : kPrefixes)
    if (StartsWith(model, p.prefix)) return std::string(p.manufacturer);
  return {};
}

void ParseAndroid(std::string_view ua, UserAgentInfo* info) {
  info->os = "Android";
  VersionAfter(ua, "Android ", &info->os_version);
  // The model is the ';'-separated item after "Android x" inside the first (...) group,
  // skipping "U", "wv", "K"-less noise and locale tags; " Build/..." is cut off.
  size_t open = ua.find('(');
  size_t close = open == std::string_view::npos ? open : ua.find(')', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return;
  std::string_view group = ua.substr(open + 1, close - open - 1);
  std::vector<std::string_view> items;
  size_t pos = 0;
  while (pos <= group.size()) {
    size_t semi = group.find(';', pos);
    if (semi == std::string_view::npos) semi = group.size();
    items.push_back(TrimSpaces(group.substr(pos, semi - pos)));
    pos = semi + 1;
  }
  bool after_android = false;
  for (std::string_view item : items) {
    if (StartsWith(item, "Android")) {
      after_android = true;
      continue;
    }
    if (!after_android || item.empty() || item == "U" || item == "wv" || item == "Mobile" ||
        item == "Tablet" || StartsWith(item, "rv:") || LooksLikeLocale(item)) {
      continue;
    }
    size_t build = item.find(" Build/");
    if (build == std::string_view::npos) build = item.find(" MIUI/");
    std::string_view model = TrimSpaces(item.substr(0, build));
    if (model.empty()) continue;
    info->model.assign(model);
    break;
  }
  if (info->model == "K") info->model.clear();  // Chrome ≥110 reduced UA: "K" stands in for the model
  info->manufacturer = ManufacturerOf(info->model);
  if (info->manufacturer.empty() && StartsWithIgnoreCase(info->model, "samsung")) info->manufacturer = "Samsung";
}

std::string WindowsVersion(std::string_view nt) {
  if (nt == "10.0") return "10";
  if (nt == "6.3") return "8.1";
  if (nt == "6.2") return "8";
  if (nt == "6.1") return "7";
  if (nt == "6.0") return "Vista";
  if (nt == "5.1" || nt == "5.2") return "XP";
  return std::string(nt);
}

}  // namespace

UserAgentInfo ParseUserAgent(std::string_view ua) {
  UserAgentInfo info;
  std::string version;

  // Operating system (order matters: iOS UAs contain "like Mac OS X", Android ones "Linux").
  if (Contains(ua, "iPhone") || Contains(ua, "iPad") || Contains(ua, "iPod")) {
    info.os = "iOS";
    if (!VersionAfter(ua, "iPhone OS ", &info.os_version)) VersionAfter(ua, "CPU OS ", &info.os_version);
    info.model = Contains(ua, "iPad") ? "iPad" : Contains(ua, "iPod") ? "iPod" : "iPhone";
    info.manufacturer = "Apple";
  } else if (Contains(ua, "Android")) {
    ParseAndroid(ua, &info);
  } else if (Contains(ua, "Windows NT ")) {
    info.os = "Windows";
    VersionAfter(ua, "Windows NT ", &version);
    info.os_version = WindowsVersion(version);
  } else if (Contains(ua, "Mac OS X")) {
    info.os = "macOS";
    VersionAfter(ua, "Mac OS X ", &info.os_version);
    info.model = "Mac";
    info.manufacturer = "Apple";
  } else if (Contains(ua, "CrOS")) {
    info.os = "Chrome OS";
  } else if (Contains(ua, "Linux") || Contains(ua, "X11")) {
    info.os = "Linux";
  }

  // Browser, most specific token first.
  struct Rule {
    std::string_view token, browser;
  };
  static constexpr Rule kRules[] = {
      {"MicroMessenger/", "WeChat"}, {"EdgA/", "Edge"},   {"EdgiOS/", "Edge"},
      {"Edg/", "Edge"},              {"Edge/", "Edge"},   {"OPR/", "Opera"},
      {"OPT/", "Opera"},             {"Opera/", "Opera"}, {"HeadlessChrome/", "Chrome"},
      {"CriOS/", "Chrome"},          {"FxiOS/", "Firefox"}, {"Firefox/", "Firefox"},
      {"Chromium/", "Chromium"},     {"Chrome/", "Chrome"},
  };
  for (const Rule& rule : kRules) {
    if (VersionAfter(ua, rule.token, &info.browser_version)) {
      info.browser = std::string(rule.browser);
      // Old Opera puts the real version in "Version/".
      if (rule.token == "Opera/") VersionAfter(ua, "Version/", &info.browser_version);
      return info;
    }
  }
  if (Contains(ua, "Safari/") || (Contains(ua, "AppleWebKit/") && info.os == "iOS")) {
    info.browser = "Safari";
    VersionAfter(ua, "Version/", &info.browser_version);
  }
  return info;
}

}  // namespace sextant::decode
