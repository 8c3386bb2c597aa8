// JourneyEngine: lifecycle, persistence and the management API. The runtime (events, timers,
// nodes, touches) is in journey_runtime.cc, delivery in journey_delivery.cc.
#include "journey/journey_engine.h"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <future>
#include <random>

#include "channel/crypto.h"
#include "common/thread_name.h"
#include "common/thread_priority.h"
#include "journey/effect_stats.h"
#include "journey/journey_internal.h"
#include "query/spec_json.h"

namespace sextant::journey {
namespace {

using query::spec_json::element;
using query::spec_json::GetString;
using query::spec_json::Member;

Status NotFound(const std::string& what) { return Status(ErrorCode::kNotFound, what); }

JourneyAnswer Ok(std::string body, int status = 200) {
  return JourneyAnswer{status, std::move(body)};
}

Result<element> ParseObject(simdjson::dom::parser& parser, std::string_view body) {
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  return root;
}

std::string VersionKey(ProjectId project, const std::string& id, uint32_t version) {
  std::string key = JourneyKey(project, "v") + id + '\x1f';
  state::AppendBigEndian32(version, &key);
  return key;
}

void WriteMeta(const JourneyMeta& meta, JsonWriter& out) {
  out.Key("id").String(meta.id);
  out.Key("name").String(meta.name);
  out.Key("status").String(meta.status);
  out.Key("current_version").Uint(meta.current_version);
  out.Key("live_version").Uint(meta.live_version);
  out.Key("approved_version").Uint(meta.approved_version);
  out.Key("created_by").String(meta.created_by);
  out.Key("submitted_by").String(meta.submitted_by);
  out.Key("approved_by").String(meta.approved_by);
  out.Key("comment").String(meta.comment);
  out.Key("created_ms").Int(meta.created_ms);
  out.Key("updated_ms").Int(meta.updated_ms);
}

// A stored channel: "recipient_property" (the profile property holding the address) is ours;
// the rest is the channel adapter's configuration (docs/channels.md), "type": "inapp" excepted.
Result<ChannelEntry> ParseChannelEntry(const std::string& name, std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "channel configuration is not a JSON object");
  }
  ChannelEntry entry;
  entry.json = simdjson::minify(root);
  std::string_view text;
  bool has_recipient = false;
  if (root["recipient_property"].get_string().get(text) == simdjson::SUCCESS) {
    entry.recipient_property = std::string(text);
    has_recipient = true;
  }
  if (root["type"].get_string().get(text) == simdjson::SUCCESS && text == "inapp") {
    entry.inapp = true;
    return entry;
  }
  JsonWriter adapter;
  adapter.BeginObject();
  for (auto field : simdjson::dom::object(root)) {
    if (field.key == "recipient_property") continue;
    adapter.Key(field.key).Raw(simdjson::minify(field.value));
  }
  adapter.EndObject();
  auto config = channel::ParseChannelConfig(name, adapter.str());
  if (!config.ok()) return config.status();
  entry.config = std::move(*config);
  if (!has_recipient) {
    if (entry.config.type == "tencent_sms")
      entry.recipient_property = "phone";
    else if (entry.config.type == "smtp")
      entry.recipient_property = "email";
    else if (entry.config.type == "wechat_template")
      entry.recipient_property = "wechat_openid";
  }
  return entry;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encodings

std::string JourneyKey(ProjectId project, std::string_view space) {
  return "jrn/" + std::to_string(project) + "/" + std::string(space) + "/";
}

std::string InstanceKey(ProjectId project, const std::string& journey_id, UserId user) {
  std::string key = JourneyKey(project, "i") + journey_id + '\x1f';
  state::AppendBigEndian32(user, &key);
  return key;
}

std::string Instance::Encode() const {
  JsonWriter out;
  out.BeginObject();
  out.Key("s").Int(static_cast<int>(state));
  out.Key("v").Uint(version);
  out.Key("n").Int(node);
  out.Key("e").Uint(entries);
  out.Key("q").Uint(sequence);
  out.Key("in").Int(entered_ms);
  out.Key("out").Int(exited_ms);
  out.Key("due").Int(due_ms);
  out.Key("goal").Int(goal_ms);
  out.Key("c").Bool(control);
  out.Key("cl").Bool(claimed);
  out.Key("var").String(variant);
  out.Key("why").String(exit_reason);
  out.Key("pc").Uint(pending_count);
  out.Key("pf").Int(pending_first_ms);
  out.Key("ev").Raw(event_json.empty() ? "{}" : event_json);
  out.EndObject();
  return out.Take();
}

bool Instance::Decode(std::string_view bytes, Instance* out) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(bytes.data(), bytes.size()).get(root) != simdjson::SUCCESS) return false;
  int64_t number = 0;
  auto integer = [&](const char* key) -> int64_t {
    return root[key].get_int64().get(number) == simdjson::SUCCESS ? number : 0;
  };
  out->state = static_cast<State>(integer("s"));
  out->version = static_cast<uint32_t>(integer("v"));
  out->node = static_cast<int32_t>(integer("n"));
  out->entries = static_cast<uint32_t>(integer("e"));
  out->sequence = static_cast<uint32_t>(integer("q"));
  out->entered_ms = integer("in");
  out->exited_ms = integer("out");
  out->due_ms = integer("due");
  out->goal_ms = integer("goal");
  bool flag = false;
  out->control = root["c"].get_bool().get(flag) == simdjson::SUCCESS && flag;
  flag = false;
  out->claimed = root["cl"].get_bool().get(flag) == simdjson::SUCCESS && flag;
  std::string_view text;
  if (root["var"].get_string().get(text) == simdjson::SUCCESS) out->variant = std::string(text);
  if (root["why"].get_string().get(text) == simdjson::SUCCESS) out->exit_reason = std::string(text);
  out->pending_count = static_cast<uint32_t>(integer("pc"));
  out->pending_first_ms = integer("pf");
  element event;
  out->event_json = root["ev"].get(event) == simdjson::SUCCESS ? simdjson::minify(event) : "{}";
  return true;
}

std::string JourneyMeta::Encode() const {
  JsonWriter out;
  out.BeginObject();
  WriteMeta(*this, out);
  out.Key("ever_submitted").Bool(ever_submitted);
  out.EndObject();
  return out.Take();
}

bool JourneyMeta::Decode(std::string_view json, JourneyMeta* out) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return false;
  std::string_view text;
  for (auto [key, target] : {std::pair<const char*, std::string*>{"id", &out->id},
                             {"name", &out->name},
                             {"status", &out->status},
                             {"created_by", &out->created_by},
                             {"submitted_by", &out->submitted_by},
                             {"approved_by", &out->approved_by},
                             {"comment", &out->comment}}) {
    if (root[key].get_string().get(text) == simdjson::SUCCESS) *target = std::string(text);
  }
  int64_t number = 0;
  if (root["current_version"].get_int64().get(number) == simdjson::SUCCESS)
    out->current_version = static_cast<uint32_t>(number);
  if (root["live_version"].get_int64().get(number) == simdjson::SUCCESS)
    out->live_version = static_cast<uint32_t>(number);
  if (root["approved_version"].get_int64().get(number) == simdjson::SUCCESS)
    out->approved_version = static_cast<uint32_t>(number);
  if (root["created_ms"].get_int64().get(number) == simdjson::SUCCESS) out->created_ms = number;
  if (root["updated_ms"].get_int64().get(number) == simdjson::SUCCESS) out->updated_ms = number;
  bool flag = false;
  out->ever_submitted = root["ever_submitted"].get_bool().get(flag) == simdjson::SUCCESS && flag;
  return true;
}

PropertyMap ParsePropertiesJson(std::string_view json) {
  PropertyMap properties;
  simdjson::dom::parser parser;
  element root;
  simdjson::dom::object object;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(object) != simdjson::SUCCESS) {
    return properties;
  }
  for (auto field : object) {
    std::string_view text;
    double number = 0;
    bool boolean = false;
    if (field.value.get_string().get(text) == simdjson::SUCCESS) {
      properties.emplace_back(std::string(field.key), Value::String(std::string(text)));
    } else if (field.value.get_double().get(number) == simdjson::SUCCESS) {
      properties.emplace_back(std::string(field.key), Value::Number(number));
    } else if (field.value.get_bool().get(boolean) == simdjson::SUCCESS) {
      properties.emplace_back(std::string(field.key), Value::Bool(boolean));
    }
  }
  return properties;
}

std::string PropertiesJson(const PropertyMap& properties, const TimeZone& zone) {
  JsonWriter out;
  out.BeginObject();
  for (const auto& [name, value] : properties) {
    out.Key(name);
    out.PropertyValue(value, zone);
  }
  out.EndObject();
  return out.Take();
}

// ---------------------------------------------------------------------------------------------
// Engine lifecycle

JourneyEngine::JourneyEngine(JourneyEngineOptions options, state::KvStore* kv,
                             state::ProjectRegistry* projects, state::SchemaRegistry* schemas,
                             identity::IdentityStore* identities, profile::ProfileStore* profiles,
                             audience::AudienceEngine* audience, ingest::IngestPipeline* pipeline,
                             Clock* clock)
    : impl_(std::make_unique<Impl>(this, options, kv, projects, schemas, identities, profiles,
                                   audience, pipeline, clock)) {}

JourneyEngine::~JourneyEngine() { Stop(); }

