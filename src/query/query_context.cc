#include "query/query_context.h"
#include "query/spec_json.h"

#include "query/analyses.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <thread>

#include "common/json_writer.h"
#include "common/value_codec.h"

namespace sextant::query {
namespace {

using spec_json::Invalid;

bool IsNegative(CompareOp op) { return op == CompareOp::kNe || op == CompareOp::kNotIn; }

// The op whose result a negative op inverts (!= → =, not_in → in).
CompareOp Positive(CompareOp op) {
  if (op == CompareOp::kNe) return CompareOp::kEq;
  if (op == CompareOp::kNotIn) return CompareOp::kIn;
  return op;
}

bool NumberPositive(double v, CompareOp op, const std::vector<double>& literals) {
  switch (op) {
    case CompareOp::kEq:
    case CompareOp::kIn:
      return std::find(literals.begin(), literals.end(), v) != literals.end();
    case CompareOp::kGt: return v > literals[0];
    case CompareOp::kGe: return v >= literals[0];
    case CompareOp::kLt: return v < literals[0];
    case CompareOp::kLe: return v <= literals[0];
    case CompareOp::kBetween: return v >= literals[0] && v <= literals[1];
    default: return false;  // contains on a number
  }
}

bool StringPositive(std::string_view s, CompareOp op, const std::vector<std::string>& literals) {
  switch (op) {
    case CompareOp::kEq:
    case CompareOp::kIn:
      return std::find(literals.begin(), literals.end(), s) != literals.end();
    case CompareOp::kContains: return s.find(literals[0]) != std::string_view::npos;
    case CompareOp::kStartsWith: return s.starts_with(literals[0]);
    case CompareOp::kGt: return s > literals[0];
    case CompareOp::kGe: return s >= literals[0];
    case CompareOp::kLt: return s < literals[0];
    case CompareOp::kLe: return s <= literals[0];
    case CompareOp::kBetween: return s >= literals[0] && s <= literals[1];
    default: return false;
  }
}

std::string FormatNumber(double v) {
  JsonWriter writer;
  writer.Double(v);
  return writer.Take();
}

// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS[.mmm]" in `zone` → epoch ms.
std::optional<int64_t> ParseDatetimeLiteral(std::string_view text, const TimeZone& zone) {
  auto day = ParseDate(text.substr(0, std::min<size_t>(10, text.size())));
  if (!day) return std::nullopt;
  int64_t ms = zone.DayStartMs(*day);
  if (text.size() == 10) return ms;
  int hour = 0, minute = 0, second = 0, milli = 0;
  if (text.size() < 19 || (text[10] != ' ' && text[10] != 'T') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  auto digits = [&](size_t begin, size_t count, int* out) {
    auto [end, error] = std::from_chars(text.data() + begin, text.data() + begin + count, *out);
    return error == std::errc() && end == text.data() + begin + count;
  };
  if (!digits(11, 2, &hour) || !digits(14, 2, &minute) || !digits(17, 2, &second)) {
    return std::nullopt;
  }
  if (text.size() > 19) {
    if (text[19] != '.' || text.size() != 23 || !digits(20, 3, &milli)) return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  return ms + ((hour * 60 + minute) * 60 + second) * 1000LL + milli;
}

}  // namespace

uint32_t ValueInterner::Intern(const std::string& json) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = ids_.try_emplace(json, static_cast<uint32_t>(json_.size()));
  if (inserted) json_.push_back(json);
  return it->second;
}

std::string ValueInterner::Json(uint32_t id) const {
  std::lock_guard lock(mu_);
  return id < json_.size() ? json_[id] : "null";
}

bool EvaluateNumber(const CompiledCondition& condition, double value) {
  if (std::isnan(value)) return condition.op == CompareOp::kNotSet;
  if (condition.op == CompareOp::kIsSet) return true;
  if (condition.op == CompareOp::kNotSet) return false;
  const bool positive = NumberPositive(value, Positive(condition.op), condition.numbers);
  return IsNegative(condition.op) ? !positive : positive;
}

bool EvaluateValue(const CompiledCondition& condition, const Value* value) {
  if (value == nullptr) return condition.op == CompareOp::kNotSet;
  if (condition.op == CompareOp::kIsSet) return true;
  if (condition.op == CompareOp::kNotSet) return false;
  const CompareOp op = Positive(condition.op);
  bool positive = false;
  switch (value->type()) {
    case ValueType::kNumber: positive = NumberPositive(value->number(), op, condition.numbers); break;
    case ValueType::kBool:
      positive = NumberPositive(value->boolean() ? 1 : 0, op, condition.numbers);
      break;
    case ValueType::kDatetime:
      positive = NumberPositive(static_cast<double>(value->datetime_ms()), op, condition.numbers);
      break;
    case ValueType::kDate:
      positive = NumberPositive(value->date_days(), op, condition.numbers);
      break;
    case ValueType::kString: positive = StringPositive(value->str(), op, condition.strings); break;
    case ValueType::kList:
      for (const std::string& item : value->list()) {
        if (StringPositive(item, op, condition.strings)) {
          positive = true;
          break;
        }
      }
      break;
  }
  return IsNegative(condition.op) ? !positive : positive;
}

Result<CompiledCondition> QueryContext::CompileCondition(const Condition& condition,
                                                         const std::string& path) {
  auto entry = schema_->Find(condition.property.user ? state::SchemaKind::kUserProperty
                                                     : state::SchemaKind::kEventProperty,
                             condition.property.name);
  auto compiled =
      CompileLiterals(condition, entry ? entry->type : ValueType::kString, zone(), path);
  if (!compiled.ok()) return compiled.status();
  CompiledCondition out = std::move(*compiled);
  if (entry && !out.user) out.property = entry->id;
  if (out.user) {
    out.user_index = static_cast<int>(user_conditions_.size());
    user_conditions_.push_back(out);
    user_condition_names_.push_back(condition.property.name);
  }
  return out;
}

Result<CompiledCondition> CompileLiterals(const Condition& condition, ValueType type,
                                          const TimeZone& zone, const std::string& path) {
  CompiledCondition out;
  out.op = condition.op;
  out.user = condition.property.user;
  out.type = type;
  // An unknown property is absent everywhere; literals are then kept as strings/numbers.
  const std::string value_path = path + ".value";
  for (size_t i = 0; i < condition.values.size(); ++i) {
    const Literal& literal = condition.values[i];
    const std::string item_path =
        condition.values.size() > 1 || condition.op == CompareOp::kIn ||
                condition.op == CompareOp::kNotIn
            ? value_path + "[" + std::to_string(i) + "]"
            : value_path;
    switch (out.type) {
      case ValueType::kString:
      case ValueType::kList:
        if (literal.kind == Literal::Kind::kString) {
          out.strings.push_back(literal.string);
        } else if (literal.kind == Literal::Kind::kNumber) {
          out.strings.push_back(FormatNumber(literal.number));
        } else {
          out.strings.push_back(literal.boolean ? "true" : "false");
        }
        break;
      case ValueType::kNumber: {
        double number = literal.number;
        if (literal.kind == Literal::Kind::kString) {
          auto [end, error] = std::from_chars(literal.string.data(),
                                              literal.string.data() + literal.string.size(), number);
          if (error != std::errc() || end != literal.string.data() + literal.string.size()) {
            return Invalid(item_path, condition.property.Display() + " is NUMBER, \"" +
                                          literal.string + "\" is not a number");
          }
        } else if (literal.kind == Literal::Kind::kBool) {
          return Invalid(item_path, condition.property.Display() + " is NUMBER, got a boolean");
        }
        out.numbers.push_back(number);
        break;
      }
      case ValueType::kBool:
        if (literal.kind == Literal::Kind::kBool) {
          out.numbers.push_back(literal.boolean ? 1 : 0);
        } else if (literal.kind == Literal::Kind::kNumber &&
                   (literal.number == 0 || literal.number == 1)) {
          out.numbers.push_back(literal.number);
        } else if (literal.kind == Literal::Kind::kString &&
                   (literal.string == "true" || literal.string == "false")) {
          out.numbers.push_back(literal.string == "true" ? 1 : 0);
        } else {
          return Invalid(item_path, condition.property.Display() + " is BOOL, give true or false");
        }
        break;
      case ValueType::kDatetime:
      case ValueType::kDate: {
        if (literal.kind == Literal::Kind::kNumber) {
          out.numbers.push_back(literal.number);
          break;
        }
        std::optional<int64_t> ms;
        if (literal.kind == Literal::Kind::kString) ms = ParseDatetimeLiteral(literal.string, zone);
        if (!ms) {
          return Invalid(item_path, condition.property.Display() +
                                        " is a time: give \"YYYY-MM-DD[ HH:MM:SS]\" or a number");
        }
        if (out.type == ValueType::kDatetime) {
          out.numbers.push_back(static_cast<double>(*ms));
        } else {
          out.numbers.push_back(static_cast<double>(
              std::floor(static_cast<double>(*ms + zone.offset_ms()) / 86'400'000.0)));
        }
        break;
      }
    }
  }
  if ((out.op == CompareOp::kContains || out.op == CompareOp::kStartsWith) &&
      out.type != ValueType::kString && out.type != ValueType::kList) {
    return Invalid(path + ".op", std::string(out.op == CompareOp::kContains ? "contains" : "starts_with") +
                                     " needs a STRING or LIST property, " +
                                     condition.property.Display() + " is " +
                                     std::string(ValueTypeName(out.type)));
  }
  return out;
}

Status QueryContext::CompileNode(const FilterNode& node, const std::string& path,
                                 CompiledFilter* out, int* index) {
  CompiledFilter::Node compiled;
  compiled.kind = node.kind;
  if (node.kind == FilterNode::Kind::kCondition) {
    auto condition = CompileCondition(node.condition, path);
    if (!condition.ok()) return condition.status();
    compiled.condition = static_cast<int>(out->conditions.size());
    out->conditions.push_back(std::move(*condition));
  } else {
    const char* key = node.kind == FilterNode::Kind::kAll   ? ".all"
                      : node.kind == FilterNode::Kind::kAny ? ".any"
                                                            : ".not";
    for (size_t i = 0; i < node.children.size(); ++i) {
      int child;
      const std::string child_path =
          path + key + (node.kind == FilterNode::Kind::kNot ? "" : "[" + std::to_string(i) + "]");
      SEXTANT_RETURN_IF_ERROR(CompileNode(node.children[i], child_path, out, &child));
      compiled.children.push_back(child);
    }
  }
  *index = static_cast<int>(out->nodes.size());
  out->nodes.push_back(std::move(compiled));
  return Status::Ok();
}

QueryContext::QueryContext(const state::ProjectInfo& project, state::ProjectSchema* schema,
                           const state::KvStore* kv, const QuerySpec& spec)
    : project_(project), schema_(schema), kv_(kv), spec_(spec) {
  for (std::string_view name : kOwnEvents) {
    const EventId id = schema_->FindEvent(std::string(name));
    if (id == 0) continue;
    if (own_events_.size() <= id) own_events_.resize(id + 1, 0);
    own_events_[id] = 1;
  }
}

Result<CompiledFilter> QueryContext::Compile(const std::optional<FilterNode>& filter,
                                             const std::string& path) {
  CompiledFilter out;
  if (!filter) return out;
  int root;
  SEXTANT_RETURN_IF_ERROR(CompileNode(*filter, path.empty() ? "filter" : path + ".filter", &out,
                                      &root));
  out.root = root;
  return out;
}

Status QueryContext::CompileBy() {
  for (const PropertyRef& ref : spec_.by) {
    auto column = std::make_unique<ByColumn>();
    column->ref = ref;
    auto entry = schema_->Find(
        ref.user ? state::SchemaKind::kUserProperty : state::SchemaKind::kEventProperty, ref.name);
    if (entry) {
      column->type = entry->type;
      if (!ref.user) column->property = entry->id;
    }
    by_.push_back(std::move(column));
  }
  return Status::Ok();
}

bool QueryContext::by_has_event_property() const {
  for (const auto& column : by_) {
    if (!column->ref.user) return true;
  }
  return false;
}

QueryContext::UserGroups QueryContext::GroupUsers() const {
  UserGroups groups;
  if (by_.empty()) {
    groups.keys.push_back({});
    return groups;
  }
  std::map<std::vector<uint32_t>, uint32_t> index;
  groups.group_of_user.assign(user_limit_, 0);
  std::vector<uint32_t> key;
  for (UserId user = 1; user < user_limit_; ++user) {
    key.clear();
    for (const auto& column : by_) key.push_back(column->user_values[user]);
    auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(groups.keys.size()));
    if (inserted) groups.keys.push_back(key);
    groups.group_of_user[user] = it->second;
  }
  return groups;
}

int64_t QueryContext::FindGroup(const UserGroups& groups) const {
  if (!spec_.users.enabled || !spec_.users.has_group) return -1;
  for (size_t g = 0; g < groups.keys.size(); ++g) {
    bool same = true;
    for (size_t b = 0; b < by_.size(); ++b) {
      same &= by_[b]->values.Json(groups.keys[g][b]) == spec_.users.group[b];
    }
    if (same) return static_cast<int64_t>(g);
  }
  return static_cast<int64_t>(groups.keys.size());
}

std::string QueryContext::ValueJson(const Value& value, const TimeZone& zone) {
  JsonWriter writer;
  writer.PropertyValue(value, zone);
  return writer.Take();
}

Status QueryContext::LoadProfiles() {
  const UserId user_limit = user_limit_;
  const state::KvStore& kv = *kv_;
  bool user_by = false;
  for (const auto& column : by_) user_by |= column->ref.user;
  if (user_conditions_.empty() && !user_by) return Status::Ok();
  const size_t words = (static_cast<size_t>(user_limit) + 63) / 64;
  user_condition_bits_.assign(user_conditions_.size(), std::vector<uint64_t>(words, 0));
  // Users without a profile satisfy exactly the not_set conditions.
  for (size_t c = 0; c < user_conditions_.size(); ++c) {
    if (EvaluateValue(user_conditions_[c], nullptr)) {
      std::fill(user_condition_bits_[c].begin(), user_condition_bits_[c].end(), ~uint64_t{0});
    }
  }
  for (auto& column : by_) {
    if (column->ref.user) column->user_values.assign(user_limit, 0);
  }
  const std::string prefix = "prof/" + std::to_string(project_.id) + "/";
  PropertyMap properties;
  Status decode_error;
  Status scan = kv.ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() != prefix.size() + 4) return true;
    const UserId user = state::ReadBigEndian32(key.substr(prefix.size()));
    if (user >= user_limit) return true;
    properties.clear();
    if (!DecodePropertyMap(value, &properties)) {
      decode_error = Status(ErrorCode::kCorruption, "undecodable profile of user " +
                                                        std::to_string(user));
      return false;
    }
    auto find = [&](const std::string& name) -> const Value* {
      for (const auto& [property, property_value] : properties) {
        if (property == name) return &property_value;
      }
      return nullptr;
    };
    for (size_t c = 0; c < user_conditions_.size(); ++c) {
      const bool match = EvaluateValue(user_conditions_[c], find(user_condition_names_[c]));
      uint64_t& word = user_condition_bits_[c][user >> 6];
      const uint64_t bit = uint64_t{1} << (user & 63);
      word = match ? (word | bit) : (word & ~bit);
    }
    for (auto& column : by_) {
      if (!column->ref.user) continue;
      if (const Value* found = find(column->ref.name)) {
        column->user_values[user] = column->values.Intern(ValueJson(*found, zone()));
      }
    }
    return true;
  });
  SEXTANT_RETURN_IF_ERROR(scan);
  return decode_error;
}

