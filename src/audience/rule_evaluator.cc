// Rules: compiling a RuleNode tree against a project, evaluating it in full to a bitmap, and
// re-evaluating it for one person from the leaf bitmaps.
#include <algorithm>

#include "audience/audience_internal.h"
#include "query/analyses.h"
#include "query/spec_json.h"

namespace sextant::audience {
namespace {

using query::spec_json::Invalid;

bool NumberMatches(const query::CompiledCondition& condition, double number) {
  return query::EvaluateNumber(condition, number);
}

}  // namespace

// ---- UserValueMap ----

void UserValueMap::Reset(size_t people, UserId user_limit) {
  keys_.clear();
  values_.clear();
  dense_values_.clear();
  size_ = 0;
  dense_ = people > user_limit / 4;
  if (dense_) {
    dense_values_.assign(user_limit, 0);
    return;
  }
  size_t slots = 16;
  while (slots < people * 2) slots *= 2;
  keys_.assign(slots, 0);
  values_.assign(slots, 0);
}

double UserValueMap::Get(UserId user) const {
  if (dense_) return user < dense_values_.size() ? dense_values_[user] : 0;
  if (keys_.empty()) return 0;
  const size_t mask = keys_.size() - 1;
  for (size_t i = (user * 0x9E3779B1u) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == user) return values_[i];
    if (keys_[i] == 0) return 0;
  }
}

double& UserValueMap::operator[](UserId user) {
  if (dense_) {
    if (user >= dense_values_.size()) dense_values_.resize(user + 1, 0);
    return dense_values_[user];
  }
  if ((size_ + 1) * 2 > keys_.size()) Grow();
  const size_t mask = keys_.size() - 1;
  for (size_t i = (user * 0x9E3779B1u) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == user) return values_[i];
    if (keys_[i] == 0) {
      keys_[i] = user;
      values_[i] = 0;
      ++size_;
      return values_[i];
    }
  }
}

void UserValueMap::Grow() {
  std::vector<UserId> keys = std::move(keys_);
  std::vector<double> values = std::move(values_);
  keys_.assign(std::max<size_t>(16, keys.size() * 2), 0);
  values_.assign(keys_.size(), 0);
  size_ = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] != 0) (*this)[keys[i]] = values[i];
  }
}

std::string AudienceKey(state::ProjectId project, std::string_view space, std::string_view id) {
  std::string key = "aud/" + std::to_string(project) + "/" + std::string(space);
  if (!id.empty()) {
    key += '/';
    key += id;
  }
  return key;
}

// ---- compiling ----

