// Data generator for bench/segment_bench.sh (tags & segments): the fund-app event model of
// bench/analysis/gen.cc (same shape, same TSV line format, so both loaders and ClickHouse read it
// the same way), with "ReadArticle" in place of "ViewNews", plus one profile per user written to
// a second TSV. Deterministic and seeded: a user's events and profile depend only on (seed, id).
//
//   segment_gen --events N --users U --days D --start-epoch S [--seed 42] --out events.tsv
//               --profiles profiles.tsv [--stats stats.json]
//
// Event line: user_id \t event \t time (epoch seconds) \t amount \t fund_type
//   amount: integer yuan, 0 = no amount property; fund_type: empty = no fund_type property.
//   distinct_id of the user is "u<user_id>" (Sextant); ClickHouse keeps the numeric user_id.
// Profile line (one per user, user_id ascending):
//   user_id \t aum \t risk_level \t city \t age \t is_vip
//   aum: NUMBER, whole yuan, log-normal (median ~30 K, ~5 % >= 500 K), higher for existing and
//        active users; risk_level: STRING C1..C5 (skewed to C2/C3, shifted up with aum);
//   city: STRING, 30 values with Zipf(0.9) frequencies; age: NUMBER 18..80;
//   is_vip: BOOL (0/1 here), true for aum >= 1,000,000 and 1 % of the others.
//
// Event shape (as bench/analysis/gen.cc):
//   * 52 event names: AppStart / AppEnd around every session, the 4-step funnel ViewFund →
//     AddWatch → ConfirmOrder → BuyFund, and 46 other names with Zipf (s = 1) frequencies
//     (ReadArticle is the 5th of them, Deposit the 33rd).
//   * every user has at least one event; the rest of the events are shared out in proportion to
//     a Pareto(1.3) activity weight (capped at 300), so a few users are very active.
//   * 35 % of users (more of the active ones) are existing customers, active from day 0 for an
//     exponential span (mean 60 days + 20 × ln(activity / mean activity)) with sessions spread
//     evenly; the others arrive on a uniform day, stay for an exponential span (mean 30 days +
//     the same term) and have their sessions biased to the early part (retention decays).
//     Sessions have 2 + floor(Exp(6)) events (~7.5); session starts follow a daily curve
//     (local time UTC+8, Asia/Shanghai), events in a session are 1 s + Exp(20 s) apart.
//   * the funnel is a per-user state that advances with a per-event probability (ViewFund 8 %,
//     AddWatch 12 %, ConfirmOrder 15 %, BuyFund 35 %) and is abandoned with 25 % at the end of
//     each session.
//   * besides the funnel, every in-session event (not the first or last) is a direct BuyFund
//     (repeat purchase / regular investment) with probability 1 % (new users) or 3 % (existing
//     customers), doubled for aum >= 100 K, and a direct Deposit with 1 % — so that a broker's
//     buyers and depositors are not limited to the few users who complete the funnel.
//   * amount on orders, purchases, deposits, etc. (log-normal, multiples of 100 yuan; direct
//     purchases and deposits scaled by (aum / 30 K)^0.3), fund_type on fund events.
//   * a user's events have strictly increasing whole-second times (no ties).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "segment_gen: %s\n", message.c_str());
  std::exit(2);
}

