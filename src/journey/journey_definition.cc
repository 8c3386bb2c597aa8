#include "journey/journey_definition.h"

#include <simdjson.h>

#include <algorithm>
#include <map>

#include "audience/definitions.h"
#include "common/time_zone.h"
#include "query/spec_json.h"

namespace sextant::journey {
namespace {

using query::spec_json::element;
using query::spec_json::GetInteger;
using query::spec_json::GetString;
using query::spec_json::Invalid;
using query::spec_json::Join;
using query::spec_json::Member;

constexpr size_t kMaxNodes = 500;
constexpr int kMaxConditionDepth = 16;

Result<int64_t> GetDuration(const element& object, std::string_view key, const std::string& path,
                            bool required) {
  auto value = Member(object, key);
  if (!value) {
    if (required) return Invalid(Join(path, key), "required");
    return int64_t{0};
  }
  std::string_view text;
  std::optional<int64_t> ms;
  if (value->get_string().get(text) == simdjson::SUCCESS) ms = audience::ParseDuration(text);
  if (!ms)
    return Invalid(Join(path, key), "must be a duration like \"45s\", \"30m\", \"12h\" or \"7d\"");
  return *ms;
}

// "HH:MM" → minute of the day.
Result<int> GetTimeOfDay(const element& object, std::string_view key, const std::string& path,
                         bool required, int fallback) {
  auto value = Member(object, key);
  if (!value) {
    if (required) return Invalid(Join(path, key), "required");
    return fallback;
  }
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS || text.size() != 5 || text[2] != ':' ||
      !std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1])) ||
      !std::isdigit(static_cast<unsigned char>(text[3])) ||
      !std::isdigit(static_cast<unsigned char>(text[4]))) {
    return Invalid(Join(path, key), "must be a local time \"HH:MM\"");
  }
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return Invalid(Join(path, key), "must be a local time \"HH:MM\"");
  return hours * 60 + minutes;
}

Result<bool> GetBool(const element& object, std::string_view key, const std::string& path,
                     bool fallback) {
  auto value = Member(object, key);
  if (!value) return fallback;
  bool result = false;
  if (value->get_bool().get(result) != simdjson::SUCCESS)
    return Invalid(Join(path, key), "must be true or false");
  return result;
}

}  // namespace

PrecompiledFilter PrecompileFilter(const query::FilterNode& node) {
  PrecompiledFilter out;
  if (node.kind == query::FilterNode::Kind::kCondition) {
    auto compile = [&](ValueType type) -> std::optional<query::CompiledCondition> {
      auto compiled = query::CompileLiterals(node.condition, type, TimeZone(), "");
      if (!compiled.ok()) return std::nullopt;
      return std::move(compiled.value());
    };
    out.number = compile(ValueType::kNumber);
    out.boolean = compile(ValueType::kBool);
    out.string = compile(ValueType::kString);
    out.list = compile(ValueType::kList);
    return out;
  }
  out.children.reserve(node.children.size());
  for (const query::FilterNode& child : node.children) out.children.push_back(PrecompileFilter(child));
  return out;
}

namespace {

Result<EventMatcher> ParseMatcher(const element& object, std::string_view event_key,
                                  std::string_view where_key, const std::string& path,
                                  bool required) {
  EventMatcher matcher;
  auto event = GetString(object, event_key, path, required);
  if (!event.ok()) return event.status();
  if (required && event->empty()) return Invalid(Join(path, event_key), "event name is empty");
  matcher.event = std::move(*event);
  if (where_key == "where") {
    auto where = query::spec_json::ParseWhere(object, path);
    if (!where.ok()) return where.status();
    matcher.where = std::move(*where);
  } else if (auto value = Member(object, where_key)) {
    // A second condition list in the same object ("not_followed_where").
    std::string wrapped = "{\"where\":" + simdjson::minify(*value) + "}";
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(wrapped).get(root) != simdjson::SUCCESS)
      return Invalid(Join(path, where_key), "is not JSON");
    auto where = query::spec_json::ParseWhere(root, Join(path, where_key));
    if (!where.ok()) {
      Status status = where.status();
      return Status(status.code(), Join(path, where_key) + ": " + status.message(),
                    Join(path, where_key));
    }
    matcher.where = std::move(*where);
  }
  if (matcher.where)
    matcher.compiled_where = std::make_shared<const PrecompiledFilter>(PrecompileFilter(*matcher.where));
  return matcher;
}

