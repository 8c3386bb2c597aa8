// Touches: the rules every touch passes, the ledger entry, the outbox and the channel workers
// that deliver from it; advisor tasks and in-app messages.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "channel/crypto.h"
#include "journey/journey_internal.h"

namespace sextant::journey {
namespace {

// How far back the touch history is kept: the longest calendar window (a week) and rolling caps
// of up to 35 days.
constexpr int64_t kTouchHistoryMs = 35LL * 86'400'000;

std::string UserKey(ProjectId project, std::string_view space, UserId user) {
  std::string key = JourneyKey(project, space);
  state::AppendBigEndian32(user, &key);
  return key;
}

std::string Text(const Value* value, const TimeZone& zone) {
  if (value == nullptr) return "";
  switch (value->type()) {
    case ValueType::kString:
      return value->str();
    case ValueType::kNumber: {
      JsonWriter writer;
      const double number = value->number();
      if (number == static_cast<double>(static_cast<int64_t>(number)))
        return std::to_string(static_cast<int64_t>(number));
      writer.Double(number);
      return writer.Take();
    }
    case ValueType::kBool:
      return value->boolean() ? "true" : "false";
    case ValueType::kDatetime:
      return FormatDatetime(value->datetime_ms(), zone).substr(0, 16);
    case ValueType::kDate:
      return FormatDate(value->date_days());
    case ValueType::kList: {
      std::string out;
      for (const auto& item : value->list()) out += (out.empty() ? "" : ",") + item;
      return out;
    }
  }
  return "";
}

}  // namespace

std::string JourneyEngine::Impl::UnsubscribeUrl(const ProjectRuntime& runtime, UserId user,
                                                const std::string& channel_name) const {
  const std::string claim = std::to_string(user) + ":marketing:" + channel_name;
  return "/api/v1/projects/" + runtime.info->name +
         "/unsubscribe?token=" + channel::Base64Encode(claim) + "." +
         channel::HmacSha256Hex(runtime.unsubscribe_secret, claim);
}

std::string JourneyEngine::Impl::RenderLocked(ProjectRuntime& runtime, std::string_view text,
                                              UserId user, const PropertyMap& profile,
                                              const PropertyMap& event, const PropertyMap& item,
                                              const std::string& unsubscribe_url,
                                              std::vector<std::string>* used) {
  const TimeZone& zone = runtime.info->time_zone;
  std::string out;
  size_t position = 0;
  while (position < text.size()) {
    const size_t open = text.find("{{", position);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(position, open - position));
    std::string name(text.substr(open + 2, close - open - 2));
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    std::string value;
    if (name == "unsubscribe_url") {
      value = unsubscribe_url;
    } else if (name.rfind("profile.", 0) == 0) {
      value = Text(FindProperty(profile, name.substr(8)), zone);
    } else if (name.rfind("event.", 0) == 0) {
      value = Text(FindProperty(event, name.substr(6)), zone);
    } else if (name.rfind("item.", 0) == 0) {
      value = Text(FindProperty(item, name.substr(5)), zone);
    } else if (name.rfind("tag.", 0) == 0) {
      auto tag = audience->TagValueOf(*runtime.info, name.substr(4), user);
      if (tag.ok() && tag->has_value()) value = Text(&**tag, zone);
    }
    if (used != nullptr && name != "unsubscribe_url") used->push_back(name + "=" + value);
    out += value;
    position = close + 2;
  }
  out.append(text.substr(std::min(position, text.size())));
  return out;
}

const PendingWork::Customer& JourneyEngine::Impl::CustomerLocked(ProjectRuntime& runtime,
                                                                 UserId user, PendingWork& work,
                                                                 bool details) {
  PendingWork::Customer& customer = work.customer;
  const ProjectId pid = runtime.info->id;
  if (!customer.loaded || customer.project != pid || customer.user != user) {
    customer = PendingWork::Customer{};
    customer.project = pid;
    customer.user = user;
    customer.loaded = true;
    customer.distinct_id = DistinctIdLocked(pid, user);
  }
  if (!details || customer.details_loaded) return customer;
  customer.details_loaded = true;
  auto prefetched = std::lower_bound(work.prefetched_users.begin(), work.prefetched_users.end(),
                                     user);
  std::optional<Result<PropertyMap>>* read_ahead =
      work.prefetched_project == pid && prefetched != work.prefetched_users.end() &&
              *prefetched == user
          ? &work.prefetched_profiles[prefetched - work.prefetched_users.begin()]
          : nullptr;
  if (read_ahead != nullptr && read_ahead->has_value()) {
    if ((*read_ahead)->ok()) customer.profile = std::move(*read_ahead->value());
    // Moved out: should the chunk come back to this customer after another one, the store is
    // read again rather than an emptied profile used.
    read_ahead->reset();
  } else {
    auto profile = profiles->GetProfile(pid, user);
    if (profile.ok()) customer.profile = std::move(*profile);
  }
  // Consent stored for the customer: "<purpose>:<channel>" → granted. A dry run reads the
  // real store's consent (reference_kv), which this engine's bitmap does not describe.
  if (reference_kv != kv || CustomerKeysLocked(runtime).with_consent.contains(user)) {
    auto consent = reference_kv->Get(UserKey(pid, "x", user));
    if (consent.ok()) customer.consent = ParsePropertiesJson(*consent);
  }
  return customer;
}

void JourneyEngine::Impl::PrefetchProfilesLocked(ProjectRuntime& runtime,
                                                 std::span<const UserId> users,
                                                 PendingWork& work) {
  work.prefetched_project = runtime.info->id;
  work.prefetched_users.assign(users.begin(), users.end());
  std::sort(work.prefetched_users.begin(), work.prefetched_users.end());
  work.prefetched_profiles.clear();
  for (Result<PropertyMap>& profile : profiles->GetProfiles(runtime.info->id,
                                                            work.prefetched_users)) {
    work.prefetched_profiles.emplace_back(std::move(profile));
  }
}

