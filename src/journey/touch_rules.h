// Touch rules (触达频控与合规): the project-wide rules every touch passes before it is sent —
// frequency caps, quiet hours, blacklist, consent, suitability (适当性), priority across
// journeys — and the compliance lint of message templates. JSON: docs/touch-rules.md.
//
// The checks here are pure functions of the configuration, the customer's data and the touch
// history, so the runtime, dry runs and backtests decide the same way.
// Thread-safety: immutable after parsing; share as shared_ptr<const TouchRulesConfig>.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time_zone.h"
#include "common/value_codec.h"

namespace sextant::journey {

struct GlobalCap {
  std::string channel = "*";  // "*" = all channels together
  int count = 0;
  enum class Per { kDay, kWeek, kRolling } per = Per::kDay;  // kDay / kWeek: calendar, project zone
  int64_t rolling_ms = 0;
};

struct QuietHours {
  std::string channel = "*";
  int from_minute = 0;  // local time; the quiet span is [from, to), wrapping past midnight
  int to_minute = 0;
  bool defer = true;  // false: the touch is dropped (suppressed)
};

struct SuitabilityRules {
  std::string item_property = "risk_level";               // item property: "R1" … "R5"
  std::string customer_property = "risk_level";           // profile property: "C1" … "C5"
  std::string assessed_at_property = "risk_assessed_at";  // profile DATETIME / DATE
  int64_t max_assessment_age_ms = 365LL * 86'400'000;
  // Ordered levels: a customer at customer_levels[i] may receive items up to item_levels[i].
  std::vector<std::string> item_levels = {"R1", "R2", "R3", "R4", "R5"};
  std::vector<std::string> customer_levels = {"C1", "C2", "C3", "C4", "C5"};
};

struct TouchRulesConfig {
  std::vector<GlobalCap> caps;
  std::vector<QuietHours> quiet_hours;
  int64_t priority_window_ms = 0;  // 0 = no arbitration between journeys
  SuitabilityRules suitability;
  std::vector<std::string> forbidden_phrases = {"保本", "稳赚", "零风险", "保收益", "无风险"};
  std::vector<std::string> risk_disclosures = {"投资有风险", "保险有风险", "理财有风险"};
  std::map<std::string, std::set<std::string>> blacklist;  // channel or "*" → distinct ids
  bool consent_required = false;  // true: marketing needs an explicit grant (opt-in)
  std::string json;               // as stored
};

Result<TouchRulesConfig> ParseTouchRules(std::string_view json);

// One touch already decided as sent, from the customer's history.
struct TouchRecord {
  int64_t time_ms = 0;
  std::string channel;
  std::string journey_id;
  int priority = 0;
  bool transactional = false;
};

// The first global cap that `channel` would exceed at `now_ms`, as a reason detail ("sms: 2 per
// day"); nullopt when none is exceeded. Transactional touches in history do not count.
std::optional<std::string> ExceededGlobalCap(const TouchRulesConfig& config,
                                             const std::vector<TouchRecord>& history,
                                             const std::string& channel, int64_t now_ms,
                                             const TimeZone& zone);

// If `now_ms` is inside quiet hours for `channel`: the rule and the end of the quiet span.
struct QuietVerdict {
  bool quiet = false;
  bool defer = true;
  int64_t until_ms = 0;
};
QuietVerdict CheckQuietHours(const TouchRulesConfig& config, const std::string& channel,
                             int64_t now_ms, const TimeZone& zone);

// Whether a customer (`profile`) may receive a recommendation of `item`. `reason` says why not.
struct SuitabilityVerdict {
  bool allowed = true;
  std::string reason;
  std::string item_level, customer_level;
};
SuitabilityVerdict CheckSuitability(const SuitabilityRules& rules, const PropertyMap& item,
                                    const PropertyMap& profile, int64_t now_ms);

// Compliance lint of a template body: kInvalidQuery naming `field` when it contains a forbidden
// phrase, or recommends an item without one of the risk disclosures.
Status LintTemplate(const TouchRulesConfig& config, std::string_view text, bool recommends_item,
                    const std::string& field);

// The profile value named `name`, or nullptr.
const Value* FindProperty(const PropertyMap& properties, std::string_view name);

}  // namespace sextant::journey
