#include "audience/definitions.h"

#include <charconv>

#include "query/spec_json.h"

namespace sextant::audience {
namespace {

using query::spec_json::element;
using query::spec_json::GetString;
using query::spec_json::Invalid;
using query::spec_json::Join;
using query::spec_json::Member;

constexpr int kMaxRuleDepth = 16;
constexpr size_t kMaxNameBytes = 200;

std::string Minify(const element& value) { return simdjson::minify(value); }

Result<element> ParseDocument(simdjson::dom::parser& parser, std::string_view json) {
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kBadJson, "body is not valid JSON");
  }
  if (!root.is_object()) return Invalid("", "must be a JSON object");
  return root;
}

Result<Window> ParseWindow(const element& object, const std::string& path) {
  Window window;
  auto value = Member(object, "within");
  if (!value || value->is_null()) return window;
  const std::string within = Join(path, "within");
  if (!value->is_object())
    return Invalid(within, "must be {\"last\": \"30d\"} or {\"from\", \"to\"}");
  if (auto last = Member(*value, "last")) {
    std::string_view text;
    if (last->get_string().get(text) != simdjson::SUCCESS || text.size() < 2) {
      return Invalid(Join(within, "last"), "must be like \"30d\", \"4w\", \"12h\" or \"90m\"");
    }
    const char unit = text.back();
    if (unit == 'd' || unit == 'w') {
      int64_t count = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, count);
      if (error != std::errc() || end != text.data() + text.size() - 1 || count < 1 ||
          count * (unit == 'w' ? 7 : 1) > 3660) {
        return Invalid(Join(within, "last"), "must be 1 to 3660 days, like \"30d\" or \"4w\"");
      }
      window.kind = Window::Kind::kLastDays;
      window.days = static_cast<int32_t>(unit == 'w' ? count * 7 : count);
      return window;
    }
    auto ms = ParseDuration(text);
    if (!ms)
      return Invalid(Join(within, "last"), "must be like \"30d\", \"4w\", \"12h\" or \"90m\"");
    window.kind = Window::Kind::kLastMs;
    window.ms = *ms;
    return window;
  }
  window.kind = Window::Kind::kDays;
  for (auto [key, target] : {std::pair<std::string_view, int32_t*>{"from", &window.first_day},
                             {"to", &window.last_day}}) {
    auto text = GetString(*value, key, within, true);
    if (!text.ok()) return text.status();
    auto day = query::ParseDate(*text);
    if (!day)
      return Invalid(Join(within, key), "must be a date \"YYYY-MM-DD\", got \"" + *text + "\"");
    *target = *day;
  }
  if (window.last_day < window.first_day) return Invalid(Join(within, "to"), "is before from");
  return window;
}

Result<EventStep> ParseStep(const element& object, std::string_view event_key,
                            const std::string& path) {
  EventStep step;
  auto event = GetString(object, event_key, path, true);
  if (!event.ok()) return event.status();
  if (event->empty()) return Invalid(Join(path, event_key), "event name is empty");
  step.event = std::move(*event);
  auto where = query::spec_json::ParseWhere(object, path);
  if (!where.ok()) return where.status();
  step.where = std::move(*where);
  return step;
}

// A comparison object {"op": ..., "value": ...} at `path`.
Result<query::Condition> ParseComparison(const element& value, const std::string& path) {
  if (!value.is_object()) return Invalid(path, "must be {\"op\": ..., \"value\": ...}");
  query::Condition condition;
  SEXTANT_RETURN_IF_ERROR(query::spec_json::ParseConditionBody(value, path, &condition));
  if (condition.op == query::CompareOp::kContains || condition.op == query::CompareOp::kStartsWith) {
    return Invalid(Join(path, "op"), "contains and starts_with do not apply to a count or sum");
  }
  for (const query::Literal& literal : condition.values) {
    if (literal.kind != query::Literal::Kind::kNumber) {
      return Invalid(Join(path, "value"), "must be a number");
    }
  }
  return condition;
}