Status JourneyEngine::Start() {
  {
    std::lock_guard lock(impl_->mu);
    auto operators = impl_->kv->Get("jrn/operators");
    if (operators.ok()) {
      simdjson::dom::parser parser;
      element root;
      simdjson::dom::object object;
      if (parser.parse(*operators).get(root) == simdjson::SUCCESS &&
          root.get_object().get(object) == simdjson::SUCCESS) {
        for (auto field : object) {
          simdjson::dom::array roles;
          if (field.value.get_array().get(roles) != simdjson::SUCCESS) continue;
          for (element role : roles) {
            std::string_view text;
            if (role.get_string().get(text) == simdjson::SUCCESS) {
              impl_->operators[std::string(field.key)].emplace(text);
            }
          }
        }
      }
    }
    for (const auto& project : impl_->projects->List()) {
      auto runtime = impl_->RuntimeLocked(*project);
      if (!runtime.ok()) return runtime.status();
    }
  }
  SEXTANT_RETURN_IF_ERROR(impl_->LoadQueue());
  impl_->emitter = std::thread([impl = impl_.get()] {
    SetCurrentThreadName("journey-emit");
    impl->EmitterLoop();
  });
  // Shared with the thread: set_value may still be running when get() below returns, so the
  // promise must not live on this stack.
  auto priority_set = std::make_shared<std::promise<std::string>>();
  std::future<std::string> priority_refused = priority_set->get_future();
  impl_->worker = std::thread([this, priority_set] {
    SetCurrentThreadName("journey-decide");
    priority_set->set_value(SetCurrentThreadNice(kDecisionThreadNice));
    WorkerLoop();
  });
  decision_priority_refused_ = priority_refused.get();
  decision_thread_nice_ = decision_priority_refused_.empty() ? kDecisionThreadNice : 0;
  impl_->delivery = std::thread([this] {
    SetCurrentThreadName("journey-deliver");
    DeliveryLoop();
  });
  return Status::Ok();
}

void JourneyEngine::Stop() {
  {
    std::lock_guard lock(impl_->queue_mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  impl_->delivery_cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  if (impl_->delivery.joinable()) impl_->delivery.join();
  // The worker's last events: handed to the pipeline, then durable.
  {
    std::unique_lock lock(impl_->queue_mu);
    impl_->emitter_stopping = true;
  }
  impl_->emit_cv.notify_all();
  if (impl_->emitter.joinable()) impl_->emitter.join();
  std::unique_lock lock(impl_->queue_mu);
  impl_->drained_cv.wait(lock, [&] { return impl_->ingests_in_flight == 0; });
}

Result<std::pair<ProjectRuntime*, JourneyState*>> JourneyEngine::Impl::JourneyLocked(
    const state::ProjectInfo& project, const std::string& id) {
  auto runtime = RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  auto found = (*runtime)->journeys.find(id);
  if (found == (*runtime)->journeys.end()) return NotFound("no journey " + id);
  return std::make_pair(*runtime, &found->second);
}

Result<ProjectRuntime*> JourneyEngine::Impl::RuntimeLocked(const state::ProjectInfo& project) {
  ProjectRuntime& runtime = runtimes[project.id];
  if (!runtime.info) runtime.info = projects->Find(project.name);
  if (!runtime.info) return NotFound("no project " + project.name);
  if (!runtime.loaded) SEXTANT_RETURN_IF_ERROR(LoadLocked(runtime));
  return &runtime;
}

Status JourneyEngine::Impl::LoadLocked(ProjectRuntime& runtime) {
  const ProjectId pid = runtime.info->id;
  auto rules = kv->Get(JourneyKey(pid, "cfg") + "rules");
  if (rules.ok()) {
    auto parsed = ParseTouchRules(*rules);
    if (parsed.ok()) runtime.rules = std::move(*parsed);
  }
  std::string prefix = JourneyKey(pid, "ch");
  SEXTANT_RETURN_IF_ERROR(kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    std::string name(key.substr(prefix.size()));
    auto entry = ParseChannelEntry(name, value);
    if (!entry.ok()) return true;
    runtime.channels[name] = std::move(*entry);
    return true;
  }));
  prefix = JourneyKey(pid, "tpl");
  SEXTANT_RETURN_IF_ERROR(kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(value.data(), value.size()).get(root) != simdjson::SUCCESS) return true;
    TemplateDef def;
    std::string_view text;
    for (auto [field, target] : {std::pair<const char*, std::string*>{"name", &def.name},
                                 {"channel", &def.channel},
                                 {"subject", &def.subject},
                                 {"body", &def.body},
                                 {"status", &def.status},
                                 {"created_by", &def.created_by},
                                 {"approved_by", &def.approved_by}}) {
      if (root[field].get_string().get(text) == simdjson::SUCCESS) *target = std::string(text);
    }
    bool flag = false;
    def.recommends_item = root["recommends_item"].get_bool().get(flag) == simdjson::SUCCESS && flag;
    element approved;
    if (root["approved"].get(approved) == simdjson::SUCCESS) {
      def.has_approved = true;
      def.approved_subject = std::string(StringField(approved, "subject"));
      def.approved_body = std::string(StringField(approved, "body"));
    }
    def.json = std::string(value);
    runtime.templates[TemplateKey(def.name, def.channel)] = std::move(def);
    return true;
  }));
  prefix = JourneyKey(pid, "j");
  std::vector<JourneyMeta> metas;
  SEXTANT_RETURN_IF_ERROR(kv->ScanPrefix(prefix, [&](std::string_view, std::string_view value) {
    JourneyMeta meta;
    if (JourneyMeta::Decode(value, &meta)) metas.push_back(std::move(meta));
    return true;
  }));
  for (JourneyMeta& meta : metas) {
    JourneyState& journey = runtime.journeys[meta.id];
    journey.meta = std::move(meta);
    const std::string version_prefix = JourneyKey(pid, "v") + journey.meta.id + '\x1f';
    SEXTANT_RETURN_IF_ERROR(
        kv->ScanPrefix(version_prefix, [&](std::string_view key, std::string_view value) {
          auto definition = ParseJourneyDefinition(value);
          if (definition.ok()) {
            journey.versions[state::ReadBigEndian32(key.substr(version_prefix.size()))] =
                std::make_shared<const JourneyDefinition>(std::move(*definition));
          }
          return true;
        }));
    auto counters = kv->Get(JourneyKey(pid, "c") + journey.meta.id);
    if (counters.ok()) {
      simdjson::dom::parser parser;
      element root;
      simdjson::dom::object object;
      if (parser.parse(*counters).get(root) == simdjson::SUCCESS &&
          root.get_object().get(object) == simdjson::SUCCESS) {
        for (auto field : object) {
          int64_t value = 0;
          if (field.value.get_int64().get(value) == simdjson::SUCCESS)
            journey.counters[std::string(field.key)] = value;
        }
      }
    }
    const std::string instance_prefix = JourneyKey(pid, "i") + journey.meta.id + '\x1f';
    SEXTANT_RETURN_IF_ERROR(
        kv->ScanPrefix(instance_prefix, [&](std::string_view key, std::string_view value) {
          Instance instance;
          if (!Instance::Decode(value, &instance)) return true;
          const UserId user = state::ReadBigEndian32(key.substr(instance_prefix.size()));
          journey.with_instance.add(user);
          if (const std::string* node_id = journey.ActiveNodeId(instance))
            journey.at_node[*node_id].add(user);
          if (instance.state == Instance::State::kActive ||
              instance.state == Instance::State::kPending) {
            journey.active.add(user);
            auto version = journey.versions.find(instance.version);
            const bool waits_event =
                instance.state == Instance::State::kPending ||
                (version != journey.versions.end() && instance.node >= 0 &&
                 instance.node < static_cast<int>(version->second->nodes.size()) &&
                 version->second->nodes[instance.node].kind == JourneyNode::Kind::kWaitEvent);
            if (waits_event) journey.waiting.add(user);
          }
          return true;
        }));
    if (journey.meta.status == "running") ComputeNextFireLocked(runtime, journey, clock->NowMs());
  }
  if (auto sequence = kv->Get(JourneyKey(pid, "seq") + "journey"); !sequence.ok()) {
    (void)kv->Put(JourneyKey(pid, "seq") + "journey", std::to_string(runtime.journeys.size()));
  }
  auto secret = kv->Get(JourneyKey(pid, "cfg") + "secret");
  if (secret.ok()) {
    runtime.unsubscribe_secret = *secret;
  } else {
    std::random_device random;
    for (int i = 0; i < 4; ++i) runtime.unsubscribe_secret += std::to_string(random());
    runtime.unsubscribe_secret = channel::Sha256Hex(runtime.unsubscribe_secret);
    SEXTANT_RETURN_IF_ERROR(kv->Put(JourneyKey(pid, "cfg") + "secret", runtime.unsubscribe_secret));
  }
  // Delivery outcomes a crash left unfolded: queued as if just settled.
  {
    SettledOutcomes leftover;
    simdjson::dom::parser parser;
    SEXTANT_RETURN_IF_ERROR(
        kv->ScanPrefix(JourneyKey(pid, "d"), [&](std::string_view key, std::string_view value) {
          leftover.delta_keys.emplace_back(key);
          element root;
          simdjson::dom::object journeys;
          if (parser.parse(value.data(), value.size()).get(root) != simdjson::SUCCESS ||
              root.get_object().get(journeys) != simdjson::SUCCESS) {
            return true;  // unreadable: deleted with the others, counts nothing
          }
          for (auto journey : journeys) {
            simdjson::dom::object counters;
            if (journey.value.get_object().get(counters) != simdjson::SUCCESS) continue;
            for (auto counter : counters) {
              int64_t delta = 0;
              if (counter.value.get_int64().get(delta) == simdjson::SUCCESS)
                leftover.deltas[std::string(journey.key)][std::string(counter.key)] += delta;
            }
          }
          return true;
        }));
    if (!leftover.delta_keys.empty()) {
      std::lock_guard state_lock(delivery_state_mu);
      settled[pid].Add(std::move(leftover.delta_keys), leftover.deltas);
    }
  }
  runtime.loaded = true;
  RebuildIndexLocked(runtime);
  PublishDeliverySourceLocked(runtime);
  return Status::Ok();
}