// splitmix64 seeded per user: the data of a user depends only on (seed, user id).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double Exp(double mean) { return -mean * std::log(1.0 - Uniform()); }
  double Normal() {
    double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

const char* const kEvents[] = {
    "AppStart", "AppEnd", "ViewFund", "AddWatch", "ConfirmOrder", "BuyFund",
    // Zipf pool, most frequent first
    "PageView", "ViewHome", "ViewMarket", "Search", "ReadArticle", "ViewFundList", "ViewStock",
    "ClickBanner", "ViewAsset", "ViewPortfolio", "ViewMessage", "ViewProfile", "Login",
    "ViewRank", "ViewTopic", "Share", "Like", "Comment", "ViewVideo", "PlayVideo",
    "ViewCalculator", "ViewRiskTest", "SubmitRiskTest", "ViewCoupon", "ReceiveCoupon",
    "ViewActivity", "SignIn", "ViewSetting", "ChangeSetting", "ViewHelp", "ContactService",
    "ViewBill", "Deposit", "Withdraw", "Transfer", "ViewLoan", "ApplyLoan", "ViewInsurance",
    "BuyInsurance", "OpenAccount", "BindCard", "ViewBankCard", "Redeem", "ViewOrder",
    "CancelOrder", "Logout"};
constexpr int kNumEvents = sizeof(kEvents) / sizeof(kEvents[0]);
constexpr int kPoolStart = 6;
enum : uint8_t { kAppStart = 0, kAppEnd = 1, kViewFund = 2, kAddWatch = 3, kConfirm = 4, kBuy = 5 };
constexpr uint8_t kDeposit = kPoolStart + 32;  // kEvents[38]

const char* const kFundTypes[] = {"", "stock", "bond", "money", "hybrid", "index", "qdii"};
const double kFundTypeWeights[] = {0, 0.25, 0.20, 0.25, 0.15, 0.10, 0.05};

// Share of sessions starting in each local hour.
const double kHourWeights[24] = {1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 3.0, 5.0, 7.0, 8.0, 7.0,
                                 5.0, 6.0, 7.0, 6.0, 5.0, 5.0, 6.0, 8.0, 9.0, 8.0, 5.0, 2.0};

struct Rec {
  uint32_t t;
  uint32_t user;
  uint32_t amount;
  uint8_t event;
  uint8_t fund;
};

bool HasAmount(int e) {
  static const std::vector<std::string> kNames = {"ConfirmOrder", "BuyFund", "Deposit",
                                                  "Withdraw", "Transfer", "ApplyLoan",
                                                  "BuyInsurance", "Redeem"};
  return std::find(kNames.begin(), kNames.end(), kEvents[e]) != kNames.end();
}
bool HasFundType(int e) {
  return e == kViewFund || e == kAddWatch || e == kConfirm || e == kBuy ||
         std::strcmp(kEvents[e], "Redeem") == 0;
}

struct Sampler {  // cumulative weights, binary search
  std::vector<double> cum;
  template <typename F>
  Sampler(int n, F weight) {
    double acc = 0;
    for (int i = 0; i < n; ++i) cum.push_back(acc += weight(i));
    for (double& c : cum) c /= acc;
  }
  int Pick(Rng& r) const {
    size_t i = std::upper_bound(cum.begin(), cum.end(), r.Uniform()) - cum.begin();
    return static_cast<int>(std::min(i, cum.size() - 1));
  }
};

uint32_t Amount(Rng& r) {
  return 100 * (1 + static_cast<uint32_t>(std::exp(3.0 + 1.3 * r.Normal())));
}

const char* const kCities[] = {
    "Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing",
    "Chongqing", "Tianjin", "Suzhou", "Xian", "Changsha", "Zhengzhou", "Qingdao", "Shenyang",
    "Dalian", "Xiamen", "Ningbo", "Jinan", "Hefei", "Fuzhou", "Kunming", "Harbin", "Changchun",
    "Shijiazhuang", "Nanning", "Guiyang", "Taiyuan", "Urumqi"};
constexpr int kNumCities = sizeof(kCities) / sizeof(kCities[0]);
const double kRiskCum[5] = {0.15, 0.45, 0.75, 0.93, 1.0};

// Direct purchases and deposits scale with the user's assets: median 2,100 yuan × (aum / 30 K)^0.3.
uint32_t BigAmount(Rng& r, double aum) {
  double scale = std::pow(std::max(aum, 1000.0) / 3e4, 0.3);
  return 100 * (1 + static_cast<uint32_t>(std::min(1e7, scale * std::exp(3.0 + 1.3 * r.Normal()))));
}

char* PutU64(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = 0, users = 0, seed = 42;
  int days = 0;
  int64_t start_epoch = -1;
  std::string out_path, stats_path, profiles_path;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + flag);
      return argv[++i];
    };
    if (flag == "--events") events = std::stoull(value());
    else if (flag == "--users") users = std::stoull(value());
    else if (flag == "--days") days = std::stoi(value());
    else if (flag == "--start-epoch") start_epoch = std::stoll(value());
    else if (flag == "--seed") seed = std::stoull(value());
    else if (flag == "--out") out_path = value();
    else if (flag == "--stats") stats_path = value();
    else if (flag == "--profiles") profiles_path = value();
    else Die("unknown flag " + flag);
  }
  if (events == 0 || users == 0 || days <= 0 || start_epoch < 0 || out_path.empty() ||
      profiles_path.empty())
    Die("usage: segment_gen --events N --users U --days D --start-epoch S [--seed 42] --out F --profiles P");
  if (std::strcmp(kEvents[kDeposit], "Deposit") != 0) Die("internal error: kDeposit");
  if (events < users) Die("--events must be at least --users (every user has an event)");
  if (users >= (1ULL << 32) || start_epoch + (days + 2) * 86400LL >= (1LL << 32))
    Die("too many users or times beyond 2106");

  // Activity weights and integer quotas: 1 each, the rest shared out by weight (largest
  // remainder by running rounding, so the total is exact).
  std::vector<double> weight(users);
  double total_weight = 0;
  for (uint64_t u = 0; u < users; ++u) {
    Rng r(seed * 0x100000001b3ULL ^ (u + 1) * 0x9e3779b97f4a7c15ULL);
    double w = std::pow(1.0 - r.Uniform(), -1.0 / 1.3);
    weight[u] = std::min(w, 300.0);
    total_weight += weight[u];
  }
  std::vector<uint32_t> quota(users);
  {
    double extra = static_cast<double>(events - users), acc = 0;
    uint64_t given = 0;
    for (uint64_t u = 0; u < users; ++u) {
      acc += weight[u] * extra / total_weight;
      uint64_t upto = (u + 1 == users) ? events - users : static_cast<uint64_t>(std::llround(acc));
      quota[u] = 1 + static_cast<uint32_t>(upto - given);
      given = upto;
    }
  }
  weight.clear();
  weight.shrink_to_fit();

  Sampler pool(kNumEvents - kPoolStart, [](int i) { return 1.0 / (i + 1); });
  Sampler hours(24, [](int i) { return kHourWeights[i]; });
  Sampler funds(7, [](int i) { return kFundTypeWeights[i]; });

  // Per-day buckets (the last one collects the few events that run past the last midnight).
  std::vector<std::vector<Rec>> buckets(days + 2);
  for (auto& b : buckets) b.reserve(events / days + events / days / 4);
  std::vector<uint64_t> per_event(kNumEvents, 0);

  struct Session {
    uint32_t start;
    uint32_t length;
  };
  std::vector<Session> sessions;
  const double kFunnelP[4] = {0.08, 0.12, 0.15, 0.35};
  Sampler cities(kNumCities, [](int i) { return std::pow(i + 1.0, -0.9); });
  FILE* prof = std::fopen(profiles_path.c_str(), "wb");
  if (!prof) Die("cannot open " + profiles_path);
  std::setvbuf(prof, nullptr, _IOFBF, 1 << 22);
  uint64_t vip_count = 0, aum_500k = 0;
  for (uint64_t u = 0; u < users; ++u) {
    Rng r(seed * 0x2545f4914f6cdd1dULL + (u + 1) * 0xd1b54a32d192ed03ULL);
    uint32_t q = quota[u];
    // Existing customers (more likely the more active a user is) are active from day 0 for an
    // exponential span with sessions spread evenly; new users arrive on a uniform day and their
    // sessions thin out after it (retention decays).
    double lw = std::log(std::max(1.0, q * static_cast<double>(users) / events));
    bool existing = r.Uniform() < std::min(0.9, 0.35 + 0.15 * lw);
    int first = existing ? 0 : static_cast<int>(r.Uniform() * days);
    int last = std::min<int>(days - 1, first + static_cast<int>(r.Exp((existing ? 60.0 : 30.0) + 20.0 * lw)));
    double bias = existing ? 1.0 : 1.6;
    double aum;
    {
      // Profile: its own stream (the event stream r is not touched).
      Rng p(seed * 0x9e3779b185ebca87ULL + (u + 1) * 0xc2b2ae3d27d4eb4fULL);
      aum = std::floor(std::exp(10.2 + 1.7 * p.Normal() + 0.4 * lw + (existing ? 0.5 : 0.0)));
      double shift = 0.08 * (std::log10(aum + 1.0) - 4.5);
      double x = std::min(0.999999, std::max(0.0, p.Uniform() + shift));
      int risk = 0;
      while (risk < 4 && x >= kRiskCum[risk]) ++risk;
      int city = cities.Pick(p);
      int age = static_cast<int>(std::lround(38.0 + 11.0 * p.Normal() + 2.0 * lw));
      age = std::min(80, std::max(18, age));
      bool vip = aum >= 1e6 || p.Uniform() < 0.01;
      vip_count += vip;
      aum_500k += aum >= 5e5;
      std::fprintf(prof, "%llu\t%.0f\tC%d\t%s\t%d\t%d\n", static_cast<unsigned long long>(u + 1),
                   aum, risk + 1, kCities[city], age, vip ? 1 : 0);
    }
    // Split the quota into sessions of 2 + floor(Exp(6)) events (the last one gets the rest).
    sessions.clear();
    uint32_t left = q;
    while (left > 0) {
      uint32_t len = 2 + static_cast<uint32_t>(r.Exp(6.0));
      len = std::min(len, left);
      int day = first + static_cast<int>((last - first + 1) * std::pow(r.Uniform(), bias));
      uint32_t sec = static_cast<uint32_t>(hours.Pick(r) * 3600 + r.Uniform() * 3600);
      sessions.push_back({static_cast<uint32_t>(start_epoch + day * 86400LL + sec), len});
      left -= len;
    }
    std::sort(sessions.begin(), sessions.end(),
              [](const Session& a, const Session& b) { return a.start < b.start; });
    // Direct purchases and deposits (per in-session event), more for existing and richer users.
    const double direct_buy = (existing ? 0.03 : 0.01) * (aum >= 1e5 ? 2.0 : 1.0);
    const double direct_deposit = 0.01;
    int stage = 0;
    uint8_t attempt_fund = 1;
    uint32_t attempt_amount = 100;
    uint32_t t = 0;
    for (const Session& s : sessions) {
      t = std::max(s.start, t + 1 + static_cast<uint32_t>(r.Exp(20.0)));
      for (uint32_t k = 0; k < s.length; ++k) {
        if (k > 0) t += 1 + static_cast<uint32_t>(r.Exp(20.0));
        uint8_t e;
        bool direct = false;
        if (k == 0) {
          e = kAppStart;
        } else if (k + 1 == s.length && s.length >= 3) {
          e = kAppEnd;
        } else if (double x = r.Uniform(); x < direct_buy) {
          e = kBuy;  // a repeat purchase / regular investment, outside the funnel
          direct = true;
        } else if (x < direct_buy + direct_deposit) {
          e = kDeposit;
          direct = true;
        } else if (r.Uniform() < kFunnelP[stage]) {
          e = static_cast<uint8_t>(kViewFund + stage);
          if (stage == 0) {
            attempt_fund = static_cast<uint8_t>(funds.Pick(r));
            if (attempt_fund == 0) attempt_fund = 1;
            attempt_amount = Amount(r);
          }
          stage = (stage + 1) % 4;
        } else {
          e = static_cast<uint8_t>(kPoolStart + pool.Pick(r));
        }
        Rec rec{t, static_cast<uint32_t>(u + 1), 0, e, 0};
        if (HasFundType(e)) {
          rec.fund = (e >= kViewFund && e <= kBuy && !direct) ? attempt_fund : static_cast<uint8_t>(std::max(1, funds.Pick(r)));
        }
        if (HasAmount(e)) {
          if (direct)
            rec.amount = BigAmount(r, aum);
          else
            rec.amount = (e == kConfirm || e == kBuy) ? attempt_amount : Amount(r);
        }
        int64_t day = (static_cast<int64_t>(t) - start_epoch) / 86400;
        buckets[std::min<int64_t>(day, days + 1)].push_back(rec);
        per_event[e]++;
      }
      if (stage > 0 && r.Uniform() < 0.25) stage = 0;  // abandoned the attempt
    }
  }
  quota.clear();
  quota.shrink_to_fit();
  if (std::fclose(prof) != 0) Die("close failed: " + profiles_path);

  FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) Die("cannot open " + out_path);
  std::vector<char> buf(1 << 24);
  size_t used = 0;
  uint64_t written = 0;
  uint32_t t_min = UINT32_MAX, t_max = 0;
  for (auto& bucket : buckets) {
    std::sort(bucket.begin(), bucket.end(), [](const Rec& a, const Rec& b) {
      return a.t != b.t ? a.t < b.t : a.user < b.user;
    });
    for (const Rec& rec : bucket) {
      if (used + 128 > buf.size()) {
        if (std::fwrite(buf.data(), 1, used, out) != used) Die("write failed");
        used = 0;
      }
      char* p = buf.data() + used;
      p = PutU64(p, rec.user);
      *p++ = '\t';
      size_t n = std::strlen(kEvents[rec.event]);
      std::memcpy(p, kEvents[rec.event], n);
      p += n;
      *p++ = '\t';
      p = PutU64(p, rec.t);
      *p++ = '\t';
      p = PutU64(p, rec.amount);
      *p++ = '\t';
      n = std::strlen(kFundTypes[rec.fund]);
      std::memcpy(p, kFundTypes[rec.fund], n);
      p += n;
      *p++ = '\n';
      used = p - buf.data();
      t_min = std::min(t_min, rec.t);
      t_max = std::max(t_max, rec.t);
      ++written;
    }
    std::vector<Rec>().swap(bucket);
  }
  if (used && std::fwrite(buf.data(), 1, used, out) != used) Die("write failed");
  if (std::fclose(out) != 0) Die("close failed");
  if (written != events) Die("internal error: wrote " + std::to_string(written) + " events");

  if (!stats_path.empty()) {
    FILE* s = std::fopen(stats_path.c_str(), "w");
    if (!s) Die("cannot open " + stats_path);
    std::fprintf(s, "{\"events\":%llu,\"users\":%llu,\"days\":%d,\"start_epoch\":%lld,\"seed\":%llu,"
                    "\"t_min\":%u,\"t_max\":%u,\"vip\":%llu,\"aum_ge_500k\":%llu,\"per_event\":{",
                 static_cast<unsigned long long>(events), static_cast<unsigned long long>(users),
                 days, static_cast<long long>(start_epoch), static_cast<unsigned long long>(seed),
                 t_min, t_max, static_cast<unsigned long long>(vip_count),
                 static_cast<unsigned long long>(aum_500k));
    for (int e = 0; e < kNumEvents; ++e)
      std::fprintf(s, "%s\"%s\":%llu", e ? "," : "", kEvents[e],
                   static_cast<unsigned long long>(per_event[e]));
    std::fprintf(s, "}}\n");
    std::fclose(s);
  }
  return 0;
}
