// Segment insight (TGI per value of tags and profile properties) and lookalike expansion
// (logistic regression, seed vs. sampled others, scored over every user).
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "common/clock.h"
#include "audience/audience_internal.h"
#include "audience/insight.h"
#include "audience/lookalike_model.h"
#include "query/spec_json.h"

namespace sextant::audience {
namespace {

constexpr size_t kOneHotValues = 10;
constexpr size_t kDefaultProfileFeatures = 30;
constexpr size_t kDefaultEventFeatures = 10;

using query::spec_json::Invalid;


void WriteNumberOrNull(JsonWriter& out, double value) {
  if (std::isfinite(value)) {
    out.Double(value);
  } else {
    out.Null();
  }
}

// String list member `key` of `object` (absent = empty).
Result<std::vector<std::string>> StringList(const simdjson::dom::element& object, const char* key,
                                            const std::string& path) {
  std::vector<std::string> out;
  simdjson::dom::element value;
  if (object[key].get(value) != simdjson::SUCCESS) return out;
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS)
    return Invalid(path + key, "must be a list of names");
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return Invalid(path + key, "must be a list of names");
    }
    out.emplace_back(text);
  }
  return out;
}

// The integer member `key` of `object` into *value (left as is when absent); false when it is
// present but not an integer.
bool OptionalInt(const simdjson::dom::element& object, const char* key, int64_t* value) {
  simdjson::dom::element member;
  if (object[key].get(member) != simdjson::SUCCESS) return true;
  return member.get_int64().get(*value) == simdjson::SUCCESS;
}

}  // namespace

// ---- insight ----

Result<AudienceAnswer> AudienceEngine::SegmentInsight(const state::ProjectInfo& project,
                                                      const std::string& id,
                                                      std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root, dimensions;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  simdjson::dom::array list;
  if (root["dimensions"].get(dimensions) != simdjson::SUCCESS ||
      dimensions.get_array().get(list) != simdjson::SUCCESS || list.size() == 0) {
    return Invalid("dimensions", "required: a list of {\"tag\": name} or {\"profile\": name}");
  }
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto segment = FindSegmentLocked(state, id);
  if (!segment.ok()) return segment.status();
  const auto started = std::chrono::steady_clock::now();
  UserId user_limit = 1;
  auto universe = UniverseLocked(state, &user_limit);
  if (!universe.ok()) return universe.status();
  Roaring base = *universe;
  std::string_view against;
  std::string against_name = "all users";
  if (root["against"].get_string().get(against) == simdjson::SUCCESS && against != "all") {
    auto other = FindSegmentLocked(state, std::string(against));
    if (!other.ok()) return Invalid("against", "no segment " + std::string(against));
    base = (*other)->members;
    against_name = (*other)->definition.name;
  }
  const Roaring members = (*segment)->members & *universe;
  const uint64_t segment_total = members.cardinality();
  const uint64_t base_total = base.cardinality();

  JsonWriter out;
  out.BeginObject();
  out.Key("segment").String(id);
  out.Key("segment_size").Uint(segment_total);
  out.Key("against").String(against.empty() ? "all" : std::string(against));
  out.Key("against_name").String(against_name);
  out.Key("base_size").Uint(base_total);
  out.Key("dimensions").BeginArray();
  size_t index = 0;
  for (simdjson::dom::element dimension : list) {
    const std::string path = "dimensions[" + std::to_string(index++) + "]";
    std::string_view tag_name, profile_name;
    const bool is_tag = dimension["tag"].get_string().get(tag_name) == simdjson::SUCCESS;
    const bool is_profile =
        dimension["profile"].get_string().get(profile_name) == simdjson::SUCCESS;
    if (is_tag == is_profile) return Invalid(path, "give {\"tag\": name} or {\"profile\": name}");
    int64_t buckets = 5;
    if (!OptionalInt(dimension, "buckets", &buckets))
      return Invalid(path + ".buckets", "must be an integer");
    if (buckets < 1 || buckets > 50) return Invalid(path + ".buckets", "must be 1 to 50");
    Result<UserColumn*> column = is_tag ? TagColumnLocked(state, std::string(tag_name))
                                        : ProfileColumnLocked(state, std::string(profile_name));
    if (!column.ok()) return Invalid(path, column.status().message());
    const UserColumn& values = **column;
    std::vector<ValueCount> counts;
    if (values.numeric()) {
      std::vector<double> base_values;
      for (UserId user : base) {
        if (values.Has(user)) base_values.push_back(values.Number(user));
      }
      const std::vector<double> bounds = QuantileBounds(base_values, static_cast<int>(buckets));
      counts.resize(bounds.size());
      for (size_t b = 0; b < bounds.size(); ++b) counts[b].value = BucketLabel(bounds, b);
      auto add = [&](const Roaring& population, bool in_segment) {
        for (UserId user : population) {
          if (!values.Has(user)) continue;
          const double number = values.Number(user);
          size_t bucket = std::upper_bound(bounds.begin(), bounds.end(), number) - bounds.begin();
          if (bucket == 0) continue;  // below every base value: only when the base is a segment
          (in_segment ? counts[bucket - 1].segment_count : counts[bucket - 1].base_count) += 1;
        }
      };
      add(members, true);
      add(base, false);
    } else {
      std::vector<uint64_t> segment_counts(values.dictionary_size() + 1, 0);
      std::vector<uint64_t> base_counts(values.dictionary_size() + 1, 0);
      for (UserId user : members) ++segment_counts[values.Code(user)];
      for (UserId user : base) ++base_counts[values.Code(user)];
      for (uint32_t code = 1; code <= values.dictionary_size(); ++code) {
        if (segment_counts[code] == 0 && base_counts[code] == 0) continue;
        counts.push_back({ValueText(values.Dictionary(code), project.time_zone),
                          segment_counts[code], base_counts[code]});
      }
    }
    const std::vector<InsightRow> rows = ComputeInsight(counts, segment_total, base_total);
    out.BeginObject();
    out.Key(is_tag ? "tag" : "profile").String(is_tag ? tag_name : profile_name);
    out.Key("rows").BeginArray();
    for (const InsightRow& row : rows) {
      out.BeginObject();
      out.Key("value");
      if (row.value) {
        out.String(*row.value);
      } else {
        out.Null();
      }
      out.Key("segment_count").Uint(row.segment_count);
      out.Key("base_count").Uint(row.base_count);
      out.Key("segment_share").Double(row.segment_share);
      out.Key("base_share").Double(row.base_share);
      out.Key("tgi");
      WriteNumberOrNull(out, row.tgi);
      out.EndObject();
    }
    out.EndArray();
    out.EndObject();
  }
  out.EndArray();
  out.Key("elapsed_ms").Double(MsSince(started));
  out.EndObject();
  return AudienceAnswer{200, out.Take()};
}