TimeZone JourneyEngine::Impl::ZoneOf(const ProjectRuntime& runtime,
                                     const JourneyDefinition& definition) const {
  if (!definition.time_zone.empty()) {
    if (auto zone = TimeZone::FromName(definition.time_zone)) return *zone;
  }
  return runtime.info->time_zone;
}

void JourneyEngine::Impl::RebuildIndexLocked(ProjectRuntime& runtime) {
  state::ProjectSchema* schema = schemas->ForProject(*runtime.info);
  runtime.index.clear();
  runtime.unresolved_names = false;
  auto add = [&](const std::string& name, const std::string& journey_id, JourneyState* state,
                 bool as_event_entry = false) {
    if (name.empty()) return;
    const store::EventId event = schema->FindEvent(name);
    if (event == 0) {
      runtime.unresolved_names = true;
      return;
    }
    auto& entry = runtime.index[event];
    entry.event_name = name;
    auto& list = entry.journeys;
    const auto listed = std::find(list.begin(), list.end(), journey_id);
    if (listed == list.end()) {
      list.push_back(journey_id);
      entry.states.push_back(state);
      entry.entry_only.push_back(as_event_entry ? 1 : 0);
    } else if (!as_event_entry) {
      entry.entry_only[listed - list.begin()] = 0;
    }
  };
  for (auto& [id, journey] : runtime.journeys) {
    // Running journeys take entries; paused and ended ones still follow customers inside.
    if (journey.meta.live_version == 0) continue;
    for (auto& [version, definition] : journey.versions) {
      if (version > journey.meta.live_version) continue;
      const EntrySpec& entry = definition->entry;
      switch (entry.kind) {
        case EntrySpec::Kind::kEvent:
          add(entry.event.event, id, &journey, /*as_event_entry=*/true);
          break;
        case EntrySpec::Kind::kBreakpoint:
          add(entry.event.event, id, &journey);
          add(entry.not_followed_by.event, id, &journey);
          break;
        case EntrySpec::Kind::kSegmentEnter:
          add("$segment_enter", id, &journey);
          break;
        case EntrySpec::Kind::kSegmentExit:
          add("$segment_exit", id, &journey);
          break;
        default:
          break;
      }
      add(definition->goal.event, id, &journey);
      for (const EventMatcher& exit : definition->exit_when) add(exit.event, id, &journey);
      for (const JourneyNode& node : definition->nodes) {
        if (node.kind == JourneyNode::Kind::kWaitEvent) add(node.wait_event.event, id, &journey);
      }
    }
  }
  // Clicks feed the best-channel choice.
  for (auto& [id, journey] : runtime.journeys) {
    for (const auto& [version, definition] : journey.versions) {
      for (const JourneyNode& node : definition->nodes) {
        if (node.best_channel) add("$touch_clicked", "", nullptr);
      }
    }
  }
  for (auto& [event, entry] : runtime.index) {
    entry.live_entry.assign(entry.journeys.size(), nullptr);
    entry.live_zone.assign(entry.journeys.size(), runtime.info->time_zone);
    for (size_t listed = 0; listed < entry.journeys.size(); ++listed) {
      const JourneyState* state = entry.states[listed];
      if (state == nullptr || !entry.entry_only[listed] || state->meta.status != "running")
        continue;
      const JourneyDefinition* live = state->live();
      if (live == nullptr || live->entry.kind != EntrySpec::Kind::kEvent ||
          live->entry.event.event != entry.event_name)
        continue;
      entry.live_entry[listed] = &live->entry.event;
      entry.live_zone[listed] = ZoneOf(runtime, *live);
    }
  }
  auto interest = std::make_shared<ingest::EventInterest>();
  if (runtime.unresolved_names) {
    interest->new_events_from =
        static_cast<store::EventId>(schema->List(state::SchemaKind::kEvent).size() + 1);
  }
  for (const auto& [event, journeys] : runtime.index) {
    if (interest->by_event.size() <= event) interest->by_event.resize(event + 1, 0);
    interest->by_event[event] = 1;
  }
  std::lock_guard interest_lock(interest_mu);
  interests[runtime.info->id] = std::move(interest);
}

const std::string* JourneyState::ActiveNodeId(const Instance& instance) const {
  if (instance.state != Instance::State::kActive) return nullptr;
  auto version = versions.find(instance.version);
  if (version == versions.end() || instance.node < 0 ||
      instance.node >= static_cast<int>(version->second->nodes.size())) {
    return nullptr;
  }
  return &version->second->nodes[instance.node].id;
}

void JourneyState::PlaceAtNode(UserId user, const Instance& instance) {
  const std::string* node_id = ActiveNodeId(instance);
  Roaring* target = nullptr;
  if (node_id != nullptr) {
    target = &at_node[*node_id];
    if (target->contains(user)) return;  // stayed at a node of the same id
  }
  // A customer is at one node at most: the first removal is the only one.
  for (auto& [id, members] : at_node) {
    if (&members != target && members.removeChecked(user)) break;
  }
  if (target != nullptr) target->add(user);
}

void JourneyEngine::Impl::Bump(JourneyState& journey, const std::string& counter, int64_t delta) {
  journey.counters[counter] += delta;
  if (!journey.counters_dirty) {
    journey.counters_dirty = true;
    journeys_with_dirty_counters.push_back(&journey);
  }
}

void JourneyEngine::Impl::PublishDeliverySourceLocked(const ProjectRuntime& runtime) {
  DeliverySource source{runtime.info->name, {}};
  for (const auto& [name, entry] : runtime.channels) source.channels.emplace(name, entry.config);
  std::lock_guard state_lock(delivery_state_mu);
  delivery_sources[runtime.info->id] = std::move(source);
}

std::map<std::string, int64_t> JourneyEngine::Impl::CountersLocked(ProjectId project,
                                                                   const JourneyState& journey) {
  std::map<std::string, int64_t> counters = journey.counters;
  std::lock_guard state_lock(delivery_state_mu);
  auto outcomes = settled.find(project);
  if (outcomes == settled.end()) return counters;
  auto deltas = outcomes->second.deltas.find(journey.meta.id);
  if (deltas == outcomes->second.deltas.end()) return counters;
  for (const auto& [counter, delta] : deltas->second) counters[counter] += delta;
  return counters;
}

Status AppendLifecycleLocked(JourneyEngine::Impl& impl, ProjectId project, const JourneyMeta& meta,
                             const std::string& action, const std::string& actor,
                             state::KvStore::Batch* batch) {
  // The audit trail of lifecycle actions sits in the ledger with the touch decisions.
  JsonWriter entry;
  entry.BeginObject();
  entry.Key("kind").String("lifecycle");
  entry.Key("journey").String(meta.id);
  entry.Key("action").String(action);
  entry.Key("operator").String(actor);
  entry.Key("version").Uint(meta.current_version);
  entry.Key("status").String(meta.status);
  if (action == "publish") entry.Key("comment").String(meta.comment);  // the migration's counts
  entry.Key("time").Int(impl.clock->NowMs());
  entry.EndObject();
  auto appended = impl.ledger.Append(project, 0, meta.id, entry.str(), batch);
  return appended.ok() ? Status::Ok() : appended.status();
}

Status JourneyEngine::Impl::SaveMetaLocked(ProjectRuntime& runtime, const JourneyState& journey,
                                           state::KvStore::Batch* batch) {
  batch->Put(JourneyKey(runtime.info->id, "j") + journey.meta.id, journey.meta.Encode());
  return Status::Ok();
}

Status JourneyEngine::Impl::CheckReferencesLocked(ProjectRuntime& runtime,
                                                  const JourneyDefinition& definition) {
  if (!definition.entry.segment.empty()) {
    auto segment = audience->SegmentIdOf(*runtime.info, definition.entry.segment);
    if (!segment.ok()) {
      return Status(ErrorCode::kInvalidQuery,
                    "entry.segment: no segment " + definition.entry.segment, "entry.segment");
    }
  }
  for (const JourneyNode& node : definition.nodes) {
    const std::string path = "nodes." + node.id;
    for (const std::string& channel : node.channels) {
      if (!runtime.channels.count(channel)) {
        return Status(ErrorCode::kInvalidQuery,
                      path + ".channel: no channel \"" + channel +
                          "\" is configured (PUT /channels/" + channel + ")",
                      path + ".channel");
      }
    }
    if (node.kind == JourneyNode::Kind::kSend) {
      for (const std::string& channel : node.channels) {
        const std::string what = "template \"" + node.template_name + "\" for channel " + channel;
        auto found = runtime.templates.find(TemplateKey(node.template_name, channel));
        if (found == runtime.templates.end()) {
          return Status(ErrorCode::kInvalidQuery, path + ".template: no " + what,
                        path + ".template");
        }
        if (!found->second.has_approved) {
          return Status(ErrorCode::kInvalidQuery, path + ".template: " + what + " is not approved",
                        path + ".template");
        }
        if (found->second.recommends_item && !node.item.present()) {
          return Status(ErrorCode::kInvalidQuery,
                        path + ".item: the template recommends a product; name the item",
                        path + ".item");
        }
      }
    }
    std::function<Status(const SplitCondition&)> check =
        [&](const SplitCondition& condition) -> Status {
      if (condition.kind == SplitCondition::Kind::kSegment) {
        if (!audience->SegmentIdOf(*runtime.info, condition.name).ok()) {
          return Status(ErrorCode::kInvalidQuery, path + ".condition: no segment " + condition.name,
                        path + ".condition");
        }
      }
      for (const auto& child : condition.children) SEXTANT_RETURN_IF_ERROR(check(child));
      return Status::Ok();
    };
    if (node.kind == JourneyNode::Kind::kSplit) SEXTANT_RETURN_IF_ERROR(check(node.condition));
  }
  return Status::Ok();
}