ProjectRuntime& JourneyEngine::Impl::CustomerKeysLocked(ProjectRuntime& runtime) {
  if (runtime.customer_keys_loaded) return runtime;
  runtime.customer_keys_loaded = true;
  for (auto [space, holders] : {std::pair{"r", &runtime.with_response_counts},
                                std::pair{"x", &runtime.with_consent}}) {
    // "<prefix><user BE32>"
    const std::string prefix = JourneyKey(runtime.info->id, space);
    (void)kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view) {
      if (key.size() == prefix.size() + 4)
        holders->add(state::ReadBigEndian32(key.substr(prefix.size())));
      return true;
    });
  }
  return runtime;
}

void JourneyEngine::Impl::CountResponseLocked(ProjectRuntime& runtime, UserId user,
                                              const std::string& counter, PendingWork& work) {
  std::string key = UserKey(runtime.info->id, "r", user);
  Roaring& holders = CustomerKeysLocked(runtime).with_response_counts;
  PropertyMap counts;
  if (holders.contains(user)) {
    auto stored = ReadStagedLocked(work, key);
    if (stored.ok()) counts = ParsePropertiesJson(*stored);
  }
  holders.add(user);
  bool found = false;
  for (auto& [name, value] : counts) {
    if (name == counter) {
      value = Value::Number(value.number() + 1);
      found = true;
    }
  }
  if (!found) counts.emplace_back(counter, Value::Number(1));
  work.PutStaged(std::move(key), PropertiesJson(counts, runtime.info->time_zone));
}

TouchHistoryIndex& JourneyEngine::Impl::TouchHistoryLocked(ProjectRuntime& runtime) {
  if (runtime.touch_history_loaded) return runtime.touch_history;
  runtime.touch_history_loaded = true;
  const std::string prefix = JourneyKey(runtime.info->id, "h");
  const int64_t history_start = clock->NowMs() - kTouchHistoryMs;
  state::KvStore::Batch expired;
  // "<prefix><user BE32><time BE64><touch id>" → {"channel", "journey", "priority",
  // "transactional"}.
  (void)kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() < prefix.size() + 12) return true;
    const UserId user = state::ReadBigEndian32(key.substr(prefix.size(), 4));
    TouchRecord record;
    record.time_ms = static_cast<int64_t>(state::ReadBigEndian64(key.substr(prefix.size() + 4, 8)));
    if (record.time_ms < history_start) {
      expired.Delete(key);
      return true;
    }
    const PropertyMap fields = ParsePropertiesJson(value);
    if (const Value* v = FindProperty(fields, "channel"); v && v->type() == ValueType::kString)
      record.channel = v->str();
    if (const Value* v = FindProperty(fields, "journey"); v && v->type() == ValueType::kString)
      record.journey_id = v->str();
    if (const Value* v = FindProperty(fields, "priority"); v && v->type() == ValueType::kNumber)
      record.priority = static_cast<int>(v->number());
    if (const Value* v = FindProperty(fields, "transactional"); v && v->type() == ValueType::kBool)
      record.transactional = v->boolean();
    runtime.touch_history.Add(user, record);
    return true;
  });
  if (!expired.empty()) (void)kv->Write(&expired);
  return runtime.touch_history;
}

