#include "query/query_spec.h"

#include <charconv>

#include "query/spec_json.h"

namespace sextant::query {
namespace spec_json {

Status Invalid(const std::string& path, const std::string& why) {
  return Status(ErrorCode::kInvalidQuery, path + ": " + why, path);
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The member `key` of `object`, if present.
std::optional<element> Member(const element& object, std::string_view key) {
  element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

Result<std::string> GetString(const element& object, std::string_view key,
                              const std::string& path, bool required) {
  auto value = Member(object, key);
  if (!value) {
    if (required) return Invalid(Join(path, key), "required");
    return std::string();
  }
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) {
    return Invalid(Join(path, key), "must be a string");
  }
  return std::string(text);
}

Result<int64_t> GetInteger(const element& object, std::string_view key, const std::string& path,
                           int64_t fallback, int64_t min, int64_t max) {
  auto value = Member(object, key);
  if (!value) return fallback;
  int64_t number;
  double real;
  if (value->get_int64().get(number) != simdjson::SUCCESS) {
    if (value->get_double().get(real) != simdjson::SUCCESS || real != static_cast<int64_t>(real)) {
      return Invalid(Join(path, key), "must be an integer");
    }
    number = static_cast<int64_t>(real);
  }
  if (number < min || number > max) {
    return Invalid(Join(path, key),
                   "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return number;
}

Result<Literal> ParseLiteral(const element& value, const std::string& path) {
  Literal literal;
  std::string_view text;
  if (value.is_bool()) {
    literal.kind = Literal::Kind::kBool;
    literal.boolean = value.get_bool().value_unsafe();
  } else if (value.is_number()) {
    literal.kind = Literal::Kind::kNumber;
    double number;
    if (value.get_double().get(number) != simdjson::SUCCESS) return Invalid(path, "bad number");
    literal.number = number;
  } else if (value.get_string().get(text) == simdjson::SUCCESS) {
    literal.kind = Literal::Kind::kString;
    literal.string = std::string(text);
  } else {
    return Invalid(path, "must be a string, number or boolean");
  }
  return literal;
}

Result<PropertyRef> ParsePropertyRef(std::string_view text, const std::string& path) {
  PropertyRef ref;
  if (text.starts_with("event.")) {
    ref.name = std::string(text.substr(6));
  } else if (text.starts_with("user.")) {
    ref.user = true;
    ref.name = std::string(text.substr(5));
  } else {
    return Invalid(path, "must be \"event.<property>\" or \"user.<property>\", got \"" +
                             std::string(text) + "\"");
  }
  if (ref.name.empty()) return Invalid(path, "property name is empty");
  return ref;
}

std::optional<CompareOp> ParseOp(std::string_view op) {
  static const std::pair<std::string_view, CompareOp> kOps[] = {
      {"=", CompareOp::kEq},         {"!=", CompareOp::kNe},       {">", CompareOp::kGt},
      {">=", CompareOp::kGe},        {"<", CompareOp::kLt},        {"<=", CompareOp::kLe},
      {"between", CompareOp::kBetween}, {"in", CompareOp::kIn},   {"not_in", CompareOp::kNotIn},
      {"contains", CompareOp::kContains}, {"starts_with", CompareOp::kStartsWith},
      {"is_set", CompareOp::kIsSet},
      {"not_set", CompareOp::kNotSet},
  };
  for (const auto& [name, value] : kOps) {
    if (name == op) return value;
  }
  return std::nullopt;
}

constexpr int kMaxFilterDepth = 16;

Result<FilterNode> ParseFilter(const element& value, const std::string& path, int depth,
                               bool bare_names_are_event) {
  if (depth > kMaxFilterDepth) return Invalid(path, "filter nested too deeply");
  if (!value.is_object()) return Invalid(path, "must be an object");
  FilterNode node;
  for (auto [key, kind] : {std::pair<std::string_view, FilterNode::Kind>{"all", FilterNode::Kind::kAll},
                           {"any", FilterNode::Kind::kAny}}) {
    auto list = Member(value, key);
    if (!list) continue;
    simdjson::dom::array array;
    if (list->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid(Join(path, key), "must be an array of filters");
    }
    node.kind = kind;
    size_t index = 0;
    for (element child : array) {
      auto parsed = ParseFilter(child, Join(path, key) + "[" + std::to_string(index++) + "]",
                                depth + 1, bare_names_are_event);
      if (!parsed.ok()) return parsed.status();
      node.children.push_back(std::move(*parsed));
    }
    return node;
  }
  if (auto negated = Member(value, "not")) {
    auto parsed = ParseFilter(*negated, Join(path, "not"), depth + 1, bare_names_are_event);
    if (!parsed.ok()) return parsed.status();
    node.kind = FilterNode::Kind::kNot;
    node.children.push_back(std::move(*parsed));
    return node;
  }
  node.kind = FilterNode::Kind::kCondition;
  auto property = GetString(value, "property", path, true);
  if (!property.ok()) return property.status();
  if (bare_names_are_event && property->find('.') == std::string::npos) {
    if (property->empty()) return Invalid(Join(path, "property"), "property name is empty");
    node.condition.property = PropertyRef{false, *property};
  } else {
    auto ref = ParsePropertyRef(*property, Join(path, "property"));
    if (!ref.ok()) return ref.status();
    node.condition.property = *ref;
  }
  SEXTANT_RETURN_IF_ERROR(ParseConditionBody(value, path, &node.condition));
  return node;
}

Status ParseConditionBody(const element& value, const std::string& path, Condition* condition) {
  auto op_text = GetString(value, "op", path, true);
  if (!op_text.ok()) return op_text.status();
  auto op = ParseOp(*op_text);
  if (!op) {
    return Invalid(Join(path, "op"), "unknown operator \"" + *op_text +
                                         "\" (=, !=, >, >=, <, <=, between, in, not_in, "
                                         "contains, is_set, not_set)");
  }
  condition->op = *op;
  const std::string value_path = Join(path, "value");
  auto literal_value = Member(value, "value");
  switch (*op) {
    case CompareOp::kIsSet:
    case CompareOp::kNotSet:
      break;
    case CompareOp::kBetween:
    case CompareOp::kIn:
    case CompareOp::kNotIn: {
      simdjson::dom::array array;
      if (!literal_value || literal_value->get_array().get(array) != simdjson::SUCCESS) {
        return Invalid(value_path, "must be an array");
      }
      size_t index = 0;
      for (element item : array) {
        auto literal = ParseLiteral(item, value_path + "[" + std::to_string(index++) + "]");
        if (!literal.ok()) return literal.status();
        condition->values.push_back(std::move(*literal));
      }
      if (*op == CompareOp::kBetween && condition->values.size() != 2) {
        return Invalid(value_path, "between takes [low, high]");
      }
      break;
    }
    default: {
      if (!literal_value) return Invalid(value_path, "required");
      auto literal = ParseLiteral(*literal_value, value_path);
      if (!literal.ok()) return literal.status();
      if ((*op == CompareOp::kContains || *op == CompareOp::kStartsWith) &&
          literal->kind != Literal::Kind::kString) {
        return Invalid(value_path, std::string(*op == CompareOp::kContains ? "contains" : "starts_with") +
                                       " takes a string");
      }
      condition->values.push_back(std::move(*literal));
    }
  }
  return Status::Ok();
}

Result<std::optional<FilterNode>> OptionalFilter(const element& object, const std::string& path) {
  auto value = Member(object, "filter");
  if (!value || value->is_null()) return std::optional<FilterNode>();
  auto parsed = ParseFilter(*value, Join(path, "filter"), 0);
  if (!parsed.ok()) return parsed.status();
  return std::optional<FilterNode>(std::move(*parsed));
}

// "where": a list of conditions (all must hold) or one filter object; bare property names are
// event properties.
Result<std::optional<FilterNode>> ParseWhere(const element& object,
                                                    const std::string& path) {
  auto value = Member(object, "where");
  if (!value || value->is_null()) return std::optional<FilterNode>();
  const std::string where = Join(path, "where");
  if (value->is_object()) {
    auto filter = ParseFilter(*value, where, 0, true);
    if (!filter.ok()) return filter.status();
    return std::optional<FilterNode>(std::move(*filter));
  }
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS) {
    return Invalid(where, "must be a list of conditions or a filter object");
  }
  FilterNode all;
  all.kind = FilterNode::Kind::kAll;
  size_t index = 0;
  for (element item : array) {
    auto filter =
        ParseFilter(item, where + "[" + std::to_string(index++) + "]", 1, true);
    if (!filter.ok()) return filter.status();
    all.children.push_back(std::move(*filter));
  }
  if (all.children.empty()) return std::optional<FilterNode>();
  return std::optional<FilterNode>(std::move(all));
}

}  // namespace spec_json

namespace {

using namespace spec_json;

Result<DayRange> ParseRange(const element& root, int32_t today) {
  DayRange range;
  if (auto last = Member(root, "last")) {
    std::string_view text;
    if (last->get_string().get(text) != simdjson::SUCCESS || text.size() < 2) {
      return Invalid("last", "must be like \"30d\" or \"4w\"");
    }
    int64_t count = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, count);
    const char unit = text.back();
    if (error != std::errc() || end != text.data() + text.size() - 1 || count < 1 ||
        count > 3660 || (unit != 'd' && unit != 'w')) {
      return Invalid("last", "must be like \"30d\" or \"4w\" (1 to 3660 days)");
    }
    const int64_t days = unit == 'w' ? count * 7 : count;
    range.last_day = today;
    range.first_day = static_cast<int32_t>(today - days + 1);
    return range;
  }
  for (auto [key, target] : {std::pair<std::string_view, int32_t*>{"from", &range.first_day},
                             {"to", &range.last_day}}) {
    auto value = Member(root, key);
    std::string_view text;
    if (!value) return Invalid(std::string(key), "required (or give \"last\")");
    if (value->get_string().get(text) != simdjson::SUCCESS) {
      return Invalid(std::string(key), "must be a date \"YYYY-MM-DD\"");
    }
    auto day = ParseDate(text);
    if (!day) return Invalid(std::string(key), "must be a date \"YYYY-MM-DD\", got \"" +
                                                   std::string(text) + "\"");
    *target = *day;
  }
  if (range.last_day < range.first_day) return Invalid("to", "is before from");
  if (range.last_day - range.first_day > 3660) return Invalid("to", "range longer than 10 years");
  return range;
}

Result<TimeUnit> ParseUnit(const element& root, std::string_view fallback, bool allow_hour_total) {
  auto text = GetString(root, "unit", "", false);
  if (!text.ok()) return text.status();
  std::string unit = text->empty() ? std::string(fallback) : *text;
  if (unit == "day") return TimeUnit::kDay;
  if (unit == "week") return TimeUnit::kWeek;
  if (unit == "month") return TimeUnit::kMonth;
  if (allow_hour_total && unit == "hour") return TimeUnit::kHour;
  if (allow_hour_total && unit == "total") return TimeUnit::kTotal;
  return Invalid("unit", std::string("must be ") +
                             (allow_hour_total ? "hour, day, week, month or total"
                                               : "day, week or month"));
}

Result<FunnelStep> ParseStep(const element& value, const std::string& path) {
  if (!value.is_object()) return Invalid(path, "must be an object {\"event\": ...}");
  FunnelStep step;
  auto event = GetString(value, "event", path, true);
  if (!event.ok()) return event.status();
  if (event->empty()) return Invalid(Join(path, "event"), "is empty");
  step.event = *event;
  auto filter = OptionalFilter(value, path);
  if (!filter.ok()) return filter.status();
  step.filter = std::move(*filter);
  return step;
}

Result<Aggregator> ParseAggregator(std::string_view text, const std::string& path) {
  static const std::pair<std::string_view, Aggregator> kAggregators[] = {
      {"count", Aggregator::kCount},  {"uniq_users", Aggregator::kUniqUsers},
      {"per_user_avg", Aggregator::kPerUserAvg}, {"sum", Aggregator::kSum},
      {"avg", Aggregator::kAvg},      {"min", Aggregator::kMin},
      {"max", Aggregator::kMax},      {"distinct", Aggregator::kDistinct},
  };
  for (const auto& [name, value] : kAggregators) {
    if (name == text) return value;
  }
  return Invalid(path, "unknown aggregator \"" + std::string(text) +
                           "\" (count, uniq_users, per_user_avg, sum, avg, min, max, distinct)");
}

Status ParseEvents(const element& root, QuerySpec* spec) {
  auto unit = ParseUnit(root, "day", true);
  if (!unit.ok()) return unit.status();
  spec->events.unit = *unit;
  auto limit = GetInteger(root, "limit", "", 1000, 1, 100000);
  if (!limit.ok()) return limit.status();
  spec->events.limit = static_cast<size_t>(*limit);
  auto measures = Member(root, "measures");
  simdjson::dom::array array;
  if (!measures || measures->get_array().get(array) != simdjson::SUCCESS || array.size() == 0) {
    return Invalid("measures", "must be a non-empty array");
  }
  if (array.size() > 64) return Invalid("measures", "at most 64 measures");
  size_t index = 0;
  for (element item : array) {
    const std::string path = "measures[" + std::to_string(index++) + "]";
    if (!item.is_object()) return Invalid(path, "must be an object");
    Measure measure;
    auto event = GetString(item, "event", path, true);
    if (!event.ok()) return event.status();
    measure.event = *event;
    auto aggregator_text = GetString(item, "aggregator", path, false);
    if (!aggregator_text.ok()) return aggregator_text.status();
    auto aggregator = ParseAggregator(aggregator_text->empty() ? "count" : *aggregator_text,
                                      Join(path, "aggregator"));
    if (!aggregator.ok()) return aggregator.status();
    measure.aggregator = *aggregator;
    auto property = GetString(item, "property", path, false);
    if (!property.ok()) return property.status();
    if (!property->empty()) {
      std::string text = *property;
      if (!text.starts_with("event.") && !text.starts_with("user.")) text = "event." + text;
      auto ref = ParsePropertyRef(text, Join(path, "property"));
      if (!ref.ok()) return ref.status();
      if (ref->user) return Invalid(Join(path, "property"), "must be an event property");
      measure.property = *ref;
    }
    const bool needs_property = measure.aggregator == Aggregator::kSum ||
                                measure.aggregator == Aggregator::kAvg ||
                                measure.aggregator == Aggregator::kMin ||
                                measure.aggregator == Aggregator::kMax ||
                                measure.aggregator == Aggregator::kDistinct;
    if (needs_property && !measure.property) {
      return Invalid(Join(path, "property"), "required by this aggregator");
    }
    auto filter = OptionalFilter(item, path);
    if (!filter.ok()) return filter.status();
    measure.filter = std::move(*filter);
    spec->events.measures.push_back(std::move(measure));
  }
  return Status::Ok();
}

Status ParseFunnel(const element& root, QuerySpec* spec) {
  auto window = GetInteger(root, "window_seconds", "", 86400, 1, 366LL * 86400);
  if (!window.ok()) return window.status();
  spec->funnel.window_ms = *window * 1000;
  auto mode = GetString(root, "mode", "", false);
  if (!mode.ok()) return mode.status();
  if (!mode->empty() && *mode != "default" && *mode != "strict") {
    return Invalid("mode", "must be default or strict");
  }
  spec->funnel.strict = *mode == "strict";
  if (auto trend = Member(root, "trend")) {
    if (trend->get_bool().get(spec->funnel.trend) != simdjson::SUCCESS) {
      return Invalid("trend", "must be true or false");
    }
    if (spec->funnel.trend && spec->funnel.strict) {
      return Invalid("trend", "is computed for the default mode only");
    }
  }
  auto steps = Member(root, "steps");
  simdjson::dom::array array;
  if (!steps || steps->get_array().get(array) != simdjson::SUCCESS) {
    return Invalid("steps", "must be an array");
  }
  if (array.size() < 2 || array.size() > 32) return Invalid("steps", "must have 2 to 32 steps");
  size_t index = 0;
  for (element item : array) {
    auto step = ParseStep(item, "steps[" + std::to_string(index++) + "]");
    if (!step.ok()) return step.status();
    spec->funnel.steps.push_back(std::move(*step));
  }
  return Status::Ok();
}

Status ParseRetention(const element& root, QuerySpec* spec) {
  auto unit = ParseUnit(root, "day", false);
  if (!unit.ok()) return unit.status();
  spec->retention.unit = *unit;
  auto periods = GetInteger(root, "periods", "", 7, 1, 365);
  if (!periods.ok()) return periods.status();
  spec->retention.periods = static_cast<int>(*periods);
  for (auto [key, target] : {std::pair<std::string_view, FunnelStep*>{"initial", &spec->retention.initial},
                             {"return", &spec->retention.return_event}}) {
    auto value = Member(root, key);
    if (!value) return Invalid(std::string(key), "required");
    auto step = ParseStep(*value, std::string(key));
    if (!step.ok()) return step.status();
    *target = std::move(*step);
  }
  auto first_time = Member(root, "first_time");
  if (first_time) {
    bool flag;
    if (first_time->get_bool().get(flag) != simdjson::SUCCESS) {
      return Invalid("first_time", "must be true or false");
    }
    spec->retention.first_time = flag;
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> ParseBounds(const element& root, std::string_view key,
                                         std::vector<int64_t> fallback, int64_t min_first) {
  auto value = Member(root, key);
  if (!value) return fallback;
  simdjson::dom::array array;
  const std::string path(key);
  if (value->get_array().get(array) != simdjson::SUCCESS || array.size() == 0 ||
      array.size() > 1000) {
    return Invalid(path, "must be an array of 1 to 1000 ascending integers");
  }
  std::vector<int64_t> bounds;
  for (element item : array) {
    int64_t bound;
    if (item.get_int64().get(bound) != simdjson::SUCCESS) {
      return Invalid(path, "must be an array of 1 to 1000 ascending integers");
    }
    if (!bounds.empty() && bound <= bounds.back()) return Invalid(path, "must ascend");
    bounds.push_back(bound);
  }
  if (bounds[0] < min_first) {
    return Invalid(path, "must start at " + std::to_string(min_first) + " or more");
  }
  return bounds;
}

Status ParseDistribution(const element& root, QuerySpec* spec) {
  auto value = Member(root, "event");
  if (!value) return Invalid("event", "required");
  // "event" is a name, or a step object {"event", "filter"}.
  std::string_view name;
  if (value->get_string().get(name) == simdjson::SUCCESS) {
    if (name.empty()) return Invalid("event", "is empty");
    spec->distribution.event.event = std::string(name);
  } else {
    auto step = ParseStep(*value, "event");
    if (!step.ok()) return step.status();
    spec->distribution.event = std::move(*step);
  }
  auto measure = GetString(root, "measure", "", false);
  if (!measure.ok()) return measure.status();
  if (!measure->empty() && *measure != "times" && *measure != "days") {
    return Invalid("measure", "must be times or days");
  }
  spec->distribution.distinct_days = *measure == "days";
  auto bounds = ParseBounds(root, "buckets", spec->distribution.bounds, 1);
  if (!bounds.ok()) return bounds.status();
  if ((*bounds)[0] != 1) return Invalid("buckets", "must start at 1 (everyone counted is in a bucket)");
  spec->distribution.bounds = std::move(*bounds);
  return Status::Ok();
}

Status ParseInterval(const element& root, QuerySpec* spec) {
  for (auto [key, target] : {std::pair<std::string_view, FunnelStep*>{"from_event", &spec->interval.from_event},
                             {"to_event", &spec->interval.to_event}}) {
    auto value = Member(root, key);
    if (!value) return Invalid(std::string(key), "required");
    auto step = ParseStep(*value, std::string(key));
    if (!step.ok()) return step.status();
    *target = std::move(*step);
  }
  auto window = GetInteger(root, "window_seconds", "", 30 * 86400, 1, 366LL * 86400);
  if (!window.ok()) return window.status();
  spec->interval.window_ms = *window * 1000;
  auto bounds = ParseBounds(root, "buckets_seconds", spec->interval.bounds_seconds, 0);
  if (!bounds.ok()) return bounds.status();
  if ((*bounds)[0] != 0) return Invalid("buckets_seconds", "must start at 0");
  spec->interval.bounds_seconds = std::move(*bounds);
  return Status::Ok();
}

Status ParsePaths(const element& root, QuerySpec* spec) {
  PathsQuery& paths = spec->paths;
  if (auto anchor = Member(root, "anchor")) {
    auto step = ParseStep(*anchor, "anchor");
    if (!step.ok()) return step.status();
    paths.anchor = std::move(*step);
  }
  auto direction = GetString(root, "direction", "", false);
  if (!direction.ok()) return direction.status();
  if (!direction->empty() && *direction != "after" && *direction != "before") {
    return Invalid("direction", "must be after or before");
  }
  paths.before = *direction == "before";
  if (paths.before && !paths.anchor) return Invalid("anchor", "required with direction before");
  auto depth = GetInteger(root, "depth", "", 5, 2, 10);
  if (!depth.ok()) return depth.status();
  paths.depth = static_cast<int>(*depth);
  auto gap = GetInteger(root, "session_gap_seconds", "", 1800, 1, 86400);
  if (!gap.ok()) return gap.status();
  paths.session_gap_ms = *gap * 1000;
  auto top = GetInteger(root, "top", "", 20, 1, 1000);
  if (!top.ok()) return top.status();
  paths.top = static_cast<size_t>(*top);
  if (auto events = Member(root, "events")) {
    simdjson::dom::array array;
    if (events->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid("events", "must be an array of event names");
    }
    for (element item : array) {
      std::string_view name;
      if (item.get_string().get(name) != simdjson::SUCCESS) {
        return Invalid("events", "must be an array of event names");
      }
      paths.events.emplace_back(name);
    }
  }
  return Status::Ok();
}

Status ParseAttribution(const element& root, QuerySpec* spec) {
  AttributionQuery& query = spec->attribution;
  auto conversion = Member(root, "conversion");
  if (!conversion) return Invalid("conversion", "required");
  auto step = ParseStep(*conversion, "conversion");
  if (!step.ok()) return step.status();
  query.conversion = std::move(*step);
  auto touches = Member(root, "touches");
  simdjson::dom::array array;
  if (!touches || touches->get_array().get(array) != simdjson::SUCCESS || array.size() == 0 ||
      array.size() > 32) {
    return Invalid("touches", "must be an array of 1 to 32 steps");
  }
  size_t index = 0;
  for (element item : array) {
    auto touch = ParseStep(item, "touches[" + std::to_string(index++) + "]");
    if (!touch.ok()) return touch.status();
    query.touches.push_back(std::move(*touch));
  }
  for (auto [key, target] : {std::pair<std::string_view, std::string*>{"touch_property", &query.touch_property},
                             {"value_property", &query.value_property}}) {
    auto text = GetString(root, key, "", false);
    if (!text.ok()) return text.status();
    *target = *text;
    if (target->starts_with("event.")) target->erase(0, 6);
  }
  auto window = GetInteger(root, "window_seconds", "", 7 * 86400, 1, 366LL * 86400);
  if (!window.ok()) return window.status();
  query.window_ms = *window * 1000;
  auto half_life = GetInteger(root, "half_life_seconds", "", 7 * 86400, 1, 366LL * 86400);
  if (!half_life.ok()) return half_life.status();
  query.half_life_ms = *half_life * 1000;
  auto model = GetString(root, "model", "", false);
  if (!model.ok()) return model.status();
  static const std::pair<std::string_view, AttributionModel> kModels[] = {
      {"first", AttributionModel::kFirst},       {"last", AttributionModel::kLast},
      {"linear", AttributionModel::kLinear},     {"position", AttributionModel::kPosition},
      {"time_decay", AttributionModel::kTimeDecay},
  };
  if (!model->empty()) {
    bool found = false;
    for (const auto& [name, value] : kModels) {
      if (name == *model) {
        query.model = value;
        found = true;
      }
    }
    if (!found) return Invalid("model", "must be first, last, linear, position or time_decay");
  }
  return Status::Ok();
}

Status ParseStages(const element& root, QuerySpec* spec) {
  auto stages = Member(root, "stages");
  simdjson::dom::array array;
  if (!stages || stages->get_array().get(array) != simdjson::SUCCESS || array.size() < 2 ||
      array.size() > 32) {
    return Invalid("stages", "must be an array of 2 to 32 stages");
  }
  size_t index = 0;
  for (element item : array) {
    const std::string path = "stages[" + std::to_string(index++) + "]";
    if (!item.is_object()) return Invalid(path, "must be an object");
    StagesQuery::Stage stage;
    auto name = GetString(item, "name", path, true);
    if (!name.ok()) return name.status();
    stage.name = *name;
    auto events = Member(item, "events");
    simdjson::dom::array list;
    if (!events || events->get_array().get(list) != simdjson::SUCCESS || list.size() == 0) {
      return Invalid(path + ".events", "must be a non-empty array of steps");
    }
    size_t event_index = 0;
    for (element event : list) {
      auto step = ParseStep(event, path + ".events[" + std::to_string(event_index++) + "]");
      if (!step.ok()) return step.status();
      stage.events.push_back(std::move(*step));
    }
    spec->stages.stages.push_back(std::move(stage));
  }
  return Status::Ok();
}

// The cells of the answers that count people along paths, touches and stages (docs/query.md
// "Users behind a number"): each type takes exactly one kind of cell.
Status ParseJourneyDrillCell(const element& cell, QueryType type, UserDrill* drill) {
  auto string_of = [](const element& value, std::string* out) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS || text.empty()) return false;
    *out = std::string(text);
    return true;
  };
  if (type == QueryType::kInterval) {
    drill->has_bucket = Member(cell, "bucket").has_value();
    return Status::Ok();
  }
  if (type == QueryType::kPaths) {
    int kinds = 0;
    if (auto path = Member(cell, "path")) {
      ++kinds;
      simdjson::dom::array array;
      if (path->get_array().get(array) != simdjson::SUCCESS || array.size() == 0) {
        return Invalid("users.cell.path", "must be a path's events, as in the answer's paths");
      }
      for (element item : array) {
        if (!string_of(item, &drill->path_events.emplace_back())) {
          return Invalid("users.cell.path", "must be a path's events, as in the answer's paths");
        }
      }
    }
    if (auto node = Member(cell, "node")) {
      ++kinds;
      if (!string_of(*node, &drill->node) || drill->node.find(':') == std::string::npos) {
        return Invalid("users.cell.node", "must be a node id of the answer (\"<step>:<event>\")");
      }
    }
    if (auto link = Member(cell, "link")) {
      ++kinds;
      simdjson::dom::array array;
      if (link->get_array().get(array) != simdjson::SUCCESS || array.size() != 2 ||
          !string_of(array.at(0).value_unsafe(), &drill->link_source) ||
          !string_of(array.at(1).value_unsafe(), &drill->link_target)) {
        return Invalid("users.cell.link", "must be [source, target] node ids of one of the answer's links");
      }
    }
    if (kinds != 1) return Invalid("users.cell", "a paths cell names one of path, node or link");
    return Status::Ok();
  }
  if (type == QueryType::kAttribution) {
    auto touch = Member(cell, "touch");
    auto conversions = Member(cell, "conversions");
    if (touch.has_value() == conversions.has_value()) {
      return Invalid("users.cell", "an attribution cell names a touch or the conversions");
    }
    if (touch) {
      auto event = touch->is_object() ? Member(*touch, "event") : std::nullopt;
      if (!event || !string_of(*event, &drill->touch_event)) {
        return Invalid("users.cell.touch.event", "required: the touch row's event");
      }
      drill->has_touch = true;
      if (auto touch_value = Member(*touch, "value")) {
        drill->touch_value = std::string(simdjson::minify(*touch_value));
      }
      return Status::Ok();
    }
    if (!string_of(*conversions, &drill->conversions) ||
        (drill->conversions != "all" && drill->conversions != "attributed" &&
         drill->conversions != "unattributed")) {
      return Invalid("users.cell.conversions", "must be all, attributed or unattributed");
    }
    return Status::Ok();
  }
  if (type == QueryType::kStages) {
    auto stage = Member(cell, "stage");
    auto transition = Member(cell, "transition");
    if (stage.has_value() == transition.has_value()) {
      return Invalid("users.cell", "a stages cell names a stage or a transition");
    }
    if (stage) {
      if (!string_of(*stage, &drill->stage)) return Invalid("users.cell.stage", "must be a stage name");
      auto at = GetString(cell, "at", "users.cell", true);
      if (!at.ok()) return at.status();
      if (*at != "start" && *at != "end" && *at != "entered") {
        return Invalid("users.cell.at", "must be start, end or entered");
      }
      drill->stage_at = *at;
      return Status::Ok();
    }
    auto from = transition->is_object() ? Member(*transition, "from") : std::nullopt;
    auto to = transition->is_object() ? Member(*transition, "to") : std::nullopt;
    if (!to || !string_of(*to, &drill->transition_to)) {
      return Invalid("users.cell.transition.to", "required: a stage name");
    }
    if (from && !from->is_null()) {
      if (!string_of(*from, &drill->transition_from.emplace())) {
        return Invalid("users.cell.transition.from", "must be a stage name or null");
      }
    }
    drill->has_transition = true;
  }
  return Status::Ok();
}

Status ParseUserDrill(const element& root, QuerySpec* spec) {
  auto value = Member(root, "users");
  if (!value) return Status::Ok();
  if (!value->is_object()) return Invalid("users", "must be an object");
  UserDrill& drill = spec->users;
  drill.enabled = true;
  auto cell = Member(*value, "cell");
  if (!cell || !cell->is_object()) return Invalid("users.cell", "required (an object)");
  SEXTANT_RETURN_IF_ERROR(ParseJourneyDrillCell(*cell, spec->type, &drill));
  auto integer = [&](std::string_view key, size_t* out, int64_t max) -> Status {
    auto number = GetInteger(*cell, key, "users.cell", 0, 0, max);
    if (!number.ok()) return number.status();
    *out = static_cast<size_t>(*number);
    return Status::Ok();
  };
  auto time = GetString(*cell, "time", "users.cell", spec->type == QueryType::kEvents);
  if (!time.ok()) return time.status();
  drill.time = *time;
  SEXTANT_RETURN_IF_ERROR(integer("measure", &drill.measure, 63));
  SEXTANT_RETURN_IF_ERROR(integer("step", &drill.step, 31));
  SEXTANT_RETURN_IF_ERROR(integer("period", &drill.period, 365));
  SEXTANT_RETURN_IF_ERROR(integer("bucket", &drill.bucket, 999));
  auto cohort = GetString(*cell, "cohort", "users.cell", spec->type == QueryType::kRetention);
  if (!cohort.ok()) return cohort.status();
  drill.cohort = *cohort;
  if (auto lost = Member(*cell, "lost")) {
    if (lost->get_bool().get(drill.lost) != simdjson::SUCCESS) {
      return Invalid("users.cell.lost", "must be true or false");
    }
  }
  if (auto group = Member(*cell, "group")) {
    simdjson::dom::array array;
    if (group->get_array().get(array) != simdjson::SUCCESS || array.size() != spec->by.size()) {
      return Invalid("users.cell.group", "must be an array with one value per `by` property");
    }
    drill.has_group = true;
    for (element item : array) drill.group.push_back(simdjson::minify(item));
  } else if (!spec->by.empty() && spec->type == QueryType::kEvents) {
    return Invalid("users.cell.group", "required when the query has `by`");
  }
  auto offset = GetInteger(*value, "offset", "users", 0, 0, INT64_MAX / 2);
  if (!offset.ok()) return offset.status();
  drill.offset = static_cast<size_t>(*offset);
  auto limit = GetInteger(*value, "limit", "users", 100, 1, 1'000'000);
  if (!limit.ok()) return limit.status();
  drill.limit = static_cast<size_t>(*limit);
  auto format = GetString(*value, "format", "users", false);
  if (!format.ok()) return format.status();
  if (!format->empty() && *format != "json" && *format != "csv") {
    return Invalid("users.format", "must be json or csv");
  }
  drill.csv = *format == "csv";
  if (auto columns = Member(*value, "columns")) {
    simdjson::dom::array array;
    if (columns->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid("users.columns", "must be an array of profile property names");
    }
    for (element item : array) {
      std::string_view name;
      if (item.get_string().get(name) != simdjson::SUCCESS || name.empty()) {
        return Invalid("users.columns", "must be an array of profile property names");
      }
      if (name.starts_with("user.")) name.remove_prefix(5);
      drill.columns.emplace_back(name);
    }
  }
  return Status::Ok();
}

}  // namespace

std::optional<int32_t> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int year = 0, month = 0, day = 0;
  auto digits = [&](size_t begin, size_t count, int* out) {
    auto [end, error] = std::from_chars(text.data() + begin, text.data() + begin + count, *out);
    return error == std::errc() && end == text.data() + begin + count;
  };
  if (!digits(0, 4, &year) || !digits(5, 2, &month) || !digits(8, 2, &day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1970 || year > 9999) {
    return std::nullopt;
  }
  const int32_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int check_year;
  unsigned check_month, check_day;
  CivilFromDays(days, &check_year, &check_month, &check_day);
  if (check_day != static_cast<unsigned>(day)) return std::nullopt;  // e.g. 2026-02-30
  return days;
}

Result<QuerySpec> ParseQuery(std::string_view json, int32_t today) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kBadJson, "query body is not valid JSON");
  }
  if (!root.is_object()) return Invalid("$", "query must be a JSON object");
  QuerySpec spec;
  auto type = GetString(root, "type", "", true);
  if (!type.ok()) return type.status();
  if (*type == "events") {
    spec.type = QueryType::kEvents;
  } else if (*type == "funnel") {
    spec.type = QueryType::kFunnel;
  } else if (*type == "retention") {
    spec.type = QueryType::kRetention;
  } else if (*type == "distribution") {
    spec.type = QueryType::kDistribution;
  } else if (*type == "interval") {
    spec.type = QueryType::kInterval;
  } else if (*type == "paths") {
    spec.type = QueryType::kPaths;
  } else if (*type == "attribution") {
    spec.type = QueryType::kAttribution;
  } else if (*type == "stages") {
    spec.type = QueryType::kStages;
  } else {
    return Invalid("type", "unknown query type \"" + *type +
                               "\" (events, funnel, retention, distribution, interval, paths, attribution, stages)");
  }
  auto range = ParseRange(root, today);
  if (!range.ok()) return range.status();
  spec.range = *range;
  auto filter = OptionalFilter(root, "");
  if (!filter.ok()) return filter.status();
  spec.filter = std::move(*filter);
  if (auto by = Member(root, "by")) {
    simdjson::dom::array array;
    if (by->get_array().get(array) != simdjson::SUCCESS) {
      return Invalid("by", "must be an array of \"event.<p>\" / \"user.<p>\"");
    }
    if (array.size() > 3) return Invalid("by", "at most three properties");
    size_t index = 0;
    for (element item : array) {
      const std::string path = "by[" + std::to_string(index++) + "]";
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS) return Invalid(path, "must be a string");
      auto ref = ParsePropertyRef(text, path);
      if (!ref.ok()) return ref.status();
      spec.by.push_back(*ref);
    }
  }
  Status status;
  switch (spec.type) {
    case QueryType::kEvents: status = ParseEvents(root, &spec); break;
    case QueryType::kFunnel: status = ParseFunnel(root, &spec); break;
    case QueryType::kRetention: status = ParseRetention(root, &spec); break;
    case QueryType::kDistribution: status = ParseDistribution(root, &spec); break;
    case QueryType::kInterval: status = ParseInterval(root, &spec); break;
    case QueryType::kPaths: status = ParsePaths(root, &spec); break;
    case QueryType::kAttribution: status = ParseAttribution(root, &spec); break;
    case QueryType::kStages: status = ParseStages(root, &spec); break;
  }
  if (!status.ok()) return status;
  SEXTANT_RETURN_IF_ERROR(ParseUserDrill(root, &spec));
  return spec;
}

}  // namespace sextant::query