Result<SplitCondition> ParseCondition(const element& value, const std::string& path, int depth) {
  if (depth > kMaxConditionDepth) return Invalid(path, "condition nested too deeply");
  if (!value.is_object()) return Invalid(path, "must be a condition object");
  SplitCondition condition;
  for (auto [key, kind] :
       {std::pair<std::string_view, SplitCondition::Kind>{"all", SplitCondition::Kind::kAll},
        {"any", SplitCondition::Kind::kAny}}) {
    auto list = Member(value, key);
    if (!list) continue;
    simdjson::dom::array array;
    if (list->get_array().get(array) != simdjson::SUCCESS)
      return Invalid(Join(path, key), "must be an array of conditions");
    condition.kind = kind;
    size_t index = 0;
    for (element child : array) {
      auto parsed =
          ParseCondition(child, Join(path, key) + "[" + std::to_string(index++) + "]", depth + 1);
      if (!parsed.ok()) return parsed.status();
      condition.children.push_back(std::move(*parsed));
    }
    return condition;
  }
  if (auto negated = Member(value, "not")) {
    auto parsed = ParseCondition(*negated, Join(path, "not"), depth + 1);
    if (!parsed.ok()) return parsed.status();
    condition.kind = SplitCondition::Kind::kNot;
    condition.children.push_back(std::move(*parsed));
    return condition;
  }
  // {"event": {"property", "op", "value"}}: a condition on the entry event's properties.
  if (auto event = Member(value, "event"); event && event->is_object()) {
    const std::string event_path = Join(path, "event");
    auto property = GetString(*event, "property", event_path, true);
    if (!property.ok()) return property.status();
    if (property->empty()) return Invalid(Join(event_path, "property"), "required");
    condition.kind = SplitCondition::Kind::kEvent;
    condition.name = std::move(*property);
    SEXTANT_RETURN_IF_ERROR(
        query::spec_json::ParseConditionBody(*event, event_path, &condition.condition));
    condition.condition.property.user = false;
    condition.condition.property.name = condition.name;
    return condition;
  }
  for (auto [key, kind] : {std::pair<std::string_view, SplitCondition::Kind>{
                               "profile", SplitCondition::Kind::kProfile},
                           {"tag", SplitCondition::Kind::kTag},
                           {"segment", SplitCondition::Kind::kSegment},
                           {"event", SplitCondition::Kind::kEvent}}) {
    auto name = Member(value, key);
    if (!name) continue;
    std::string_view text;
    if (name->get_string().get(text) != simdjson::SUCCESS || text.empty()) {
      return Invalid(Join(path, key), "must be a non-empty name");
    }
    condition.kind = kind;
    condition.name = std::string(text);
    if (kind != SplitCondition::Kind::kSegment) {
      SEXTANT_RETURN_IF_ERROR(
          query::spec_json::ParseConditionBody(value, path, &condition.condition));
      condition.condition.property.user = kind == SplitCondition::Kind::kProfile;
      condition.condition.property.name = condition.name;
    }
    return condition;
  }
  if (Member(value, "did") || Member(value, "sequence")) {
    return Invalid(path,
                   "behaviour conditions are not evaluated per customer in a split: define a "
                   "realtime segment with the condition and use {\"segment\": <id>}");
  }
  return Invalid(path, "must have one of all, any, not, profile, tag, segment, event");
}