namespace {

// Runs fn(day_idx) for every index in `days` on up to eight threads: cold days are I/O and
// decode bound, and more threads than cores keep more reads in flight.
void ForEachDayConcurrently(const std::vector<size_t>& days,
                            const std::function<void(size_t day_idx)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < days.size(); i = next++) fn(days[i]);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < 8 && t < days.size(); ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
}

}  // namespace

void QueryContext::SetUsers(UserId user_limit,
                            const std::vector<std::pair<UserId, UserId>>& merges, int threads) {
  user_limit_ = std::max<UserId>(user_limit, 1);
  merged_into_.clear();
  special_.assign((static_cast<size_t>(user_limit_) + 63) / 64, 0);
  auto mark = [&](UserId user) {
    if (user < user_limit_) special_[user >> 6] |= uint64_t{1} << (user & 63);
  };
  for (const auto& [from, to] : merges) {
    if (from >= user_limit_ || to >= user_limit_ || from == to) continue;
    merged_into_[from] = to;
    mark(from);
    mark(to);
  }
  special_runs_.assign(days_.size(), {});
  if (!merged_into_.empty()) {
    // The runs of days built without them (compacted days with the per-event user index)
    // are decoded here, all days at once, rather than one by one in the loop below.
    std::vector<size_t> days_without_runs;
    for (size_t day_idx = 0; day_idx < days_.size(); ++day_idx) {
      if (!days_[day_idx]->HasRuns()) days_without_runs.push_back(day_idx);
    }
    ForEachDayConcurrently(days_without_runs,
                           [&](size_t day_idx) { days_[day_idx]->run_user(); });
    for (size_t day_idx = 0; day_idx < days_.size(); ++day_idx) {
      const auto& users = days_[day_idx]->run_user();
      for (uint32_t run = 0; run < users.size(); ++run) {
        if (IsSpecial(users[run])) special_runs_[day_idx].emplace_back(Canonical(users[run]), run);
      }
      std::sort(special_runs_[day_idx].begin(), special_runs_[day_idx].end());
    }
  }
  // Equal shards of the id space; one per thread, but never shards of fewer than 4096 users.
  const uint64_t span = user_limit_ - 1;
  uint64_t shards = std::max(1, threads);
  shards = std::max<uint64_t>(1, std::min<uint64_t>(shards, span / 4096 + 1));
  shard_bounds_.clear();
  for (uint64_t s = 0; s <= shards; ++s) {
    shard_bounds_.push_back(static_cast<UserId>(1 + span * s / shards));
  }
  drilled_.assign(shards, {});
}