bool JourneyEngine::Impl::WriteLocked(PendingWork& work) { return WriteBatch(work); }

bool JourneyEngine::Impl::WriteBatch(PendingWork& work) {
  if (work.dry_run) return true;
  bool written = true;
  if (!work.batch.empty()) {
    // In key order, each memtable insert starts where the previous one ended; a step's keys in
    // decision order (instance, timer, ledger, outbox, ... per customer) made every insert a
    // full skip-list search — 27 % of a mass send's decision thread.
    work.batch.SortByKey();
    written = kv->Write(&work.batch).ok();
    work.batch.rep()->Clear();
  }
  work.staged.clear();
  for (const auto& [project, key] : work.outbox_lowest) NoteOutboxWritten(project, key);
  work.outbox_lowest.clear();
  return written;
}

void JourneyEngine::Impl::NoteOutboxWritten(ProjectId project, const std::string& key) {
  std::lock_guard state_lock(delivery_state_mu);
  KeepLowestKey(outbox_written_below, project, key);
}

void JourneyEngine::Impl::IngestEmitted(const std::string& project, std::vector<Record> records,
                                        std::function<void()> done) {
  if (pipeline == nullptr) {
    for (Record& record : records) {
      if (emitted != nullptr) emitted->emplace_back(clock->NowMs(), std::move(record));
    }
    done();
    return;
  }
  ingest::RequestContext context;
  context.source = "journey";
  // No peer: the server's own events carry no $ip (it would be the loopback address).
  context.all_projects_authorized = true;
  std::vector<ingest::RecordInput> inputs(records.size());
  for (size_t index = 0; index < records.size(); ++index)
    inputs[index].parsed = std::move(records[index]);
  pipeline->Ingest(project, std::move(inputs), context,
                   [done = std::move(done)](ingest::IngestOutcome, Status) { done(); });
}

void JourneyEngine::Impl::ResolveEmittedUsers(EmittedBatch& batch) {
  size_t kept = 0;
  for (size_t index = 0; index < batch.records.size(); ++index) {
    Record& record = batch.records[index];
    if (const UserId user = batch.users[index]; user != 0) {
      record.distinct_id = DistinctIdLocked(batch.project_id, user);  // needs no `mu`
      if (record.distinct_id.empty()) continue;                      // erased: nothing to say
    }
    if (kept != index) batch.records[kept] = std::move(record);
    ++kept;
  }
  batch.records.resize(kept);
  batch.users.assign(kept, 0);
}

void JourneyEngine::Impl::EmitInBackground(PendingWork& work) {
  size_t batches = 0;
  for (const EmittedBatch& batch : work.events) {
    batches += batch.records.empty() ? 0 : 1;
    // Capped, so that one huge step does not make every later batch reserve megabytes.
    constexpr size_t kMaxHint = 1 << 16;
    emitted_batch_records_hint =
        std::max(emitted_batch_records_hint, std::min(batch.records.size(), kMaxHint));
  }
  if (batches == 0) {
    work.events.clear();
    return;
  }
  {
    std::unique_lock lock(queue_mu);
    emit_cv.wait(lock, [&] { return emit_queue.size() < kEmitQueueSteps; });
    ingests_in_flight += batches;
    emit_queue.push_back(std::move(work.events));
  }
  work.events.clear();
  emit_cv.notify_all();
}

void JourneyEngine::Impl::EmitterLoop() {
  std::unique_lock lock(queue_mu);
  while (true) {
    emit_cv.wait(lock, [&] { return !emit_queue.empty() || emitter_stopping; });
    if (emit_queue.empty()) return;  // stopping, and everything handed over
    EmittedEvents events = std::move(emit_queue.front());
    emit_queue.pop_front();
    lock.unlock();
    emit_cv.notify_all();  // room for the worker
    for (EmittedBatch& batch : events) {
      if (batch.records.empty()) continue;
      ResolveEmittedUsers(batch);
      IngestEmitted(batch.project, std::move(batch.records), [this] {
        {
          std::lock_guard queue_lock(queue_mu);
          --ingests_in_flight;
        }
        drained_cv.notify_all();
      });
    }
    lock.lock();
  }
}

void JourneyEngine::Impl::ApplyPending(PendingWork& work) {
  if (work.dry_run) return;
  WriteBatch(work);
  for (EmittedBatch& batch : work.events) {
    if (batch.records.empty()) continue;
    ResolveEmittedUsers(batch);
    // Waits for the ingest to be durable so that callers (RunDueNow, tests) see its effects.
    std::promise<void> done;
    auto future = done.get_future();
    IngestEmitted(batch.project, std::move(batch.records), [&done] { done.set_value(); });
    future.wait();
  }
  work.events.clear();
}

// ---------------------------------------------------------------------------------------------
// Operators

Result<JourneyAnswer> JourneyEngine::SetOperators(std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  std::map<std::string, std::set<std::string>> operators;
  for (auto field : simdjson::dom::object(*root)) {
    simdjson::dom::array roles;
    const std::string path = std::string(field.key);
    if (field.value.get_array().get(roles) != simdjson::SUCCESS) {
      return Status(ErrorCode::kInvalidQuery,
                    path + ": must be a list of roles (maker, approver, operator)", path);
    }
    for (element role : roles) {
      std::string_view text;
      if (role.get_string().get(text) != simdjson::SUCCESS ||
          (text != "maker" && text != "approver" && text != "operator")) {
        return Status(ErrorCode::kInvalidQuery, path + ": roles are maker, approver, operator",
                      path);
      }
      operators[path].emplace(text);
    }
  }
  std::lock_guard lock(impl_->mu);
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Put("jrn/operators", simdjson::minify(*root)));
  impl_->operators = std::move(operators);
  return Ok(std::string(simdjson::minify(*root)));
}

std::set<std::string> JourneyEngine::OperatorRoles(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->operators.find(name);
  return found == impl_->operators.end() ? std::set<std::string>() : found->second;
}

Result<JourneyAnswer> JourneyEngine::GetOperators() {
  std::lock_guard lock(impl_->mu);
  JsonWriter out;
  out.BeginObject();
  for (const auto& [name, roles] : impl_->operators) {
    out.Key(name).BeginArray();
    for (const auto& role : roles) out.String(role);
    out.EndArray();
  }
  out.EndObject();
  return Ok(out.Take());
}

// ---------------------------------------------------------------------------------------------
// Journeys

namespace {

// `counters`: the journey's counters with unfolded delivery outcomes (CountersLocked).
void WriteJourney(const JourneyState& journey, const std::map<std::string, int64_t>& counters,
                  bool with_definition, JsonWriter& out, const Roaring* visible = nullptr) {
  out.BeginObject();
  WriteMeta(journey.meta, out);
  out.Key("customers_inside")
      .Uint(visible ? journey.active.and_cardinality(*visible) : journey.active.cardinality());
  // The report's headline counters, so that a list of hundreds of journeys needs no report
  // per journey. They span every branch: a branch-scoped caller (visible) does not get them.
  if (auto current = journey.versions.find(journey.meta.current_version);
      current != journey.versions.end()) {
    out.Key("priority").Int(current->second->priority);  // of the current version
  }
  if (visible == nullptr) {
    auto count = [&](const char* name) -> int64_t {
      auto it = counters.find(name);
      return it == counters.end() ? 0 : it->second;
    };
    out.Key("entered").Int(count("entered"));
    out.Key("exited").Int(count("exited"));
    out.Key("goal_reached").Int(count("goal"));
  }
  if (with_definition) {
    auto found = journey.versions.find(journey.meta.current_version);
    if (found != journey.versions.end()) out.Key("definition").Raw(found->second->json);
  }
  out.EndObject();
}

}  // namespace

Result<JourneyAnswer> JourneyEngine::CreateJourney(const state::ProjectInfo& project,
                                                   const std::string& actor,
                                                   std::string_view body) {
  auto definition = ParseJourneyDefinition(body);
  if (!definition.ok()) return definition.status();
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  const ProjectId pid = project.id;
  const std::string sequence_key = JourneyKey(pid, "seq") + "journey";
  auto last = impl_->kv->Get(sequence_key);
  uint64_t next = last.ok() ? std::strtoull(last->c_str(), nullptr, 10) + 1 : 1;
  JourneyState& journey = (*runtime)->journeys["j" + std::to_string(next)];
  journey.meta.id = "j" + std::to_string(next);
  journey.meta.name = definition->name;
  journey.meta.created_by = actor;
  journey.meta.created_ms = journey.meta.updated_ms = impl_->clock->NowMs();
  journey.versions[1] = std::make_shared<const JourneyDefinition>(std::move(*definition));
  state::KvStore::Batch batch;
  batch.Put(sequence_key, std::to_string(next));
  batch.Put(VersionKey(pid, journey.meta.id, 1), journey.versions[1]->json);
  SEXTANT_RETURN_IF_ERROR(impl_->SaveMetaLocked(**runtime, journey, &batch));
  SEXTANT_RETURN_IF_ERROR(
      AppendLifecycleLocked(*impl_, project.id, journey.meta, "create", actor, &batch));
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Write(&batch));
  JsonWriter out;
  WriteJourney(journey, impl_->CountersLocked(project.id, journey), true, out);
  return Ok(out.Take(), 201);
}