Result<RuleNode> ParseRule(const element& value, const std::string& path, int depth) {
  if (depth > kMaxRuleDepth) return Invalid(path, "rule nested too deeply");
  if (!value.is_object()) return Invalid(path, "must be an object");
  RuleNode node;
  node.path = path;
  for (auto [key, kind] : {std::pair<std::string_view, RuleNode::Kind>{"all", RuleNode::Kind::kAll},
                           {"any", RuleNode::Kind::kAny}}) {
    auto list = Member(value, key);
    if (!list) continue;
    simdjson::dom::array array;
    if (list->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid(Join(path, key), "must be an array of rules");
    }
    node.kind = kind;
    size_t index = 0;
    for (element child : array) {
      auto parsed =
          ParseRule(child, Join(path, key) + "[" + std::to_string(index++) + "]", depth + 1);
      if (!parsed.ok()) return parsed.status();
      node.children.push_back(std::move(*parsed));
    }
    if (node.children.empty()) return Invalid(Join(path, key), "must not be empty");
    return node;
  }
  if (auto negated = Member(value, "not")) {
    auto parsed = ParseRule(*negated, Join(path, "not"), depth + 1);
    if (!parsed.ok()) return parsed.status();
    node.kind = RuleNode::Kind::kNot;
    node.children.push_back(std::move(*parsed));
    return node;
  }
  for (auto [key, kind] :
       {std::pair<std::string_view, RuleNode::Kind>{"profile", RuleNode::Kind::kProfile},
        {"tag", RuleNode::Kind::kTag}}) {
    if (!Member(value, key)) continue;
    auto name = GetString(value, key, path, true);
    if (!name.ok()) return name.status();
    if (name->empty()) return Invalid(Join(path, key), "name is empty");
    node.kind = kind;
    node.name = std::move(*name);
    node.condition.property = query::PropertyRef{true, node.name};
    SEXTANT_RETURN_IF_ERROR(query::spec_json::ParseConditionBody(value, path, &node.condition));
    return node;
  }
  if (auto segment = Member(value, "segment")) {
    node.kind = RuleNode::Kind::kSegment;
    std::string_view text;
    int64_t number;
    if (segment->get_string().get(text) == simdjson::SUCCESS && !text.empty()) {
      node.name = std::string(text);
    } else if (segment->get_int64().get(number) == simdjson::SUCCESS) {
      node.name = std::to_string(number);
    } else {
      return Invalid(Join(path, "segment"), "must be a segment id");
    }
    return node;
  }
  const bool did = Member(value, "did").has_value();
  const bool did_not = Member(value, "did_not").has_value();
  if (did || did_not) {
    if (did && did_not) return Invalid(path, "give either did or did_not");
    node.kind = RuleNode::Kind::kDid;
    auto step = ParseStep(value, did ? "did" : "did_not", path);
    if (!step.ok()) return step.status();
    node.step = std::move(*step);
    auto count = Member(value, "count");
    auto sum = Member(value, "sum");
    if (count && sum) return Invalid(path, "give either count or sum");
    if (sum) {
      node.measure = RuleNode::Measure::kSum;
      auto property = GetString(*sum, "property", Join(path, "sum"), true);
      if (!property.ok()) return property.status();
      node.sum_property = std::move(*property);
      auto comparison = ParseComparison(*sum, Join(path, "sum"));
      if (!comparison.ok()) return comparison.status();
      node.threshold = std::move(*comparison);
    } else if (count) {
      auto comparison = ParseComparison(*count, Join(path, "count"));
      if (!comparison.ok()) return comparison.status();
      node.threshold = std::move(*comparison);
    } else {
      node.threshold.op = query::CompareOp::kGe;
      node.threshold.values = {query::Literal{query::Literal::Kind::kNumber, 1, "", false}};
    }
    node.threshold.property = query::PropertyRef{false, "$measure"};
    auto within = ParseWindow(value, path);
    if (!within.ok()) return within.status();
    node.within = *within;
    if (did) return node;
    RuleNode negation;
    negation.kind = RuleNode::Kind::kNot;
    negation.path = path;
    negation.children.push_back(std::move(node));
    return negation;
  }
  if (auto sequence = Member(value, "sequence")) {
    node.kind = RuleNode::Kind::kSequence;
    simdjson::dom::array array;
    const std::string steps_path = Join(path, "sequence");
    if (sequence->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid(steps_path, "must be a list of {\"event\": ...} steps");
    }
    size_t index = 0;
    for (element item : array) {
      const std::string item_path = steps_path + "[" + std::to_string(index++) + "]";
      if (!item.is_object()) return Invalid(item_path, "must be {\"event\": ..., \"where\": ...}");
      auto step = ParseStep(item, "event", item_path);
      if (!step.ok()) return step.status();
      node.steps.push_back(std::move(*step));
    }
    if (node.steps.size() < 2 || node.steps.size() > 16) {
      return Invalid(steps_path, "must have 2 to 16 steps");
    }
    if (auto window = Member(value, "window")) {
      std::string_view text;
      std::optional<int64_t> ms;
      if (window->get_string().get(text) == simdjson::SUCCESS) ms = ParseDuration(text);
      if (!ms)
        return Invalid(Join(path, "window"), "must be a duration like \"1d\", \"2h\" or \"30m\"");
      node.step_window_ms = *ms;
    }
    auto within = ParseWindow(value, path);
    if (!within.ok()) return within.status();
    node.within = *within;
    return node;
  }
  return Invalid(path,
                 "must be one of all, any, not, profile, tag, did, did_not, sequence, segment");
}