uint64_t QueryContext::rows_scanned() const {
  uint64_t rows = 0;
  for (size_t d = 0; d < days_.size(); ++d) {
    if (!walked_events_) {
      rows += days_[d]->rows();
    } else if (WalkCountsOnly(d)) {
      for (EventId event : *walked_events_) rows += days_[d]->UserCountsOf(event).rows;
    } else {
      rows += days_[d]->RowsOfEvents(*walked_events_, WalkNeedsTimes(d)).rows.size();
    }
  }
  return rows;
}

uint64_t QueryContext::rows_in_range() const {
  uint64_t rows = 0;
  for (const auto& day : days_) rows += day->rows();
  return rows;
}

Status QueryContext::ForEachShard(const std::function<Status(size_t shard)>& fn) const {
  const size_t shards = shard_count();
  std::vector<Status> results(shards);
  std::vector<std::thread> threads;
  for (size_t shard = 1; shard < shards; ++shard) {
    threads.emplace_back([&, shard] { results[shard] = fn(shard); });
  }
  results[0] = fn(0);
  for (auto& thread : threads) thread.join();
  for (auto& result : results) SEXTANT_RETURN_IF_ERROR(result);
  return Status::Ok();
}

// Both prepare only the days that lack what is asked (none, for a hot query: no threads, no
// prefetch calls).
void QueryContext::PrepareEventSet(
    const std::vector<EventId>& events,
    const std::function<bool(const DayColumns& day)>& needs_times,
    const std::function<bool(const DayColumns& day)>& counts_only) const {
  walked_events_ = events;
  walked_events_need_times_.assign(days_.size(), 1);
  walked_events_counts_only_.assign(days_.size(), 0);
  for (size_t day = 0; day < days_.size(); ++day) {
    if (needs_times) walked_events_need_times_[day] = needs_times(*days_[day]) ? 1 : 0;
    if (counts_only) walked_events_counts_only_[day] = counts_only(*days_[day]) ? 1 : 0;
  }
  auto has_counts = [&](size_t day) {
    for (EventId event : events) {
      if (!days_[day]->HasUserCountsOf(event)) return false;
    }
    return true;
  };
  // The rows of people merged by ID-Mapping are gathered from the full columns
  // (ForEachMergedUser): a day holding such rows is decoded whole here, not in the shards' walk.
  auto needs_full = [&](size_t day) {
    return day < special_runs_.size() && !special_runs_[day].empty() &&
           !days_[day]->HasFullColumns();
  };
  std::vector<size_t> days_to_prepare;
  for (size_t day = 0; day < days_.size(); ++day) {
    if (WalkCountsOnly(day)) {
      if (!needs_full(day) && has_counts(day)) continue;
      days_[day]->PrefetchUserCounts(events);
    } else {
      if (!needs_full(day) && days_[day]->HasRowsOfEvents(events, WalkNeedsTimes(day))) continue;
      if (!days_[day]->HasFullColumns()) {
        days_[day]->PrefetchLazyColumns(WalkNeedsTimes(day) || needs_full(day));
      }
    }
    days_to_prepare.push_back(day);
  }
  ForEachDayConcurrently(days_to_prepare, [&](size_t day) {
    if (needs_full(day)) days_[day]->EnsureFullColumns();
    if (WalkCountsOnly(day)) {
      for (EventId event : events) days_[day]->UserCountsOf(event);
    } else {
      days_[day]->RowsOfEvents(events, WalkNeedsTimes(day));
    }
  });
}

