#include "common/clock.h"
#include "generate/generate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <queue>
#include <string>
#include <vector>

#include "common/hash.h"
#include "common/time_zone.h"

namespace sextant::generate {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kShanghaiOffsetMs = 8 * kHourMs;

// xoshiro256** seeded by splitmix64: fast, and identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // [0, 1)
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Uniform() < p; }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  int Between(int lo, int hi) { return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  double Exp() { return -std::log1p(-Uniform()); }
  double Normal() {
    double u1 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * Uniform());
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

// A bijection on [0, 2^53): unique, JSON-safe (JS doubles) track ids from a record index.
uint64_t PermuteTrackId(uint64_t index, uint64_t key) {
  constexpr uint64_t kMask = (uint64_t{1} << 53) - 1;
  uint64_t x = (index + key) & kMask;
  x = (x * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) & kMask;  // odd multiplier
  x ^= x >> 26;
  x = (x * 0xD6E8FEB86659FD93ULL) & kMask;
  x ^= x >> 29;
  x = (x * 0xBF58476D1CE4E5B9ULL + (key | 1)) & kMask;
  x ^= x >> 31;
  return x;
}

// ---------------------------------------------------------------------------------------------
// Static vocabularies.

constexpr std::array<std::string_view, 5> kFundTypes = {"股票型", "债券型", "混合型", "货币型",
                                                       "指数型"};
constexpr std::array<double, 5> kFundTypeShare = {0.22, 0.22, 0.30, 0.08, 0.18};
constexpr std::array<std::string_view, 16> kFundCompanies = {
    "易方达", "华夏", "南方", "嘉实", "广发", "富国", "汇添富", "招商",
    "博时", "工银瑞信", "中欧", "景顺长城", "兴证全球", "鹏华", "天弘", "交银施罗德"};
constexpr std::array<std::string_view, 20> kFundThemes = {
    "消费升级", "新能源", "医疗健康", "沪深300", "中证500", "稳健收益", "科技创新",
    "红利", "蓝筹精选", "均衡成长", "价值优选", "高端制造", "半导体", "纳斯达克100",
    "创业板", "纯债", "双债增强", "添利", "安心回报", "数字经济"};
constexpr std::array<std::string_view, 24> kSurnames = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
    "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋"};
constexpr std::array<std::string_view, 32> kGivenChars = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "辉", "鹏", "宇", "浩", "欣", "晨", "佳"};
constexpr std::array<std::string_view, 20> kCities = {
    "上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "武汉", "苏州", "西安",
    "重庆", "天津", "长沙", "郑州", "青岛", "宁波", "厦门", "合肥", "福州", "济南"};
constexpr std::array<double, 20> kCityWeight = {12, 11, 9, 8, 7, 6, 5, 5, 5, 4,
                                                4,  4,  3, 3, 3, 3, 3, 2, 2, 2};
constexpr std::array<std::string_view, 4> kChannels = {"app", "web", "branch", "wechat"};
constexpr std::array<double, 4> kChannelWeight = {0.52, 0.13, 0.25, 0.10};
constexpr std::array<std::string_view, 10> kBanks = {"招商银行", "工商银行", "建设银行",
                                                     "农业银行", "中国银行", "交通银行",
                                                     "平安银行", "浦发银行", "兴业银行", "中信银行"};
constexpr std::array<std::string_view, 24> kKeywords = {
    "新能源", "白酒", "医疗", "纳斯达克", "定投", "货币基金", "债券", "理财", "黄金", "半导体",
    "沪深300", "中证500", "红利", "养老", "消费", "科创50", "稳健", "高收益", "指数基金", "港股",
    "基金经理", "REITs", "光伏", "银行"};
constexpr std::array<std::string_view, 5> kArticleCategories = {"市场观点", "投资者教育",
                                                                "基金解读", "热点资讯", "理财规划"};
constexpr std::array<std::string_view, 12> kArticleTitles = {
    "一文看懂基金定投", "债市震荡怎么应对", "新能源板块还能上车吗", "如何挑选指数基金",
    "货币基金收益下行的原因", "养老目标基金入门", "美联储议息会议前瞻", "半导体行业周报",
    "什么是风险承受能力评估", "红利策略的长期表现", "资产配置的三个原则", "今日市场收评"};
constexpr std::array<std::string_view, 3> kLoanProducts = {"消费贷", "经营贷", "股票质押"};
constexpr std::array<std::string_view, 3> kAutoInvestFreq = {"每周", "每两周", "每月"};
constexpr std::array<std::string_view, 3> kPayMethods = {"账户余额", "银行卡", "现金宝"};

struct Screen {
  std::string_view screen_name;  // app
  std::string_view title;
  std::string_view url_path;     // web
};
constexpr std::array<Screen, 10> kScreens = {{
    {"MainActivity", "首页", "/"},
    {"MarketActivity", "行情", "/market"},
    {"FundListActivity", "基金", "/funds"},
    {"FundDetailActivity", "基金详情", "/fund/detail"},
    {"MineActivity", "我的", "/mine"},
    {"AssetActivity", "资产", "/asset"},
    {"NewsActivity", "资讯", "/news"},
    {"LoanActivity", "借款", "/loan"},
    {"OpenAccountActivity", "开户", "/open-account"},
    {"SearchActivity", "搜索", "/search"},
}};
enum ScreenId { kHome, kMarket, kFundList, kFundDetail, kMine, kAsset, kNews, kLoan, kOpen, kSearch };