Result<Schedule> ParseSchedule(const element& root, std::string_view key) {
  Schedule schedule;
  auto value = Member(root, key);
  if (!value || value->is_null()) return schedule;
  const std::string path(key);
  std::string_view text;
  if (value->get_string().get(text) == simdjson::SUCCESS) {
    if (text == "manual") return schedule;
    return Invalid(path, "must be \"manual\", {\"every_minutes\": N} or {\"daily_at\": \"HH:MM\"}");
  }
  if (!value->is_object()) {
    return Invalid(path, "must be \"manual\", {\"every_minutes\": N} or {\"daily_at\": \"HH:MM\"}");
  }
  if (Member(*value, "every_minutes")) {
    auto minutes = query::spec_json::GetInteger(*value, "every_minutes", path, 60, 1, 7 * 24 * 60);
    if (!minutes.ok()) return minutes.status();
    schedule.kind = Schedule::Kind::kEveryMinutes;
    schedule.minutes = static_cast<int>(*minutes);
    return schedule;
  }
  auto daily = GetString(*value, "daily_at", path, true);
  if (!daily.ok()) return daily.status();
  int hour = -1, minute = -1;
  if (daily->size() == 5 && (*daily)[2] == ':') {
    std::from_chars(daily->data(), daily->data() + 2, hour);
    std::from_chars(daily->data() + 3, daily->data() + 5, minute);
  }
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return Invalid(Join(path, "daily_at"), "must be a time \"HH:MM\"");
  }
  schedule.kind = Schedule::Kind::kDailyAt;
  schedule.minute_of_day = hour * 60 + minute;
  return schedule;
}

Result<std::string> GetName(const element& root, std::string_view key, bool required) {
  auto name = GetString(root, key, "", required);
  if (!name.ok()) return name.status();
  if (required && name->empty()) return Invalid(std::string(key), "must not be empty");
  if (name->size() > kMaxNameBytes) {
    return Invalid(std::string(key), "longer than " + std::to_string(kMaxNameBytes) + " bytes");
  }
  return name;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  int64_t count = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, count);
  if (error != std::errc() || end != text.data() + text.size() - 1 || count < 1)
    return std::nullopt;
  int64_t unit_ms = 0;
  switch (text.back()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60'000;
      break;
    case 'h':
      unit_ms = 3'600'000;
      break;
    case 'd':
      unit_ms = 86'400'000;
      break;
    case 'w':
      unit_ms = 7 * 86'400'000LL;
      break;
    default:
      return std::nullopt;
  }
  if (count > 3660LL * 86'400'000 / unit_ms) return std::nullopt;
  return count * unit_ms;
}

