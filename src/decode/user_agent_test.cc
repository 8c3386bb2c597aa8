#include "decode/user_agent.h"

#include <gtest/gtest.h>

namespace sextant::decode {
namespace {

struct Case {
  const char* ua;
  UserAgentInfo want;
};

TEST(UserAgentTest, Table) {
  const Case cases[] = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
       {"Windows", "10", "Chrome", "120.0.6099.109", "", ""}},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.224 Safari/537.36",
       {"Linux", "", "Chrome", "120.0.6099.224", "", ""}},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/119.0.6045.199 Chrome/119.0.6045.199 Safari/537.36",
       {"Linux", "", "Chromium", "119.0.6045.199", "", ""}},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
       {"Windows", "10", "Edge", "120.0.2210.91", "", ""}},
      {"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:115.0) Gecko/20100101 Firefox/115.0",
       {"Windows", "7", "Firefox", "115.0", "", ""}},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
       {"macOS", "10.15.7", "Safari", "17.1", "Mac", "Apple"}},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
       {"iOS", "17.1.2", "Safari", "17.1.2", "iPhone", "Apple"}},
      {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
       {"iOS", "16.6", "Chrome", "119.0.6045.169", "iPad", "Apple"}},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.38(0x1800262c) NetType/WIFI Language/zh_CN",
       {"iOS", "16.3", "WeChat", "8.0.38", "iPhone", "Apple"}},
      {"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
       {"Android", "13", "Chrome", "116.0.0.0", "Pixel 7", "Google"}},
      {"Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/110.0.5481.65 Mobile Safari/537.36 MicroMessenger/8.0.35.2360(0x28002351) WeChat/arm64",
       {"Android", "12", "WeChat", "8.0.35.2360", "SM-G991B", "Samsung"}},
      {"Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; HUAWEI U8950 Build/HuaweiU8950) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
       {"Android", "4.0.3", "Safari", "4.0", "HUAWEI U8950", "Huawei"}},
      {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 OPR/79.0.4195.76780",
       {"Android", "10", "Opera", "79.0.4195.76780", "", ""}},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
       {"Windows", "10", "Opera", "106.0.0.0", "", ""}},
      {"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
       {"Android", "14", "Firefox", "121.0", "", ""}},
      {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
       {"Chrome OS", "", "Chrome", "120.0.0.0", "", ""}},
      {"curl/8.1.2", {"", "", "", "", "", ""}},
      {"", {"", "", "", "", "", ""}},
  };
  for (const Case& c : cases) {
    UserAgentInfo got = ParseUserAgent(c.ua);
    EXPECT_EQ(got.os, c.want.os) << c.ua;
    EXPECT_EQ(got.os_version, c.want.os_version) << c.ua;
    EXPECT_EQ(got.browser, c.want.browser) << c.ua;
    EXPECT_EQ(got.browser_version, c.want.browser_version) << c.ua;
    EXPECT_EQ(got.model, c.want.model) << c.ua;
    EXPECT_EQ(got.manufacturer, c.want.manufacturer) << c.ua;
  }
}

}  // namespace
}  // namespace sextant::decode