void QueryContext::PrepareFullColumns() const {
  std::vector<size_t> days_to_decode;
  for (size_t day = 0; day < days_.size(); ++day) {
    if (days_[day]->HasFullColumns()) continue;
    days_[day]->PrefetchLazyColumns();
    days_to_decode.push_back(day);
  }
  ForEachDayConcurrently(days_to_decode, [&](size_t day) { days_[day]->EnsureFullColumns(); });
}

Status QueryContext::DaysStatus() const {
  for (const auto& day : days_) SEXTANT_RETURN_IF_ERROR(day->LazyStatus());
  return Status::Ok();
}

Result<BoundFilter> BoundFilter::Bind(const CompiledFilter* filter, const QueryContext& context,
                                      const DayColumns& day) {
  BoundFilter bound;
  bound.filter_ = filter;
  if (filter == nullptr || filter->matches_all()) return bound;
  bound.bound_.resize(filter->conditions.size());
  for (size_t c = 0; c < filter->conditions.size(); ++c) {
    const CompiledCondition& condition = filter->conditions[c];
    Bound& out = bound.bound_[c];
    out.condition = &condition;
    if (condition.user) {
      out.user_bits = &context.user_condition_bits()[condition.user_index];
      continue;
    }
    if (condition.property == 0) continue;
    auto column = day.Property(condition.property);
    if (!column.ok()) return column.status();
    out.column = *column;
    if (out.column != nullptr &&
        (out.column->type == ValueType::kString || out.column->type == ValueType::kList)) {
      out.code_match.resize(out.column->dict.size());
      for (size_t code = 0; code < out.column->dict.size(); ++code) {
        out.code_match[code] =
            StringPositive(out.column->dict[code], Positive(condition.op), condition.strings);
      }
    }
  }
  return bound;
}