Status AudienceEngine::CompileRuleLocked(ProjectState& state, const RuleNode& root,
                                         const std::string& self_id, CompiledRule* out) {
  out->nodes.clear();
  out->leaves.clear();
  const state::ProjectInfo& project = *state.project;
  state::ProjectSchema* schema = schemas_->ForProject(project);
  // A context without days: used only to compile event filters.
  query::QuerySpec spec;
  query::QueryContext context(project, schema, kv_, spec);

  std::function<Result<int>(const RuleNode&)> compile = [&](const RuleNode& node) -> Result<int> {
    const int index = static_cast<int>(out->nodes.size());
    out->nodes.emplace_back();
    out->nodes[index].kind = node.kind;
    switch (node.kind) {
      case RuleNode::Kind::kAll:
      case RuleNode::Kind::kAny:
      case RuleNode::Kind::kNot:
        for (const RuleNode& child : node.children) {
          auto compiled = compile(child);
          if (!compiled.ok()) return compiled.status();
          out->nodes[index].children.push_back(*compiled);
        }
        return index;
      default:
        break;
    }
    auto leaf = std::make_unique<Leaf>();
    leaf->node = &node;
    leaf->kind = node.kind;
    switch (node.kind) {
      case RuleNode::Kind::kProfile: {
        auto entry = schema->Find(state::SchemaKind::kUserProperty, node.name);
        auto condition = query::CompileLiterals(
            node.condition, entry ? entry->type : ValueType::kString, project.time_zone, node.path);
        if (!condition.ok()) return condition.status();
        leaf->condition = std::move(*condition);
        leaf->column = node.name;
        break;
      }
      case RuleNode::Kind::kTag: {
        TagState* tag = nullptr;
        for (auto& [id, candidate] : state.tags) {
          if (candidate->definition.name == node.name) tag = candidate.get();
        }
        if (tag == nullptr)
          return Invalid(node.path + ".tag", "no tag named \"" + node.name + "\"");
        auto condition = query::CompileLiterals(node.condition, tag->definition.value_type,
                                                project.time_zone, node.path);
        if (!condition.ok()) return condition.status();
        leaf->condition = std::move(*condition);
        leaf->column = node.name;
        break;
      }
      case RuleNode::Kind::kDid: {
        auto step = CompileStep(context, node.step, node.path);
        if (!step.ok()) return step.status();
        leaf->steps.push_back(std::move(*step));
        if (node.measure == RuleNode::Measure::kSum) {
          auto entry = schema->Find(state::SchemaKind::kEventProperty, node.sum_property);
          if (entry && entry->type != ValueType::kNumber) {
            return Invalid(node.path + ".sum.property",
                           node.sum_property + " is " + std::string(ValueTypeName(entry->type)) +
                               ", sum needs a NUMBER property");
          }
          leaf->sum_property = entry ? entry->id : 0;
        }
        auto threshold = query::CompileLiterals(
            node.threshold, ValueType::kNumber, project.time_zone,
            node.path + (node.measure == RuleNode::Measure::kSum ? ".sum" : ".count"));
        if (!threshold.ok()) return threshold.status();
        leaf->threshold = std::move(*threshold);
        leaf->zero_matches = NumberMatches(leaf->threshold, 0);
        break;
      }
      case RuleNode::Kind::kSequence: {
        for (size_t i = 0; i < node.steps.size(); ++i) {
          auto step = CompileStep(context, node.steps[i],
                                  node.path + ".sequence[" + std::to_string(i) + "]");
          if (!step.ok()) return step.status();
          leaf->steps.push_back(std::move(*step));
        }
        break;
      }
      case RuleNode::Kind::kSegment: {
        auto found = state.segments.find(node.name);
        if (found == state.segments.end()) {
          // Segments may also be named by name.
          for (auto& [id, segment] : state.segments) {
            if (segment->definition.name == node.name) found = state.segments.find(id);
          }
        }
        if (found == state.segments.end()) {
          return Invalid(node.path + ".segment", "no segment \"" + node.name + "\"");
        }
        if (!self_id.empty() && DependsOnLocked(state, found->first, self_id)) {
          return Invalid(node.path + ".segment",
                         "segment \"" + node.name + "\" refers back to this segment");
        }
        leaf->segment_id = found->first;
        break;
      }
      default:
        break;
    }
    out->nodes[index].leaf = static_cast<int>(out->leaves.size());
    out->leaves.push_back(std::move(leaf));
    return index;
  };
  auto root_index = compile(root);
  return root_index.ok() ? Status::Ok() : root_index.status();
}

bool AudienceEngine::DependsOnLocked(ProjectState& state, const std::string& segment_id,
                                     const std::string& target_id) {
  if (segment_id == target_id) return true;
  auto found = state.segments.find(segment_id);
  if (found == state.segments.end()) return false;
  for (const auto& leaf : found->second->rule.leaves) {
    if (leaf->kind == RuleNode::Kind::kSegment &&
        DependsOnLocked(state, leaf->segment_id, target_id)) {
      return true;
    }
  }
  return false;
}

// ---- evaluating in full ----

Result<Roaring> AudienceEngine::UniverseLocked(ProjectState& state, UserId* user_limit) {
  auto limit = identities_->UserIdLimit(state.project->id);
  if (!limit.ok()) return limit.status();
  auto merges = identities_->MergeMap(state.project->id);
  if (!merges.ok()) return merges.status();
  Roaring universe;
  if (*limit > 1) universe.addRange(1, *limit);
  for (const auto& [merged, into] : *merges) universe.remove(merged);
  universe.runOptimize();
  *user_limit = *limit;
  return universe;
}

