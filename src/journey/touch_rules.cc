#include "common/clock.h"
#include "journey/touch_rules.h"

#include <simdjson.h>

#include <algorithm>

#include "audience/definitions.h"
#include "query/spec_json.h"

namespace sextant::journey {
namespace {

using query::spec_json::element;
using query::spec_json::GetInteger;
using query::spec_json::GetString;
using query::spec_json::Invalid;
using query::spec_json::Join;
using query::spec_json::Member;


Result<int> ParseMinute(const element& object, std::string_view key, const std::string& path) {
  auto text = GetString(object, key, path, true);
  if (!text.ok()) return text.status();
  const std::string& t = *text;
  if (t.size() != 5 || t[2] != ':' || !std::isdigit(static_cast<unsigned char>(t[0])) ||
      !std::isdigit(static_cast<unsigned char>(t[1])) ||
      !std::isdigit(static_cast<unsigned char>(t[3])) ||
      !std::isdigit(static_cast<unsigned char>(t[4])) || (t[0] - '0') * 10 + (t[1] - '0') > 23 ||
      (t[3] - '0') * 10 + (t[4] - '0') > 59) {
    return Invalid(Join(path, key), "must be a local time \"HH:MM\"");
  }
  return ((t[0] - '0') * 10 + (t[1] - '0')) * 60 + (t[3] - '0') * 10 + (t[4] - '0');
}

Result<std::vector<std::string>> ParseStringList(const element& object, std::string_view key,
                                                 const std::string& path) {
  std::vector<std::string> list;
  auto value = Member(object, key);
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS)
    return Invalid(Join(path, key), "must be a list of strings");
  for (element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS)
      return Invalid(Join(path, key), "must be a list of strings");
    list.emplace_back(text);
  }
  return list;
}

// Monday-based week number of a day number (1970-01-01 was a Thursday).
int32_t WeekOf(int32_t day) { return (day + 3) >= 0 ? (day + 3) / 7 : -((-(day + 3) + 6) / 7); }

int LevelIndex(const std::vector<std::string>& levels, const Value* value) {
  if (value == nullptr || value->type() != ValueType::kString) return -1;
  auto found = std::find(levels.begin(), levels.end(), value->str());
  return found == levels.end() ? -1 : static_cast<int>(found - levels.begin());
}

}  // namespace

const Value* FindProperty(const PropertyMap& properties, std::string_view name) {
  for (const auto& [key, value] : properties) {
    if (key == name) return &value;
  }
  return nullptr;
}