Result<JourneyAnswer> JourneyEngine::ListJourneys(const state::ProjectInfo& project,
                                                  const Roaring* visible) {
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  JsonWriter out;
  out.BeginObject().Key("journeys").BeginArray();
  for (const auto& [id, journey] : (*runtime)->journeys) {
    WriteJourney(journey, impl_->CountersLocked(project.id, journey), false, out, visible);
  }
  out.EndArray().EndObject();
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::GetJourney(const state::ProjectInfo& project,
                                                const std::string& id, const Roaring* visible) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  JsonWriter out;
  WriteJourney(*found->second, impl_->CountersLocked(project.id, *found->second), true, out,
               visible);
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::UpdateJourney(const state::ProjectInfo& project,
                                                   const std::string& id, const std::string& actor,
                                                   std::string_view body) {
  auto definition = ParseJourneyDefinition(body);
  if (!definition.ok()) return definition.status();
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  JourneyState& journey = *found->second;
  if (journey.meta.status == "ended")
    return Status(ErrorCode::kConflict, "journey " + id + " has ended");
  if (journey.meta.status == "submitted") {
    return Status(ErrorCode::kConflict,
                  "journey " + id + " is under review: reject it before editing");
  }
  // A version that was ever submitted is frozen: edits make a new version.
  const bool frozen = journey.meta.ever_submitted &&
                      (journey.meta.current_version <= journey.meta.approved_version ||
                       journey.meta.current_version <= journey.meta.live_version);
  if (frozen) ++journey.meta.current_version;
  // An edit voids any review of what came before: the new content must be submitted (and its
  // references checked) before anyone can approve it.
  journey.meta.submitted_by.clear();
  journey.meta.name = definition->name;
  journey.meta.updated_ms = impl_->clock->NowMs();
  if (journey.meta.status == "draft" || journey.meta.status == "approved")
    journey.meta.status = "draft";
  journey.meta.comment.clear();
  journey.versions[journey.meta.current_version] =
      std::make_shared<const JourneyDefinition>(std::move(*definition));
  state::KvStore::Batch batch;
  batch.Put(VersionKey(project.id, id, journey.meta.current_version),
            journey.versions[journey.meta.current_version]->json);
  SEXTANT_RETURN_IF_ERROR(impl_->SaveMetaLocked(*found->first, journey, &batch));
  SEXTANT_RETURN_IF_ERROR(
      AppendLifecycleLocked(*impl_, project.id, journey.meta, "edit", actor, &batch));
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Write(&batch));
  JsonWriter out;
  WriteJourney(journey, impl_->CountersLocked(project.id, journey), true, out);
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::DeleteJourney(const state::ProjectInfo& project,
                                                   const std::string& id, const std::string&) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  if (found->second->meta.live_version != 0) {
    return Status(ErrorCode::kConflict,
                  "journey " + id + " has run; stop it instead (its ledger and report stay)");
  }
  state::KvStore::Batch batch;
  batch.Delete(JourneyKey(project.id, "j") + id);
  for (const auto& [version, definition] : found->second->versions)
    batch.Delete(VersionKey(project.id, id, version));
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Write(&batch));
  std::erase(impl_->journeys_with_dirty_counters, found->second);
  found->first->journeys.erase(id);
  return Ok("{\"deleted\":\"" + id + "\"}");
}

Result<JourneyAnswer> JourneyEngine::JourneyVersions(const state::ProjectInfo& project,
                                                     const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  JsonWriter out;
  out.BeginObject().Key("versions").BeginArray();
  for (const auto& [version, definition] : found->second->versions) {
    out.BeginObject();
    out.Key("version").Uint(version);
    out.Key("live").Bool(version == found->second->meta.live_version);
    out.Key("approved").Bool(version <= found->second->meta.approved_version);
    out.Key("definition").Raw(definition->json);
    out.EndObject();
  }
  out.EndArray().EndObject();
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::JourneyAction(const state::ProjectInfo& project,
                                                   const std::string& id, const std::string& action,
                                                   const JourneyActor& acting,
                                                   std::string_view body) {
  const std::string& actor = acting.name;
  std::unique_lock lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  JourneyState& journey = *found->second;
  JourneyMeta& meta = journey.meta;
  auto has_role = [&](const std::string& role) { return acting.Has(role); };
  auto conflict = [&](const std::string& why) {
    return Status(ErrorCode::kConflict,
                  "cannot " + action + " journey " + id + " (" + meta.status + "): " + why);
  };
  if (actor.empty()) {
    return Status(ErrorCode::kForbidden,
                  "name the acting operator in the X-Sextant-Operator header");
  }
  const int64_t now = impl_->clock->NowMs();
  bool went_live = false;
  PendingWork publish_work;  // the action's writes (a "move" publish adds the moved instances)
  const bool operates = action == "start" || action == "publish" || action == "pause" ||
                        action == "resume" || action == "stop";
  if (action == "submit" && !has_role("maker")) {
    return Status(ErrorCode::kForbidden, "operator \"" + actor + "\" does not have the maker role");
  }
  if (operates && !has_role("maker") && !has_role("operator")) {
    return Status(ErrorCode::kForbidden,
                  "operator \"" + actor + "\" has neither the maker nor the operator role");
  }
  if (action == "submit") {
    if (meta.status != "draft" && !(meta.status == "running" || meta.status == "paused"))
      return conflict("only a draft or a new version can be submitted");
    if (meta.current_version <= meta.approved_version)
      return conflict("the current version is already approved");
    SEXTANT_RETURN_IF_ERROR(
        impl_->CheckReferencesLocked(*found->first, *journey.versions.at(meta.current_version)));
    meta.submitted_by = actor;
    meta.ever_submitted = true;
    if (meta.status == "draft") meta.status = "submitted";
    meta.comment = "version " + std::to_string(meta.current_version) + " submitted";
  } else if (action == "approve" || action == "reject") {
    if (!has_role("approver"))
      return Status(ErrorCode::kForbidden,
                    "operator \"" + actor + "\" does not have the approver role");
    const bool pending =
        meta.submitted_by.size() > 0 && meta.current_version > meta.approved_version &&
        (meta.status == "submitted" || meta.status == "running" || meta.status == "paused");
    if (!pending) return conflict("nothing is waiting for review");
    if (actor == meta.submitted_by) {
      return Status(
          ErrorCode::kForbidden,
          "maker-checker: \"" + actor + "\" submitted this version and cannot " + action + " it");
    }
    simdjson::dom::parser parser;
    element root;
    std::string comment;
    std::string_view text;
    if (!body.empty() && parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS &&
        root["comment"].get_string().get(text) == simdjson::SUCCESS) {
      comment = std::string(text);
    }
    if (action == "approve") {
      meta.approved_version = meta.current_version;
      meta.approved_by = actor;
      if (meta.status == "submitted") meta.status = "approved";
      meta.comment = comment.empty()
                         ? "version " + std::to_string(meta.current_version) + " approved"
                         : comment;
    } else {
      if (meta.status == "submitted") meta.status = "draft";
      meta.submitted_by.clear();
      meta.comment = comment.empty() ? "rejected" : comment;
    }
  } else if (action == "start") {
    if (meta.status != "approved") return conflict("only an approved journey can start");
    // What it refers to may have changed since review (a segment deleted, a channel removed).
    SEXTANT_RETURN_IF_ERROR(
        impl_->CheckReferencesLocked(*found->first, *journey.versions.at(meta.approved_version)));
    meta.status = "running";
    meta.live_version = meta.approved_version;
    went_live = true;
  } else if (action == "publish") {
    if (meta.status != "running" && meta.status != "paused")
      return conflict("only a running or paused journey publishes a new version");
    if (meta.approved_version <= meta.live_version) return conflict("no newer approved version");
    // The migration policy for the customers inside (docs/journeys.md "Versions").
    std::string migration = "stay";
    if (!body.empty()) {
      simdjson::dom::parser parser;
      element root;
      if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
          !root.is_object()) {
        return Status(ErrorCode::kInvalidQuery, "body: must be a JSON object", "body");
      }
      if (auto value = Member(root, "migration")) {
        std::string_view text;
        if (value->get_string().get(text) != simdjson::SUCCESS || (text != "stay" && text != "move")) {
          return Status(ErrorCode::kInvalidQuery, "migration: must be stay or move", "migration");
        }
        migration = std::string(text);
      }
    }
    SEXTANT_RETURN_IF_ERROR(
        impl_->CheckReferencesLocked(*found->first, *journey.versions.at(meta.approved_version)));
    meta.live_version = meta.approved_version;
    went_live = true;
    meta.comment = "version " + std::to_string(meta.live_version) + " published";
    if (migration == "move") {
      const auto [moved, stayed] =
          impl_->MoveToVersionLocked(*found->first, journey, meta.live_version, publish_work);
      meta.comment += "; migration move: " + std::to_string(moved) + " moved, " +
                      std::to_string(stayed) + " stayed on their version";
    }
  } else if (action == "pause") {
    if (meta.status != "running") return conflict("only a running journey can pause");
    meta.status = "paused";
  } else if (action == "resume") {
    if (meta.status != "paused") return conflict("only a paused journey can resume");
    meta.status = "running";
  } else if (action == "stop") {
    if (meta.status != "running" && meta.status != "paused")
      return conflict("only a running or paused journey can stop");
    meta.status = "ended";
  } else {
    return Status(
        ErrorCode::kNotFound,
        "no action " + action + " (submit, approve, reject, start, publish, pause, resume, stop)");
  }
  meta.updated_ms = now;
  PendingWork& work = publish_work;
  SEXTANT_RETURN_IF_ERROR(impl_->SaveMetaLocked(*found->first, journey, &work.batch));
  SEXTANT_RETURN_IF_ERROR(
      AppendLifecycleLocked(*impl_, project.id, meta, action, actor, &work.batch));
  if (went_live || meta.status == "running") {
    impl_->ComputeNextFireLocked(*found->first, journey, now);
  }
  impl_->RebuildIndexLocked(*found->first);
  JsonWriter out;
  WriteJourney(journey, impl_->CountersLocked(project.id, journey), false, out);
  impl_->WriteLocked(work);
  lock.unlock();
  impl_->ApplyPending(work);
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::TriggerJourney(const state::ProjectInfo& project,
                                                    const std::string& id, std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  auto distinct_id = GetString(*root, "distinct_id", "", true);
  if (!distinct_id.ok()) return distinct_id.status();
  std::string properties = "{}";
  if (auto value = Member(*root, "properties")) {
    if (!value->is_object())
      return Status(ErrorCode::kInvalidQuery, "properties: must be an object", "properties");
    properties = simdjson::minify(*value);
  }
  auto user = impl_->identities->LookupDistinctId(project.id, *distinct_id);
  if (!user.ok() || *user == 0)
    return Status(ErrorCode::kNotFound, "no customer with distinct_id " + *distinct_id,
                  "distinct_id");
  PendingWork work;
  bool entered = false;
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    auto found = (*runtime)->journeys.find(id);
    if (found == (*runtime)->journeys.end()) return NotFound("no journey " + id);
    const JourneyDefinition* live = found->second.live();
    if (live == nullptr || live->entry.kind != EntrySpec::Kind::kApi) {
      return Status(ErrorCode::kConflict, "journey " + id + " is not entered through the API");
    }
    if (found->second.meta.status != "running") {
      return Status(ErrorCode::kConflict,
                    "journey " + id + " is " + found->second.meta.status + ": it takes no entries");
    }
    entered = impl_->TryEnterLocked(**runtime, found->second, *user, properties, "api", work);
    impl_->FlushCountersLocked(**runtime, work);
    impl_->WriteLocked(work);
  }
  impl_->ApplyPending(work);
  return Ok(std::string("{\"entered\":") + (entered ? "true" : "false") + "}");
}