bool JourneyEngine::Impl::TouchLocked(ProjectRuntime& runtime, JourneyState& journey,
                                      const JourneyDefinition& definition, const JourneyNode& node,
                                      UserId user, Instance& instance, PendingWork& work) {
  const ProjectId pid = runtime.info->id;
  const int64_t now = clock->NowMs();
  const TimeZone zone = ZoneOf(runtime, definition);
  const TouchRulesConfig& rules = runtime.rules;
  const bool revisit = instance.due_ms != 0 || instance.claimed;
  instance.due_ms = 0;
  const PendingWork::Customer& customer = CustomerLocked(runtime, user, work, /*details=*/true);
  const std::string& distinct_id = customer.distinct_id;
  const PropertyMap& profile = customer.profile;
  const PropertyMap event = ParsePropertiesJson(instance.event_json);

  // The item a send recommends.
  PropertyMap item;
  std::string item_id = node.item.id;
  if (node.item.present() && item_id.empty()) {
    const std::string& from = node.item.id_from;
    const Value* value = from.rfind("event.", 0) == 0 ? FindProperty(event, from.substr(6))
                                                      : FindProperty(profile, from.substr(8));
    if (value != nullptr)
      item_id = value->type() == ValueType::kString ? value->str() : Text(value, zone);
  }
  bool item_missing = false;
  if (node.item.present()) {
    auto loaded = item_id.empty() ? Result<PropertyMap>(Status(ErrorCode::kNotFound, ""))
                                  : items->GetItem(pid, node.item.type, item_id);
    if (loaded.ok()) {
      item = std::move(*loaded);
      item.emplace_back("id", Value::String(item_id));
    } else {
      item_missing = true;
    }
  }

  const PropertyMap& consent = customer.consent;
  auto consent_of = [&](const std::string& channel_name) -> bool {
    for (const std::string& key : {"marketing:" + channel_name, std::string("marketing:*")}) {
      const Value* value = FindProperty(consent, key);
      if (value != nullptr && value->type() == ValueType::kBool) return value->boolean();
    }
    return !rules.consent_required;
  };
  auto blacklisted = [&](const std::string& channel_name) {
    for (const std::string& key : {std::string("*"), channel_name}) {
      auto list = rules.blacklist.find(key);
      if (list != rules.blacklist.end() && list->second.count(distinct_id)) return true;
    }
    return false;
  };
  auto recipient_of = [&](const std::string& channel_name) -> std::string {
    auto entry = runtime.channels.find(channel_name);
    if (entry == runtime.channels.end()) return "";
    if (entry->second.recipient_property.empty()) return distinct_id;
    return Text(FindProperty(profile, entry->second.recipient_property), zone);
  };

  // Channel: the best observed response among the allowed ones, else the first usable in order.
  std::vector<std::string> order = node.channels;
  std::string choice_reason = "order";
  if (node.best_channel && order.size() > 1) {
    PropertyMap stats;
    if (CustomerKeysLocked(runtime).with_response_counts.contains(user)) {
      auto stats_stored = ReadStagedLocked(work, UserKey(pid, "r", user));
      if (stats_stored.ok()) stats = ParsePropertiesJson(*stats_stored);
    }
    auto rate = [&](const std::string& channel_name) {
      const Value* sent = FindProperty(stats, channel_name + ".sent");
      const Value* clicked = FindProperty(stats, channel_name + ".clicked");
      const double s = sent ? sent->number() : 0, c = clicked ? clicked->number() : 0;
      return s > 0 ? c / s : -1.0;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const std::string& a, const std::string& b) { return rate(a) > rate(b); });
    if (rate(order.front()) >= 0) choice_reason = "best_response";
  }
  std::string channel_name = order.front();
  for (const std::string& candidate : order) {
    if (!blacklisted(candidate) && !recipient_of(candidate).empty() &&
        (node.transactional || consent_of(candidate))) {
      if (candidate != order.front() && choice_reason == "order") choice_reason = "fallback";
      channel_name = candidate;
      break;
    }
  }
  const std::string recipient = recipient_of(channel_name);
  auto channel_entry = runtime.channels.find(channel_name);

  // Content.
  std::string subject, body, template_name;
  bool template_missing = false;  // no approved content for the channel: nothing can be sent
  std::vector<std::string> used;
  if (node.kind == JourneyNode::Kind::kSend) {
    template_name = node.template_name;
    const TemplateDef* found = FindTemplate(runtime, template_name, channel_name);
    if (found != nullptr && found->has_approved) {
      // Signed per customer (an HMAC): only for the templates that show it.
      constexpr std::string_view kUnsubscribeVariable = "unsubscribe_url";
      const std::string unsubscribe =
          found->approved_subject.find(kUnsubscribeVariable) != std::string::npos ||
                  found->approved_body.find(kUnsubscribeVariable) != std::string::npos
              ? UnsubscribeUrl(runtime, user, channel_name)
              : std::string();
      subject = RenderLocked(runtime, found->approved_subject, user, profile, event, item,
                             unsubscribe, &used);
      body = RenderLocked(runtime, found->approved_body, user, profile, event, item, unsubscribe,
                          &used);
    } else {
      template_missing = true;
    }
  }

  // The rules, in order; the first that fails decides.
  std::string reason, detail;
  SuitabilityVerdict suitability;
  const bool is_touch = node.kind == JourneyNode::Kind::kSend;
  if (!is_touch && instance.control) {
    reason = "control_group";
  } else if (is_touch) {
    if (instance.control) {
      reason = "control_group";
    } else if (channel_entry == runtime.channels.end()) {
      reason = "no_channel";
      detail = channel_name;
    } else if (template_missing) {
      reason = "no_template";
      detail = "no approved template \"" + template_name + "\" for " + channel_name;
    } else if (blacklisted(channel_name)) {
      reason = "blacklist";
    } else if (recipient.empty()) {
      reason = "no_address";
      detail = channel_entry->second.recipient_property;
    } else if (node.item.present() && item_missing) {
      reason = "suitability";
      detail = "item " + node.item.type + "/" + item_id + " not found";
    } else if (node.item.present() &&
               !(suitability = CheckSuitability(rules.suitability, item, profile, now)).allowed) {
      // Never bypassed: not by transactional purpose, not by any journey setting.
      reason = "suitability";
      detail = suitability.reason;
    } else if (!node.transactional) {
      std::vector<TouchRecord> history;
      // Touches older than every window a rule can look at are dropped as they are met.
      const int64_t history_start = now - kTouchHistoryMs;
      if (TouchHistoryLocked(runtime).Collect(user, history_start, &history,
                                              /*drop_expired=*/!work.dry_run)) {
        const std::string history_prefix = UserKey(pid, "h", user);
        (void)kv->ScanPrefix(history_prefix, [&](std::string_view key, std::string_view) {
          const auto time_ms =
              static_cast<int64_t>(state::ReadBigEndian64(key.substr(history_prefix.size(), 8)));
          if (time_ms >= history_start) return false;  // keys are in time order per customer
          work.batch.Delete(key);
          return true;
        });
      }
      std::optional<std::string> global_cap;
      int journey_touches = 0;
      bool journey_capped = false;
      for (const FrequencyCap& cap : definition.caps) {
        journey_touches = 0;
        for (const TouchRecord& touch : history) {
          journey_touches +=
              touch.journey_id == journey.meta.id && touch.time_ms > now - cap.per_ms;
        }
        if (journey_touches >= cap.count) {
          journey_capped = true;
          detail = std::to_string(cap.count) + " per " + std::to_string(cap.per_ms / 1000) + "s";
        }
      }
      const QuietVerdict quiet = CheckQuietHours(rules, channel_name, now, runtime.info->time_zone);
      if (!consent_of(channel_name)) {
        reason = "consent";
      } else if (journey_capped) {
        reason = "journey_cap";
      } else if ((global_cap = ExceededGlobalCap(rules, history, channel_name, now,
                                                 runtime.info->time_zone))) {
        reason = "frequency_cap";
        detail = *global_cap;
      } else if (quiet.quiet && quiet.defer) {
        SetTimerLocked(runtime, journey, user, instance, quiet.until_ms, work);
        Bump(journey, "node." + node.id + ".deferred");
        Trace("deferred", "quiet_hours");
        return false;
      } else if (quiet.quiet) {
        reason = "quiet_hours";
      } else if (rules.priority_window_ms > 0) {
        const std::string claims_prefix = UserKey(pid, "p", user);
        const std::string own_claim = claims_prefix + journey.meta.id;
        if (!instance.claimed) {
          // The claim: "<priority>:<time>". A claim older than the window (its customer left the
          // journey before the decision) no longer counts.
          instance.claimed = true;
          if (!work.dry_run) {
            work.batch.Put(own_claim,
                           std::to_string(definition.priority) + ":" + std::to_string(now));
          }
          SetTimerLocked(runtime, journey, user, instance, now + rules.priority_window_ms, work);
          return false;
        }
        instance.claimed = false;
        if (!work.dry_run) work.batch.Delete(own_claim);
        (void)kv->ScanPrefix(claims_prefix, [&](std::string_view key, std::string_view value) {
          const std::string other(key.substr(claims_prefix.size()));
          const std::string text(value);
          const int priority = std::atoi(text.c_str());
          const size_t colon = text.find(':');
          const int64_t claimed_at =
              colon == std::string::npos ? 0 : std::atoll(text.c_str() + colon + 1);
          if (claimed_at < now - rules.priority_window_ms) return true;
          if (other != journey.meta.id &&
              (priority > definition.priority ||
               (priority == definition.priority && other < journey.meta.id))) {
            reason = "priority";
            detail = "journey " + other + " (priority " + std::to_string(priority) + ")";
            return false;
          }
          return true;
        });
        for (const TouchRecord& touch : history) {
          if (reason.empty() && touch.journey_id != journey.meta.id &&
              touch.time_ms > now - rules.priority_window_ms &&
              touch.priority > definition.priority) {
            reason = "priority";
            detail = "journey " + touch.journey_id + " (priority " +
                     std::to_string(touch.priority) + ")";
          }
        }
      }
    }
  }
  (void)revisit;
  instance.claimed = false;
  const bool sent = reason.empty();
  const std::string touch_id = journey.meta.id + ":v" + std::to_string(instance.version) + ":" +
                               node.id + ":" + std::to_string(user) + ":" +
                               std::to_string(instance.sequence);

  // The ledger entry: what was decided and on what.
  JsonWriter entry;
  entry.BeginObject();
  entry.Key("kind").String(is_touch ? "touch" : "webhook");
  entry.Key("decision").String(sent ? "sent" : "suppressed");
  entry.Key("reason").String(reason);
  entry.Key("detail").String(detail);
  entry.Key("time").Int(now);
  entry.Key("journey").String(journey.meta.id);
  entry.Key("version").Uint(instance.version);
  entry.Key("node").String(node.id);
  entry.Key("distinct_id").String(distinct_id);
  entry.Key("channel").String(channel_name);
  entry.Key("channel_choice").String(choice_reason);
  entry.Key("purpose").String(node.transactional ? "transactional" : "marketing");
  if (node.transactional) entry.Key("justification").String(node.justification);
  entry.Key("template").String(template_name);
  entry.Key("subject").String(subject);
  entry.Key("content").String(body);
  entry.Key("arm").String(instance.control ? "control" : "treatment");
  entry.Key("variant").String(instance.variant);
  if (node.item.present()) {
    entry.Key("item").BeginObject();
    entry.Key("type").String(node.item.type);
    entry.Key("id").String(item_id);
    entry.Key("risk_level")
        .String(suitability.item_level.empty()
                    ? Text(FindProperty(item, rules.suitability.item_property), zone)
                    : suitability.item_level);
    entry.Key("customer_risk_level")
        .String(Text(FindProperty(profile, rules.suitability.customer_property), zone));
    entry.EndObject();
  }
  entry.Key("values").BeginArray();
  for (const auto& value : used) entry.String(value);
  entry.EndArray();
  entry.Key("touch_id").String(touch_id);
  entry.EndObject();
  Trace(sent ? "sent" : "suppressed", sent ? channel_name : reason);
  if (!work.dry_run) (void)ledger.Append(pid, user, journey.meta.id, entry.str(), &work.batch);

  std::vector<std::pair<std::string, Value>> properties = {
      {"journey_id", Value::String(journey.meta.id)},
      {"journey_version", Value::Number(instance.version)},
      {"node", Value::String(node.id)},
      {"channel", Value::String(channel_name)},
      {"touch_id", Value::String(touch_id)},
      {"variant", Value::String(instance.variant)},
      {"purpose", Value::String(node.transactional ? "transactional" : "marketing")}};
  if (!sent) {
    Bump(journey, "node." + node.id + ".suppressed." + reason);
    properties.emplace_back("reason", Value::String(reason));
    EmitLocked(runtime, user, "$touch_suppressed", std::move(properties), work);
    return true;
  }
  Bump(journey, "node." + node.id + ".sent");
  EmitLocked(runtime, user, "$touch_sent", std::move(properties), work);
  if (work.dry_run) return true;

  // Touch history (caps, priority, best channel) and the delivery record. A webhook call to a
  // system is not a touch of the customer: it neither counts nor is counted.
  if (is_touch) {
    // In the index at once: a later touch of the same step (two send nodes in a row) counts it.
    TouchHistoryLocked(runtime).Add(user, TouchRecord{now, channel_name, journey.meta.id,
                                                      definition.priority, node.transactional});
    std::string history_key = UserKey(pid, "h", user);
    state::AppendBigEndian64(static_cast<uint64_t>(now), &history_key);
    history_key += touch_id;
    JsonWriter history;
    history.BeginObject();
    history.Key("channel").String(channel_name);
    history.Key("journey").String(journey.meta.id);
    history.Key("priority").Int(definition.priority);
    history.Key("transactional").Bool(node.transactional);
    history.EndObject();
    work.batch.Put(history_key, history.str());
    CountResponseLocked(runtime, user, channel_name + ".sent", work);
  }
  JsonWriter message;
  message.BeginObject();
  message.Key("touch_id").String(touch_id);
  message.Key("channel").String(channel_name);
  message.Key("recipient").String(recipient);
  message.Key("subject").String(subject);
  message.Key("body").String(body);
  message.Key("journey").String(journey.meta.id);
  message.Key("version").Uint(instance.version);
  message.Key("node").String(node.id);
  message.Key("user").Uint(user);
  message.Key("distinct_id").String(distinct_id);
  message.Key("time").Int(now);
  message.Key("attempts").Int(0);
  message.Key("due").Int(now);
  JsonWriter payload;
  payload.BeginObject();
  payload.Key("touch_id").String(touch_id);
  payload.Key("journey_id").String(journey.meta.id);
  payload.Key("journey_version").Uint(instance.version);
  payload.Key("node").String(node.id);
  payload.Key("distinct_id").String(distinct_id);
  if (!subject.empty()) payload.Key("title").String(subject);
  if (!body.empty()) payload.Key("text").String(body);
  if (!node.payload_json.empty()) payload.Key("data").Raw(node.payload_json);
  payload.Key("entry_event").Raw(instance.event_json.empty() ? "{}" : instance.event_json);
  payload.EndObject();
  message.Key("payload").Raw(payload.str());
  message.EndObject();
  if (!keep_outbox) return true;
  if (channel_entry != runtime.channels.end() && channel_entry->second.inapp) {
    std::string key = UserKey(pid, "m", user);
    state::AppendBigEndian64(static_cast<uint64_t>(now), &key);
    key += touch_id;
    work.batch.Put(key, message.str());
  } else {
    std::string key = JourneyKey(pid, "o");
    state::AppendBigEndian64(static_cast<uint64_t>(now), &key);
    key += touch_id;
    work.batch.Put(key, message.str());
    work.NoteOutboxPut(pid, key);
  }
  return true;
}