Result<TouchRulesConfig> ParseTouchRules(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "touch rules are not a JSON object");
  }
  TouchRulesConfig config;
  config.json = simdjson::minify(root);
  if (auto caps = Member(root, "caps")) {
    simdjson::dom::array array;
    if (caps->get_array().get(array) != simdjson::SUCCESS) return Invalid("caps", "must be a list");
    size_t index = 0;
    for (element item : array) {
      const std::string path = "caps[" + std::to_string(index++) + "]";
      if (!item.is_object()) return Invalid(path, "must be {\"channel\"?, \"count\", \"per\"}");
      GlobalCap cap;
      auto channel = GetString(item, "channel", path, false);
      if (!channel.ok()) return channel.status();
      if (!channel->empty()) cap.channel = std::move(*channel);
      auto count = GetInteger(item, "count", path, -1, 0, 1'000'000);
      if (!count.ok()) return count.status();
      if (*count < 0) return Invalid(Join(path, "count"), "required");
      cap.count = static_cast<int>(*count);
      auto per = GetString(item, "per", path, true);
      if (!per.ok()) return per.status();
      if (*per == "day")
        cap.per = GlobalCap::Per::kDay;
      else if (*per == "week")
        cap.per = GlobalCap::Per::kWeek;
      else if (auto ms = audience::ParseDuration(*per)) {
        cap.per = GlobalCap::Per::kRolling;
        cap.rolling_ms = *ms;
      } else {
        return Invalid(Join(path, "per"),
                       "must be day, week (calendar) or a duration like \"24h\"");
      }
      config.caps.push_back(std::move(cap));
    }
  }
  if (auto quiet = Member(root, "quiet_hours")) {
    simdjson::dom::array array;
    if (quiet->get_array().get(array) != simdjson::SUCCESS)
      return Invalid("quiet_hours", "must be a list");
    size_t index = 0;
    for (element item : array) {
      const std::string path = "quiet_hours[" + std::to_string(index++) + "]";
      if (!item.is_object())
        return Invalid(path, "must be {\"channel\"?, \"from\", \"to\", \"action\"?}");
      QuietHours hours;
      auto channel = GetString(item, "channel", path, false);
      if (!channel.ok()) return channel.status();
      if (!channel->empty()) hours.channel = std::move(*channel);
      auto from = ParseMinute(item, "from", path);
      if (!from.ok()) return from.status();
      auto to = ParseMinute(item, "to", path);
      if (!to.ok()) return to.status();
      if (*from == *to) return Invalid(Join(path, "to"), "equals from (an empty span)");
      hours.from_minute = *from;
      hours.to_minute = *to;
      auto action = GetString(item, "action", path, false);
      if (!action.ok()) return action.status();
      if (!action->empty() && *action != "defer" && *action != "drop") {
        return Invalid(Join(path, "action"), "must be defer or drop");
      }
      hours.defer = *action != "drop";
      config.quiet_hours.push_back(std::move(hours));
    }
  }
  if (auto window = Member(root, "priority_window")) {
    std::string_view text;
    std::optional<int64_t> ms;
    if (window->get_string().get(text) == simdjson::SUCCESS) ms = audience::ParseDuration(text);
    if (!ms) return Invalid("priority_window", "must be a duration like \"1h\"");
    config.priority_window_ms = *ms;
  }
  if (auto suitability = Member(root, "suitability")) {
    if (!suitability->is_object()) return Invalid("suitability", "must be an object");
    SuitabilityRules& rules = config.suitability;
    for (auto [key, target] :
         {std::pair<std::string_view, std::string*>{"item_property", &rules.item_property},
          {"customer_property", &rules.customer_property},
          {"assessed_at_property", &rules.assessed_at_property}}) {
      auto text = GetString(*suitability, key, "suitability", false);
      if (!text.ok()) return text.status();
      if (!text->empty()) *target = std::move(*text);
    }
    if (auto age = Member(*suitability, "max_assessment_age")) {
      std::string_view text;
      std::optional<int64_t> ms;
      if (age->get_string().get(text) == simdjson::SUCCESS) ms = audience::ParseDuration(text);
      if (!ms) return Invalid("suitability.max_assessment_age", "must be a duration like \"365d\"");
      rules.max_assessment_age_ms = *ms;
    }
    for (auto [key, target] :
         {std::pair<std::string_view, std::vector<std::string>*>{"item_levels", &rules.item_levels},
          {"customer_levels", &rules.customer_levels}}) {
      if (!Member(*suitability, key)) continue;
      auto list = ParseStringList(*suitability, key, "suitability");
      if (!list.ok()) return list.status();
      if (list->empty()) return Invalid(Join("suitability", key), "must not be empty");
      *target = std::move(*list);
    }
    if (rules.item_levels.size() != rules.customer_levels.size()) {
      return Invalid("suitability.customer_levels", "must have as many levels as item_levels");
    }
  }
  for (auto [key, target] : {std::pair<std::string_view, std::vector<std::string>*>{
                                 "forbidden_phrases", &config.forbidden_phrases},
                             {"risk_disclosures", &config.risk_disclosures}}) {
    if (!Member(root, key)) continue;
    auto list = ParseStringList(root, key, "");
    if (!list.ok()) return list.status();
    *target = std::move(*list);
  }
  if (auto blacklist = Member(root, "blacklist")) {
    simdjson::dom::object object;
    if (blacklist->get_object().get(object) != simdjson::SUCCESS) {
      return Invalid("blacklist", "must be {\"<channel> or *\": [distinct ids]}");
    }
    for (auto field : object) {
      simdjson::dom::array array;
      const std::string path = Join("blacklist", field.key);
      if (field.value.get_array().get(array) != simdjson::SUCCESS)
        return Invalid(path, "must be a list of distinct ids");
      auto& ids = config.blacklist[std::string(field.key)];
      for (element id : array) {
        std::string_view text;
        if (id.get_string().get(text) != simdjson::SUCCESS)
          return Invalid(path, "must be a list of distinct ids");
        ids.emplace(text);
      }
    }
  }
  if (auto consent = Member(root, "consent_required")) {
    bool required = false;
    if (consent->get_bool().get(required) != simdjson::SUCCESS)
      return Invalid("consent_required", "must be true or false");
    config.consent_required = required;
  }
  return config;
}

std::optional<std::string> ExceededGlobalCap(const TouchRulesConfig& config,
                                             const std::vector<TouchRecord>& history,
                                             const std::string& channel, int64_t now_ms,
                                             const TimeZone& zone) {
  const int32_t today = zone.DayOf(now_ms);
  for (const GlobalCap& cap : config.caps) {
    if (cap.channel != "*" && cap.channel != channel) continue;
    int used = 0;
    for (const TouchRecord& touch : history) {
      if (touch.transactional) continue;
      if (cap.channel != "*" && touch.channel != cap.channel) continue;
      bool counts = false;
      switch (cap.per) {
        case GlobalCap::Per::kDay:
          counts = zone.DayOf(touch.time_ms) == today;
          break;
        case GlobalCap::Per::kWeek:
          counts = WeekOf(zone.DayOf(touch.time_ms)) == WeekOf(today);
          break;
        case GlobalCap::Per::kRolling:
          counts = touch.time_ms > now_ms - cap.rolling_ms;
          break;
      }
      used += counts && touch.time_ms <= now_ms;
    }
    if (used >= cap.count) {
      std::string per = cap.per == GlobalCap::Per::kDay ? "day"
                        : cap.per == GlobalCap::Per::kWeek
                            ? "week"
                            : std::to_string(cap.rolling_ms / 1000) + "s";
      return cap.channel + ": " + std::to_string(cap.count) + " per " + per;
    }
  }
  return std::nullopt;
}