Result<JourneyAnswer> JourneyEngine::JourneyReport(const state::ProjectInfo& project,
                                                   const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  JourneyState& journey = *found->second;
  const std::map<std::string, int64_t> counters = impl_->CountersLocked(project.id, journey);
  auto count = [&](const std::string& name) -> int64_t {
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
  };
  // Customers waiting per node.
  std::map<std::string, int64_t> waiting;
  for (const auto& [node_id, members] : journey.at_node) {
    if (!members.isEmpty()) waiting[node_id] = static_cast<int64_t>(members.cardinality());
  }
  JsonWriter out;
  out.BeginObject();
  out.Key("journey").String(id);
  out.Key("name").String(journey.meta.name);
  out.Key("status").String(journey.meta.status);
  out.Key("entered").Int(count("entered"));
  out.Key("inside").Uint(journey.active.cardinality());
  out.Key("exited").Int(count("exited"));
  out.Key("goal_reached").Int(count("goal"));
  // Nodes: every counter "node.<id>.<what>" grouped by node.
  out.Key("nodes").BeginObject();
  std::map<std::string, std::map<std::string, int64_t>> nodes;
  for (const auto& [name, value] : counters) {
    if (name.rfind("node.", 0) != 0) continue;
    const size_t dot = name.find('.', 5);
    if (dot == std::string::npos) continue;
    nodes[name.substr(5, dot - 5)][name.substr(dot + 1)] = value;
  }
  for (const auto& [node, waits] : waiting) nodes[node]["waiting"] = waits;
  for (const auto& [node, values] : nodes) {
    out.Key(node).BeginObject();
    for (const auto& [what, value] : values) out.Key(what).Int(value);
    out.EndObject();
  }
  out.EndObject();
  // Arms: control vs treatment, and each A/B branch against the first branch of its node.
  std::vector<ArmCounts> arms;
  const JourneyDefinition* live = journey.live();
  const double control_share = live ? live->control_percent / 100.0 : 0;
  ArmCounts treatment{.name = "treatment",
                      .entered = static_cast<uint64_t>(count("arm.treatment.entered")),
                      .converted = static_cast<uint64_t>(count("arm.treatment.goal")),
                      .expected_share = 1 - control_share};
  ArmCounts control{.name = "control",
                    .entered = static_cast<uint64_t>(count("arm.control.entered")),
                    .converted = static_cast<uint64_t>(count("arm.control.goal")),
                    .expected_share = control_share};
  auto write_arm = [&](const ArmCounts& arm) {
    out.BeginObject();
    out.Key("name").String(arm.name);
    out.Key("entered").Uint(arm.entered);
    out.Key("converted").Uint(arm.converted);
    out.Key("rate").Double(ConversionRate(arm));
    out.EndObject();
  };
  auto write_comparison = [&](const ArmComparison& comparison) {
    out.BeginObject();
    out.Key("arm").String(comparison.arm);
    out.Key("baseline").String(comparison.baseline);
    out.Key("rate").Double(comparison.rate);
    out.Key("baseline_rate").Double(comparison.baseline_rate);
    out.Key("uplift_absolute").Double(comparison.uplift_absolute);
    if (std::isnan(comparison.uplift_relative))
      out.Key("uplift_relative").Null();
    else
      out.Key("uplift_relative").Double(comparison.uplift_relative);
    out.Key("ci95").BeginArray().Double(comparison.ci_low).Double(comparison.ci_high).EndArray();
    out.Key("z").Double(comparison.z);
    out.Key("p_value").Double(comparison.p_value);
    out.Key("significant").Bool(comparison.significant);
    out.EndObject();
  };
  auto write_srm = [&](const SampleRatioCheck& check) {
    out.BeginObject();
    out.Key("chi_square").Double(check.chi_square);
    out.Key("degrees_of_freedom").Int(check.degrees_of_freedom);
    out.Key("p_value").Double(check.p_value);
    out.Key("mismatch").Bool(check.mismatch);
    out.EndObject();
  };
  out.Key("control_group").BeginObject();
  out.Key("percent").Int(live ? live->control_percent : 0);
  out.Key("arms").BeginArray();
  write_arm(treatment);
  write_arm(control);
  out.EndArray();
  out.Key("comparison");
  write_comparison(CompareArms(treatment, control));
  out.Key("sample_ratio");
  write_srm(CheckSampleRatio({treatment, control}));
  out.EndObject();
  out.Key("experiments").BeginArray();
  if (live != nullptr) {
    for (const JourneyNode& node : live->nodes) {
      if (node.kind != JourneyNode::Kind::kAb) continue;
      double total_weight = 0;
      for (const auto& branch : node.branches) total_weight += branch.weight;
      std::vector<ArmCounts> branches;
      for (const auto& branch : node.branches) {
        const std::string key = "variant." + node.id + ":" + branch.name;
        branches.push_back({.name = branch.name,
                            .entered = static_cast<uint64_t>(count(key + ".entered")),
                            .converted = static_cast<uint64_t>(count(key + ".goal")),
                            .expected_share = branch.weight / total_weight});
      }
      out.BeginObject();
      out.Key("node").String(node.id);
      out.Key("arms").BeginArray();
      for (const auto& arm : branches) write_arm(arm);
      out.EndArray();
      out.Key("comparisons").BeginArray();
      for (size_t index = 1; index < branches.size(); ++index)
        write_comparison(CompareArms(branches[index], branches[0]));
      out.EndArray();
      out.Key("sample_ratio");
      write_srm(CheckSampleRatio(branches));
      out.EndObject();
    }
  }
  out.EndArray();
  out.Key("method").String("docs/effect-evaluation.md");
  out.EndObject();
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::JourneyCustomer(const state::ProjectInfo& project,
                                                     const std::string& id,
                                                     const std::string& distinct_id) {
  auto user = impl_->identities->LookupDistinctId(project.id, distinct_id);
  if (!user.ok() || *user == 0)
    return Status(ErrorCode::kNotFound, "no customer with distinct_id " + distinct_id);
  auto state = JourneyCustomerState(project, id, *user);
  if (!state.ok()) return state.status();
  return Ok("{\"distinct_id\":" +
            [&] {
              JsonWriter w;
              w.String(distinct_id);
              return w.Take();
            }() +
            "," + state->substr(1));
}

Result<std::string> JourneyEngine::JourneyCustomerState(const state::ProjectInfo& project,
                                                        const std::string& id, UserId user) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->JourneyLocked(project, id);
  if (!found.ok()) return found.status();
  auto instance = impl_->LoadInstanceLocked(*found->first, id, user, nullptr);
  if (!instance.ok()) return instance.status();
  JsonWriter out;
  out.BeginObject();
  static constexpr const char* kStates[] = {"none", "active", "exited", "pending"};
  out.Key("state").String(kStates[static_cast<int>(instance->state) & 3]);
  out.Key("version").Uint(instance->version);
  auto version = found->second->versions.find(instance->version);
  std::string node_id;
  if (version != found->second->versions.end() && instance->node >= 0 &&
      instance->node < static_cast<int>(version->second->nodes.size())) {
    node_id = version->second->nodes[instance->node].id;
  }
  out.Key("node").String(node_id);
  out.Key("entries").Uint(instance->entries);
  out.Key("entered_ms").Int(instance->entered_ms);
  out.Key("exited_ms").Int(instance->exited_ms);
  out.Key("exit_reason").String(instance->exit_reason);
  out.Key("due_ms").Int(instance->due_ms);
  out.Key("control").Bool(instance->control);
  out.Key("variant").String(instance->variant);
  out.Key("goal_ms").Int(instance->goal_ms);
  out.EndObject();
  return out.Take();
}

// ---------------------------------------------------------------------------------------------
// Touch rules, channels, templates