bool AudienceEngine::IsExistence(const Leaf& leaf) {
  if (leaf.kind != RuleNode::Kind::kDid || leaf.node->measure != RuleNode::Measure::kCount ||
      leaf.node->step.where || leaf.steps[0].event == query::kAnyEvent) {
    return false;
  }
  const query::CompiledCondition& threshold = leaf.threshold;
  return threshold.numbers.size() == 1 &&
         ((threshold.op == query::CompareOp::kGe && threshold.numbers[0] == 1) ||
          (threshold.op == query::CompareOp::kGt && threshold.numbers[0] == 0));
}

Status AudienceEngine::EvaluateBehaviourLocked(ProjectState& state, Leaf& leaf,
                                               bool keep_aggregates, UserId user_limit) {
  const RuleNode& node = *leaf.node;
  const size_t state_bytes = leaf.kind == RuleNode::Kind::kDid ? 12 : 8 * leaf.steps.size() + 1;
  auto scan = PrepareWindowScanLocked(state, node.within, user_limit, state_bytes);
  if (!scan.ok()) return scan.status();
  const query::QueryContext& context = *(*scan)->context;
  const Interval interval = (*scan)->interval;
  const UserId limit = context.user_limit();
  const size_t shards = context.shard_count();

  leaf.bits = Roaring();
  leaf.aggregates.Reset(0, 0);
  if (IsExistence(leaf)) {
    // "Did E at least once": the union of each day's users of E — a bitmap OR per day, with
    // rows read only for days the window cuts. No per-person counts are kept: for a realtime
    // update any matching event makes the condition hold, whatever the count was.
    const EventId event = leaf.steps[0].event;
    if (event == 0) return Status::Ok();  // never seen
    std::vector<UserId> partial;
    for (const auto& day : context.days()) {
      const int64_t start = day->day_start_ms();
      if (start + 86'400'000 <= interval.start_ms || start >= interval.end_ms) continue;
      if (start >= interval.start_ms && start + 86'400'000 <= interval.end_ms) {
        leaf.bits |= day->UsersOf(event);
        continue;
      }
      const query::DayColumns::EventRows& rows = day->RowsOf(event);
      const uint32_t* offsets = day->time_offset_ms().data();
      for (size_t i = 0; i < rows.rows.size(); ++i) {
        if (interval.Contains(start + offsets[rows.rows[i]])) partial.push_back(rows.users[i]);
      }
    }
    leaf.bits.addMany(partial.size(), partial.data());
    SEXTANT_RETURN_IF_ERROR(context.DaysStatus());  // a failed lazy read left users out
    // Stored ids of people merged into others count for the person they belong to now.
    for (const auto& [merged, into] : context.merged_into()) {
      if (leaf.bits.contains(merged)) {
        leaf.bits.remove(merged);
        leaf.bits.add(into);
      }
    }
    leaf.bits.runOptimize();
    return Status::Ok();
  }
  if (leaf.kind == RuleNode::Kind::kDid) {
    // Per shard: count or sum per person, and who had any matching event.
    // The project's scratch arrays, indexed by user id (shards write disjoint ranges); all zero
    // between evaluations — only the touched people are reset afterwards — so an evaluation
    // costs in proportion to the people with matching events, not to the user-id space.
    std::vector<double>& measure = state.scratch_measure;
    std::vector<uint8_t>& seen = state.scratch_seen;
    if (measure.size() < limit) {
      measure.resize(limit, 0);
      seen.resize(limit, 0);
    }
    std::vector<std::vector<UserId>> touched(shards);  // people with a matching event
    const bool sum = node.measure == RuleNode::Measure::kSum;
    std::vector<PropertyReader> sum_readers(shards, PropertyReader(leaf.sum_property));
    // Sum columns per day, read lazily per shard thread (DayColumns::Property is thread-safe).
    const Status scanned = ScanSteps(context, leaf.steps, interval,
                                     [&](size_t shard, UserId user, const MatchedRow& match) {
                                       if (!seen[user]) {
                                         seen[user] = 1;
                                         touched[shard].push_back(user);
                                       }
                                       if (!sum) {
                                         measure[user] += 1;
                                         return;
                                       }
                                       const double number = sum_readers[shard].Number(*match.day, match.row);
                                       if (!std::isnan(number)) measure[user] += number;
                                     });
    if (!scanned.ok()) {
      for (const std::vector<UserId>& list : touched) {
        for (UserId user : list) measure[user] = seen[user] = 0;
      }
      return scanned;
    }
    // Those with events: by their measure. Those without: all or none, by the threshold at 0.
    std::vector<uint32_t> pass, fail;
    size_t people = 0;
    for (const auto& list : touched) people += list.size();
    if (keep_aggregates) leaf.aggregates.Reset(people, limit);
    auto take = [&](UserId user) {
      const double value = measure[user];
      measure[user] = 0;
      seen[user] = 0;
      if (keep_aggregates) leaf.aggregates[user] = value;
      (NumberMatches(leaf.threshold, value) ? pass : fail).push_back(user);
    };
    if (people > limit / 32) {
      // Many people: one pass over the arrays in id order (sorted output, sequential access).
      for (UserId user = 1; user < limit; ++user) {
        if (seen[user]) take(user);
      }
    } else {
      for (const std::vector<UserId>& list : touched) {
        for (UserId user : list) take(user);
      }
    }
    if (leaf.zero_matches) {
      Roaring failing;
      failing.addMany(fail.size(), fail.data());
      if (limit > 1) leaf.bits.addRange(1, limit);
      leaf.bits -= failing;
    } else {
      leaf.bits.addMany(pass.size(), pass.data());
    }
  } else {
    // Sequences: per person and step, the latest start time of a chain that reached the step
    // (a later start leaves the most room for the rest of the window).
    const size_t steps = leaf.steps.size();
    const int64_t window = node.step_window_ms > 0 ? node.step_window_ms : INT64_MAX;
    // Chain starts are kept as time_ms with the sign bit flipped (an order-preserving map to
    // unsigned), so that 0 means "step not reached". A person gets chain slots at their first
    // step-0 event: slot_of[user] (the project's scratch, zero between uses) is 1 + the
    // person's index in their shard's chain list.
    auto encode = [](int64_t time_ms) {
      return static_cast<uint64_t>(time_ms) ^ (uint64_t{1} << 63);
    };
    auto decode = [](uint64_t stored) {
      return static_cast<int64_t>(stored ^ (uint64_t{1} << 63));
    };
    std::vector<uint32_t>& slot_of = state.scratch_slot;
    if (slot_of.size() < limit) slot_of.resize(limit, 0);
    std::vector<std::vector<uint64_t>> chain(shards);
    std::vector<std::vector<UserId>> started(shards);
    std::vector<std::vector<uint32_t>> done(shards);
    const Status scanned = ScanSteps(
        context, leaf.steps, interval, [&](size_t shard, UserId user, const MatchedRow& match) {
          uint32_t& slot = slot_of[user];
          if (slot == 0) {
            if (!(match.step_mask & 1)) return;  // no chain before a step-0 event
            chain[shard].resize(chain[shard].size() + steps, 0);
            slot = static_cast<uint32_t>(chain[shard].size() / steps);
            started[shard].push_back(user);
          }
          uint64_t* starts = &chain[shard][(slot - 1) * steps];
          if (starts[steps - 1] != 0) return;
          // Highest step first, so that one event never serves as two consecutive steps.
          for (size_t k = steps; k-- > 0;) {
            if (!(match.step_mask >> k & 1)) continue;
            if (k == 0) {
              starts[0] = encode(match.time_ms);
            } else if (starts[k - 1] != 0 && match.time_ms - decode(starts[k - 1]) <= window) {
              starts[k] = std::max(starts[k], starts[k - 1]);
              if (k == steps - 1) done[shard].push_back(user);
            }
          }
        });
    for (const std::vector<UserId>& list : started) {
      for (UserId user : list) slot_of[user] = 0;
    }
    SEXTANT_RETURN_IF_ERROR(scanned);
    for (size_t s = 0; s < shards; ++s) {
      std::sort(done[s].begin(), done[s].end());
      leaf.bits.addMany(done[s].size(), done[s].data());
    }
  }
  leaf.bits.runOptimize();
  return Status::Ok();
}