void JourneyEngine::Impl::CreateTaskLocked(ProjectRuntime& runtime, JourneyState& journey,
                                           const JourneyNode& node, UserId user, Instance& instance,
                                           PendingWork& work) {
  const ProjectId pid = runtime.info->id;
  const int64_t now = clock->NowMs();
  const std::string distinct_id = DistinctIdLocked(pid, user);
  std::string assignee;
  if (!node.assign_property.empty()) {
    auto profile = profiles->GetProfile(pid, user);
    if (profile.ok())
      assignee = Text(FindProperty(*profile, node.assign_property), runtime.info->time_zone);
  }
  const std::string task_id = journey.meta.id + "-" + node.id + "-" + std::to_string(user) + "-" +
                              std::to_string(instance.sequence);
  JsonWriter entry;
  entry.BeginObject();
  entry.Key("kind").String("task");
  entry.Key("decision").String(instance.control ? "suppressed" : "sent");
  entry.Key("reason").String(instance.control ? "control_group" : "");
  entry.Key("time").Int(now);
  entry.Key("journey").String(journey.meta.id);
  entry.Key("version").Uint(instance.version);
  entry.Key("node").String(node.id);
  entry.Key("distinct_id").String(distinct_id);
  entry.Key("channel").String("task");
  entry.Key("content").String(node.title);
  entry.Key("assignee").String(assignee.empty() ? node.assign_pool : assignee);
  entry.Key("arm").String(instance.control ? "control" : "treatment");
  entry.EndObject();
  Trace(instance.control ? "suppressed" : "task", instance.control ? "control_group" : node.title);
  if (!work.dry_run) (void)ledger.Append(pid, user, journey.meta.id, entry.str(), &work.batch);
  if (instance.control) {
    Bump(journey, "node." + node.id + ".suppressed.control_group");
    EmitLocked(runtime, user, "$touch_suppressed",
               {{"journey_id", Value::String(journey.meta.id)},
                {"node", Value::String(node.id)},
                {"channel", Value::String("task")},
                {"reason", Value::String("control_group")}},
               work);
    return;
  }
  Bump(journey, "node." + node.id + ".tasks");
  JsonWriter task;
  task.BeginObject();
  task.Key("id").String(task_id);
  task.Key("journey").String(journey.meta.id);
  task.Key("version").Uint(instance.version);
  task.Key("node").String(node.id);
  task.Key("user").Uint(user);
  task.Key("distinct_id").String(distinct_id);
  task.Key("title").String(node.title);
  task.Key("assignee").String(assignee);
  task.Key("pool").String(node.assign_pool);
  task.Key("escalate_to").String(node.escalate_to);
  task.Key("status").String("open");
  task.Key("created_ms").Int(now);
  task.Key("due_ms").Int(now + node.sla_ms);
  task.Key("outcome").String("");
  task.EndObject();
  if (work.dry_run) return;
  work.batch.Put(JourneyKey(pid, "k") + task_id, task.str());
  std::string deadline = JourneyKey(pid, "ts");
  state::AppendBigEndian64(static_cast<uint64_t>(now + node.sla_ms), &deadline);
  deadline += task_id;
  work.batch.Put(deadline, "");
  EmitLocked(runtime, user, "$task_created",
             {{"journey_id", Value::String(journey.meta.id)},
              {"node", Value::String(node.id)},
              {"task_id", Value::String(task_id)},
              {"assignee", Value::String(assignee.empty() ? node.assign_pool : assignee)}},
             work);
}