Interval Resolve(const Window& window, int64_t now_ms, const TimeZone& zone) {
  switch (window.kind) {
    case Window::Kind::kAll:
      return Interval{};
    case Window::Kind::kLastDays: {
      const int32_t today = zone.DayOf(now_ms);
      return Interval{zone.DayStartMs(today - window.days + 1), zone.DayStartMs(today + 1)};
    }
    case Window::Kind::kLastMs:
      return Interval{now_ms - window.ms + 1, now_ms + 1};
    case Window::Kind::kDays:
      return Interval{zone.DayStartMs(window.first_day), zone.DayStartMs(window.last_day + 1)};
  }
  return Interval{};
}

int64_t Schedule::NextAfter(int64_t after_ms, const TimeZone& zone) const {
  switch (kind) {
    case Kind::kManual:
      return INT64_MAX;
    case Kind::kEveryMinutes: {
      const int64_t period = int64_t{minutes} * 60'000;
      return (after_ms / period + 1) * period;
    }
    case Kind::kDailyAt: {
      const int32_t day = zone.DayOf(after_ms);
      const int64_t today = zone.DayStartMs(day) + int64_t{minute_of_day} * 60'000;
      return today > after_ms ? today : zone.DayStartMs(day + 1) + int64_t{minute_of_day} * 60'000;
    }
  }
  return INT64_MAX;
}

void Schedule::Write(JsonWriter& out) const {
  switch (kind) {
    case Kind::kManual:
      out.String("manual");
      break;
    case Kind::kEveryMinutes:
      out.BeginObject().Key("every_minutes").Int(minutes).EndObject();
      break;
    case Kind::kDailyAt: {
      char text[16];
      std::snprintf(text, sizeof(text), "%02d:%02d", minute_of_day / 60, minute_of_day % 60);
      out.BeginObject().Key("daily_at").String(text).EndObject();
      break;
    }
  }
}

std::string_view TagKindName(TagKind kind) {
  switch (kind) {
    case TagKind::kRule:
      return "rule";
    case TagKind::kStatistic:
      return "statistic";
    case TagKind::kFirstLast:
      return "first_last";
    case TagKind::kPreference:
      return "preference";
    case TagKind::kImported:
      return "imported";
    case TagKind::kLookalike:
      return "lookalike";
  }
  return "";
}

std::string_view TagStatusName(TagStatus status) {
  switch (status) {
    case TagStatus::kDraft:
      return "draft";
    case TagStatus::kApproved:
      return "approved";
    case TagStatus::kOffline:
      return "offline";
  }
  return "";
}

Result<RuleNode> ParseRuleJson(std::string_view json, const std::string& path) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kBadJson, "rule is not valid JSON");
  }
  return ParseRule(root, path, 0);
}

Result<SegmentDefinition> ParseSegmentDefinition(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseDocument(parser, json);
  if (!root.ok()) return root.status();
  SegmentDefinition definition;
  auto name = GetName(*root, "name", true);
  if (!name.ok()) return name.status();
  definition.name = std::move(*name);
  auto description = GetString(*root, "description", "", false);
  if (!description.ok()) return description.status();
  definition.description = std::move(*description);
  if (auto rule = Member(*root, "rule"); rule && !rule->is_null()) {
    auto parsed = ParseRule(*rule, "rule", 0);
    if (!parsed.ok()) return parsed.status();
    definition.rule = std::move(*parsed);
    definition.rule_json = Minify(*rule);
    definition.kind = SegmentDefinition::Kind::kRule;
  } else {
    definition.kind = SegmentDefinition::Kind::kStatic;
  }
  auto refresh = ParseSchedule(*root, "refresh");
  if (!refresh.ok()) return refresh.status();
  definition.refresh = *refresh;
  definition.refresh_given = Member(*root, "refresh").has_value();
  if (auto realtime = Member(*root, "realtime")) {
    bool flag;
    if (realtime->get_bool().get(flag) != simdjson::SUCCESS)
      return Invalid("realtime", "must be true or false");
    definition.realtime = flag;
  }
  return definition;
}