// ---- lookalike ----

namespace {

// One input column of the model and how it becomes features.
struct FeatureSource {
  std::string name;
  const UserColumn* column = nullptr;   // tags and profile properties
  std::vector<uint32_t> one_hot_codes;  // STRING columns: the most common codes
  int event_index = -1;                 // events: index into the per-user counts
};

}  // namespace

Result<UserColumn> AudienceEngine::LookalikeScoresLocked(ProjectState& state,
                                                         const std::string& seed_id,
                                                         const std::string& options_json,
                                                         JsonWriter* report) {
  const state::ProjectInfo& project = *state.project;
  simdjson::dom::parser parser;
  simdjson::dom::element options;
  const std::string json = options_json.empty() ? "{}" : options_json;
  if (parser.parse(json).get(options) != simdjson::SUCCESS || !options.is_object()) {
    return Status(ErrorCode::kBadJson, "lookalike options are not a JSON object");
  }
  auto seed = FindSegmentLocked(state, seed_id);
  if (!seed.ok()) return Invalid("seed", "no segment " + seed_id);
  UserId user_limit = 1;
  auto universe = UniverseLocked(state, &user_limit);
  if (!universe.ok()) return universe.status();
  const Roaring positives_all = (*seed)->members & *universe;
  const Roaring others = *universe - positives_all;
  if (positives_all.cardinality() < 10) return Invalid("seed", "needs at least 10 members");
  if (others.cardinality() < 10) return Invalid("seed", "covers (almost) every user");

  // Feature sources: given, or every tag (but lookalike ones), the schema's user properties
  // and its most frequent events.
  simdjson::dom::element features;
  const bool given = options["features"].get(features) == simdjson::SUCCESS;
  std::vector<std::string> tag_names, profile_names, event_names;
  if (given) {
    auto tags = StringList(features, "tags", "features.");
    auto profiles = StringList(features, "profiles", "features.");
    auto events = StringList(features, "events", "features.");
    if (!tags.ok()) return tags.status();
    if (!profiles.ok()) return profiles.status();
    if (!events.ok()) return events.status();
    tag_names = std::move(*tags);
    profile_names = std::move(*profiles);
    event_names = std::move(*events);
  } else {
    for (auto& [id, tag] : state.tags) {
      if (tag->definition.kind != TagKind::kLookalike) tag_names.push_back(tag->definition.name);
    }
    state::ProjectSchema* schema = schemas_->ForProject(project);
    for (const auto& entry : schema->List(state::SchemaKind::kUserProperty)) {
      if (profile_names.size() < kDefaultProfileFeatures && entry.type != ValueType::kList) {
        profile_names.push_back(entry.name);
      }
    }
    auto events = schema->List(state::SchemaKind::kEvent);
    std::sort(events.begin(), events.end(),
              [](const auto& a, const auto& b) { return a.count > b.count; });
    for (const auto& entry : events) {
      if (event_names.size() < kDefaultEventFeatures && !entry.name.starts_with("$segment_")) {
        event_names.push_back(entry.name);
      }
    }
  }
  if (event_names.size() > 32) return Invalid("features.events", "at most 32 events");

  std::vector<FeatureSource> sources;
  FeatureMatrix matrix;
  auto add_column = [&](const std::string& name, const UserColumn* column) {
    FeatureSource source;
    source.name = name;
    source.column = column;
    if (column->numeric()) {
      matrix.names.push_back(name);
      matrix.names.push_back(name + " is set");
    } else {
      std::vector<uint64_t> counts(column->dictionary_size() + 1, 0);
      for (UserId user = 1; user < column->size(); ++user) ++counts[column->Code(user)];
      std::vector<uint32_t> codes;
      for (uint32_t code = 1; code < counts.size(); ++code) {
        if (counts[code] > 0) codes.push_back(code);
      }
      std::sort(codes.begin(), codes.end(), [&](uint32_t a, uint32_t b) {
        return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
      });
      if (codes.size() > kOneHotValues) codes.resize(kOneHotValues);
      source.one_hot_codes = codes;
      for (uint32_t code : codes) {
        matrix.names.push_back(name + " = " +
                               ValueText(column->Dictionary(code), project.time_zone));
      }
      matrix.names.push_back(name + " is set");
    }
    sources.push_back(std::move(source));
  };
  for (const std::string& name : tag_names) {
    auto column = TagColumnLocked(state, name);
    if (!column.ok()) return Invalid("features.tags", "no tag named " + name);
    add_column("tag " + name, *column);
  }
  for (const std::string& name : profile_names) {
    auto column = ProfileColumnLocked(state, name);
    if (!column.ok()) return column.status();
    add_column("profile " + name, *column);
  }

  // Event counts in the window (default: the last 30 days), one pass for all events.
  Window window;
  window.kind = Window::Kind::kLastDays;
  window.days = 30;
  std::vector<std::vector<float>> event_counts;  // per shard: users × events
  std::vector<UserId> shard_begins;
  if (!event_names.empty()) {
    query::QuerySpec spec;
    query::QueryContext compile_context(project, schemas_->ForProject(project), kv_, spec);
    std::vector<CompiledStep> steps;
    for (const std::string& name : event_names) {
      auto step = CompileStep(compile_context, EventStep{name, std::nullopt}, "features.events");
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    auto scan = PrepareWindowScanLocked(state, window, user_limit, 4 * steps.size());
    if (!scan.ok()) return scan.status();
    const query::QueryContext& context = *(*scan)->context;
    const Interval interval = (*scan)->interval;
    const size_t events = steps.size();
    event_counts.resize(context.shard_count());
    for (size_t s = 0; s <= context.shard_count(); ++s)
      shard_begins.push_back(context.shard_begin(s));
    for (size_t s = 0; s < context.shard_count(); ++s) {
      event_counts[s].assign(size_t{context.shard_begin(s + 1) - context.shard_begin(s)} * events,
                             0);
    }
    SEXTANT_RETURN_IF_ERROR(ScanSteps(
        context, steps, interval, [&](size_t shard, UserId user, const MatchedRow& match) {
          float* counts = &event_counts[shard][size_t{user - context.shard_begin(shard)} * events];
          for (uint32_t bits = match.step_mask; bits != 0; bits &= bits - 1) {
            counts[__builtin_ctz(bits)] += 1;
          }
        }));
    for (size_t e = 0; e < events; ++e) {
      FeatureSource source;
      source.name = "event " + event_names[e];
      source.event_index = static_cast<int>(e);
      matrix.names.push_back("log(1 + " + event_names[e] + " in 30 days)");
      sources.push_back(std::move(source));
    }
  }
  matrix.cols = matrix.names.size();
  if (matrix.cols == 0) return Invalid("features", "no features: define tags or give features");
  const size_t event_total = event_names.size();
  auto fill = [&](UserId user, float* row) {
    float* cell = row;
    for (const FeatureSource& source : sources) {
      if (source.event_index >= 0) {
        float count = 0;
        if (!shard_begins.empty() && user < shard_begins.back()) {
          const size_t shard = std::upper_bound(shard_begins.begin(), shard_begins.end(), user) -
                               shard_begins.begin() - 1;
          count = event_counts[shard][size_t{user - shard_begins[shard]} * event_total +
                                      source.event_index];
        }
        *cell++ = std::log1p(count);
        continue;
      }
      const UserColumn& column = *source.column;
      if (column.numeric()) {
        const double number = column.Number(user);
        *cell++ = std::isnan(number) ? 0.0f : static_cast<float>(number);
        *cell++ = std::isnan(number) ? 0.0f : 1.0f;
      } else {
        const uint32_t code = column.Code(user);
        for (uint32_t wanted : source.one_hot_codes) *cell++ = code == wanted ? 1.0f : 0.0f;
        *cell++ = code != 0 ? 1.0f : 0.0f;
      }
    }
  };

  // Training and held-out samples: seed members vs. a random sample of the others.
  int64_t seed_value = 42, negatives_per_positive = 3, max_training = 200'000;
  for (auto [key, target] : {std::pair<const char*, int64_t*>{"seed", &seed_value},
                             {"negatives_per_positive", &negatives_per_positive},
                             {"max_training", &max_training}}) {
    if (!OptionalInt(options, key, target)) return Invalid(key, "must be an integer");
  }
  negatives_per_positive = std::clamp<int64_t>(negatives_per_positive, 1, 20);
  max_training = std::clamp<int64_t>(max_training, 1000, 2'000'000);
  std::mt19937_64 random(static_cast<uint64_t>(seed_value));
  auto sample = [&](const Roaring& population, size_t count) {
    std::vector<UserId> users(population.begin(), population.end());
    std::shuffle(users.begin(), users.end(), random);
    if (users.size() > count) users.resize(count);
    return users;
  };
  const size_t positive_count =
      std::min<size_t>(positives_all.cardinality(),
                       static_cast<size_t>(max_training / (1 + negatives_per_positive)));
  std::vector<UserId> positives = sample(positives_all, positive_count);
  std::vector<UserId> negatives = sample(
      others, std::min<size_t>(others.cardinality(), positive_count * negatives_per_positive));
  const size_t positive_holdout = std::max<size_t>(1, positives.size() / 5);
  const size_t negative_holdout = std::max<size_t>(1, negatives.size() / 5);

  auto build = [&](const std::vector<UserId>& pos, size_t pos_begin, size_t pos_end,
                   const std::vector<UserId>& neg, size_t neg_begin, size_t neg_end,
                   FeatureMatrix* x, std::vector<uint8_t>* labels) {
    x->cols = matrix.cols;
    x->names = matrix.names;
    x->rows = (pos_end - pos_begin) + (neg_end - neg_begin);
    x->values.assign(x->rows * x->cols, 0);
    labels->clear();
    size_t row = 0;
    for (size_t i = pos_begin; i < pos_end; ++i, ++row) {
      fill(pos[i], &x->values[row * x->cols]);
      labels->push_back(1);
    }
    for (size_t i = neg_begin; i < neg_end; ++i, ++row) {
      fill(neg[i], &x->values[row * x->cols]);
      labels->push_back(0);
    }
  };
  FeatureMatrix train, holdout;
  std::vector<uint8_t> train_labels, holdout_labels;
  build(positives, positive_holdout, positives.size(), negatives, negative_holdout,
        negatives.size(), &train, &train_labels);
  build(positives, 0, positive_holdout, negatives, 0, negative_holdout, &holdout, &holdout_labels);
  auto model = TrainLogistic(train, train_labels);
  if (!model.ok()) return model.status();
  std::vector<double> holdout_scores(holdout.rows);
  for (size_t row = 0; row < holdout.rows; ++row)
    holdout_scores[row] = Score(*model, holdout.Row(row));
  const double auc = AreaUnderRoc(holdout_scores, holdout_labels);
  const size_t lift_n = std::max<size_t>(1, holdout.rows / 10);
  const double lift = LiftAtTop(holdout_scores, holdout_labels, lift_n);
  // Lift at the expansion's size: "top N of the others" is the same share of the held-out rows.
  int64_t expansion = 0;
  if (!OptionalInt(options, "top", &expansion)) return Invalid("top", "must be an integer");
  double lift_at_n = std::nan("");
  if (expansion > 0) {
    const double share =
        std::min(1.0, static_cast<double>(expansion) / static_cast<double>(others.cardinality()));
    const size_t n = std::max<size_t>(1, static_cast<size_t>(std::llround(share * holdout.rows)));
    lift_at_n = LiftAtTop(holdout_scores, holdout_labels, n);
  }

  UserColumn scores(ValueType::kNumber);
  std::vector<float> row(matrix.cols);
  for (UserId user : *universe) {
    fill(user, row.data());
    scores.SetNumber(user, Score(*model, row.data()));
  }
  if (report != nullptr) {
    report->Key("model").BeginObject();
    report->Key("kind").String("logistic_regression");
    report->Key("features").Uint(matrix.cols);
    report->Key("train_positives").Uint(positives.size() - positive_holdout);
    report->Key("train_negatives").Uint(negatives.size() - negative_holdout);
    report->Key("holdout_positives").Uint(positive_holdout);
    report->Key("holdout_negatives").Uint(negative_holdout);
    report->Key("auc");
    WriteNumberOrNull(*report, auc);
    report->Key("lift_at_top_10_percent");
    WriteNumberOrNull(*report, lift);
    report->Key("lift_at_n");
    WriteNumberOrNull(*report, lift_at_n);
    report->Key("epochs").Int(model->epochs);
    report->Key("top_features").BeginArray();
    for (const FeatureWeight& feature : TopFeatures(*model, matrix.names, 10)) {
      report->BeginObject()
          .Key("name")
          .String(feature.name)
          .Key("weight")
          .Double(feature.weight)
          .EndObject();
    }
    report->EndArray();
    report->EndObject();
  }
  return scores;
}

Result<AudienceAnswer> AudienceEngine::SegmentLookalike(const state::ProjectInfo& project,
                                                        const std::string& id,
                                                        std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return Status(ErrorCode::kBadJson, "body is not a JSON object");
  }
  std::string_view name;
  if (root["name"].get_string().get(name) != simdjson::SUCCESS || name.empty()) {
    return Invalid("name", "required: the name of the expanded segment");
  }
  int64_t top = 0;
  double min_score = -1;
  const bool has_top = root["top"].get_int64().get(top) == simdjson::SUCCESS;
  const bool has_min = root["min_score"].get_double().get(min_score) == simdjson::SUCCESS;
  if (has_top == has_min) return Invalid("top", "give either top (a count) or min_score");
  if (has_top && top < 1) return Invalid("top", "must be at least 1");
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadLocked(state));
  auto seed = FindSegmentLocked(state, id);
  if (!seed.ok()) return seed.status();
  SEXTANT_RETURN_IF_ERROR(CheckSegmentNameLocked(state, std::string(name), ""));
  const auto started = std::chrono::steady_clock::now();
  JsonWriter report;
  report.BeginObject();
  auto scores = LookalikeScoresLocked(state, id, std::string(body), &report);
  if (!scores.ok()) return scores.status();
  // The expansion: the best-scoring people outside the seed.
  std::vector<std::pair<double, UserId>> ranked;
  for (UserId user = 1; user < scores->size(); ++user) {
    if (!scores->Has(user) || (*seed)->members.contains(user)) continue;
    const double score = scores->Number(user);
    if (has_min && score < min_score) continue;
    ranked.emplace_back(score, user);
  }
  if (has_top && ranked.size() > static_cast<size_t>(top)) {
    std::nth_element(ranked.begin(), ranked.begin() + top, ranked.end(),
                     [](const auto& a, const auto& b) {
                       return a.first != b.first ? a.first > b.first : a.second < b.second;
                     });
    ranked.resize(top);
  }
  Roaring members;
  double lowest = ranked.empty() ? std::nan("") : 1.0;
  for (const auto& [score, user] : ranked) {
    members.add(user);
    lowest = std::min(lowest, score);
  }
  report.Key("seed").String(id);
  report.Key("expanded").Uint(ranked.size());
  report.Key("lowest_score");
  WriteNumberOrNull(report, lowest);
  report.Key("elapsed_ms").Double(MsSince(started));
  report.EndObject();
  return CreateStaticLocked(state, std::string(name), "lookalike of segment " + id, "lookalike",
                            std::move(members), "lookalike", report.Take());
}

}  // namespace sextant::audience
