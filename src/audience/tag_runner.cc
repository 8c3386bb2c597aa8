// Tags: computing a tag's values (every kind), dated snapshots with statistics, realtime
// updates of statistic and first/last tags, and the tag API.
#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/clock.h"
#include "audience/audience_internal.h"
#include "audience/insight.h"
#include "common/hash.h"
#include "common/value_codec.h"
#include "import/csv_reader.h"

namespace sextant::audience {
namespace {

constexpr int kDistributionValues = 20;
constexpr int kDistributionBuckets = 10;


std::string DayKey(const std::string& id, int32_t day) {
  std::string key = id + "/";
  state::AppendBigEndian32(static_cast<uint32_t>(day), &key);
  return key;
}



uint64_t ValueHash(const Value& value) {
  std::string bytes;
  EncodeValue(value, &bytes);
  return Hash64(bytes);
}

}  // namespace

std::string CompressSnapshot(const std::string& raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t size = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1);
  out.resize(ZSTD_isError(size) ? 0 : size);
  return out;
}

Result<std::string> DecompressSnapshot(std::string_view bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 34)) {
    return Status(ErrorCode::kCorruption, "undecodable tag snapshot");
  }
  std::string out(size, '\0');
  const size_t got = ZSTD_decompress(out.data(), out.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got) || got != size)
    return Status(ErrorCode::kCorruption, "undecodable tag snapshot");
  return out;
}

Result<UserColumn*> AudienceEngine::TagColumnLocked(ProjectState& state, const std::string& name) {
  for (auto& [id, tag] : state.tags) {
    if (tag->definition.name != name) continue;
    SEXTANT_RETURN_IF_ERROR(LoadTagValuesLocked(state, *tag));
    return &tag->values;
  }
  return Status(ErrorCode::kNotFound, "no tag named " + name);
}

Status AudienceEngine::LoadTagValuesLocked(ProjectState& state, TagState& tag) {
  if (tag.values_loaded) return Status::Ok();
  std::string latest;
  SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
      AudienceKey(state.project->id, "tagv", tag.definition.id + "/"),
      [&](std::string_view, std::string_view value) {
        latest = std::string(value);
        return false;  // the newest day comes first
      },
      /*reverse=*/true));
  tag.values = UserColumn(tag.definition.value_type);
  if (!latest.empty()) {
    auto raw = DecompressSnapshot(latest);
    if (!raw.ok()) return raw.status();
    auto column = DecodeColumn(*raw);
    if (!column.ok()) return column.status();
    tag.values = std::move(*column);
  }
  tag.values_loaded = true;
  return Status::Ok();
}

void AudienceEngine::PrepareTagLocked(ProjectState& state, TagState& tag) {
  TagDefinition& definition = tag.definition;
  state::ProjectSchema* schema = schemas_->ForProject(*state.project);
  tag.incremental = false;
  tag.property = 0;
  if (definition.kind != TagKind::kStatistic && definition.kind != TagKind::kFirstLast &&
      definition.kind != TagKind::kPreference) {
    return;
  }
  if (!definition.property.empty()) {
    auto entry = schema->Find(state::SchemaKind::kEventProperty, definition.property);
    if (entry) tag.property = entry->id;
    if (definition.kind == TagKind::kFirstLast) {
      definition.value_type = entry ? entry->type : ValueType::kString;
    }
  }
  query::QuerySpec spec;
  query::QueryContext context(*state.project, schema, kv_, spec);
  auto step = CompileStep(context, definition.step, "");
  if (!step.ok()) return;
  tag.step = std::move(*step);
  tag.incremental = definition.kind == TagKind::kFirstLast ||
                    (definition.kind == TagKind::kStatistic &&
                     (definition.aggregate == StatisticAggregate::kCount ||
                      definition.aggregate == StatisticAggregate::kSum ||
                      definition.aggregate == StatisticAggregate::kMin ||
                      definition.aggregate == StatisticAggregate::kMax));
}