QuietVerdict CheckQuietHours(const TouchRulesConfig& config, const std::string& channel,
                             int64_t now_ms, const TimeZone& zone) {
  QuietVerdict verdict;
  const int32_t day = zone.DayOf(now_ms);
  const int64_t midnight = zone.DayStartMs(day);
  const int minute = static_cast<int>((now_ms - midnight) / 60'000);
  for (const QuietHours& hours : config.quiet_hours) {
    if (hours.channel != "*" && hours.channel != channel) continue;
    bool wraps = hours.from_minute > hours.to_minute;
    bool inside = wraps ? (minute >= hours.from_minute || minute < hours.to_minute)
                        : (minute >= hours.from_minute && minute < hours.to_minute);
    if (!inside) continue;
    // The end of this span: today's `to` if still ahead, else tomorrow's.
    int64_t until = midnight + int64_t{hours.to_minute} * 60'000;
    if (until <= now_ms) until += kDayMs;
    if (!verdict.quiet || until > verdict.until_ms) {
      verdict.until_ms = until;
    }
    verdict.quiet = true;
    verdict.defer = verdict.defer && hours.defer;
  }
  return verdict;
}

SuitabilityVerdict CheckSuitability(const SuitabilityRules& rules, const PropertyMap& item,
                                    const PropertyMap& profile, int64_t now_ms) {
  SuitabilityVerdict verdict;
  const Value* item_level = FindProperty(item, rules.item_property);
  const Value* customer_level = FindProperty(profile, rules.customer_property);
  if (item_level != nullptr && item_level->type() == ValueType::kString)
    verdict.item_level = item_level->str();
  if (customer_level != nullptr && customer_level->type() == ValueType::kString) {
    verdict.customer_level = customer_level->str();
  }
  const int item_index = LevelIndex(rules.item_levels, item_level);
  const int customer_index = LevelIndex(rules.customer_levels, customer_level);
  verdict.allowed = false;
  if (item_index < 0) {
    verdict.reason = "item has no known " + rules.item_property;
  } else if (customer_index < 0) {
    verdict.reason = "customer has no known " + rules.customer_property + " (no risk assessment)";
  } else if (item_index > customer_index) {
    verdict.reason =
        "item " + verdict.item_level + " is above the customer's " + verdict.customer_level;
  } else {
    const Value* assessed = FindProperty(profile, rules.assessed_at_property);
    int64_t assessed_ms = INT64_MIN;
    if (assessed != nullptr && assessed->type() == ValueType::kDatetime)
      assessed_ms = assessed->datetime_ms();
    if (assessed != nullptr && assessed->type() == ValueType::kDate)
      assessed_ms = int64_t{assessed->date_days()} * kDayMs;
    if (assessed != nullptr && assessed->type() == ValueType::kNumber)
      assessed_ms = static_cast<int64_t>(assessed->number());
    if (assessed_ms == INT64_MIN) {
      verdict.reason = "customer has no " + rules.assessed_at_property;
    } else if (now_ms - assessed_ms > rules.max_assessment_age_ms) {
      verdict.reason = "risk assessment expired";
    } else {
      verdict.allowed = true;
    }
  }
  return verdict;
}

Status LintTemplate(const TouchRulesConfig& config, std::string_view text, bool recommends_item,
                    const std::string& field) {
  for (const std::string& phrase : config.forbidden_phrases) {
    if (!phrase.empty() && text.find(phrase) != std::string_view::npos) {
      return Status(ErrorCode::kInvalidQuery,
                    field + ": contains the forbidden phrase \"" + phrase + "\"", field);
    }
  }
  if (recommends_item) {
    bool disclosed = false;
    for (const std::string& disclosure : config.risk_disclosures) {
      disclosed = disclosed || text.find(disclosure) != std::string_view::npos;
    }
    if (!disclosed) {
      return Status(
          ErrorCode::kInvalidQuery,
          field + ": recommends a product without a risk disclosure (one of: " +
              [&] {
                std::string list;
                for (const auto& d : config.risk_disclosures)
                  list += (list.empty() ? "" : ", ") + d;
                return list;
              }() +
              ")",
          field);
    }
  }
  return Status::Ok();
}

}  // namespace sextant::journey