// ---------------------------------------------------------------------------------------------
// Delivery

size_t JourneyEngine::Impl::DeliverDue(size_t limit) {
  std::lock_guard delivery_lock(delivery_mu);
  struct Job {
    ProjectId project;
    std::string project_name;
    std::string key;
    std::string record;
    std::string channel_name;
    channel::ChannelConfig config;
  };
  std::vector<Job> jobs;
  // Never `mu` (see delivery_state_mu): what the scan needs of each project is copied from the
  // runtime's published sources.
  std::map<ProjectId, DeliverySource> sources;
  {
    std::lock_guard state_lock(delivery_state_mu);
    sources = delivery_sources;
  }
  const int64_t now = clock->NowMs();
  for (auto& [project, source] : sources) {
    if (jobs.size() >= limit) break;
    const std::string prefix = JourneyKey(project, "o");
    // Keys are prefix + creation time (big-endian ms) + touch id, and a record is never due
    // before it was created: the first key created after `now` ends the due records.
    std::string& cursor = outbox_cursors[project];
    {
      std::lock_guard state_lock(delivery_state_mu);
      auto written = outbox_written_below.find(project);
      if (written != outbox_written_below.end()) {
        if (written->second < cursor) cursor = written->second;
        outbox_written_below.erase(written);
      }
    }
    std::string first_left;  // the first record seen and not taken
    std::string last_seen;
    simdjson::dom::parser parser;  // one per scan: a parser allocates its buffers on first use
    (void)kv->ScanPrefixFrom(prefix, cursor, [&](std::string_view key, std::string_view value) {
      if (key.size() >= prefix.size() + 8 &&
          static_cast<int64_t>(state::ReadBigEndian64(key.substr(prefix.size(), 8))) > now) {
        if (first_left.empty()) first_left = std::string(key);
        return false;
      }
      last_seen = std::string(key);
      simdjson::dom::element root;
      int64_t due = 0;  // an unreadable record is taken: the pass deletes it when it settles
      std::string_view channel_name;
      if (parser.parse(value.data(), value.size()).get(root) == simdjson::SUCCESS) {
        due = IntField(root, "due");
        channel_name = StringField(root, "channel");
      }
      if (due > now) {
        if (first_left.empty()) first_left = last_seen;
        return true;
      }
      auto channel = source.channels.find(std::string(channel_name));
      Job job{project, source.project_name, last_seen, std::string(value),
              std::string(channel_name), {}};
      if (channel != source.channels.end()) job.config = channel->second;
      jobs.push_back(std::move(job));
      return jobs.size() < limit;
    });
    // The smallest key after last_seen is last_seen + "\0".
    if (!first_left.empty()) {
      cursor = std::move(first_left);
    } else if (!last_seen.empty()) {
      cursor = last_seen + std::string(1, '\0');
    }
  }
  if (jobs.empty()) return 0;
  if (next_delta_sequence == 0) {
    next_delta_sequence = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
  }
  // The outcome events of this pass are ingested while the next groups are sent; the pass
  // returns once they are all durable, so a caller (RunDueNow, the simulated clock) sees them.
  std::mutex ingest_mu;
  std::condition_variable ingest_cv;
  size_t ingests_pending = 0;
  // Sent in groups, each settled (outbox records removed, counter deltas written) before the
  // next is sent: a crash resends at most one group, with the same idempotency keys. Within a
  // group each channel's messages go out together (SendAll: several at once on kept-alive
  // connections for the HTTP channels that allow it).
  constexpr size_t kSettleGroup = 64;
  std::vector<channel::DeliveryResult> results(jobs.size());
  for (size_t group = 0; group < jobs.size(); group += kSettleGroup) {
    const size_t group_end = std::min(jobs.size(), group + kSettleGroup);
    std::map<std::string, std::vector<size_t>> jobs_of_sender;  // sender key → job indexes
    std::vector<channel::OutboundMessage> messages(group_end - group);
    simdjson::dom::parser parser;
    for (size_t index = group; index < group_end; ++index) {
      Job& job = jobs[index];
      simdjson::dom::element root;
      if (parser.parse(job.record).get(root) != simdjson::SUCCESS) continue;
      if (job.config.type.empty()) {
        results[index].error = "channel " + job.channel_name + " is not configured";
        continue;
      }
      const std::string sender_key = std::to_string(job.project) + "/" + job.channel_name;
      auto& sender = senders[sender_key];
      if (!sender) {
        auto made = channel::MakeSender(job.config);
        if (!made.ok()) {
          results[index].error = made.status().message();
          continue;
        }
        sender = std::move(*made);
      }
      channel::OutboundMessage& message = messages[index - group];
      std::string_view text;
      if (root["touch_id"].get_string().get(text) == simdjson::SUCCESS)
        message.idempotency_key = std::string(text);
      if (root["recipient"].get_string().get(text) == simdjson::SUCCESS)
        message.recipient = std::string(text);
      if (root["subject"].get_string().get(text) == simdjson::SUCCESS)
        message.subject = std::string(text);
      if (root["body"].get_string().get(text) == simdjson::SUCCESS)
        message.body = std::string(text);
      simdjson::dom::element payload;
      if (root["payload"].get(payload) == simdjson::SUCCESS)
        message.payload_json = simdjson::minify(payload);
      message.now_ms = clock->NowMs();
      jobs_of_sender[sender_key].push_back(index);
    }
    for (const auto& [sender_key, indexes] : jobs_of_sender) {
      std::vector<channel::OutboundMessage> batch;
      batch.reserve(indexes.size());
      for (size_t index : indexes) batch.push_back(std::move(messages[index - group]));
      std::vector<channel::DeliveryResult> sent = senders[sender_key]->SendAll(batch);
      for (size_t k = 0; k < indexes.size(); ++k) results[indexes[k]] = std::move(sent[k]);
    }
    // Settle: outbox changes, counter deltas and outcome events of the group.
    state::KvStore::Batch batch;
    std::map<ProjectId, CounterDeltas> deltas;
    std::map<std::string, std::vector<Record>> events;  // project name → records
    std::vector<std::pair<ProjectId, std::string>> retried;  // outbox keys rewritten
    const int64_t settled_at = clock->NowMs();
    for (size_t index = group; index < group_end; ++index) {
      Job& job = jobs[index];
      simdjson::dom::element root;
      if (parser.parse(job.record).get(root) != simdjson::SUCCESS) {
        batch.Delete(job.key);
        continue;
      }
      const std::string_view journey_id = StringField(root, "journey");
      const std::string_view node_id = StringField(root, "node");
      const std::string_view touch_id = StringField(root, "touch_id");
      std::string distinct_id(StringField(root, "distinct_id"));
      int64_t attempts = IntField(root, "attempts");
      const int64_t user = IntField(root, "user");
      if (distinct_id.empty()) {  // records written before the field existed
        auto found = identities->DistinctIdOf(job.project, static_cast<UserId>(user));
        if (found.ok()) distinct_id = *found;
      }
      const channel::DeliveryResult& result = results[index];
      ++attempts;
      std::vector<std::pair<std::string, Value>> properties = {
          {"journey_id", Value::String(std::string(journey_id))},
          {"node", Value::String(std::string(node_id))},
          {"channel", Value::String(job.channel_name)},
          {"touch_id", Value::String(std::string(touch_id))},
          {"attempts", Value::Number(static_cast<double>(attempts))}};
      std::string outcome_event;
      if (result.delivered) {
        batch.Delete(job.key);
        ++deltas[job.project][std::string(journey_id)]["node." + std::string(node_id) +
                                                       ".delivered"];
        if (!result.provider_id.empty())
          properties.emplace_back("provider_id", Value::String(result.provider_id));
        outcome_event = "$touch_delivered";
      } else if (result.retryable && attempts < options.max_delivery_attempts) {
        JsonWriter out;
        out.BeginObject();
        for (auto field : simdjson::dom::object(root)) {
          if (field.key == "attempts" || field.key == "due" || field.key == "last_error") continue;
          out.Key(field.key).Raw(simdjson::minify(field.value));
        }
        out.Key("attempts").Int(attempts);
        out.Key("due").Int(settled_at + (options.first_retry_ms << (attempts - 1)));
        out.Key("last_error").String(result.error);
        out.EndObject();
        batch.Put(job.key, out.str());
        retried.emplace_back(job.project, job.key);
      } else {
        batch.Delete(job.key);
        ++deltas[job.project][std::string(journey_id)]["node." + std::string(node_id) +
                                                       ".failed"];
        properties.emplace_back("error", Value::String(result.error));
        properties.emplace_back("status", Value::Number(result.status));
        outcome_event = "$touch_failed";
      }
      if (outcome_event.empty() || distinct_id.empty()) continue;
      events[job.project_name].push_back(JourneyEventRecord(
          std::move(outcome_event), std::move(distinct_id), settled_at, std::move(properties)));
    }
    std::map<ProjectId, std::vector<std::string>> delta_keys;
    for (const auto& [project, counts] : deltas) {
      std::string key = JourneyKey(project, "d");
      state::AppendBigEndian64(next_delta_sequence++, &key);
      JsonWriter out;
      out.BeginObject();
      for (const auto& [journey_id, counters] : counts) {
        out.Key(journey_id).BeginObject();
        for (const auto& [counter, delta] : counters) out.Key(counter).Int(delta);
        out.EndObject();
      }
      out.EndObject();
      batch.Put(key, out.str());
      delta_keys[project].push_back(std::move(key));
    }
    if (!batch.empty()) {
      batch.SortByKey();
      (void)kv->Write(&batch);
    }
    // A retry stays at its key, below where the next scan would start.
    for (const auto& [project, key] : retried) NoteOutboxWritten(project, key);
    if (!delta_keys.empty()) {
      std::lock_guard state_lock(delivery_state_mu);
      for (auto& [project, keys] : delta_keys)
        settled[project].Add(std::move(keys), deltas[project]);
    }
    for (auto& [project_name, records] : events) {
      {
        std::lock_guard lock(ingest_mu);
        ++ingests_pending;
      }
      IngestEmitted(project_name, std::move(records), [&] {
        // Notified under the lock: once the count reaches zero the pass may return and
        // destroy the condition variable.
        std::lock_guard lock(ingest_mu);
        --ingests_pending;
        ingest_cv.notify_all();
      });
    }
  }
  std::unique_lock lock(ingest_mu);
  ingest_cv.wait(lock, [&] { return ingests_pending == 0; });
  return jobs.size();
}