Result<EntrySpec> ParseEntry(const element& value, const std::string& path) {
  if (!value.is_object()) return Invalid(path, "must be an object");
  EntrySpec entry;
  auto type = GetString(value, "type", path, true);
  if (!type.ok()) return type.status();
  static const std::map<std::string, EntrySpec::Kind, std::less<>> kKinds = {
      {"event", EntrySpec::Kind::kEvent},
      {"segment_enter", EntrySpec::Kind::kSegmentEnter},
      {"segment_exit", EntrySpec::Kind::kSegmentExit},
      {"breakpoint", EntrySpec::Kind::kBreakpoint},
      {"schedule", EntrySpec::Kind::kSchedule},
      {"once", EntrySpec::Kind::kOnce},
      {"key_date", EntrySpec::Kind::kKeyDate},
      {"api", EntrySpec::Kind::kApi}};
  auto kind = kKinds.find(*type);
  if (kind == kKinds.end()) {
    return Invalid(Join(path, "type"), "unknown entry type \"" + *type +
                                           "\" (event, segment_enter, segment_exit, breakpoint, "
                                           "schedule, once, key_date, api)");
  }
  entry.kind = kind->second;
  switch (entry.kind) {
    case EntrySpec::Kind::kEvent: {
      auto matcher = ParseMatcher(value, "event", "where", path, true);
      if (!matcher.ok()) return matcher.status();
      entry.event = std::move(*matcher);
      break;
    }
    case EntrySpec::Kind::kSegmentEnter:
    case EntrySpec::Kind::kSegmentExit:
    case EntrySpec::Kind::kOnce:
    case EntrySpec::Kind::kSchedule: {
      auto segment = GetString(value, "segment", path, true);
      if (!segment.ok()) return segment.status();
      if (segment->empty()) return Invalid(Join(path, "segment"), "required");
      entry.segment = std::move(*segment);
      if (entry.kind == EntrySpec::Kind::kOnce) {
        auto at = GetInteger(value, "at", path, -1, 0, INT64_MAX / 4);
        if (!at.ok()) return at.status();
        if (*at < 0) return Invalid(Join(path, "at"), "required (an instant in ms)");
        entry.at_ms = *at;
      }
      if (entry.kind == EntrySpec::Kind::kSchedule) {
        auto every = GetString(value, "every", path, true);
        if (!every.ok()) return every.status();
        if (*every == "daily")
          entry.every = EntrySpec::Every::kDaily;
        else if (*every == "weekly")
          entry.every = EntrySpec::Every::kWeekly;
        else if (*every == "monthly")
          entry.every = EntrySpec::Every::kMonthly;
        else
          return Invalid(Join(path, "every"), "must be daily, weekly or monthly");
        auto at = GetTimeOfDay(value, "at", path, true, 0);
        if (!at.ok()) return at.status();
        entry.minute_of_day = *at;
        auto weekday = GetInteger(value, "weekday", path, 1, 1, 7);
        if (!weekday.ok()) return weekday.status();
        entry.weekday = static_cast<int>(*weekday);
        auto day = GetInteger(value, "day", path, 1, 1, 31);
        if (!day.ok()) return day.status();
        entry.day_of_month = static_cast<int>(*day);
      }
      break;
    }
    case EntrySpec::Kind::kBreakpoint: {
      auto matcher = ParseMatcher(value, "event", "where", path, true);
      if (!matcher.ok()) return matcher.status();
      entry.event = std::move(*matcher);
      auto count = GetInteger(value, "count", path, 1, 1, 1000);
      if (!count.ok()) return count.status();
      entry.count = static_cast<int>(*count);
      auto within = GetDuration(value, "within", path, entry.count > 1);
      if (!within.ok()) return within.status();
      entry.count_within_ms = *within;
      auto followed = ParseMatcher(value, "not_followed_by", "not_followed_where", path, true);
      if (!followed.ok()) return followed.status();
      entry.not_followed_by = std::move(*followed);
      auto wait = GetDuration(value, "wait", path, true);
      if (!wait.ok()) return wait.status();
      entry.wait_ms = *wait;
      break;
    }
    case EntrySpec::Kind::kKeyDate: {
      auto property = GetString(value, "property", path, true);
      if (!property.ok()) return property.status();
      if (property->empty()) return Invalid(Join(path, "property"), "required");
      entry.property = std::move(*property);
      auto offset = GetInteger(value, "offset_days", path, 0, -366, 366);
      if (!offset.ok()) return offset.status();
      entry.offset_days = static_cast<int>(*offset);
      auto at = GetTimeOfDay(value, "at", path, false, 9 * 60);
      if (!at.ok()) return at.status();
      entry.minute_of_day = *at;
      auto annual = GetBool(value, "annual", path, false);
      if (!annual.ok()) return annual.status();
      entry.annual = *annual;
      break;
    }
    case EntrySpec::Kind::kApi:
      break;
  }
  return entry;
}