struct AndroidModel {
  std::string_view manufacturer, model;
  int width, height;
};
constexpr std::array<AndroidModel, 8> kAndroidModels = {{
    {"HUAWEI", "ALN-AL00", 1260, 2720},
    {"Xiaomi", "23049RAD8C", 1220, 2712},
    {"OPPO", "PHZ110", 1240, 2772},
    {"vivo", "V2309A", 1260, 2800},
    {"HONOR", "PGT-AN10", 1200, 2664},
    {"Xiaomi", "M2012K11AC", 1080, 2400},
    {"HUAWEI", "NOH-AN00", 1344, 2772},
    {"samsung", "SM-S9180", 1440, 3088},
}};
struct IosModel {
  std::string_view model;
  int width, height;
};
constexpr std::array<IosModel, 5> kIosModels = {{
    {"iPhone15,2", 393, 852},
    {"iPhone14,5", 390, 844},
    {"iPhone16,1", 393, 852},
    {"iPhone13,2", 390, 844},
    {"iPhone12,1", 414, 896},
}};
constexpr std::array<std::string_view, 4> kAndroidOs = {"10", "12", "13", "14"};
constexpr std::array<std::string_view, 4> kIosOs = {"15.7", "16.6", "17.2", "17.4"};
constexpr std::array<std::string_view, 3> kAppVersions = {"8.2.0", "8.3.1", "8.4.0"};
constexpr std::array<std::string_view, 4> kNetworks = {"WIFI", "5G", "4G", "WIFI"};
constexpr std::array<std::string_view, 3> kCarriers = {"中国移动", "中国联通", "中国电信"};

template <size_t N>
size_t WeightedPick(Rng& rng, const std::array<double, N>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double x = rng.Uniform() * total;
  for (size_t i = 0; i < N; ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return N - 1;
}

// ---------------------------------------------------------------------------------------------
// Output helpers: the generator writes JSON by hand; every string it writes is one of the
// constants above or ASCII it built itself, so none needs escaping.

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}
// A fixed-point number with `decimals` decimals from an integer scaled by 10^decimals.
void AppendFixed(std::string* out, int64_t scaled, int decimals) {
  if (scaled < 0) {
    out->push_back('-');
    scaled = -scaled;
  }
  int64_t div = 1;
  for (int i = 0; i < decimals; ++i) div *= 10;
  AppendInt(out, scaled / div);
  if (decimals == 0) return;
  out->push_back('.');
  char frac[20];
  int64_t rem = scaled % div;
  for (int i = decimals - 1; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + rem % 10);
    rem /= 10;
  }
  out->append(frac, decimals);
}
void AppendDate(std::string* out, int32_t days) {
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  snprintf(buf, sizeof(buf), "%04d-%02u-%02u", y, m, d);
  out->append(buf);
}
void AppendDatetime(std::string* out, int64_t epoch_ms) {
  int64_t local = epoch_ms + kShanghaiOffsetMs;
  int32_t days = static_cast<int32_t>(local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs);
  int64_t in_day = (local - int64_t{days} * kDayMs) / 1000;
  AppendDate(out, days);
  char buf[16];
  snprintf(buf, sizeof(buf), " %02d:%02d:%02d", static_cast<int>(in_day / 3600),
           static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60));
  out->append(buf);
}
void AppendHex(std::string* out, uint64_t v, int digits, bool upper) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out->push_back(hex[(v >> (i * 4)) & 15]);
}

// ---------------------------------------------------------------------------------------------

struct Fund {
  std::string code;
  std::string name;
  uint8_t type = 0;   // index into kFundTypes
  uint8_t risk = 1;   // 1..5
  std::string manager;
  int64_t nav_1e4 = 10000;
};

enum class Kind : uint8_t { kExisting, kProspect };
enum class OpenState : uint8_t { kBrowsing, kDropped, kOpened };
enum LoanStage : uint8_t { kLoanNone, kLoanApplied, kLoanApproved, kLoanDrawn };

struct Customer {
  double gap = 0;            // mean distance between sessions, in emitted events
  int64_t last_time = 0;     // time of the customer's latest record
  int32_t first_day = -1;    // local day of the first record
  Kind kind = Kind::kExisting;
  OpenState open = OpenState::kOpened;
  uint8_t risk = 3;          // C1..C5
  uint8_t loan = kLoanNone;
  uint8_t loan_product = 0;
  bool needs_login = false;  // next session starts anonymous and logs in ($SignUp)
  bool mobile_bound = false;
  bool churned = false;
  uint16_t sessions = 0;
  uint32_t loan_amount = 0;  // yuan
};

enum class Platform : uint8_t { kAndroid, kIos, kWeb };

class Generator {
 public:
  Generator(const GenerateOptions& options,
            const std::function<void(std::string_view)>& sink, GenerateStats* stats)
      : opt_(options), sink_(sink), stats_(stats), rng_(options.seed) {
    start_ms_ = opt_.end_time_ms - int64_t{opt_.days} * kDayMs;
    track_key_ = Hash64("track_id", opt_.seed);
  }

  Status Run() {
    if (opt_.customers == 0) return Status(ErrorCode::kBadRequest, "customers must be > 0");
    if (opt_.customers > 0xFFFFFFFFULL)
      return Status(ErrorCode::kBadRequest, "customers must be < 2^32");
    if (opt_.days <= 0 || opt_.days > 3660)
      return Status(ErrorCode::kBadRequest, "days must be in 1..3660");
    if (opt_.funds == 0) return Status(ErrorCode::kBadRequest, "funds must be > 0");
    BuildDiurnalTable();
    BuildFunds();
    if (opt_.emit_items) EmitItems();
    BuildCustomers();
    Simulate();
    return Status::Ok();
  }

 private:
  // ---- time ------------------------------------------------------------------------------