bool BoundFilter::EvaluateCondition(const Bound& bound, uint32_t row, UserId user) const {
  const CompiledCondition& condition = *bound.condition;
  if (bound.user_bits != nullptr) {
    const auto& bits = *bound.user_bits;
    return (user >> 6) < bits.size() && ((bits[user >> 6] >> (user & 63)) & 1);
  }
  const store::PropColumn* column = bound.column;
  const int32_t slot = column == nullptr ? -1 : column->slot[row];
  if (slot < 0) return condition.op == CompareOp::kNotSet;
  if (condition.op == CompareOp::kIsSet) return true;
  if (condition.op == CompareOp::kNotSet) return false;
  const CompareOp op = Positive(condition.op);
  bool positive = false;
  switch (column->type) {
    case ValueType::kNumber: positive = NumberPositive(column->numbers[slot], op, condition.numbers); break;
    case ValueType::kBool: positive = NumberPositive(column->bools[slot], op, condition.numbers); break;
    case ValueType::kDatetime:
    case ValueType::kDate:
      positive = NumberPositive(static_cast<double>(column->ints[slot]), op, condition.numbers);
      break;
    case ValueType::kString: positive = bound.code_match[column->codes[slot]] != 0; break;
    case ValueType::kList:
      for (uint32_t k = column->list_begin[slot]; k < column->list_begin[slot + 1]; ++k) {
        if (bound.code_match[column->codes[k]]) {
          positive = true;
          break;
        }
      }
      break;
  }
  return IsNegative(condition.op) ? !positive : positive;
}