// Reads the ids in `object[key]` as a node reference; checked against the node map later.
struct PendingReference {
  int* target;
  std::string id;
  std::string path;
};

Status ParseNode(const element& value, const std::string& path, JourneyNode* node,
                 std::vector<PendingReference>* references) {
  if (!value.is_object()) return Invalid(path, "must be an object");
  auto type = GetString(value, "type", path, true);
  if (!type.ok()) return type.status();
  auto reference = [&](std::string_view key, int* target, bool required) -> Status {
    auto id = GetString(value, key, path, required);
    if (!id.ok()) return id.status();
    if (required && id->empty()) return Invalid(Join(path, key), "required");
    if (!id->empty()) references->push_back({target, std::move(*id), Join(path, key)});
    return Status::Ok();
  };
  using Kind = JourneyNode::Kind;
  if (*type == "split") {
    node->kind = Kind::kSplit;
    auto condition = Member(value, "condition");
    if (!condition) return Invalid(Join(path, "condition"), "required");
    auto parsed = ParseCondition(*condition, Join(path, "condition"), 0);
    if (!parsed.ok()) return parsed.status();
    node->condition = std::move(*parsed);
    SEXTANT_RETURN_IF_ERROR(reference("yes", &node->yes, true));
    SEXTANT_RETURN_IF_ERROR(reference("no", &node->no, true));
    return Status::Ok();
  }
  if (*type == "ab") {
    node->kind = Kind::kAb;
    auto list = Member(value, "branches");
    simdjson::dom::array array;
    if (!list || list->get_array().get(array) != simdjson::SUCCESS || array.size() < 2) {
      return Invalid(Join(path, "branches"), "must be an array of at least two branches");
    }
    node->branches.resize(array.size());
    size_t index = 0;
    for (element branch : array) {
      const std::string branch_path = Join(path, "branches") + "[" + std::to_string(index) + "]";
      if (!branch.is_object())
        return Invalid(branch_path, "must be {\"name\", \"weight\", \"next\"}");
      auto name = GetString(branch, "name", branch_path, true);
      if (!name.ok()) return name.status();
      node->branches[index].name = std::move(*name);
      double weight = -1;
      auto weight_value = Member(branch, "weight");
      if (!weight_value || weight_value->get_double().get(weight) != simdjson::SUCCESS ||
          weight <= 0) {
        return Invalid(Join(branch_path, "weight"), "must be a positive number");
      }
      node->branches[index].weight = weight;
      auto next = GetString(branch, "next", branch_path, true);
      if (!next.ok()) return next.status();
      references->push_back(
          {&node->branches[index].next, std::move(*next), Join(branch_path, "next")});
      ++index;
    }
    return Status::Ok();
  }
  if (*type == "wait") {
    if (Member(value, "duration")) {
      node->kind = Kind::kWaitDuration;
      auto duration = GetDuration(value, "duration", path, true);
      if (!duration.ok()) return duration.status();
      node->duration_ms = *duration;
    } else if (auto until = Member(value, "until")) {
      node->kind = Kind::kWaitUntil;
      const std::string until_path = Join(path, "until");
      if (!until->is_object())
        return Invalid(until_path, "must be {\"time\": \"HH:MM\", \"weekdays\": [...]}");
      auto minute = GetTimeOfDay(*until, "time", until_path, true, 0);
      if (!minute.ok()) return minute.status();
      node->until_minute = *minute;
      if (auto weekdays = Member(*until, "weekdays")) {
        simdjson::dom::array array;
        if (weekdays->get_array().get(array) != simdjson::SUCCESS || array.size() == 0) {
          return Invalid(Join(until_path, "weekdays"),
                         "must be a non-empty list of 1 (Monday) … 7");
        }
        node->weekdays = 0;
        for (element day : array) {
          int64_t number = 0;
          if (day.get_int64().get(number) != simdjson::SUCCESS || number < 1 || number > 7) {
            return Invalid(Join(until_path, "weekdays"),
                           "must be a non-empty list of 1 (Monday) … 7");
          }
          node->weekdays |= static_cast<uint8_t>(1u << (number - 1));
        }
      }
    } else if (Member(value, "event")) {
      node->kind = Kind::kWaitEvent;
      auto matcher = ParseMatcher(value, "event", "where", path, true);
      if (!matcher.ok()) return matcher.status();
      node->wait_event = std::move(*matcher);
      auto timeout = GetDuration(value, "timeout", path, true);
      if (!timeout.ok()) return timeout.status();
      node->timeout_ms = *timeout;
      SEXTANT_RETURN_IF_ERROR(reference("timeout_next", &node->timeout_next, true));
    } else {
      return Invalid(path, "a wait needs duration, until or event");
    }
    return reference("next", &node->next, true);
  }
  if (*type == "send" || *type == "webhook") {
    node->kind = *type == "send" ? Kind::kSend : Kind::kWebhook;
    if (auto list = Member(value, "channels")) {
      simdjson::dom::array array;
      if (list->get_array().get(array) != simdjson::SUCCESS || array.size() == 0) {
        return Invalid(Join(path, "channels"), "must be a non-empty list of channel names");
      }
      for (element channel : array) {
        std::string_view text;
        if (channel.get_string().get(text) != simdjson::SUCCESS || text.empty()) {
          return Invalid(Join(path, "channels"), "must be a non-empty list of channel names");
        }
        node->channels.emplace_back(text);
      }
    } else {
      auto channel = GetString(value, "channel", path, true);
      if (!channel.ok()) return channel.status();
      if (channel->empty()) return Invalid(Join(path, "channel"), "required");
      node->channels.push_back(std::move(*channel));
    }
    auto best = GetBool(value, "best_channel", path, false);
    if (!best.ok()) return best.status();
    node->best_channel = *best;
    if (node->kind == Kind::kSend) {
      auto template_name = GetString(value, "template", path, true);
      if (!template_name.ok()) return template_name.status();
      if (template_name->empty()) return Invalid(Join(path, "template"), "required");
      node->template_name = std::move(*template_name);
      if (auto item = Member(value, "item")) {
        const std::string item_path = Join(path, "item");
        if (!item->is_object())
          return Invalid(item_path, "must be {\"type\", \"id\" or \"id_from\"}");
        auto item_type = GetString(*item, "type", item_path, true);
        if (!item_type.ok()) return item_type.status();
        node->item.type = std::move(*item_type);
        auto id = GetString(*item, "id", item_path, false);
        if (!id.ok()) return id.status();
        auto from = GetString(*item, "id_from", item_path, false);
        if (!from.ok()) return from.status();
        if (id->empty() == from->empty())
          return Invalid(item_path, "needs exactly one of id and id_from");
        if (!from->empty() && from->rfind("event.", 0) != 0 && from->rfind("profile.", 0) != 0) {
          return Invalid(Join(item_path, "id_from"),
                         "must be \"event.<property>\" or \"profile.<property>\"");
        }
        node->item.id = std::move(*id);
        node->item.id_from = std::move(*from);
      }
      auto purpose = GetString(value, "purpose", path, false);
      if (!purpose.ok()) return purpose.status();
      if (!purpose->empty() && *purpose != "marketing" && *purpose != "transactional") {
        return Invalid(Join(path, "purpose"), "must be marketing or transactional");
      }
      node->transactional = *purpose == "transactional";
      auto justification = GetString(value, "justification", path, false);
      if (!justification.ok()) return justification.status();
      if (node->transactional && justification->empty()) {
        return Invalid(Join(path, "justification"), "required for a transactional touch");
      }
      node->justification = std::move(*justification);
    } else if (auto payload = Member(value, "payload")) {
      if (!payload->is_object()) return Invalid(Join(path, "payload"), "must be an object");
      node->payload_json = simdjson::minify(*payload);
    }
    return reference("next", &node->next, true);
  }
  if (*type == "task") {
    node->kind = Kind::kTask;
    auto title = GetString(value, "title", path, true);
    if (!title.ok()) return title.status();
    if (title->empty()) return Invalid(Join(path, "title"), "required");
    node->title = std::move(*title);
    auto assign = Member(value, "assign");
    if (!assign || !assign->is_object())
      return Invalid(Join(path, "assign"), "must be {\"property\"?, \"pool\"?}");
    const std::string assign_path = Join(path, "assign");
    auto property = GetString(*assign, "property", assign_path, false);
    if (!property.ok()) return property.status();
    auto pool = GetString(*assign, "pool", assign_path, false);
    if (!pool.ok()) return pool.status();
    if (property->empty() && pool->empty())
      return Invalid(assign_path, "needs a property or a pool");
    node->assign_property = std::move(*property);
    node->assign_pool = std::move(*pool);
    auto sla = GetDuration(value, "sla", path, true);
    if (!sla.ok()) return sla.status();
    node->sla_ms = *sla;
    auto escalate = GetString(value, "escalate_to", path, false);
    if (!escalate.ok()) return escalate.status();
    node->escalate_to = std::move(*escalate);
    return reference("next", &node->next, true);
  }
  if (*type == "update_profile") {
    node->kind = Kind::kUpdateProfile;
    auto set = Member(value, "set");
    simdjson::dom::object object;
    if (!set || set->get_object().get(object) != simdjson::SUCCESS || object.size() == 0) {
      return Invalid(Join(path, "set"), "must be a non-empty object of property: value");
    }
    for (auto field : object) {
      Value property_value;
      std::string_view text;
      double number = 0;
      bool boolean = false;
      if (field.value.get_string().get(text) == simdjson::SUCCESS)
        property_value = Value::String(std::string(text));
      else if (field.value.get_double().get(number) == simdjson::SUCCESS)
        property_value = Value::Number(number);
      else if (field.value.get_bool().get(boolean) == simdjson::SUCCESS)
        property_value = Value::Bool(boolean);
      else
        return Invalid(Join(Join(path, "set"), field.key), "must be a string, number or boolean");
      node->set.emplace_back(std::string(field.key), std::move(property_value));
    }
    return reference("next", &node->next, true);
  }
  if (*type == "goal") {
    node->kind = Kind::kGoal;
    return reference("next", &node->next, false);
  }
  if (*type == "exit") {
    node->kind = Kind::kExit;
    return Status::Ok();
  }
  return Invalid(Join(path, "type"), "unknown node type \"" + *type +
                                         "\" (split, ab, wait, send, task, update_profile, "
                                         "webhook, goal, exit)");
}