Result<TagDefinition> ParseTagDefinition(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = ParseDocument(parser, json);
  if (!root.ok()) return root.status();
  TagDefinition tag;
  tag.definition_json = Minify(*root);
  auto name = GetName(*root, "name", true);
  if (!name.ok()) return name.status();
  if (!IsIdentifier(*name)) {
    return Invalid("name",
                   "must be an identifier: letters, digits and '_', not starting with a digit");
  }
  tag.name = std::move(*name);
  for (auto [key, target] :
       {std::pair<std::string_view, std::string*>{"display_name", &tag.display_name},
        {"category", &tag.category},
        {"description", &tag.description},
        {"owner", &tag.owner}}) {
    auto text = GetName(*root, key, false);
    if (!text.ok()) return text.status();
    *target = std::move(*text);
  }
  if (tag.display_name.empty()) tag.display_name = tag.name;
  auto status = GetString(*root, "status", "", false);
  if (!status.ok()) return status.status();
  if (status->empty() || *status == "draft") {
    tag.status = TagStatus::kDraft;
  } else if (*status == "approved") {
    tag.status = TagStatus::kApproved;
  } else if (*status == "offline") {
    tag.status = TagStatus::kOffline;
  } else {
    return Invalid("status", "must be draft, approved or offline");
  }
  auto schedule = ParseSchedule(*root, "schedule");
  if (!schedule.ok()) return schedule.status();
  tag.schedule = *schedule;

  auto kind = GetString(*root, "kind", "", true);
  if (!kind.ok()) return kind.status();
  static const std::pair<std::string_view, TagKind> kKinds[] = {
      {"rule", TagKind::kRule},
      {"statistic", TagKind::kStatistic},
      {"first_last", TagKind::kFirstLast},
      {"preference", TagKind::kPreference},
      {"imported", TagKind::kImported},
      {"lookalike", TagKind::kLookalike}};
  bool known = false;
  for (auto [text, value] : kKinds) {
    if (text == *kind) {
      tag.kind = value;
      known = true;
    }
  }
  if (!known) {
    return Invalid("kind",
                   "must be rule, statistic, first_last, preference, imported or lookalike");
  }

  switch (tag.kind) {
    case TagKind::kRule: {
      auto values = Member(*root, "values");
      simdjson::dom::array array;
      if (!values || values->get_array().get(array) != simdjson::SUCCESS) {
        return Invalid("values", "required: a list of {\"value\": ..., \"rule\": ...}");
      }
      size_t index = 0;
      bool numeric = true;
      for (element item : array) {
        const std::string path = "values[" + std::to_string(index++) + "]";
        if (!item.is_object()) return Invalid(path, "must be {\"value\": ..., \"rule\": ...}");
        auto value = Member(item, "value");
        if (!value) return Invalid(Join(path, "value"), "required");
        auto literal = query::spec_json::ParseLiteral(*value, Join(path, "value"));
        if (!literal.ok()) return literal.status();
        if (literal->kind == query::Literal::Kind::kBool) {
          return Invalid(Join(path, "value"), "must be a string or a number");
        }
        numeric = numeric && literal->kind == query::Literal::Kind::kNumber;
        auto rule = Member(item, "rule");
        if (!rule) return Invalid(Join(path, "rule"), "required");
        auto parsed = ParseRule(*rule, Join(path, "rule"), 0);
        if (!parsed.ok()) return parsed.status();
        tag.values.push_back({std::move(*literal), std::move(*parsed)});
      }
      if (tag.values.empty()) return Invalid("values", "must not be empty");
      if (auto fallback = Member(*root, "default"); fallback && !fallback->is_null()) {
        auto literal = query::spec_json::ParseLiteral(*fallback, "default");
        if (!literal.ok()) return literal.status();
        if (literal->kind == query::Literal::Kind::kBool) {
          return Invalid("default", "must be a string or a number");
        }
        numeric = numeric && literal->kind == query::Literal::Kind::kNumber;
        tag.default_value = std::move(*literal);
      }
      tag.value_type = numeric ? ValueType::kNumber : ValueType::kString;
      break;
    }
    case TagKind::kStatistic:
    case TagKind::kFirstLast:
    case TagKind::kPreference: {
      auto step = ParseStep(*root, "event", "");
      if (!step.ok()) return step.status();
      tag.step = std::move(*step);
      auto within = ParseWindow(*root, "");
      if (!within.ok()) return within.status();
      tag.within = *within;
      auto property = GetString(*root, "property", "", tag.kind == TagKind::kPreference);
      if (!property.ok()) return property.status();
      tag.property = std::move(*property);
      if (tag.kind == TagKind::kStatistic) {
        auto aggregate = GetString(*root, "aggregate", "", false);
        if (!aggregate.ok()) return aggregate.status();
        static const std::pair<std::string_view, StatisticAggregate> kAggregates[] = {
            {"count", StatisticAggregate::kCount}, {"sum", StatisticAggregate::kSum},
            {"avg", StatisticAggregate::kAvg},     {"min", StatisticAggregate::kMin},
            {"max", StatisticAggregate::kMax},     {"distinct", StatisticAggregate::kDistinct}};
        bool found = aggregate->empty();
        for (auto [text, value] : kAggregates) {
          if (text == *aggregate) {
            tag.aggregate = value;
            found = true;
          }
        }
        if (!found) return Invalid("aggregate", "must be count, sum, avg, min, max or distinct");
        if (tag.aggregate != StatisticAggregate::kCount && tag.property.empty()) {
          return Invalid("property", "required by " + *aggregate);
        }
        tag.value_type = ValueType::kNumber;
      } else if (tag.kind == TagKind::kFirstLast) {
        auto which = GetString(*root, "which", "", true);
        if (!which.ok()) return which.status();
        if (*which != "first" && *which != "last") return Invalid("which", "must be first or last");
        tag.first = *which == "first";
        // The value type of a property is only known from the schema: fixed when compiled.
        tag.value_type = ValueType::kDatetime;
      } else {
        tag.value_type = ValueType::kString;
      }
      break;
    }
    case TagKind::kImported: {
      auto type = GetString(*root, "value_type", "", false);
      if (!type.ok()) return type.status();
      if (type->empty() || *type == "STRING" || *type == "string") {
        tag.value_type = ValueType::kString;
      } else if (*type == "NUMBER" || *type == "number") {
        tag.value_type = ValueType::kNumber;
      } else {
        return Invalid("value_type", "must be STRING or NUMBER");
      }
      break;
    }
    case TagKind::kLookalike: {
      auto seed = Member(*root, "seed");
      std::string_view text;
      int64_t number;
      if (seed && seed->get_string().get(text) == simdjson::SUCCESS && !text.empty()) {
        tag.seed_segment = std::string(text);
      } else if (seed && seed->get_int64().get(number) == simdjson::SUCCESS) {
        tag.seed_segment = std::to_string(number);
      } else {
        return Invalid("seed", "required: the id of the seed segment");
      }
      if (auto model = Member(*root, "model")) tag.lookalike_json = Minify(*model);
      tag.value_type = ValueType::kNumber;
      break;
    }
  }
  return tag;
}

}  // namespace sextant::audience