void JourneyEngine::DeliveryLoop() {
  while (true) {
    {
      std::unique_lock lock(impl_->queue_mu);
      if (impl_->stopping) break;
    }
    const size_t settled = impl_->DeliverDue(256);
    if (settled == 0) {
      std::unique_lock lock(impl_->queue_mu);
      impl_->delivery_cv.wait_for(lock, std::chrono::milliseconds(impl_->options.delivery_poll_ms),
                                  [&] { return impl_->stopping; });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Advisor tasks and in-app messages

Result<JourneyAnswer> JourneyEngine::TaskAction(const state::ProjectInfo& project,
                                                const std::string& task_id,
                                                const std::string& action, std::string_view body,
                                                const std::string& only_advisor) {
  simdjson::dom::parser body_parser;
  simdjson::dom::element request;
  if (body_parser.parse(body.data(), body.size()).get(request) != simdjson::SUCCESS ||
      !request.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  PendingWork work;
  std::string answer;
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    const std::string key = JourneyKey(project.id, "k") + task_id;
    auto stored = impl_->kv->Get(key);
    if (!stored.ok()) return Status(ErrorCode::kNotFound, "no task " + task_id);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(*stored).get(root) != simdjson::SUCCESS)
      return Status(ErrorCode::kCorruption, "task " + task_id);
    std::string_view status, text, journey_id, node_id;
    status = StringField(root, "status");
    journey_id = StringField(root, "journey");
    node_id = StringField(root, "node");
    int64_t user = 0;
    user = IntField(root, "user");
    std::map<std::string, std::string> updates;  // field → JSON
    const int64_t now = impl_->clock->NowMs();
    auto json_string = [](std::string_view value) {
      JsonWriter writer;
      writer.String(value);
      return writer.Take();
    };
    if (!only_advisor.empty()) {
      const std::string_view assignee = StringField(root, "assignee");
      std::string_view claimed_as;
      const bool claims_as_self =
          request["assignee"].get_string().get(claimed_as) == simdjson::SUCCESS &&
          claimed_as == only_advisor;
      const bool own = assignee == only_advisor;
      if (action == "claim" ? !(claims_as_self && (assignee.empty() || own)) : !own) {
        return Status(ErrorCode::kForbidden,
                      "task " + task_id + " is not " + only_advisor +
                          "'s; an advisor claims unassigned tasks as themselves and completes "
                          "their own");
      }
    }
    if (action == "claim") {
      if (status == "completed")
        return Status(ErrorCode::kConflict, "task " + task_id + " is completed");
      if (request["assignee"].get_string().get(text) != simdjson::SUCCESS || text.empty()) {
        return Status(ErrorCode::kInvalidQuery, "assignee: required", "assignee");
      }
      updates["assignee"] = json_string(text);
      updates["status"] = "\"claimed\"";
      updates["claimed_ms"] = std::to_string(now);
    } else if (action == "complete") {
      if (status == "completed")
        return Status(ErrorCode::kConflict, "task " + task_id + " is completed");
      if (request["outcome"].get_string().get(text) != simdjson::SUCCESS || text.empty()) {
        return Status(ErrorCode::kInvalidQuery,
                      "outcome: required (e.g. \"interested\", \"not_reachable\")", "outcome");
      }
      const std::string outcome(text);
      std::string note;
      if (request["note"].get_string().get(text) == simdjson::SUCCESS) note = std::string(text);
      updates["outcome"] = json_string(outcome);
      updates["note"] = json_string(note);
      updates["status"] = "\"completed\"";
      updates["completed_ms"] = std::to_string(now);
      impl_->EmitLocked(**runtime, static_cast<UserId>(user), "$task_completed",
                        {{"task_id", Value::String(task_id)},
                         {"journey_id", Value::String(std::string(journey_id))},
                         {"node", Value::String(std::string(node_id))},
                         {"outcome", Value::String(outcome)}},
                        work);
      if (auto journey = (*runtime)->journeys.find(std::string(journey_id));
          journey != (*runtime)->journeys.end()) {
        impl_->Bump(journey->second, "node." + std::string(node_id) + ".completed");
        impl_->FlushCountersLocked(**runtime, work);
      }
    } else {
      return Status(ErrorCode::kNotFound, "no task action " + action + " (claim, complete)");
    }
    JsonWriter out;
    out.BeginObject();
    for (auto field : simdjson::dom::object(root)) {
      if (updates.count(std::string(field.key))) continue;
      out.Key(field.key).Raw(simdjson::minify(field.value));
    }
    for (const auto& [field, json] : updates) out.Key(field).Raw(json);
    out.EndObject();
    answer = out.Take();
    work.batch.Put(key, answer);
    impl_->WriteLocked(work);
  }
  impl_->ApplyPending(work);
  return JourneyAnswer{200, answer};
}

Result<JourneyAnswer> JourneyEngine::PullInApp(const state::ProjectInfo& project,
                                               const std::string& distinct_id) {
  auto user = impl_->identities->LookupDistinctId(project.id, distinct_id);
  if (!user.ok() || *user == 0) return JourneyAnswer{200, "{\"messages\":[]}"};
  PendingWork work;
  std::string out = "{\"messages\":[";
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    const std::string prefix = UserKey(project.id, "m", *user);
    bool first = true;
    SEXTANT_RETURN_IF_ERROR(
        impl_->kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
          simdjson::dom::parser parser;
          simdjson::dom::element root;
          if (parser.parse(value.data(), value.size()).get(root) != simdjson::SUCCESS) return true;
          std::string_view touch_id, title, body, journey_id, node_id;
          touch_id = StringField(root, "touch_id");
          title = StringField(root, "subject");
          body = StringField(root, "body");
          journey_id = StringField(root, "journey");
          node_id = StringField(root, "node");
          JsonWriter message;
          message.BeginObject();
          message.Key("message_id").String(touch_id);
          message.Key("title").String(title);
          message.Key("body").String(body);
          message.Key("journey_id").String(journey_id);
          message.EndObject();
          out += (first ? "" : ",") + message.str();
          first = false;
          work.batch.Delete(key);
          if (auto journey = (*runtime)->journeys.find(std::string(journey_id));
              journey != (*runtime)->journeys.end()) {
            impl_->Bump(journey->second, "node." + std::string(node_id) + ".delivered");
          }
          impl_->EmitLocked(**runtime, *user, "$touch_delivered",
                            {{"journey_id", Value::String(std::string(journey_id))},
                             {"node", Value::String(std::string(node_id))},
                             {"channel", Value::String("inapp")},
                             {"touch_id", Value::String(std::string(touch_id))}},
                            work);
          return true;
        }));
    impl_->FlushCountersLocked(**runtime, work);
    impl_->WriteLocked(work);
  }
  impl_->ApplyPending(work);
  return JourneyAnswer{200, out + "]}"};
}

}  // namespace sextant::journey