std::vector<int> Successors(const JourneyNode& node) {
  std::vector<int> next;
  for (int index : {node.next, node.yes, node.no, node.timeout_next}) {
    if (index >= 0) next.push_back(index);
  }
  for (const auto& branch : node.branches) next.push_back(branch.next);
  return next;
}

}  // namespace

int JourneyDefinition::NodeIndex(std::string_view id) const {
  for (size_t index = 0; index < nodes.size(); ++index) {
    if (nodes[index].id == id) return static_cast<int>(index);
  }
  return -1;
}

Result<JourneyDefinition> ParseJourneyDefinition(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "journey definition is not a JSON object");
  }
  JourneyDefinition definition;
  definition.json = simdjson::minify(root);
  auto name = GetString(root, "name", "", true);
  if (!name.ok()) return name.status();
  if (name->empty()) return Invalid("name", "required");
  definition.name = std::move(*name);
  auto description = GetString(root, "description", "", false);
  if (!description.ok()) return description.status();
  definition.description = std::move(*description);
  auto zone = GetString(root, "time_zone", "", false);
  if (!zone.ok()) return zone.status();
  if (!zone->empty() && !TimeZone::FromName(*zone))
    return Invalid("time_zone", UnknownTimeZoneMessage(*zone));
  definition.time_zone = std::move(*zone);
  auto priority = GetInteger(root, "priority", "", 50, 0, 100);
  if (!priority.ok()) return priority.status();
  definition.priority = static_cast<int>(*priority);
  auto control = GetInteger(root, "control_percent", "", 0, 0, 50);
  if (!control.ok()) return control.status();
  definition.control_percent = static_cast<int>(*control);

  auto entry = Member(root, "entry");
  if (!entry) return Invalid("entry", "required");
  auto parsed_entry = ParseEntry(*entry, "entry");
  if (!parsed_entry.ok()) return parsed_entry.status();
  definition.entry = std::move(*parsed_entry);

  if (auto reentry = Member(root, "reentry")) {
    if (!reentry->is_object())
      return Invalid("reentry", "must be {\"mode\", \"cooldown\"?, \"max_entries\"?}");
    auto mode = GetString(*reentry, "mode", "reentry", true);
    if (!mode.ok()) return mode.status();
    if (*mode == "never")
      definition.reentry = JourneyDefinition::Reentry::kNever;
    else if (*mode == "after_exit")
      definition.reentry = JourneyDefinition::Reentry::kAfterExit;
    else if (*mode == "cooldown")
      definition.reentry = JourneyDefinition::Reentry::kCooldown;
    else
      return Invalid("reentry.mode", "must be never, after_exit or cooldown");
    auto cooldown = GetDuration(*reentry, "cooldown", "reentry",
                                definition.reentry == JourneyDefinition::Reentry::kCooldown);
    if (!cooldown.ok()) return cooldown.status();
    definition.cooldown_ms = *cooldown;
    auto max_entries = GetInteger(*reentry, "max_entries", "reentry", 0, 0, 1'000'000);
    if (!max_entries.ok()) return max_entries.status();
    definition.max_entries = static_cast<int>(*max_entries);
  }
  if (auto goal = Member(root, "goal")) {
    if (!goal->is_object())
      return Invalid("goal", "must be {\"event\", \"where\"?, \"within\"?, \"exit\"?}");
    auto matcher = ParseMatcher(*goal, "event", "where", "goal", true);
    if (!matcher.ok()) return matcher.status();
    definition.goal = std::move(*matcher);
    auto within = GetDuration(*goal, "within", "goal", false);
    if (!within.ok()) return within.status();
    definition.goal_within_ms = *within;
    auto exit = GetBool(*goal, "exit", "goal", true);
    if (!exit.ok()) return exit.status();
    definition.exit_on_goal = *exit;
  }
  if (auto exits = Member(root, "exit_when")) {
    simdjson::dom::array array;
    if (exits->get_array().get(array) != simdjson::SUCCESS)
      return Invalid("exit_when", "must be a list of {\"event\", \"where\"?}");
    size_t index = 0;
    for (element item : array) {
      const std::string item_path = "exit_when[" + std::to_string(index++) + "]";
      if (!item.is_object()) return Invalid(item_path, "must be {\"event\", \"where\"?}");
      auto matcher = ParseMatcher(item, "event", "where", item_path, true);
      if (!matcher.ok()) return matcher.status();
      definition.exit_when.push_back(std::move(*matcher));
    }
  }
  if (auto caps = Member(root, "caps")) {
    simdjson::dom::array array;
    if (caps->get_array().get(array) != simdjson::SUCCESS)
      return Invalid("caps", "must be a list of {\"count\", \"per\"}");
    size_t index = 0;
    for (element item : array) {
      const std::string item_path = "caps[" + std::to_string(index++) + "]";
      if (!item.is_object()) return Invalid(item_path, "must be {\"count\", \"per\"}");
      FrequencyCap cap;
      auto count = GetInteger(item, "count", item_path, -1, 1, 1'000'000);
      if (!count.ok()) return count.status();
      if (*count < 0) return Invalid(Join(item_path, "count"), "required");
      cap.count = static_cast<int>(*count);
      auto per = GetDuration(item, "per", item_path, true);
      if (!per.ok()) return per.status();
      cap.per_ms = *per;
      definition.caps.push_back(cap);
    }
  }
  if (auto schedule = Member(root, "schedule")) {
    if (!schedule->is_object()) return Invalid("schedule", "must be {\"start_at\"?, \"end_at\"?}");
    auto start = GetInteger(*schedule, "start_at", "schedule", 0, 0, INT64_MAX / 4);
    if (!start.ok()) return start.status();
    auto end = GetInteger(*schedule, "end_at", "schedule", 0, 0, INT64_MAX / 4);
    if (!end.ok()) return end.status();
    if (*end != 0 && *end <= *start) return Invalid("schedule.end_at", "is not after start_at");
    definition.start_at_ms = *start;
    definition.end_at_ms = *end;
  }

  auto nodes = Member(root, "nodes");
  simdjson::dom::object node_map;
  if (!nodes || nodes->get_object().get(node_map) != simdjson::SUCCESS || node_map.size() == 0) {
    return Invalid("nodes", "must be a non-empty object of node id: node");
  }
  if (node_map.size() > kMaxNodes) return Invalid("nodes", "has more than 500 nodes");
  definition.nodes.resize(node_map.size());
  std::vector<PendingReference> references;
  size_t index = 0;
  for (auto field : node_map) {
    JourneyNode& node = definition.nodes[index++];
    node.id = std::string(field.key);
    if (node.id.empty()) return Invalid("nodes", "a node id is empty");
    SEXTANT_RETURN_IF_ERROR(ParseNode(field.value, Join("nodes", node.id), &node, &references));
  }
  for (const PendingReference& reference : references) {
    int target = definition.NodeIndex(reference.id);
    if (target < 0) return Invalid(reference.path, "no node \"" + reference.id + "\"");
    *reference.target = target;
  }
  auto start = GetString(root, "start", "", true);
  if (!start.ok()) return start.status();
  definition.start = definition.NodeIndex(*start);
  if (definition.start < 0) return Invalid("start", "no node \"" + *start + "\"");

  // Every node reachable from start; from every node an exit (or a goal without next) reachable.
  std::vector<char> reached(definition.nodes.size(), 0);
  std::vector<int> stack = {definition.start};
  reached[definition.start] = 1;
  while (!stack.empty()) {
    int current = stack.back();
    stack.pop_back();
    for (int next : Successors(definition.nodes[current])) {
      if (!reached[next]) {
        reached[next] = 1;
        stack.push_back(next);
      }
    }
  }
  for (size_t node = 0; node < definition.nodes.size(); ++node) {
    if (!reached[node])
      return Invalid(Join("nodes", definition.nodes[node].id), "is not reachable from start");
  }
  std::vector<char> ends(definition.nodes.size(), 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t node = 0; node < definition.nodes.size(); ++node) {
      if (ends[node]) continue;
      const JourneyNode& current = definition.nodes[node];
      bool terminal = current.kind == JourneyNode::Kind::kExit ||
                      (current.kind == JourneyNode::Kind::kGoal && current.next < 0);
      bool leads = false;
      for (int next : Successors(current)) leads = leads || ends[next];
      if (terminal || leads) {
        ends[node] = 1;
        changed = true;
      }
    }
  }
  for (size_t node = 0; node < definition.nodes.size(); ++node) {
    if (!ends[node])
      return Invalid(Join("nodes", definition.nodes[node].id), "no path from here reaches an exit");
  }
  return definition;
}