  // Hourly activity weights (Beijing time): trading hours and the evening dominate; weekends
  // are quieter; usage grows slightly over the period.
  void BuildDiurnalTable() {
    static constexpr std::array<double, 24> kHour = {0.12, 0.06, 0.03, 0.02, 0.02, 0.05,
                                                     0.20, 0.50, 0.90, 1.60, 1.80, 1.50,
                                                     1.00, 1.50, 1.70, 1.20, 0.90, 0.80,
                                                     0.80, 1.00, 1.30, 1.30, 0.90, 0.40};
    const int hours = opt_.days * 24;
    cum_.assign(hours + 1, 0.0);
    const int32_t first_day =
        static_cast<int32_t>((start_ms_ + kShanghaiOffsetMs) / kDayMs);
    for (int h = 0; h < hours; ++h) {
      int32_t day = first_day + h / 24;
      int weekday = ((day % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
      double w = kHour[h % 24] * ((weekday == 0 || weekday == 6) ? 0.55 : 1.0) *
                 (1.0 + 0.3 * h / hours);
      cum_[h + 1] = cum_[h] + w;
    }
  }
  // Wall time at which a fraction `f` of all activity has happened.
  int64_t TimeAt(double f) const {
    const double target = std::clamp(f, 0.0, 1.0) * cum_.back();
    size_t h = std::upper_bound(cum_.begin(), cum_.end(), target) - cum_.begin();
    if (h == 0) h = 1;
    if (h >= cum_.size()) h = cum_.size() - 1;
    const double span = cum_[h] - cum_[h - 1];
    const double within = span > 0 ? (target - cum_[h - 1]) / span : 0.0;
    return start_ms_ + static_cast<int64_t>(h - 1) * kHourMs +
           static_cast<int64_t>(within * kHourMs);
  }

  // ---- items -----------------------------------------------------------------------------

  void BuildFunds() {
    funds_.resize(opt_.funds);
    fund_cum_.resize(opt_.funds);
    double total = 0;
    for (uint32_t i = 0; i < opt_.funds; ++i) {
      Fund& f = funds_[i];
      char code[16];
      snprintf(code, sizeof(code), "%06u", (i * 7919u + 1u) % 1000000u);
      f.code = code;
      f.type = static_cast<uint8_t>(WeightedPick(rng_, kFundTypeShare));
      switch (f.type) {
        case 0: f.risk = rng_.Chance(0.6) ? 4 : 5; break;  // 股票型
        case 1: f.risk = rng_.Chance(0.8) ? 2 : 1; break;  // 债券型
        case 2: f.risk = rng_.Chance(0.6) ? 3 : 4; break;  // 混合型
        case 3: f.risk = 1; break;                          // 货币型
        default: f.risk = rng_.Chance(0.8) ? 4 : 3; break; // 指数型
      }
      static constexpr std::array<std::string_view, 5> kSuffix = {"股票A", "债券A", "混合A",
                                                                  "货币A", "指数C"};
      f.name.append(kFundCompanies[rng_.Below(kFundCompanies.size())]);
      f.name.append(kFundThemes[rng_.Below(kFundThemes.size())]);
      f.name.append(kSuffix[f.type]);
      f.manager.append(kSurnames[rng_.Below(kSurnames.size())]);
      f.manager.append(kGivenChars[rng_.Below(kGivenChars.size())]);
      if (rng_.Chance(0.5)) f.manager.append(kGivenChars[rng_.Below(kGivenChars.size())]);
      f.nav_1e4 = f.type == 3 ? 10000 : static_cast<int64_t>(rng_.LogNormal(1.4, 0.45) * 1e4);
      // Popularity follows a Zipf law over a random order.
      total += 1.0 / std::pow(1.0 + i, 0.9);
      fund_cum_[i] = total;
    }
  }
  uint32_t PickFund() {
    double x = rng_.Uniform() * fund_cum_.back();
    return static_cast<uint32_t>(std::upper_bound(fund_cum_.begin(), fund_cum_.end(), x) -
                                 fund_cum_.begin()) % opt_.funds;
  }
  // A fund whose risk matches the customer's tolerance most of the time (suitability).
  uint32_t PickSuitableFund(int risk) {
    uint32_t f = PickFund();
    for (int tries = 0; tries < 6 && funds_[f].risk > risk; ++tries) f = PickFund();
    return f;
  }

  void EmitItems() {
    for (const Fund& f : funds_) {
      BeginRecord("item_set", start_ms_);
      buf_.append(",\"item_type\":\"fund\",\"item_id\":\"");
      buf_.append(f.code);
      buf_.append("\",\"properties\":{\"name\":\"");
      buf_.append(f.name);
      buf_.append("\",\"fund_type\":\"");
      buf_.append(kFundTypes[f.type]);
      buf_.append("\",\"risk_level\":\"R");
      AppendInt(&buf_, f.risk);
      buf_.append("\",\"manager\":\"");
      buf_.append(f.manager);
      buf_.append("\",\"nav\":");
      AppendFixed(&buf_, f.nav_1e4, 4);
      buf_.append("}}");
      Flush();
      if (stats_) ++stats_->items;
    }
  }

  // ---- customers -------------------------------------------------------------------------

  // Activity weights are power-law distributed (Pareto, alpha 1.2, capped), giving the
  // Zipf-like skew of real apps: a few very active traders, a long tail of rare visitors.
  void BuildCustomers() {
    const uint64_t n = opt_.customers;
    customers_.resize(n);
    std::vector<double> weight(n);
    double total_existing = 0;
    for (uint64_t i = 0; i < n; ++i) {
      Customer& c = customers_[i];
      c.kind = (i > 0 && rng_.Chance(0.12)) ? Kind::kProspect : Kind::kExisting;
      c.open = c.kind == Kind::kProspect ? OpenState::kBrowsing : OpenState::kOpened;
      c.risk = static_cast<uint8_t>(1 + WeightedPick(rng_, std::array<double, 5>{0.10, 0.25, 0.35, 0.20, 0.10}));
      double w = std::min(300.0, std::pow(1.0 - rng_.Uniform(), -1.0 / 1.2));
      if (rng_.Chance(0.2)) w *= 0.05;  // dormant accounts
      weight[i] = w;
      if (c.kind == Kind::kExisting) total_existing += w;
      c.needs_login = c.kind == Kind::kExisting && rng_.Chance(0.15);
      c.mobile_bound = rng_.Chance(0.5);
    }
    // Prospects produce a small share; existing customers share the rest by weight.
    const double target = static_cast<double>(opt_.target_events);
    for (uint64_t i = 0; i < n; ++i) {
      Customer& c = customers_[i];
      double v;
      if (c.kind == Kind::kExisting) {
        double share = weight[i] / total_existing;
        c.gap = kMeanSessionEvents / std::max(share, 1e-12);
        v = rng_.Uniform() * c.gap;  // customers with gap > target may never show up
      } else {
        c.gap = target / 40.0;  // until they open an account: a few visits over some weeks
        v = rng_.Uniform() * target * 0.97;
      }
      if (v < target) heap_.push({v, static_cast<uint32_t>(i)});
    }
    existing_total_weight_ = total_existing;

    if (opt_.emit_profiles) {
      for (uint64_t i = 0; i < n; ++i) {
        if (customers_[i].kind != Kind::kExisting) continue;
        // Opened before the period: spread over the previous eight years.
        int64_t open_ms = start_ms_ - static_cast<int64_t>(rng_.Uniform() * 8 * 365 * kDayMs) -
                          kDayMs;
        EmitProfile(static_cast<uint32_t>(i), start_ms_, open_ms);
      }
    }
  }

  void AppendLoginId(uint32_t idx) {
    buf_.push_back('C');
    AppendInt(&buf_, 10000000000LL + idx);
  }
  void AppendAnonId(uint32_t idx, Platform p) {
    uint64_t h = Hash64(std::string_view(reinterpret_cast<const char*>(&idx), sizeof(idx)),
                        opt_.seed ^ 0xA5A5A5A5ULL);
    uint64_t h2 = HashCombine(h, 7);
    if (p == Platform::kAndroid) {
      AppendHex(&buf_, h, 16, false);
    } else {  // UUID-like, upper case on iOS (IDFV), lower case cookie id on the web
      bool upper = p == Platform::kIos;
      AppendHex(&buf_, h >> 32, 8, upper);
      buf_.push_back('-');
      AppendHex(&buf_, h >> 16, 4, upper);
      buf_.push_back('-');
      AppendHex(&buf_, h, 4, upper);
      buf_.push_back('-');
      AppendHex(&buf_, h2 >> 48, 4, upper);
      buf_.push_back('-');
      AppendHex(&buf_, h2, 12, upper);
    }
  }
  std::string MobileOf(uint32_t idx) {
    uint64_t h = Hash64(std::string_view(reinterpret_cast<const char*>(&idx), sizeof(idx)),
                        opt_.seed ^ 0x5A5A5A5AULL);
    static constexpr std::array<std::string_view, 8> kPrefix = {"138", "139", "136", "186",
                                                                "158", "177", "189", "150"};
    std::string m(kPrefix[h % kPrefix.size()]);
    char buf[16];
    snprintf(buf, sizeof(buf), "%08llu", static_cast<unsigned long long>((h >> 8) % 100000000));
    m.append(buf);
    return m;
  }

  void EmitProfile(uint32_t idx, int64_t time_ms, int64_t open_ms) {
    Customer& c = customers_[idx];
    BeginRecord("profile_set", time_ms);
    buf_.append(",\"distinct_id\":\"");
    AppendLoginId(idx);
    buf_.append("\",\"identities\":{\"$identity_login_id\":\"");
    AppendLoginId(idx);
    buf_.append("\"},\"properties\":{\"name\":\"");
    buf_.append(kSurnames[rng_.Below(kSurnames.size())]);
    buf_.append(kGivenChars[rng_.Below(kGivenChars.size())]);
    if (rng_.Chance(0.7)) buf_.append(kGivenChars[rng_.Below(kGivenChars.size())]);
    buf_.append("\",\"gender\":\"");
    buf_.append(rng_.Chance(0.52) ? "男" : "女");
    buf_.append("\",\"birthday\":\"");
    int32_t today = static_cast<int32_t>((time_ms + kShanghaiOffsetMs) / kDayMs);
    int age_days = static_cast<int>(std::clamp(rng_.Normal() * 11.0 + 41.0, 18.5, 82.0) * 365.25);
    AppendDate(&buf_, today - age_days);
    buf_.append("\",\"city\":\"");
    buf_.append(kCities[WeightedPick(rng_, kCityWeight)]);
    buf_.append("\",\"risk_level\":\"C");
    AppendInt(&buf_, c.risk);
    buf_.append("\",\"risk_assessed_at\":\"");
    // Assessed at opening, or re-assessed within the last three years.
    int64_t assessed = std::max(open_ms + 3 * 60000,
                                time_ms - static_cast<int64_t>(rng_.Uniform() * 3 * 365 * kDayMs));
    assessed = std::min(assessed, time_ms);
    AppendDatetime(&buf_, assessed);
    buf_.append("\",\"aum\":");
    double aum = c.kind == Kind::kProspect ? 0.0 : rng_.LogNormal(60000.0, 1.6);
    aum = std::min(aum, 5e8);
    AppendFixed(&buf_, static_cast<int64_t>(aum * 100), 2);
    buf_.append(",\"account_open_date\":\"");
    AppendDate(&buf_, static_cast<int32_t>((open_ms + kShanghaiOffsetMs) / kDayMs));
    buf_.append("\",\"channel\":\"");
    buf_.append(kChannels[WeightedPick(rng_, kChannelWeight)]);
    buf_.append("\",\"is_vip\":");
    buf_.append(aum >= 1e6 || rng_.Chance(0.01) ? "true" : "false");
    buf_.append("}}");
    Flush();
    if (stats_) ++stats_->profiles;
  }

  // ---- records ---------------------------------------------------------------------------

  void BeginRecord(std::string_view type, int64_t time_ms) {
    buf_.clear();
    buf_.append("{\"_track_id\":");
    AppendInt(&buf_, static_cast<int64_t>(PermuteTrackId(record_index_++, track_key_)));
    buf_.append(",\"type\":\"");
    buf_.append(type);
    buf_.append("\",\"time\":");
    AppendInt(&buf_, time_ms);
    if (opt_.time_free) buf_.append(",\"time_free\":true");
  }
  void Flush() {
    if (stats_) stats_->bytes += buf_.size();
    sink_(buf_);
  }

  // Per-session context: who, on which device, logged in or not.
  struct Session {
    uint32_t idx = 0;
    Platform platform = Platform::kAndroid;
    bool logged_in = false;
    int64_t time = 0;
    std::string id_fragment;   // ,"distinct_id":...,"identities":{...}
    std::string lib_fragment;  // ,"lib":{...}
    std::string presets;       // "$os":...,  (no leading comma, no trailing comma)
  };

  void BuildIdFragment(Session& s) {
    std::string saved = std::move(buf_);
    buf_.clear();
    buf_.append(",\"distinct_id\":\"");
    if (s.logged_in) AppendLoginId(s.idx); else AppendAnonId(s.idx, s.platform);
    buf_.append("\",\"identities\":{");
    if (s.logged_in) {
      buf_.append("\"$identity_login_id\":\"");
      AppendLoginId(s.idx);
      buf_.append("\",");
    }
    buf_.append("\"$identity_anonymous_id\":\"");
    AppendAnonId(s.idx, s.platform);
    buf_.append("\"}");
    s.id_fragment = std::move(buf_);
    buf_ = std::move(saved);
  }

  // The app SDK presets of an Android or iOS device (properties into `props`, the record's
  // "lib" object into `lib_fragment`). Consumes one random draw (the network type).
  void AppendAppPresets(std::string_view lib, std::string_view lib_version, std::string_view os,
                        std::string_view os_version, std::string_view manufacturer,
                        std::string_view model, int width, int height,
                        std::string_view app_version, uint64_t h, std::string* props,
                        std::string* lib_fragment) {
    std::string& p = *props;
    p.append("\"$lib\":\"").append(lib).append("\",\"$lib_version\":\"").append(lib_version);
    p.append("\",\"$os\":\"").append(os).append("\",\"$os_version\":\"").append(os_version);
    p.append("\",\"$manufacturer\":\"").append(manufacturer);
    p.append("\",\"$model\":\"").append(model);
    p.append("\",\"$app_version\":\"").append(app_version);
    p.append("\",\"$screen_width\":");
    AppendInt(&p, width);
    p.append(",\"$screen_height\":");
    AppendInt(&p, height);
    p.append(",\"$carrier\":\"").append(kCarriers[(h >> 40) % kCarriers.size()]);
    p.append("\",\"$network_type\":\"").append(kNetworks[rng_.Below(kNetworks.size())]);
    p.append("\"");
    lib_fragment->append(",\"lib\":{\"$lib\":\"").append(lib);
    lib_fragment->append("\",\"$lib_version\":\"").append(lib_version);
    lib_fragment->append("\",\"$lib_method\":\"code\",\"$app_version\":\"");
    lib_fragment->append(app_version).append("\"}");
  }

  void BuildDevice(Session& s) {
    const uint32_t idx = s.idx;
    uint64_t h = Hash64(std::string_view(reinterpret_cast<const char*>(&idx), sizeof(idx)),
                        opt_.seed ^ 0xD1CE);
    double u = static_cast<double>(h % 1000) / 1000.0;
    s.platform = u < 0.56 ? Platform::kAndroid : (u < 0.90 ? Platform::kIos : Platform::kWeb);
    std::string_view app_version = kAppVersions[(h >> 10) % kAppVersions.size()];
    std::string& p = s.presets;
    p.clear();
    s.lib_fragment.clear();
    switch (s.platform) {
      case Platform::kAndroid: {
        const AndroidModel& m = kAndroidModels[(h >> 20) % kAndroidModels.size()];
        AppendAppPresets("Android", "6.8.0", "Android", kAndroidOs[(h >> 30) % kAndroidOs.size()],
                         m.manufacturer, m.model, m.width, m.height, app_version, h, &p,
                         &s.lib_fragment);
        break;
      }
      case Platform::kIos: {
        const IosModel& m = kIosModels[(h >> 20) % kIosModels.size()];
        AppendAppPresets("iOS", "4.6.0", "iOS", kIosOs[(h >> 30) % kIosOs.size()], "Apple",
                         m.model, m.width, m.height, app_version, h, &p, &s.lib_fragment);
        break;
      }
      case Platform::kWeb: {
        bool mac = (h >> 20) % 3 == 0;
        p.append("\"$lib\":\"js\",\"$lib_version\":\"1.27.11\",\"$os\":\"");
        p.append(mac ? "Mac" : "Windows");
        p.append("\",\"$os_version\":\"").append(mac ? "10.15.7" : "10");
        p.append("\",\"$browser\":\"Chrome\",\"$browser_version\":\"").append((h >> 30) % 2 ? "120.0" : "122.0");
        p.append("\",\"$screen_width\":").append(mac ? "1440" : "1920");
        p.append(",\"$screen_height\":").append(mac ? "900" : "1080");
        p.append(",\"$timezone_offset\":-480");
        s.lib_fragment.append(",\"lib\":{\"$lib\":\"js\",\"$lib_version\":\"1.27.11\",\"$lib_method\":\"code\"}");
        break;
      }
    }
  }

  // Starts an event record; the caller appends custom properties (each with a leading comma)
  // and calls EndEvent(). Returns false once the event budget is spent.
  bool BeginEvent(Session& s, std::string_view event, std::string_view type = "track",
                  int64_t gap_ms = -1) {
    if (events_ >= opt_.target_events) return false;
    if (gap_ms < 0) gap_ms = static_cast<int64_t>(rng_.LogNormal(14000.0, 0.9));
    s.time += std::max<int64_t>(gap_ms, 200);
    Customer& c = customers_[s.idx];
    if (c.first_day < 0) c.first_day = LocalDay(s.time);
    BeginRecord(type, s.time);
    buf_.append(",\"event\":\"");
    buf_.append(event);
    buf_.push_back('"');
    buf_.append(s.id_fragment);
    buf_.append(s.lib_fragment);
    buf_.append(",\"properties\":{");
    buf_.append(s.presets);
    buf_.append(",\"$is_first_day\":");
    buf_.append(LocalDay(s.time) == c.first_day ? "true" : "false");
    return true;
  }
  void EndEvent(Session& s) {
    buf_.append("}}");
    Flush();
    ++events_;
    if (stats_) ++stats_->events;
    customers_[s.idx].last_time = s.time;
  }
  static int32_t LocalDay(int64_t ms) {
    return static_cast<int32_t>((ms + kShanghaiOffsetMs) / kDayMs);
  }
  void Prop(std::string_view key, std::string_view value) {
    buf_.append(",\"").append(key).append("\":\"").append(value).push_back('"');
  }
  void PropInt(std::string_view key, int64_t value) {
    buf_.append(",\"").append(key).append("\":");
    AppendInt(&buf_, value);
  }
  void PropBool(std::string_view key, bool value) {
    buf_.append(",\"").append(key).append("\":").append(value ? "true" : "false");
  }

  // ---- journeys --------------------------------------------------------------------------

  void ViewScreen(Session& s, ScreenId id) {
    const Screen& sc = kScreens[id];
    if (s.platform == Platform::kWeb) {
      if (!BeginEvent(s, "$pageview")) return;
      buf_.append(",\"$url\":\"https://www.sextant-sec.com").append(sc.url_path).push_back('"');
      Prop("$url_path", sc.url_path);
      Prop("$title", sc.title);
    } else {
      if (!BeginEvent(s, "$AppViewScreen")) return;
      Prop("$screen_name", sc.screen_name);
      Prop("$title", sc.title);
    }
    EndEvent(s);
  }

  void Start(Session& s, bool first_visit) {
    if (s.platform == Platform::kWeb) {
      ViewScreen(s, kHome);
      return;
    }
    if (!BeginEvent(s, "$AppStart", "track", 0)) return;
    PropBool("$is_first_time", first_visit);
    PropBool("$resume_from_background", !first_visit && rng_.Chance(0.3));
    EndEvent(s);
    ViewScreen(s, kHome);
  }
  void End(Session& s, int64_t session_start) {
    if (s.platform == Platform::kWeb || !rng_.Chance(0.85)) return;
    if (!BeginEvent(s, "$AppEnd", "track", 3000)) return;
    PropInt("event_duration", (s.time - session_start) / 1000);
    EndEvent(s);
  }

  void Search(Session& s) {
    ViewScreen(s, kSearch);
    if (!BeginEvent(s, "search")) return;
    Prop("keyword", kKeywords[rng_.Below(kKeywords.size())]);
    PropInt("result_count", rng_.Between(0, 60));
    EndEvent(s);
  }

  void ReadArticle(Session& s) {
    ViewScreen(s, kNews);
    if (!BeginEvent(s, "read_article")) return;
    uint64_t a = rng_.Below(kArticleTitles.size() * 5);
    char id[16];
    snprintf(id, sizeof(id), "A%05llu", static_cast<unsigned long long>(10000 + a));
    Prop("article_id", id);
    Prop("article_title", kArticleTitles[a % kArticleTitles.size()]);
    Prop("article_category", kArticleCategories[a % kArticleCategories.size()]);
    int64_t duration = static_cast<int64_t>(rng_.LogNormal(70.0, 0.8));
    PropInt("read_duration", duration);
    EndEvent(s);
    s.time += duration * 1000;
  }

  void ViewFund(Session& s, uint32_t f) {
    if (!BeginEvent(s, "view_fund_detail")) return;
    const Fund& fund = funds_[f];
    Prop("fund_id", fund.code);
    Prop("fund_name", fund.name);
    Prop("fund_type", kFundTypes[fund.type]);
    buf_.append(",\"risk_level\":\"R");
    AppendInt(&buf_, fund.risk);
    buf_.push_back('"');
    EndEvent(s);
  }

  // Fund browsing: detail pages, sometimes a comparison, then (for account holders) a
  // subscription or a 定投 plan.
  void FundBlock(Session& s, bool can_trade, int first_fund = -1) {
    Customer& c = customers_[s.idx];
    if (first_fund < 0 && rng_.Chance(0.5)) ViewScreen(s, kFundList);
    int views = 1 + static_cast<int>(rng_.Exp() * 0.9);
    views = std::min(views, 6);
    uint32_t viewed[6];
    for (int i = 0; i < views; ++i) {
      viewed[i] = (i == 0 && first_fund >= 0) ? static_cast<uint32_t>(first_fund)
                                               : PickSuitableFund(c.risk + 1);
      ViewFund(s, viewed[i]);
    }
    if (views >= 2 && rng_.Chance(0.35)) {
      if (BeginEvent(s, "compare_funds")) {
        buf_.append(",\"fund_ids\":[");
        for (int i = 0; i < views; ++i) {
          if (i) buf_.push_back(',');
          buf_.append("\"").append(funds_[viewed[i]].code).push_back('"');
        }
        buf_.push_back(']');
        PropInt("fund_count", views);
        EndEvent(s);
      }
    }
    if (!can_trade) return;
    const double p_subscribe = 0.06 + 0.02 * views;
    uint32_t f = viewed[rng_.Below(views)];
    for (int i = 0; i < views && funds_[f].risk > c.risk; ++i) f = viewed[i];
    // Suitability rules: buying above one's risk level needs an extra confirmation, which most
    // customers abandon.
    const bool suitable = funds_[f].risk <= c.risk;
    if (rng_.Chance(p_subscribe) && (suitable || rng_.Chance(0.15))) {
      if (!BeginEvent(s, "subscribe_fund", "track", static_cast<int64_t>(rng_.LogNormal(40000, 0.6)))) return;
      const Fund& fund = funds_[f];
      Prop("fund_id", fund.code);
      Prop("fund_type", kFundTypes[fund.type]);
      buf_.append(",\"risk_level\":\"R");
      AppendInt(&buf_, fund.risk);
      buf_.push_back('"');
      int64_t amount = std::max<int64_t>(10, static_cast<int64_t>(rng_.LogNormal(8000, 1.1)) / 100 * 100);
      PropInt("amount", amount);
      Prop("pay_method", kPayMethods[rng_.Below(kPayMethods.size())]);
      PropBool("is_suitable", fund.risk <= c.risk);
      EndEvent(s);
    } else if (rng_.Chance(0.03)) {
      if (!BeginEvent(s, "start_auto_invest", "track", static_cast<int64_t>(rng_.LogNormal(50000, 0.6)))) return;
      const Fund& fund = funds_[f];
      Prop("fund_id", fund.code);
      Prop("fund_type", kFundTypes[fund.type]);
      PropInt("amount", 100 * rng_.Between(1, 20));
      Prop("frequency", kAutoInvestFreq[rng_.Below(kAutoInvestFreq.size())]);
      char plan[24];
      snprintf(plan, sizeof(plan), "P%llu", static_cast<unsigned long long>(events_));
      Prop("plan_id", plan);
      EndEvent(s);
    }
  }

  void Deposit(Session& s, bool first) {
    ViewScreen(s, kAsset);
    if (!BeginEvent(s, "deposit", "track", static_cast<int64_t>(rng_.LogNormal(30000, 0.5)))) return;
    int64_t amount = std::max<int64_t>(100, static_cast<int64_t>(rng_.LogNormal(first ? 5000 : 12000, 1.2)) / 100 * 100);
    PropInt("amount", amount);
    Prop("bank", kBanks[(s.idx * 2654435761u >> 8) % kBanks.size()]);
    PropBool("is_first", first);
    EndEvent(s);
  }
  void Withdraw(Session& s) {
    ViewScreen(s, kAsset);
    if (!BeginEvent(s, "withdraw", "track", static_cast<int64_t>(rng_.LogNormal(30000, 0.5)))) return;
    int64_t amount = std::max<int64_t>(100, static_cast<int64_t>(rng_.LogNormal(9000, 1.2)) / 100 * 100);
    PropInt("amount", amount);
    Prop("bank", kBanks[(s.idx * 2654435761u >> 8) % kBanks.size()]);
    EndEvent(s);
  }

  void LoanEvent(Session& s, std::string_view event, int64_t amount) {
    Customer& c = customers_[s.idx];
    if (!BeginEvent(s, event)) return;
    Prop("product", kLoanProducts[c.loan_product]);
    if (amount > 0) PropInt("amount", amount);
    if (event == "loan_apply") PropInt("term_months", 6 * rng_.Between(1, 6));
    if (event == "loan_approved") {
      buf_.append(",\"annual_rate\":");
      AppendFixed(&buf_, 300 + rng_.Between(0, 900), 4);
    }
    EndEvent(s);
  }
  // Loan journey, one stage per visit: view → apply → approved → drawdown → repay.
  void Loan(Session& s) {
    Customer& c = customers_[s.idx];
    switch (c.loan) {
      case kLoanNone:
        ViewScreen(s, kLoan);
        c.loan_product = static_cast<uint8_t>(rng_.Below(kLoanProducts.size()));
        LoanEvent(s, "loan_view", 0);
        if (rng_.Chance(0.22)) {
          c.loan_amount = static_cast<uint32_t>(std::max(1000.0, rng_.LogNormal(50000, 0.8))) / 1000 * 1000;
          LoanEvent(s, "loan_apply", c.loan_amount);
          c.loan = kLoanApplied;
        }
        break;
      case kLoanApplied:
        if (rng_.Chance(0.62)) {
          LoanEvent(s, "loan_approved", c.loan_amount);
          c.loan = kLoanApproved;
        } else {
          c.loan = kLoanNone;  // rejected: no event, the customer may try again later
        }
        break;
      case kLoanApproved:
        ViewScreen(s, kLoan);
        if (rng_.Chance(0.8)) {
          LoanEvent(s, "loan_drawdown", c.loan_amount);
          c.loan = kLoanDrawn;
        } else if (rng_.Chance(0.3)) {
          c.loan = kLoanNone;  // let the offer lapse
        }
        break;
      case kLoanDrawn:
        ViewScreen(s, kLoan);
        LoanEvent(s, "loan_repay", std::max<int64_t>(100, c.loan_amount / 12));
        if (rng_.Chance(0.1)) c.loan = kLoanNone;  // paid off
        break;
    }
  }

  void BindMobile(Session& s) {
    Customer& c = customers_[s.idx];
    if (events_ >= opt_.target_events) return;
    s.time += static_cast<int64_t>(rng_.LogNormal(20000, 0.5));
    BeginRecord("track_id_bind", s.time);
    buf_.append(",\"event\":\"$BindID\",\"distinct_id\":\"");
    AppendLoginId(s.idx);
    buf_.append("\",\"identities\":{\"$identity_login_id\":\"");
    AppendLoginId(s.idx);
    buf_.append("\",\"$identity_anonymous_id\":\"");
    AppendAnonId(s.idx, s.platform);
    buf_.append("\",\"$identity_mobile\":\"");
    buf_.append(MobileOf(s.idx));
    buf_.append("\"}");
    EndPresetsOnlyEvent(s);
    c.mobile_bound = true;
    if (stats_) ++stats_->binds;
  }

  // Closes an identity event ($SignUp, $BindID) whose properties are the device presets only,
  // and counts it.
  void EndPresetsOnlyEvent(Session& s) {
    buf_.append(s.lib_fragment);
    buf_.append(",\"properties\":{");
    buf_.append(s.presets);
    buf_.append("}}");
    Flush();
    ++events_;
    customers_[s.idx].last_time = s.time;
    if (stats_) ++stats_->events;
  }

  // track_signup: the anonymous device id becomes linked to the login id.
  void SignUp(Session& s) {
    if (events_ >= opt_.target_events) return;
    s.time += static_cast<int64_t>(rng_.LogNormal(15000, 0.5));
    s.logged_in = true;
    BuildIdFragment(s);
    BeginRecord("track_signup", s.time);
    buf_.append(",\"event\":\"$SignUp\"");
    buf_.append(s.id_fragment);
    buf_.append(",\"original_id\":\"");
    AppendAnonId(s.idx, s.platform);
    buf_.push_back('"');
    EndPresetsOnlyEvent(s);
    if (stats_) ++stats_->signups;
  }

  // Account opening funnel. Returns true if the account was opened in this visit.
  bool OpenAccount(Session& s) {
    Customer& c = customers_[s.idx];
    ViewScreen(s, kOpen);
    if (!BeginEvent(s, "open_account_start")) return false;
    Prop("source", s.platform == Platform::kWeb ? "web_banner" : (rng_.Chance(0.5) ? "home_banner" : "fund_detail"));
    EndEvent(s);
    c.open = OpenState::kDropped;
    if (!rng_.Chance(0.72)) return false;
    if (!BeginEvent(s, "id_upload", "track", static_cast<int64_t>(rng_.LogNormal(60000, 0.5)))) return false;
    Prop("id_type", "身份证");
    PropBool("ocr_passed", true);
    EndEvent(s);
    if (!rng_.Chance(0.85)) return false;
    if (!BeginEvent(s, "risk_assessment", "track", static_cast<int64_t>(rng_.LogNormal(120000, 0.5)))) return false;
    buf_.append(",\"result_level\":\"C");
    AppendInt(&buf_, c.risk);
    buf_.push_back('"');
    PropInt("score", 10 + 18 * c.risk - rng_.Between(0, 12));
    EndEvent(s);
    if (!rng_.Chance(0.9)) return false;
    if (!BeginEvent(s, "open_account_submit", "track", static_cast<int64_t>(rng_.LogNormal(40000, 0.5)))) return false;
    EndEvent(s);
    if (!rng_.Chance(0.93)) return false;  // rejected in review
    if (!BeginEvent(s, "open_account_success", "track", static_cast<int64_t>(rng_.LogNormal(300000, 0.8)))) return false;
    Prop("channel", s.platform == Platform::kWeb ? "web" : "app");
    EndEvent(s);
    c.open = OpenState::kOpened;
    return true;
  }

  void ExistingSession(Session& s) {
    Customer& c = customers_[s.idx];
    const int64_t session_start = s.time;
    if (c.needs_login) {
      // A new device: browse anonymously, then log in.
      s.logged_in = false;
      BuildIdFragment(s);
      Start(s, true);
      if (rng_.Chance(0.6)) ReadArticle(s);
      SignUp(s);
      c.needs_login = false;
    } else {
      s.logged_in = true;
      BuildIdFragment(s);
      Start(s, false);
    }
    if (c.loan == kLoanApplied) Loan(s);  // approval arrives by the next visit
    int actions = 1 + static_cast<int>(rng_.Exp() * 2.2);
    actions = std::min(actions, 20);
    static constexpr std::array<double, 9> kActionWeight = {20, 9, 12, 30, 5, 2.5, 3.5, 1, 6};
    for (int a = 0; a < actions && events_ < opt_.target_events; ++a) {
      switch (WeightedPick(rng_, kActionWeight)) {
        case 0: {
          static constexpr std::array<ScreenId, 4> kBrowse = {kHome, kMarket, kMine, kAsset};
          ViewScreen(s, kBrowse[rng_.Below(kBrowse.size())]);
          break;
        }
        case 1:
          Search(s);
          if (rng_.Chance(0.6)) FundBlock(s, true, static_cast<int>(PickFund()));
          break;
        case 2: ReadArticle(s); break;
        case 3: FundBlock(s, true); break;
        case 4: Deposit(s, false); break;
        case 5: Withdraw(s); break;
        case 6: Loan(s); break;
        case 7:
          if (!c.mobile_bound) BindMobile(s);
          break;
        case 8: ViewScreen(s, kMarket); break;
      }
    }
    End(s, session_start);
  }

  void ProspectSession(Session& s) {
    Customer& c = customers_[s.idx];
    const int64_t session_start = s.time;
    s.logged_in = false;
    BuildIdFragment(s);
    Start(s, c.sessions == 0);
    int actions = 1 + static_cast<int>(rng_.Exp() * 1.5);
    for (int a = 0; a < actions && events_ < opt_.target_events; ++a) {
      double u = rng_.Uniform();
      if (u < 0.35) ReadArticle(s);
      else if (u < 0.55) Search(s);
      else FundBlock(s, false);
    }
    const double p_start = c.open == OpenState::kBrowsing ? (c.sessions == 0 ? 0.35 : 0.25) : 0.2;
    if (events_ < opt_.target_events && rng_.Chance(p_start) && OpenAccount(s)) {
      SignUp(s);
      if (opt_.emit_profiles && s.logged_in) EmitProfile(s.idx, s.time, s.time);
      if (rng_.Chance(0.6)) BindMobile(s);
      c.kind = Kind::kExisting;
      // From now on an ordinary customer with its own activity level.
      double w = 0.5 + 1.5 * rng_.Uniform();
      c.gap = kMeanSessionEvents * existing_total_weight_ / w;
      if (rng_.Chance(0.6)) Deposit(s, true);
      if (rng_.Chance(0.3)) FundBlock(s, true);
    } else if (rng_.Chance(0.3)) {
      c.churned = true;
    }
    End(s, session_start);
  }

  void Simulate() {
    const double target = static_cast<double>(opt_.target_events);
    while (events_ < opt_.target_events && !heap_.empty()) {
      HeapEntry e = heap_.top();
      heap_.pop();
      Customer& c = customers_[e.idx];
      Session s;
      s.idx = e.idx;
      BuildDevice(s);
      // The wall clock follows the share of events already emitted, warped by the diurnal
      // curve; a customer's visits never overlap.
      int64_t t = TimeAt(static_cast<double>(events_) / target);
      t = std::max(t, c.last_time + 10 * 60000);
      if (t >= opt_.end_time_ms - 3600000) t = std::max<int64_t>(c.last_time + 60000, opt_.end_time_ms - 3600000);
      s.time = t;
      if (stats_ && c.sessions == 0 && c.last_time == 0) ++stats_->active_customers;
      if (c.kind == Kind::kExisting) ExistingSession(s); else ProspectSession(s);
      if (c.sessions < 0xFFFF) ++c.sessions;
      if (!c.churned) {
        double next = e.v + std::max(1.0, c.gap * rng_.Exp());
        heap_.push({next, e.idx});
      }
    }
  }

  static constexpr double kMeanSessionEvents = 9.0;

  struct HeapEntry {
    double v;
    uint32_t idx;
    bool operator>(const HeapEntry& o) const { return v != o.v ? v > o.v : idx > o.idx; }
  };

  const GenerateOptions& opt_;
  const std::function<void(std::string_view)>& sink_;
  GenerateStats* stats_;
  Rng rng_;
  int64_t start_ms_ = 0;
  uint64_t track_key_ = 0;
  uint64_t record_index_ = 0;
  uint64_t events_ = 0;
  std::string buf_;
  std::vector<double> cum_;
  std::vector<Fund> funds_;
  std::vector<double> fund_cum_;
  std::vector<Customer> customers_;
  double existing_total_weight_ = 0;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<HeapEntry>> heap_;
};

}  // namespace

Status GenerateDataset(const GenerateOptions& options,
                       const std::function<void(std::string_view record_json)>& sink,
                       GenerateStats* stats) {
  if (stats) *stats = GenerateStats{};
  Generator generator(options, sink, stats);
  return generator.Run();
}

}  // namespace sextant::generate