Result<JourneyAnswer> JourneyEngine::PutTouchRules(const state::ProjectInfo& project,
                                                   std::string_view body) {
  auto rules = ParseTouchRules(body);
  if (!rules.ok()) return rules.status();
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Put(JourneyKey(project.id, "cfg") + "rules", rules->json));
  (*runtime)->rules = std::move(*rules);
  return Ok((*runtime)->rules.json);
}

Result<JourneyAnswer> JourneyEngine::GetTouchRules(const state::ProjectInfo& project) {
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  return Ok((*runtime)->rules.json.empty() ? "{}" : (*runtime)->rules.json);
}

Result<JourneyAnswer> JourneyEngine::PutChannel(const state::ProjectInfo& project,
                                                const std::string& name, std::string_view body) {
  auto parsed = ParseChannelEntry(name, body);
  if (!parsed.ok()) return parsed.status();
  ChannelEntry entry = std::move(*parsed);
  // Lock order: delivery_mu before mu (the delivery thread holds delivery_mu while it settles).
  std::lock_guard delivery_lock(impl_->delivery_mu);
  impl_->senders.erase(std::to_string(project.id) + "/" + name);
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Put(JourneyKey(project.id, "ch") + name, entry.json));
  (*runtime)->channels[name] = std::move(entry);
  impl_->PublishDeliverySourceLocked(**runtime);
  return Ok("{\"channel\":\"" + name + "\"}");
}

Result<JourneyAnswer> JourneyEngine::TestChannel(const state::ProjectInfo& project,
                                                 const std::string& name, std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  auto recipient = GetString(*root, "recipient", "", true);
  if (!recipient.ok()) return recipient.status();
  if (recipient->empty())
    return Status(ErrorCode::kInvalidQuery, "recipient: required", "recipient");
  auto subject = GetString(*root, "subject", "Sextant test", false);
  if (!subject.ok()) return subject.status();
  auto text = GetString(*root, "body", "Sextant channel test / 渠道测试", false);
  if (!text.ok()) return text.status();
  channel::ChannelConfig config;
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    auto found = (*runtime)->channels.find(name);
    if (found == (*runtime)->channels.end())
      return Status(ErrorCode::kNotFound, "no channel " + name);
    if (found->second.inapp) {
      return Status(ErrorCode::kInvalidQuery,
                    "in-app messages are pulled by the app, not sent: try a journey dry run");
    }
    config = found->second.config;
  }
  auto sender = channel::MakeSender(config);
  if (!sender.ok()) return sender.status();
  channel::OutboundMessage message;
  const int64_t now = impl_->clock->NowMs();
  message.idempotency_key = "test-" + name + "-" + std::to_string(now);
  message.recipient = *recipient;
  message.subject = *subject;
  message.body = *text;
  message.payload_json = "{\"test\":true}";
  message.now_ms = now;
  const int64_t started = SystemClock::Instance().MonotonicMicros();
  channel::DeliveryResult result = (*sender)->Send(message);
  JsonWriter out;
  out.BeginObject();
  out.Key("delivered").Bool(result.delivered);
  out.Key("status").Int(result.status);
  out.Key("retryable").Bool(result.retryable);
  out.Key("provider_id").String(result.provider_id);
  out.Key("error").String(result.error);
  out.Key("elapsed_ms").Int((SystemClock::Instance().MonotonicMicros() - started) / 1000);
  out.EndObject();
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::ListChannels(const state::ProjectInfo& project) {
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  JsonWriter out;
  out.BeginObject().Key("channels").BeginObject();
  for (const auto& [name, entry] : (*runtime)->channels) {
    // Secrets are not shown back.
    simdjson::dom::parser parser;
    element root;
    out.Key(name).BeginObject();
    if (parser.parse(entry.json).get(root) == simdjson::SUCCESS) {
      for (auto field : simdjson::dom::object(root)) {
        if (field.key == "secret") continue;
        out.Key(field.key).Raw(simdjson::minify(field.value));
      }
    }
    out.EndObject();
  }
  out.EndObject().EndObject();
  return Ok(out.Take());
}

namespace {

std::string TemplateJson(const TemplateDef& def) {
  JsonWriter out;
  out.BeginObject();
  out.Key("name").String(def.name);
  out.Key("channel").String(def.channel);
  out.Key("subject").String(def.subject);
  out.Key("body").String(def.body);
  out.Key("recommends_item").Bool(def.recommends_item);
  out.Key("status").String(def.status);
  out.Key("created_by").String(def.created_by);
  out.Key("approved_by").String(def.approved_by);
  if (def.has_approved) {
    out.Key("approved").BeginObject();
    out.Key("subject").String(def.approved_subject);
    out.Key("body").String(def.approved_body);
    out.EndObject();
  }
  out.EndObject();
  return out.Take();
}

}  // namespace

const TemplateDef* FindTemplate(const ProjectRuntime& runtime, std::string_view name,
                                std::string_view channel) {
  auto exact = runtime.templates.find(TemplateKey(name, channel));
  if (exact != runtime.templates.end()) return &exact->second;
  auto first = runtime.templates.lower_bound(std::string(name) + '\x1f');
  if (first != runtime.templates.end() && first->second.name == name) return &first->second;
  return nullptr;
}

Result<JourneyAnswer> JourneyEngine::PutTemplate(const state::ProjectInfo& project,
                                                 const std::string& name, const std::string& actor,
                                                 std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  TemplateDef def;
  def.name = name;
  for (auto [field, target, required] :
       {std::tuple<const char*, std::string*, bool>{"channel", &def.channel, true},
        {"subject", &def.subject, false},
        {"body", &def.body, true}}) {
    auto text = GetString(*root, field, "", required);
    if (!text.ok()) return text.status();
    if (required && text->empty())
      return Status(ErrorCode::kInvalidQuery, std::string(field) + ": required", field);
    *target = std::move(*text);
  }
  bool flag = false;
  def.recommends_item =
      (*root)["recommends_item"].get_bool().get(flag) == simdjson::SUCCESS && flag;
  def.created_by = actor;
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  SEXTANT_RETURN_IF_ERROR(LintTemplate((*runtime)->rules, def.subject, false, "subject"));
  SEXTANT_RETURN_IF_ERROR(LintTemplate((*runtime)->rules, def.body, def.recommends_item, "body"));
  const std::string key = TemplateKey(name, def.channel);
  if (auto existing = [&]() -> const TemplateDef* {
        auto it = (*runtime)->templates.find(key);
        return it == (*runtime)->templates.end() ? nullptr : &it->second;
      }()) {
    def.has_approved = existing->has_approved;
    def.approved_subject = existing->approved_subject;
    def.approved_body = existing->approved_body;
    def.approved_by = existing->approved_by;
  }
  def.json = TemplateJson(def);
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Put(JourneyKey(project.id, "tpl") + key, def.json));
  (*runtime)->templates[key] = def;
  return Ok(def.json);
}

Result<JourneyAnswer> JourneyEngine::ListTemplates(const state::ProjectInfo& project) {
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  std::string out = "{\"templates\":[";
  bool first = true;
  for (const auto& [key, def] : (*runtime)->templates) {
    out += (first ? "" : ",") + def.json;
    first = false;
  }
  return Ok(out + "]}");
}

Result<JourneyAnswer> JourneyEngine::ApproveTemplate(const state::ProjectInfo& project,
                                                     const std::string& name,
                                                     const JourneyActor& acting) {
  const std::string& actor = acting.name;
  std::lock_guard lock(impl_->mu);
  if (!acting.Has("approver")) {
    return Status(ErrorCode::kForbidden,
                  "operator \"" + actor + "\" does not have the approver role");
  }
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  // Every channel variant of the name is approved together.
  std::vector<TemplateDef*> variants;
  for (auto it = (*runtime)->templates.lower_bound(name + '\x1f');
       it != (*runtime)->templates.end() && it->second.name == name; ++it) {
    variants.push_back(&it->second);
  }
  if (variants.empty()) return NotFound("no template " + name);
  for (TemplateDef* def : variants) {
    if (def->created_by == actor) {
      return Status(ErrorCode::kForbidden,
                    "maker-checker: \"" + actor + "\" wrote this template and cannot approve it");
    }
    SEXTANT_RETURN_IF_ERROR(
        LintTemplate((*runtime)->rules, def->body, def->recommends_item, "body"));
  }
  std::string out = "{\"templates\":[";
  state::KvStore::Batch batch;
  for (TemplateDef* def : variants) {
    def->status = "approved";
    def->approved_by = actor;
    def->has_approved = true;
    def->approved_subject = def->subject;
    def->approved_body = def->body;
    def->json = TemplateJson(*def);
    batch.Put(JourneyKey(project.id, "tpl") + TemplateKey(def->name, def->channel), def->json);
    out += (out.size() > 14 ? "," : "") + def->json;
  }
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Write(&batch));
  return Ok(out + "]}");
}