Result<std::unique_ptr<WindowScan>> AudienceEngine::PrepareWindowScanLocked(
    ProjectState& state, const Window& window, UserId user_limit, size_t state_bytes_per_user) {
  const state::ProjectInfo& project = *state.project;
  const int64_t now = clock_->NowMs();
  auto scan = std::make_unique<WindowScan>();
  scan->interval = Resolve(window, now, project.time_zone);
  const bool all_history = window.kind == Window::Kind::kAll;
  const int64_t read_start = all_history ? now : scan->interval.start_ms;
  const int64_t read_end = all_history ? now + 86'400'000 : scan->interval.end_ms - 1;
  auto loaded = queries_->LoadDays(project, read_start, std::max(read_start, read_end), all_history,
                                   state_bytes_per_user);
  if (!loaded.ok()) return loaded.status();
  scan->context = std::make_unique<query::QueryContext>(project, schemas_->ForProject(project), kv_,
                                                        scan->spec);
  scan->context->SetDays(std::move(loaded->days));
  scan->context->SetUsers(std::max(user_limit, loaded->user_limit), loaded->merges,
                          queries_->threads());
  return scan;
}

Result<Roaring> AudienceEngine::EvaluateLocked(ProjectState& state, CompiledRule& rule,
                                               bool keep_aggregates) {
  UserId user_limit = 1;
  auto universe = UniverseLocked(state, &user_limit);
  if (!universe.ok()) return universe.status();
  for (auto& leaf : rule.leaves) {
    switch (leaf->kind) {
      case RuleNode::Kind::kProfile: {
        auto column = ProfileColumnLocked(state, leaf->column);
        if (!column.ok()) return column.status();
        leaf->bits = (*column)->Select(leaf->condition, user_limit);
        break;
      }
      case RuleNode::Kind::kTag: {
        auto column = TagColumnLocked(state, leaf->column);
        if (!column.ok()) return column.status();
        leaf->bits = (*column)->Select(leaf->condition, user_limit);
        break;
      }
      case RuleNode::Kind::kDid:
      case RuleNode::Kind::kSequence:
        SEXTANT_RETURN_IF_ERROR(EvaluateBehaviourLocked(state, *leaf, keep_aggregates, user_limit));
        break;
      case RuleNode::Kind::kSegment: {
        auto found = state.segments.find(leaf->segment_id);
        leaf->bits = found == state.segments.end() ? Roaring() : found->second->members;
        break;
      }
      default:
        break;
    }
  }
  std::function<Roaring(int)> combine = [&](int index) -> Roaring {
    const CompiledRule::Node& node = rule.nodes[index];
    switch (node.kind) {
      case RuleNode::Kind::kAll: {
        Roaring out = combine(node.children[0]);
        for (size_t i = 1; i < node.children.size(); ++i) out &= combine(node.children[i]);
        return out;
      }
      case RuleNode::Kind::kAny: {
        Roaring out = combine(node.children[0]);
        for (size_t i = 1; i < node.children.size(); ++i) out |= combine(node.children[i]);
        return out;
      }
      case RuleNode::Kind::kNot:
        return *universe - combine(node.children[0]);
      default:
        return rule.leaves[node.leaf]->bits & *universe;
    }
  };
  Roaring members = combine(0);
  members.runOptimize();
  return members;
}

bool AudienceEngine::MemberOf(const CompiledRule& rule, int index, UserId user) {
  const CompiledRule::Node& node = rule.nodes[index];
  switch (node.kind) {
    case RuleNode::Kind::kAll:
      for (int child : node.children) {
        if (!MemberOf(rule, child, user)) return false;
      }
      return true;
    case RuleNode::Kind::kAny:
      for (int child : node.children) {
        if (MemberOf(rule, child, user)) return true;
      }
      return false;
    case RuleNode::Kind::kNot:
      return !MemberOf(rule, node.children[0], user);
    default:
      return rule.leaves[node.leaf]->bits.contains(user);
  }
}

}  // namespace sextant::audience