std::string_view NodeKindName(JourneyNode::Kind kind) {
  switch (kind) {
    case JourneyNode::Kind::kSplit:
      return "split";
    case JourneyNode::Kind::kAb:
      return "ab";
    case JourneyNode::Kind::kWaitDuration:
    case JourneyNode::Kind::kWaitUntil:
    case JourneyNode::Kind::kWaitEvent:
      return "wait";
    case JourneyNode::Kind::kSend:
      return "send";
    case JourneyNode::Kind::kTask:
      return "task";
    case JourneyNode::Kind::kUpdateProfile:
      return "update_profile";
    case JourneyNode::Kind::kWebhook:
      return "webhook";
    case JourneyNode::Kind::kGoal:
      return "goal";
    case JourneyNode::Kind::kExit:
      return "exit";
  }
  return "exit";
}

std::string_view EntryKindName(EntrySpec::Kind kind) {
  switch (kind) {
    case EntrySpec::Kind::kEvent:
      return "event";
    case EntrySpec::Kind::kSegmentEnter:
      return "segment_enter";
    case EntrySpec::Kind::kSegmentExit:
      return "segment_exit";
    case EntrySpec::Kind::kBreakpoint:
      return "breakpoint";
    case EntrySpec::Kind::kSchedule:
      return "schedule";
    case EntrySpec::Kind::kOnce:
      return "once";
    case EntrySpec::Kind::kKeyDate:
      return "key_date";
    case EntrySpec::Kind::kApi:
      return "api";
  }
  return "event";
}

}  // namespace sextant::journey