Result<JourneyAnswer> JourneyEngine::PreviewTemplate(const state::ProjectInfo& project,
                                                     const std::string& name,
                                                     std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  auto distinct_id = GetString(*root, "distinct_id", "", true);
  if (!distinct_id.ok()) return distinct_id.status();
  auto channel_name = GetString(*root, "channel", "", false);
  if (!channel_name.ok()) return channel_name.status();
  auto user = impl_->identities->LookupDistinctId(project.id, *distinct_id);
  if (!user.ok() || *user == 0)
    return Status(ErrorCode::kNotFound, "no customer with distinct_id " + *distinct_id,
                  "distinct_id");
  PropertyMap event, item;
  if (auto value = Member(*root, "event")) event = ParsePropertiesJson(simdjson::minify(*value));
  if (auto value = Member(*root, "item")) {
    auto type = GetString(*value, "type", "item", true);
    auto id = GetString(*value, "id", "item", true);
    if (!type.ok()) return type.status();
    if (!id.ok()) return id.status();
    auto loaded = impl_->profiles->GetItem(project.id, *type, *id);
    if (!loaded.ok()) return Status(ErrorCode::kNotFound, "no item " + *type + "/" + *id, "item");
    item = std::move(*loaded);
    item.emplace_back("id", Value::String(*id));
  }
  auto profile = impl_->profiles->GetProfile(project.id, *user);
  std::lock_guard lock(impl_->mu);
  auto runtime = impl_->RuntimeLocked(project);
  if (!runtime.ok()) return runtime.status();
  const TemplateDef* found = FindTemplate(**runtime, name, *channel_name);
  if (found == nullptr) return NotFound("no template " + name);
  const PropertyMap empty;
  std::vector<std::string> used;
  const std::string unsubscribe = impl_->UnsubscribeUrl(**runtime, *user, found->channel);
  JsonWriter out;
  out.BeginObject();
  out.Key("channel").String(found->channel);
  out.Key("subject").String(impl_->RenderLocked(**runtime, found->subject, *user,
                                                profile.ok() ? *profile : empty, event, item,
                                                unsubscribe, &used));
  out.Key("body").String(impl_->RenderLocked(**runtime, found->body, *user,
                                             profile.ok() ? *profile : empty, event, item,
                                             unsubscribe, &used));
  out.Key("variables").BeginArray();
  for (const auto& variable : used) out.String(variable);
  out.EndArray();
  out.EndObject();
  return Ok(out.Take());
}

// ---------------------------------------------------------------------------------------------
// Consent

namespace {

std::string ConsentKey(ProjectId project, UserId user) {
  std::string key = JourneyKey(project, "x");
  state::AppendBigEndian32(user, &key);
  return key;
}

}  // namespace

Result<JourneyAnswer> JourneyEngine::SetConsent(const state::ProjectInfo& project,
                                                const std::string& distinct_id,
                                                std::string_view body) {
  simdjson::dom::parser parser;
  auto root = ParseObject(parser, body);
  if (!root.ok()) return root.status();
  auto purpose = GetString(*root, "purpose", "", false);
  auto channel_name = GetString(*root, "channel", "", false);
  if (!purpose.ok()) return purpose.status();
  if (!channel_name.ok()) return channel_name.status();
  bool granted = false;
  if ((*root)["granted"].get_bool().get(granted) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidQuery, "granted: required (true or false)", "granted");
  }
  auto user = impl_->identities->LookupDistinctId(project.id, distinct_id);
  if (!user.ok() || *user == 0)
    return Status(ErrorCode::kNotFound, "no customer with distinct_id " + distinct_id);
  const std::string key = (purpose->empty() ? "marketing" : *purpose) + ":" +
                          (channel_name->empty() ? "*" : *channel_name);
  std::lock_guard lock(impl_->mu);
  auto stored = impl_->kv->Get(ConsentKey(project.id, *user));
  PropertyMap consent = stored.ok() ? ParsePropertiesJson(*stored) : PropertyMap{};
  consent.erase(std::remove_if(consent.begin(), consent.end(),
                               [&](const auto& entry) { return entry.first == key; }),
                consent.end());
  consent.emplace_back(key, Value::Bool(granted));
  const std::string json = PropertiesJson(consent, project.time_zone);
  SEXTANT_RETURN_IF_ERROR(impl_->kv->Put(ConsentKey(project.id, *user), json));
  if (auto runtime = impl_->RuntimeLocked(project); runtime.ok())
    impl_->CustomerKeysLocked(**runtime).with_consent.add(*user);
  return Ok("{\"distinct_id\":" +
            [&] {
              JsonWriter w;
              w.String(distinct_id);
              return w.Take();
            }() +
            ",\"consent\":" + json + "}");
}

Result<JourneyAnswer> JourneyEngine::GetConsent(const state::ProjectInfo& project,
                                                const std::string& distinct_id) {
  auto user = impl_->identities->LookupDistinctId(project.id, distinct_id);
  if (!user.ok() || *user == 0)
    return Status(ErrorCode::kNotFound, "no customer with distinct_id " + distinct_id);
  std::lock_guard lock(impl_->mu);
  auto stored = impl_->kv->Get(ConsentKey(project.id, *user));
  JsonWriter out;
  out.BeginObject().Key("distinct_id").String(distinct_id).Key("consent");
  out.Raw(stored.ok() ? PropertiesJson(ParsePropertiesJson(*stored), project.time_zone) : "{}");
  out.EndObject();
  return Ok(out.Take());
}

Result<JourneyAnswer> JourneyEngine::Unsubscribe(const state::ProjectInfo& project,
                                                 std::string_view token) {
  // token = base64(user ":" purpose ":" channel) "." hex HMAC(admin secret of the project).
  const size_t dot = token.rfind('.');
  if (dot == std::string_view::npos)
    return Status(ErrorCode::kBadRequest, "malformed unsubscribe token", "token");
  auto decoded = channel::Base64Decode(token.substr(0, dot));
  std::string secret;
  {
    std::lock_guard lock(impl_->mu);
    auto runtime = impl_->RuntimeLocked(project);
    if (!runtime.ok()) return runtime.status();
    secret = (*runtime)->unsubscribe_secret;
  }
  if (!decoded || channel::HmacSha256Hex(secret, *decoded) != token.substr(dot + 1)) {
    return Status(ErrorCode::kBadRequest, "invalid unsubscribe token", "token");
  }
  const size_t first = decoded->find(':');
  const size_t second = decoded->find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    return Status(ErrorCode::kBadRequest, "malformed unsubscribe token", "token");
  const UserId user =
      static_cast<UserId>(std::strtoul(decoded->substr(0, first).c_str(), nullptr, 10));
  const std::string key =
      decoded->substr(first + 1, second - first - 1) + ":" + decoded->substr(second + 1);
  std::lock_guard lock(impl_->mu);
  auto stored = impl_->kv->Get(ConsentKey(project.id, user));
  PropertyMap consent = stored.ok() ? ParsePropertiesJson(*stored) : PropertyMap{};
  consent.erase(std::remove_if(consent.begin(), consent.end(),
                               [&](const auto& entry) { return entry.first == key; }),
                consent.end());
  consent.emplace_back(key, Value::Bool(false));
  SEXTANT_RETURN_IF_ERROR(
      impl_->kv->Put(ConsentKey(project.id, user), PropertiesJson(consent, project.time_zone)));
  if (auto runtime = impl_->RuntimeLocked(project); runtime.ok())
    impl_->CustomerKeysLocked(**runtime).with_consent.add(user);
  return JourneyAnswer{
      200, "<!doctype html><meta charset=utf-8><p>已退订 / You have been unsubscribed.</p>",
      "text/html; charset=utf-8"};
}

// ---------------------------------------------------------------------------------------------
// Ledger, tasks, in-app

Result<JourneyAnswer> JourneyEngine::Ledger(const state::ProjectInfo& project,
                                            const std::string& journey_id,
                                            const std::string& distinct_id, size_t limit) {
  UserId user = 0;
  if (!distinct_id.empty()) {
    auto found = impl_->identities->LookupDistinctId(project.id, distinct_id);
    if (!found.ok() || *found == 0)
      return Status(ErrorCode::kNotFound, "no customer with distinct_id " + distinct_id);
    user = *found;
  }
  if (!journey_id.empty()) {
    std::lock_guard lock(impl_->mu);
    auto found = impl_->JourneyLocked(project, journey_id);
    if (!found.ok()) return found.status();
  }
  // By customer when both are given, then filtered to the journey.
  auto entries = impl_->ledger.Query(project.id, user, user != 0 ? "" : journey_id, limit);
  if (!entries.ok()) return entries.status();
  if (user != 0 && !journey_id.empty()) {
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(*entries).get(root) != simdjson::SUCCESS)
      return Status(ErrorCode::kCorruption, "ledger entries");
    std::string filtered = "[";
    for (element entry : simdjson::dom::array(root)) {
      if (StringField(entry, "journey") != journey_id) continue;
      filtered += (filtered.size() > 1 ? "," : "") + simdjson::minify(entry);
    }
    return Ok("{\"entries\":" + filtered + "]}");
  }
  return Ok("{\"entries\":" + *entries + "}");
}

Result<LedgerVerification> JourneyEngine::VerifyLedger(const state::ProjectInfo& project) {
  return impl_->ledger.Verify(project.id);
}

Result<JourneyAnswer> JourneyEngine::ListTasks(const state::ProjectInfo& project,
                                               const std::string& assignee,
                                               const std::string& status,
                                               const std::function<bool(std::string_view)>& visible) {
  std::string out = "{\"tasks\":[";
  bool first = true;
  const std::string prefix = JourneyKey(project.id, "k");
  SEXTANT_RETURN_IF_ERROR(
      impl_->kv->ScanPrefix(prefix, [&](std::string_view, std::string_view value) {
        simdjson::dom::parser parser;
        element root;
        if (parser.parse(value.data(), value.size()).get(root) != simdjson::SUCCESS) return true;
        std::string_view text;
        if (!assignee.empty() &&
            !((root["assignee"].get_string().get(text) == simdjson::SUCCESS && text == assignee) ||
              (root["pool"].get_string().get(text) == simdjson::SUCCESS && text == assignee))) {
          return true;
        }
        if (!status.empty() &&
            !(root["status"].get_string().get(text) == simdjson::SUCCESS && text == status))
          return true;
        if (visible && !(root["assignee"].get_string().get(text) == simdjson::SUCCESS && visible(text)))
          return true;
        out += (first ? "" : ",") + std::string(value);
        first = false;
        return true;
      }));
  return Ok(out + "]}");
}

}  // namespace sextant::journey