Status AudienceEngine::ComputeEventTagLocked(ProjectState& state, TagState& tag,
                                             const Roaring& universe, UserId user_limit,
                                             UserColumn* out) {
  const TagDefinition& definition = tag.definition;
  const state::ProjectInfo& project = *state.project;
  auto scan = PrepareWindowScanLocked(state, definition.within, user_limit, 40);
  if (!scan.ok()) return scan.status();
  const query::QueryContext& context = *(*scan)->context;
  const Interval interval = (*scan)->interval;
  const size_t shards = context.shard_count();
  PrepareTagLocked(state, tag);
  const std::vector<CompiledStep> steps = {tag.step};
  const PropertyId property = tag.property;
  std::vector<PropertyReader> readers(shards, PropertyReader(property));
  auto slot_count = [&](size_t s) { return context.shard_begin(s + 1) - context.shard_begin(s); };

  switch (definition.kind) {
    case TagKind::kStatistic: {
      const StatisticAggregate aggregate = definition.aggregate;
      // Per person: matching rows, and the aggregate of the property over the `present` rows
      // that carry a number (meaningless while present is 0).
      std::vector<ZeroedArray<double>> count, value, present;
      std::vector<std::vector<std::pair<UserId, uint64_t>>> distinct(shards);
      for (size_t s = 0; s < shards; ++s) {
        count.emplace_back(slot_count(s));
        value.emplace_back(aggregate != StatisticAggregate::kCount ? slot_count(s) : 0);
        present.emplace_back(aggregate != StatisticAggregate::kCount ? slot_count(s) : 0);
      }
      SEXTANT_RETURN_IF_ERROR(ScanSteps(
          context, steps, interval, [&](size_t shard, UserId user, const MatchedRow& match) {
            const size_t slot = user - context.shard_begin(shard);
            count[shard][slot] += 1;
            if (aggregate == StatisticAggregate::kCount) return;
            const std::optional<Value> row_value = readers[shard].Get(*match.day, match.row);
            if (!row_value) return;
            if (aggregate == StatisticAggregate::kDistinct) {
              distinct[shard].emplace_back(user, ValueHash(*row_value));
              return;
            }
            if (row_value->type() != ValueType::kNumber) return;
            const double number = row_value->number();
            double& current = value[shard][slot];
            const bool first = present[shard][slot] == 0;
            present[shard][slot] += 1;
            switch (aggregate) {
              case StatisticAggregate::kSum:
              case StatisticAggregate::kAvg:
                current = first ? number : current + number;
                break;
              case StatisticAggregate::kMin:
                current = first ? number : std::min(current, number);
                break;
              case StatisticAggregate::kMax:
                current = first ? number : std::max(current, number);
                break;
              default:
                break;
            }
          }));
      // Count, sum and distinct are 0 for people without events; avg, min and max are absent.
      const bool zero_default = aggregate == StatisticAggregate::kCount ||
                                aggregate == StatisticAggregate::kSum ||
                                aggregate == StatisticAggregate::kDistinct;
      if (zero_default) {
        for (UserId user : universe) out->SetNumber(user, 0);
      }
      for (size_t s = 0; s < shards; ++s) {
        const UserId begin = context.shard_begin(s);
        if (aggregate == StatisticAggregate::kDistinct) {
          auto& pairs = distinct[s];
          std::sort(pairs.begin(), pairs.end());
          pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
          for (size_t i = 0; i < pairs.size();) {
            size_t j = i;
            while (j < pairs.size() && pairs[j].first == pairs[i].first) ++j;
            if (universe.contains(pairs[i].first)) {
              out->SetNumber(pairs[i].first, static_cast<double>(j - i));
            }
            i = j;
          }
          continue;
        }
        for (size_t slot = 0; slot < count[s].size(); ++slot) {
          const UserId user = begin + static_cast<UserId>(slot);
          if (count[s][slot] == 0 || !universe.contains(user)) continue;
          switch (aggregate) {
            case StatisticAggregate::kCount:
              out->SetNumber(user, count[s][slot]);
              break;
            case StatisticAggregate::kSum:
              out->SetNumber(user, present[s][slot] > 0 ? value[s][slot] : 0);
              break;
            case StatisticAggregate::kAvg:
              if (present[s][slot] > 0) out->SetNumber(user, value[s][slot] / present[s][slot]);
              break;
            default:
              if (present[s][slot] > 0) out->SetNumber(user, value[s][slot]);
          }
        }
      }
      return Status::Ok();
    }
    case TagKind::kFirstLast: {
      // Per person: the time of the chosen event and where its row is.
      struct Chosen {
        int64_t time_ms = INT64_MIN;
        const query::DayColumns* day = nullptr;
        uint32_t row = 0;
      };
      const bool first = definition.first;
      std::vector<ZeroedArray<Chosen>> chosen;  // day == nullptr: no matching event yet
      for (size_t s = 0; s < shards; ++s) chosen.emplace_back(slot_count(s));
      SEXTANT_RETURN_IF_ERROR(ScanSteps(
          context, steps, interval, [&](size_t shard, UserId user, const MatchedRow& match) {
            Chosen& entry = chosen[shard][user - context.shard_begin(shard)];
            // Rows of a person arrive in time order: the first wins for "first", the last for
            // "last".
            if (first && entry.day != nullptr) return;
            entry = Chosen{match.time_ms, match.day, match.row};
          }));
      for (size_t s = 0; s < shards; ++s) {
        const UserId begin = context.shard_begin(s);
        for (size_t slot = 0; slot < chosen[s].size(); ++slot) {
          const Chosen& entry = chosen[s][slot];
          const UserId user = begin + static_cast<UserId>(slot);
          if (entry.day == nullptr || !universe.contains(user)) continue;
          tag.last_times.SetNumber(user, static_cast<double>(entry.time_ms));
          if (definition.property.empty()) {
            const Value time = Value::Datetime(entry.time_ms);
            out->Set(user, &time);
          } else {
            const std::optional<Value> value = readers[0].Get(*entry.day, entry.row);
            out->Set(user, value ? &*value : nullptr);
          }
        }
      }
      return Status::Ok();
    }
    case TagKind::kPreference: {
      std::vector<std::vector<std::pair<UserId, uint64_t>>> seen(shards);
      std::vector<std::unordered_map<uint64_t, Value>> values(shards);
      SEXTANT_RETURN_IF_ERROR(ScanSteps(
          context, steps, interval, [&](size_t shard, UserId user, const MatchedRow& match) {
            std::optional<Value> value = readers[shard].Get(*match.day, match.row);
            if (!value) return;
            const uint64_t hash = ValueHash(*value);
            seen[shard].emplace_back(user, hash);
            values[shard].try_emplace(hash, std::move(*value));
          }));
      for (size_t s = 0; s < shards; ++s) {
        auto& pairs = seen[s];
        std::sort(pairs.begin(), pairs.end());
        for (size_t i = 0; i < pairs.size();) {
          const UserId user = pairs[i].first;
          // Most frequent value; ties go to the smallest display text (deterministic).
          const Value* best = nullptr;
          size_t best_count = 0;
          std::string best_text;
          while (i < pairs.size() && pairs[i].first == user) {
            size_t j = i;
            while (j < pairs.size() && pairs[j] == pairs[i]) ++j;
            const Value& value = values[s].at(pairs[i].second);
            const size_t n = j - i;
            std::string text = ValueText(value, project.time_zone);
            if (n > best_count || (n == best_count && text < best_text)) {
              best = &value;
              best_count = n;
              best_text = std::move(text);
            }
            i = j;
          }
          if (best != nullptr && universe.contains(user)) {
            if (best->type() == ValueType::kString) {
              out->Set(user, best);
            } else {
              const Value text = Value::String(best_text);
              out->Set(user, &text);
            }
          }
        }
      }
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

Status AudienceEngine::RunTagLocked(ProjectState& state, TagState& tag) {
  const auto started = std::chrono::steady_clock::now();
  const TagDefinition& definition = tag.definition;
  UserId user_limit = 1;
  auto universe = UniverseLocked(state, &user_limit);
  if (!universe.ok()) return universe.status();
  PrepareTagLocked(state, tag);
  UserColumn values(definition.value_type);
  switch (definition.kind) {
    case TagKind::kStatistic:
    case TagKind::kFirstLast:
    case TagKind::kPreference: {
      std::lock_guard queue_lock(queue_mu_);
      tag.applied_from_seq = queued_;
    }
      tag.last_times = UserColumn(ValueType::kDatetime);
      SEXTANT_RETURN_IF_ERROR(ComputeEventTagLocked(state, tag, *universe, user_limit, &values));
      break;
    case TagKind::kRule: {
      Roaring assigned;
      for (const TagDefinition::RuleValue& rule_value : definition.values) {
        CompiledRule rule;
        SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, rule_value.rule, "", &rule));
        auto members = EvaluateLocked(state, rule, false);
        if (!members.ok()) return members.status();
        const Roaring fresh = *members - assigned;
        const Value value = rule_value.value.kind == query::Literal::Kind::kNumber
                                ? Value::Number(rule_value.value.number)
                                : Value::String(rule_value.value.string);
        for (UserId user : fresh) values.Set(user, &value);
        assigned |= fresh;
      }
      if (definition.default_value) {
        const Value value = definition.default_value->kind == query::Literal::Kind::kNumber
                                ? Value::Number(definition.default_value->number)
                                : Value::String(definition.default_value->string);
        for (UserId user : *universe - assigned) values.Set(user, &value);
      }
      break;
    }
    case TagKind::kImported:
      SEXTANT_RETURN_IF_ERROR(LoadTagValuesLocked(state, tag));
      values = tag.values;
      break;
    case TagKind::kLookalike: {
      auto scores =
          LookalikeScoresLocked(state, definition.seed_segment, definition.lookalike_json, nullptr);
      if (!scores.ok()) return scores.status();
      values = std::move(*scores);
      break;
    }
  }
  tag.values = std::move(values);
  tag.values_loaded = true;
  tag.last_run_ms = clock_->NowMs();
  tag.last_run_elapsed_ms = MsSince(started);
  SEXTANT_RETURN_IF_ERROR(SaveTagSnapshotLocked(state, tag));
  // Segments with conditions on this tag see the new values at their next evaluation; realtime
  // ones re-evaluate the people whose value changed now.
  RebuildInterestLocked(state);
  return Status::Ok();
}

Status AudienceEngine::SaveTagSnapshotLocked(ProjectState& state, TagState& tag) {
  const state::ProjectInfo& project = *state.project;
  const int32_t day = project.time_zone.DayOf(clock_->NowMs());
  // Statistics: coverage and the distribution (top values, or quantile buckets of numbers).
  JsonWriter stats;
  stats.BeginObject();
  stats.Key("date").String(FormatDate(day));
  stats.Key("time_ms").Int(clock_->NowMs());
  uint64_t coverage = 0;
  stats.Key("distribution").BeginArray();
  if (tag.values.numeric()) {
    std::vector<double> numbers;
    for (UserId user = 1; user < tag.values.size(); ++user) {
      if (tag.values.Has(user)) numbers.push_back(tag.values.Number(user));
    }
    coverage = numbers.size();
    const std::vector<double> bounds = QuantileBounds(numbers, kDistributionBuckets);
    std::vector<uint64_t> counts(bounds.size(), 0);
    for (double number : numbers) {
      const size_t bucket = std::upper_bound(bounds.begin(), bounds.end(), number) - bounds.begin();
      if (bucket > 0) ++counts[bucket - 1];
    }
    for (size_t b = 0; b < bounds.size(); ++b) {
      stats.BeginObject()
          .Key("value")
          .String(BucketLabel(bounds, b))
          .Key("users")
          .Uint(counts[b])
          .EndObject();
    }
  } else {
    std::vector<uint64_t> counts(tag.values.dictionary_size() + 1, 0);
    for (UserId user = 1; user < tag.values.size(); ++user) ++counts[tag.values.Code(user)];
    std::vector<std::pair<uint64_t, uint32_t>> ranked;
    for (uint32_t code = 1; code < counts.size(); ++code) {
      coverage += counts[code];
      if (counts[code] > 0) ranked.emplace_back(counts[code], code);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (ranked.size() > kDistributionValues) ranked.resize(kDistributionValues);
    for (const auto& [count, code] : ranked) {
      stats.BeginObject().Key("value");
      stats.PropertyValue(tag.values.Dictionary(code), project.time_zone);
      stats.Key("users").Uint(count).EndObject();
    }
  }
  stats.EndArray();
  stats.Key("coverage").Uint(coverage);
  stats.Key("elapsed_ms").Double(tag.last_run_elapsed_ms);
  stats.EndObject();
  tag.coverage = coverage;
  state::KvStore::Batch batch;
  batch.Put(AudienceKey(project.id, "tagv", DayKey(tag.definition.id, day)),
            CompressSnapshot(EncodeColumn(tag.values)));
  batch.Put(AudienceKey(project.id, "tags", DayKey(tag.definition.id, day)), stats.Take());
  batch.Put(AudienceKey(project.id, "tag", tag.definition.id),
            EncodeStoredTag(tag.definition, tag.last_run_ms, tag.last_run_elapsed_ms, coverage));
  SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
  return kv_->SyncWal();
}

void AudienceEngine::ApplyEventToTagsLocked(ProjectState& state, const store::EventRow& row,
                                            uint64_t sequence, int64_t now, TouchedUsers* touched) {
  const UserId user = row.user_id;
  for (auto& [id, tag] : state.tags) {
    if (!tag->incremental || !tag->values_loaded || tag->last_run_ms == 0) continue;
    if (sequence <= tag->applied_from_seq) continue;  // in the last run's scan
    const TagDefinition& definition = tag->definition;
    if (!RowMatches(tag->step, row)) continue;
    if (!Resolve(definition.within, now, state.project->time_zone).Contains(row.time_ms)) continue;
    const Value* property = nullptr;
    for (const store::PropertyCell& cell : row.properties) {
      if (cell.property_id == tag->property && tag->property != 0) property = &cell.value;
    }
    UserColumn& values = tag->values;
    const double current = values.numeric() ? values.Number(user) : std::nan("");
    bool changed = false;
    if (definition.kind == TagKind::kStatistic) {
      double next = current;
      if (definition.aggregate == StatisticAggregate::kCount) {
        next = (std::isnan(current) ? 0 : current) + 1;
      } else if (property != nullptr && property->type() == ValueType::kNumber) {
        const double number = property->number();
        switch (definition.aggregate) {
          case StatisticAggregate::kSum:
            next = (std::isnan(current) ? 0 : current) + number;
            break;
          case StatisticAggregate::kMin:
            next = std::isnan(current) ? number : std::min(current, number);
            break;
          case StatisticAggregate::kMax:
            next = std::isnan(current) ? number : std::max(current, number);
            break;
          default:
            break;
        }
      }
      if (!(next == current) && !(std::isnan(next) && std::isnan(current))) {
        values.SetNumber(user, next);
        changed = true;
      }
    } else {
      const double chosen_time = tag->last_times.Number(user);
      const bool replace =
          std::isnan(chosen_time) ||
          (definition.first ? row.time_ms < chosen_time : row.time_ms >= chosen_time);
      if (replace) {
        tag->last_times.SetNumber(user, static_cast<double>(row.time_ms));
        if (definition.property.empty()) {
          const Value time = Value::Datetime(row.time_ms);
          values.Set(user, &time);
        } else {
          values.Set(user, property);
        }
        changed = true;
      }
    }
    if (!changed) continue;
    // Tag conditions of realtime segments follow the new value.
    for (auto& [segment_id, segment] : state.segments) {
      if (!segment->compiled || !segment->definition.realtime) continue;
      bool leaf_changed = false;
      for (auto& leaf : segment->rule.leaves) {
        if (leaf->kind != RuleNode::Kind::kTag || leaf->column != definition.name) continue;
        const std::optional<Value> value = values.Get(user);
        const bool holds = query::EvaluateValue(leaf->condition, value ? &*value : nullptr);
        if (holds != leaf->bits.contains(user)) {
          holds ? leaf->bits.add(user) : leaf->bits.remove(user);
          leaf_changed = true;
        }
      }
      if (leaf_changed) (*touched)[segment_id].push_back(user);
    }
  }
}

// ---- tag API ----

Status AudienceEngine::WriteTagLocked(ProjectState& state, TagState& tag, JsonWriter& out,
                                     const Roaring* visible) {
  uint64_t coverage = tag.coverage;
  if (visible) {
    auto column = TagColumnLocked(state, tag.definition.name);
    if (!column.ok()) return column.status();
    coverage = 0;
    for (UserId user : *visible) coverage += (*column)->Has(user) ? 1 : 0;
  }
  const TagDefinition& definition = tag.definition;
  out.BeginObject();
  out.Key("id").String(definition.id);
  out.Key("name").String(definition.name);
  out.Key("display_name").String(definition.display_name);
  out.Key("category").String(definition.category);
  out.Key("description").String(definition.description);
  out.Key("owner").String(definition.owner);
  out.Key("status").String(TagStatusName(definition.status));
  out.Key("kind").String(TagKindName(definition.kind));
  out.Key("value_type").String(ValueTypeName(definition.value_type));
  out.Key("schedule");
  definition.schedule.Write(out);
  out.Key("realtime").Bool(tag.incremental);
  out.Key("definition").Raw(definition.definition_json);
  out.Key("created_ms").Int(definition.created_ms);
  out.Key("updated_ms").Int(definition.updated_ms);
  out.Key("last_run_ms").Int(tag.last_run_ms);
  out.Key("last_run_elapsed_ms").Double(tag.last_run_elapsed_ms);
  out.Key("coverage").Uint(coverage);
  if (tag.next_run_ms != INT64_MAX) out.Key("next_run_ms").Int(tag.next_run_ms);
  out.EndObject();
  return Status::Ok();
}

Result<AudienceEngine::TagState*> AudienceEngine::FindTagLocked(ProjectState& state,
                                                                const std::string& id) {
  auto found = state.tags.find(id);
  if (found != state.tags.end()) return found->second.get();
  for (auto& [tag_id, tag] : state.tags) {
    if (tag->definition.name == id) return tag.get();
  }
  return Status(ErrorCode::kNotFound, "no tag " + id);
}

Result<AudienceAnswer> AudienceEngine::CreateTag(const state::ProjectInfo& project,
                                                 std::string_view body) {
  auto definition = ParseTagDefinition(body);
  if (!definition.ok()) return definition.status();
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  for (auto& [id, tag] : state.tags) {
    if (tag->definition.name == definition->name) {
      return Status(ErrorCode::kConflict,
                    "a tag named " + definition->name + " exists (id " + id + ")", "name");
    }
  }
  if (definition->kind == TagKind::kLookalike &&
      state.segments.find(definition->seed_segment) == state.segments.end()) {
    return Status(ErrorCode::kInvalidQuery, "seed: no segment " + definition->seed_segment, "seed");
  }
  auto tag = std::make_unique<TagState>();
  tag->definition = std::move(*definition);
  TagDefinition& stored = tag->definition;
  stored.id = std::to_string(state.next_id);
  stored.created_ms = stored.updated_ms = clock_->NowMs();
  // Rule tags name other tags and segments: check them now.
  for (size_t i = 0; i < stored.values.size(); ++i) {
    CompiledRule rule;
    SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, stored.values[i].rule, "", &rule));
  }
  ++state.next_id;
  TagState& created = *tag;
  state.tags[stored.id] = std::move(tag);
  created.values = UserColumn(created.definition.value_type);
  created.values_loaded = true;
  Status run = RunTagLocked(state, created);
  if (!run.ok()) {
    state.tags.erase(stored.id);
    return run;
  }
  created.next_run_ms = created.definition.schedule.NextAfter(clock_->NowMs(), project.time_zone);
  RebuildInterestLocked(state);
  JsonWriter out;
  SEXTANT_RETURN_IF_ERROR(WriteTagLocked(state, created, out));
  return AudienceAnswer{201, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::UpdateTag(const state::ProjectInfo& project,
                                                 const std::string& id, std::string_view body) {
  auto definition = ParseTagDefinition(body);
  if (!definition.ok()) return definition.status();
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto found = FindTagLocked(state, id);
  if (!found.ok()) return found.status();
  TagState& tag = **found;
  if (definition->name != tag.definition.name) {
    return Status(ErrorCode::kInvalidQuery, "name: a tag's name cannot change (rules use it)",
                  "name");
  }
  for (size_t i = 0; i < definition->values.size(); ++i) {
    CompiledRule rule;
    SEXTANT_RETURN_IF_ERROR(CompileRuleLocked(state, definition->values[i].rule, "", &rule));
  }
  definition->id = tag.definition.id;
  definition->created_ms = tag.definition.created_ms;
  definition->updated_ms = clock_->NowMs();
  const bool recompute =
      definition->kind != TagKind::kImported || tag.definition.kind != TagKind::kImported;
  tag.definition = std::move(*definition);
  if (recompute) {
    SEXTANT_RETURN_IF_ERROR(RunTagLocked(state, tag));
  } else {
    SEXTANT_RETURN_IF_ERROR(kv_->Put(
        AudienceKey(state.project->id, "tag", tag.definition.id),
        EncodeStoredTag(tag.definition, tag.last_run_ms, tag.last_run_elapsed_ms, tag.coverage)));
  }
  tag.next_run_ms = tag.definition.schedule.NextAfter(clock_->NowMs(), project.time_zone);
  RebuildInterestLocked(state);
  JsonWriter out;
  SEXTANT_RETURN_IF_ERROR(WriteTagLocked(state, tag, out));
  return AudienceAnswer{200, out.Take()};
}

Result<AudienceAnswer> AudienceEngine::DeleteTag(const state::ProjectInfo& project,
                                                 const std::string& id) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto found = FindTagLocked(state, id);
  if (!found.ok()) return found.status();
  const std::string tag_id = (*found)->definition.id;
  const std::string name = (*found)->definition.name;
  for (auto& [segment_id, segment] : state.segments) {
    for (const auto& leaf : segment->rule.leaves) {
      if (leaf->kind == RuleNode::Kind::kTag && leaf->column == name) {
        return Status(ErrorCode::kConflict, "segment " + segment_id + " (" +
                                                segment->definition.name + ") uses this tag");
      }
    }
  }
  const state::ProjectId pid = state.project->id;
  SEXTANT_RETURN_IF_ERROR(kv_->Delete(AudienceKey(pid, "tag", tag_id)));
  for (const char* space : {"tagv", "tags"}) {
    SEXTANT_RETURN_IF_ERROR(kv_->DeleteRange(AudienceKey(pid, space, tag_id + "/"),
                                             AudienceKey(pid, space, tag_id + "0")));
  }
  state.tags.erase(tag_id);
  RebuildInterestLocked(state);
  return AudienceAnswer{200, R"({"deleted":true})"};
}

Result<AudienceAnswer> AudienceEngine::ListTags(const state::ProjectInfo& project,
                                                const CustomerScope* scope) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    std::optional<Roaring> visible;
    if (scope) {
      auto members = ScopeMembersLocked(state, *scope);
      if (!members.ok()) return members.status();
      visible = std::move(*members);
    }
    JsonWriter out;
    out.BeginObject().Key("tags").BeginArray();
    for (auto& [id, tag] : state.tags) {
      SEXTANT_RETURN_IF_ERROR(WriteTagLocked(state, *tag, out, visible ? &*visible : nullptr));
    }
    out.EndArray().EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::TagCategories(const state::ProjectInfo& project) {
  return WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    // The category tree: each path "a/b/c" adds a, a/b, a/b/c; tags count at every level.
    struct Category {
      std::map<std::string, Category> children;
      uint64_t tags = 0;
    };
    Category root;
    for (auto& [id, tag] : state.tags) {
      Category* node = &root;
      std::string_view path = tag->definition.category;
      ++root.tags;
      while (!path.empty()) {
        const size_t slash = path.find('/');
        const std::string part(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        if (part.empty()) continue;
        node = &node->children[part];
        ++node->tags;
      }
    }
    JsonWriter out;
    std::function<void(const Category&, const std::string&)> write =
        [&](const Category& category, const std::string& prefix) {
          out.BeginArray();
          for (const auto& [name, child] : category.children) {
            const std::string path = prefix.empty() ? name : prefix + "/" + name;
            out.BeginObject();
            out.Key("name").String(name);
            out.Key("path").String(path);
            out.Key("tags").Uint(child.tags);
            out.Key("children");
            write(child, path);
            out.EndObject();
          }
          out.EndArray();
        };
    out.BeginObject().Key("tags").Uint(root.tags).Key("categories");
    write(root, "");
    out.EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::GetTag(const state::ProjectInfo& project,
                                              const std::string& id, const CustomerScope* scope) {
  return WithTag(project, id, [&](ProjectState& state, TagState& tag) -> Result<AudienceAnswer> {
    std::optional<Roaring> visible;
    if (scope) {
      auto members = ScopeMembersLocked(state, *scope);
      if (!members.ok()) return members.status();
      visible = std::move(*members);
    }
    JsonWriter out;
    SEXTANT_RETURN_IF_ERROR(WriteTagLocked(state, tag, out, visible ? &*visible : nullptr));
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::RunTag(const state::ProjectInfo& project,
                                              const std::string& id) {
  return WithTag(project, id, [&](ProjectState& state, TagState& tag) -> Result<AudienceAnswer> {
    SEXTANT_RETURN_IF_ERROR(RunTagLocked(state, tag));
    JsonWriter out;
    out.BeginObject();
    out.Key("id").String(tag.definition.id);
    out.Key("coverage").Uint(tag.coverage);
    out.Key("elapsed_ms").Double(tag.last_run_elapsed_ms);
    out.Key("date").String(FormatDate(project.time_zone.DayOf(clock_->NowMs())));
    out.EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::TagHistory(const state::ProjectInfo& project,
                                                  const std::string& id) {
  return WithTag(project, id, [&](ProjectState& state, TagState& tag) -> Result<AudienceAnswer> {
    JsonWriter out;
    out.BeginObject().Key("id").String(tag.definition.id).Key("snapshots").BeginArray();
    SEXTANT_RETURN_IF_ERROR(
        kv_->ScanPrefix(AudienceKey(state.project->id, "tags", tag.definition.id + "/"),
                        [&](std::string_view, std::string_view value) {
                          out.Raw(value);
                          return true;
                        }));
    out.EndArray().EndObject();
    return AudienceAnswer{200, out.Take()};
  });
}

Result<AudienceAnswer> AudienceEngine::ImportTagValues(const state::ProjectInfo& project,
                                                       const std::string& id, std::string_view csv,
                                                       bool merge) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto found = FindTagLocked(state, id);
  if (!found.ok()) return found.status();
  TagState& tag = **found;
  if (tag.definition.kind != TagKind::kImported) {
    return Status(ErrorCode::kBadRequest, "tag " + tag.definition.name + " is not an imported tag");
  }
  SEXTANT_RETURN_IF_ERROR(LoadTagValuesLocked(state, tag));
  auto rows = ReadCsvIdsLocked(state, csv, true);
  if (!rows.ok()) return rows.status();
  UserColumn values = merge ? tag.values : UserColumn(tag.definition.value_type);
  size_t line = 0;
  for (const auto& [user, text] : rows->rows) {
    ++line;
    if (tag.definition.value_type == ValueType::kNumber) {
      char* end = nullptr;
      const double number = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        return Status(ErrorCode::kBadRequest,
                      "row " + std::to_string(line) + ": value \"" + text + "\" is not a number",
                      "row " + std::to_string(line) + ".value");
      }
      values.SetNumber(user, number);
    } else {
      const Value value = Value::String(text);
      values.Set(user, &value);
    }
  }
  tag.values = std::move(values);
  tag.values_loaded = true;
  tag.last_run_ms = clock_->NowMs();
  tag.last_run_elapsed_ms = 0;
  SEXTANT_RETURN_IF_ERROR(SaveTagSnapshotLocked(state, tag));
  JsonWriter out;
  out.BeginObject();
  out.Key("id").String(tag.definition.id);
  out.Key("imported").Uint(rows->rows.size());
  out.Key("unmatched").Uint(rows->unmatched);
  out.Key("unmatched_examples").BeginArray();
  for (const std::string& example : rows->unmatched_examples) out.String(example);
  out.EndArray();
  out.Key("coverage").Uint(tag.coverage);
  out.EndObject();
  return AudienceAnswer{200, out.Take()};
}

Status AudienceEngine::WriteUserTags(const state::ProjectInfo& project, UserId user,
                                     JsonWriter& out) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  out.BeginObject();
  for (auto& [id, tag] : state.tags) {
    if (tag->definition.status == TagStatus::kOffline) continue;
    SEXTANT_RETURN_IF_ERROR(LoadTagValuesLocked(state, *tag));
    const std::optional<Value> value = tag->values.Get(user);
    if (!value) continue;
    out.Key(tag->definition.name);
    out.PropertyValue(*value, project.time_zone);
  }
  out.EndObject();
  return Status::Ok();
}

Result<std::optional<Value>> AudienceEngine::TagValueOf(const state::ProjectInfo& project,
                                                        const std::string& name, UserId user) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  for (auto& [id, tag] : state.tags) {
    if (tag->definition.name != name) continue;
    SEXTANT_RETURN_IF_ERROR(LoadTagValuesLocked(state, *tag));
    return tag->values.Get(user);
  }
  return Status(ErrorCode::kNotFound, "no tag named " + name);
}

}  // namespace sextant::audience