bool BoundFilter::Evaluate(int node_idx, uint32_t row, UserId user) const {
  const CompiledFilter::Node& node = filter_->nodes[node_idx];
  switch (node.kind) {
    case FilterNode::Kind::kCondition: return EvaluateCondition(bound_[node.condition], row, user);
    case FilterNode::Kind::kNot: return !Evaluate(node.children[0], row, user);
    case FilterNode::Kind::kAll:
      for (int child : node.children) {
        if (!Evaluate(child, row, user)) return false;
      }
      return true;
    case FilterNode::Kind::kAny:
      for (int child : node.children) {
        if (Evaluate(child, row, user)) return true;
      }
      return node.children.empty();
  }
  return false;
}

Result<RowGroupKeys> RowGroupKeys::Bind(QueryContext& context, const DayColumns& day) {
  RowGroupKeys keys;
  keys.context_ = &context;
  const auto& by = context.by();
  keys.columns_.assign(by.size(), nullptr);
  keys.code_ids_.resize(by.size());
  for (size_t b = 0; b < by.size(); ++b) {
    if (by[b]->ref.user || by[b]->property == 0) continue;
    auto column = day.Property(by[b]->property);
    if (!column.ok()) return column.status();
    keys.columns_[b] = *column;
    if (*column != nullptr && (*column)->type == ValueType::kString) {
      for (const std::string& text : (*column)->dict) {
        keys.code_ids_[b].push_back(
            by[b]->values.Intern(QueryContext::ValueJson(Value::String(text), context.zone())));
      }
    }
  }
  return keys;
}

RowGroupKeys::Key RowGroupKeys::Of(uint32_t row, UserId user) const {
  Key key{0, 0, 0};
  const auto& by = context_->by();
  for (size_t b = 0; b < by.size(); ++b) {
    if (by[b]->ref.user) {
      key[b] = user < by[b]->user_values.size() ? by[b]->user_values[user] : 0;
      continue;
    }
    const store::PropColumn* column = columns_[b];
    const int32_t slot = column == nullptr ? -1 : column->slot[row];
    if (slot < 0) continue;
    key[b] = column->type == ValueType::kString
                 ? code_ids_[b][column->codes[slot]]
                 : by[b]->values.Intern(QueryContext::ValueJson(column->Get(slot), context_->zone()));
  }
  return key;
}

}  // namespace sextant::query
