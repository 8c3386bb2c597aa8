#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "audience/insight.h"
#include "audience/lookalike_model.h"

namespace sextant::audience {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

FeatureMatrix Matrix(size_t cols, std::vector<float> values, std::vector<std::string> names = {}) {
  FeatureMatrix x;
  x.cols = cols;
  x.rows = values.size() / cols;
  x.values = std::move(values);
  x.names = std::move(names);
  return x;
}

// The training objective recomputed from Score: mean log-loss + l2 / 2 * |w|^2.
double PenalisedLoss(const LogisticModel& model, const FeatureMatrix& x,
                     const std::vector<uint8_t>& labels, double l2) {
  double loss = 0;
  for (size_t row = 0; row < x.rows; ++row) {
    const double p = Score(model, x.Row(row));
    loss -= labels[row] ? std::log(p) : std::log1p(-p);
  }
  loss /= static_cast<double>(x.rows);
  for (double w : model.weights) loss += 0.5 * l2 * w * w;
  return loss;
}

// Users with two hidden traits u1, u2 ~ N(0, 1): label = 1 iff 0.8 u1 - 0.5 u2 + N(0, 0.5^2)
// > 0.3. The model sees u1 as "f1" on an age-like scale (100 + 15 u1) and u2 as "f2" on a tiny
// one (0.01 u2), next to irrelevant columns of assorted scales, a binary one and a constant.
struct Dataset {
  FeatureMatrix x;
  std::vector<uint8_t> labels;
};
Dataset HiddenTraitDataset(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1000);
  std::bernoulli_distribution coin(0.3);
  std::exponential_distribution<double> exponential(0.2);
  Dataset data;
  data.x.cols = 8;
  data.x.rows = rows;
  data.x.names = {"noise_a", "f1", "noise_b", "f2", "noise_c", "constant", "noise_d", "noise_e"};
  for (size_t row = 0; row < rows; ++row) {
    const double u1 = normal(rng), u2 = normal(rng);
    const double noise = 0.5 * normal(rng);
    const std::vector<double> features = {
        normal(rng),            // noise_a
        100 + 15 * u1,          // f1
        uniform(rng),           // noise_b
        0.01 * u2,              // f2
        coin(rng) ? 1.0 : 0.0,  // noise_c
        7,                      // constant
        5 + 2 * normal(rng),    // noise_d
        exponential(rng),       // noise_e
    };
    for (double f : features) data.x.values.push_back(static_cast<float>(f));
    data.labels.push_back(0.8 * u1 - 0.5 * u2 + noise > 0.3 ? 1 : 0);
  }
  return data;
}

// Rows [begin, end) of a dataset.
Dataset Slice(const Dataset& data, size_t begin, size_t end) {
  Dataset slice;
  slice.x.cols = data.x.cols;
  slice.x.rows = end - begin;
  slice.x.names = data.x.names;
  slice.x.values.assign(data.x.values.begin() + static_cast<ptrdiff_t>(begin * data.x.cols),
                        data.x.values.begin() + static_cast<ptrdiff_t>(end * data.x.cols));
  slice.labels.assign(data.labels.begin() + static_cast<ptrdiff_t>(begin),
                      data.labels.begin() + static_cast<ptrdiff_t>(end));
  return slice;
}

std::vector<double> ScoreAll(const LogisticModel& model, const FeatureMatrix& x) {
  std::vector<double> scores;
  for (size_t row = 0; row < x.rows; ++row) scores.push_back(Score(model, x.Row(row)));
  return scores;
}

// ---------------------------------------------------------------------------------------------
// AreaUnderRoc

TEST(AreaUnderRocTest, CountsCorrectlyOrderedPairs) {
  // Positives score 0.35 and 0.8, negatives 0.1 and 0.4. Of the 2 x 2 pairs, 0.35 > 0.1,
  // 0.35 < 0.4, 0.8 > 0.1, 0.8 > 0.4: 3 of 4 ordered correctly.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.1, 0.2, 0.3, 0.4}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.4, 0.3, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
}

TEST(AreaUnderRocTest, TiesCountOneHalf) {
  // Positives 0.5 and 0.9, negatives 0.2 and 0.5. Pairs: 0.5 vs 0.2 -> 1, 0.5 vs 0.5 -> 1/2,
  // 0.9 vs 0.2 -> 1, 0.9 vs 0.5 -> 1. (1 + 0.5 + 1 + 1) / 4 = 0.875.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.2, 0.5, 0.5, 0.9}, {0, 1, 0, 1}), 0.875);
  // All scores equal: every pair is a tie, 1/2.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({3, 3, 3, 3, 3}, {1, 0, 1, 0, 0}), 0.5);
  // Positives {1, 2, 2}, negatives {2, 3}: 1 vs 2 -> 0, 1 vs 3 -> 0, each 2 vs 2 -> 1/2,
  // each 2 vs 3 -> 0: (0.5 + 0.5) / 6 = 1/6.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({1, 2, 2, 2, 3}, {1, 1, 1, 0, 0}), 1.0 / 6);
}

TEST(AreaUnderRocTest, NaNWithoutBothClassesOrWithMismatchedLengths) {
  EXPECT_TRUE(std::isnan(AreaUnderRoc({0.1, 0.9}, {1, 1})));
  EXPECT_TRUE(std::isnan(AreaUnderRoc({0.1, 0.9}, {0, 0})));
  EXPECT_TRUE(std::isnan(AreaUnderRoc({}, {})));
  EXPECT_TRUE(std::isnan(AreaUnderRoc({0.1, 0.9}, {0, 1, 1})));
}

TEST(AreaUnderRocTest, NaNScoresRankLowestAndNonzeroLabelsArePositive) {
  // The positive's NaN ranks below the negative's 0.3.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({kNaN, 0.3}, {1, 0}), 0.0);
  // Two NaNs tie with each other: positives {NaN, 0.7}, negative {NaN} -> (1/2 + 1) / 2.
  EXPECT_DOUBLE_EQ(AreaUnderRoc({kNaN, kNaN, 0.7}, {7, 0, 1}), 0.75);
}

TEST(AreaUnderRocTest, MatchesPairCountingOnTiedRandomScores) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> level(0, 9);  // 10 levels for 400 rows: many ties
  std::bernoulli_distribution coin(0.3);
  std::vector<double> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 400; ++i) {
    scores.push_back(level(rng) / 10.0);
    labels.push_back(coin(rng) ? 1 : 0);
  }
  double wins = 0, pairs = 0;
  for (size_t p = 0; p < scores.size(); ++p) {
    for (size_t n = 0; n < scores.size(); ++n) {
      if (!labels[p] || labels[n]) continue;
      pairs += 1;
      wins += scores[p] > scores[n] ? 1.0 : scores[p] == scores[n] ? 0.5 : 0.0;
    }
  }
  EXPECT_NEAR(AreaUnderRoc(scores, labels), wins / pairs, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// LiftAtTop

TEST(LiftAtTopTest, ComparesTopPrecisionWithBaseRate) {
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0};
  const std::vector<uint8_t> labels = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0};
  // Base rate 3 / 10. Top 2: 2 positives -> (2 / 2) / 0.3 = 10 / 3.
  EXPECT_DOUBLE_EQ(LiftAtTop(scores, labels, 2), 10.0 / 3);
  // Top 4: 3 positives -> (3 / 4) / 0.3 = 2.5.
  EXPECT_DOUBLE_EQ(LiftAtTop(scores, labels, 4), 2.5);
  // Top 3: 2 positives -> (2 / 3) / 0.3 = 20 / 9.
  EXPECT_DOUBLE_EQ(LiftAtTop(scores, labels, 3), 20.0 / 9);
  // All rows, and n beyond the rows (capped to 10): (3 / 10) / 0.3 = 1.
  EXPECT_DOUBLE_EQ(LiftAtTop(scores, labels, 10), 1.0);
  EXPECT_DOUBLE_EQ(LiftAtTop(scores, labels, 1000), 1.0);
}

TEST(LiftAtTopTest, TiesAtTheCutCountInProportion) {
  // Base rate 2 / 5 = 0.4. The top 2 are the 0.9 (negative) and one of the three rows at 0.5,
  // of which two are positive: expected positives 0 + 2 * (1 / 3). (2/3 / 2) / 0.4 = 5 / 6.
  EXPECT_DOUBLE_EQ(LiftAtTop({0.9, 0.5, 0.5, 0.5, 0.1}, {0, 1, 1, 0, 0}, 2), 5.0 / 6);
  // A constant score has lift 1 at any n: all 6 rows tie at the cut, so the top n hold
  // n * 2/6 expected positives, and (n * 2/6 / n) / (2/6) = 1.
  for (size_t n = 1; n <= 6; ++n) {
    EXPECT_DOUBLE_EQ(LiftAtTop({1, 1, 1, 1, 1, 1}, {1, 0, 0, 1, 0, 0}, n), 1.0) << n;
  }
}

TEST(LiftAtTopTest, NaNWithoutPositivesOrRows) {
  EXPECT_TRUE(std::isnan(LiftAtTop({0.9, 0.1}, {0, 0}, 1)));
  EXPECT_TRUE(std::isnan(LiftAtTop({0.9, 0.1}, {1, 0}, 0)));
  EXPECT_TRUE(std::isnan(LiftAtTop({}, {}, 5)));
  EXPECT_TRUE(std::isnan(LiftAtTop({0.9, 0.1}, {1}, 1)));
}

TEST(LiftAtTopTest, NaNScoresRankLowest) {
  // Base rate 1 / 3; the top 1 is 0.2 (positive), not the NaN: (1 / 1) / (1 / 3) = 3.
  EXPECT_DOUBLE_EQ(LiftAtTop({kNaN, 0.2, 0.1}, {0, 1, 0}, 1), 3.0);
}

// ---------------------------------------------------------------------------------------------
// TopFeatures

TEST(TopFeaturesTest, LargestAbsoluteWeightFirstWithSign) {
  LogisticModel model;
  model.weights = {0.5, -2.0, 1.0, 0.0};
  const auto top = TopFeatures(model, {"a", "b", "c", "d"}, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].name, "b");
  EXPECT_EQ(top[0].weight, -2.0);
  EXPECT_EQ(top[1].name, "c");
  EXPECT_EQ(top[1].weight, 1.0);
}

TEST(TopFeaturesTest, CapsCountKeepsColumnOrderOnTiesAndNamesUnnamedColumns) {
  LogisticModel model;
  model.weights = {1.0, -1.0, 3.0};
  const auto top = TopFeatures(model, {"first", "second"}, 10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].name, "#2");
  EXPECT_EQ(top[1].name, "first");
  EXPECT_EQ(top[2].name, "second");
  EXPECT_TRUE(TopFeatures(model, {}, 0).empty());
}

// ---------------------------------------------------------------------------------------------
// TrainLogistic

TEST(TrainLogisticTest, RejectsSingleClassLabels) {
  const FeatureMatrix x = Matrix(1, {1, 2, 3});
  for (const std::vector<uint8_t>& labels : {std::vector<uint8_t>{1, 1, 1}, {0, 0, 0}}) {
    auto model = TrainLogistic(x, labels);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), ErrorCode::kBadRequest);
    EXPECT_EQ(model.status().field(), "labels");
  }
  auto empty = TrainLogistic(FeatureMatrix{}, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().field(), "labels");
}

TEST(TrainLogisticTest, RejectsMalformedInputsNamingTheField) {
  const FeatureMatrix x = Matrix(2, {1, 2, 3, 4});
  struct Case {
    FeatureMatrix x;
    std::vector<uint8_t> labels;
    TrainOptions options;
    std::string field;
  };
  FeatureMatrix short_values = x;
  short_values.values.pop_back();
  FeatureMatrix infinite = x;
  infinite.values[3] = std::numeric_limits<float>::infinity();
  FeatureMatrix not_a_number = x;
  not_a_number.values[0] = std::numeric_limits<float>::quiet_NaN();
  TrainOptions negative_l2;
  negative_l2.l2 = -1;
  TrainOptions negative_epochs;
  negative_epochs.max_epochs = -1;
  TrainOptions nan_tolerance;
  nan_tolerance.tolerance = kNaN;
  const std::vector<Case> cases = {
      {short_values, {0, 1}, {}, "x"},
      {infinite, {0, 1}, {}, "x"},
      {not_a_number, {0, 1}, {}, "x"},
      {x, {0, 1, 1}, {}, "labels"},
      {x, {0, 2}, {}, "labels"},
      {x, {0, 1}, negative_l2, "options.l2"},
      {x, {0, 1}, negative_epochs, "options.max_epochs"},
      {x, {0, 1}, nan_tolerance, "options.tolerance"},
  };
  for (const Case& c : cases) {
    auto model = TrainLogistic(c.x, c.labels, c.options);
    ASSERT_FALSE(model.ok()) << c.field;
    EXPECT_EQ(model.status().code(), ErrorCode::kBadRequest) << c.field;
    EXPECT_EQ(model.status().field(), c.field) << model.status().ToString();
  }
}

TEST(TrainLogisticTest, StandardisesOnTrainingRowsWithUnitScaleForConstants) {
  // Column 0: {1, 3, 5, 7}, mean 4, population variance (9 + 1 + 1 + 9) / 4 = 5.
  // Column 1: always 2.5 -> mean 2.5, scale 1, and its weight never moves from 0.
  const FeatureMatrix x = Matrix(2, {1, 2.5f, 3, 2.5f, 5, 2.5f, 7, 2.5f});
  auto model = TrainLogistic(x, {0, 1, 0, 1});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_DOUBLE_EQ(model->mean[0], 4.0);
  EXPECT_DOUBLE_EQ(model->scale[0], std::sqrt(5.0));
  EXPECT_EQ(model->mean[1], 2.5);
  EXPECT_EQ(model->scale[1], 1.0);
  EXPECT_EQ(model->weights[1], 0.0);
}

TEST(TrainLogisticTest, ZeroEpochsGiveTheBaseRateModel) {
  // 3 positives, 5 negatives: bias = ln(3 / 5), weights 0, loss = the label entropy
  // -(3/8 ln 3/8 + 5/8 ln 5/8).
  const FeatureMatrix x = Matrix(1, {1, 2, 3, 4, 5, 6, 7, 8});
  TrainOptions options;
  options.max_epochs = 0;
  auto model = TrainLogistic(x, {0, 1, 0, 0, 1, 0, 1, 0}, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->epochs, 0);
  EXPECT_EQ(model->weights, std::vector<double>{0.0});
  EXPECT_NEAR(model->bias, std::log(3.0 / 5.0), 1e-15);
  EXPECT_NEAR(model->final_loss, -(0.375 * std::log(0.375) + 0.625 * std::log(0.625)), 1e-15);
  EXPECT_NEAR(Score(*model, x.Row(0)), 0.375, 1e-15);
}

TEST(TrainLogisticTest, NoFeaturesFitsTheBaseRate) {
  FeatureMatrix x;
  x.rows = 4;
  auto model = TrainLogistic(x, {1, 0, 0, 0});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_TRUE(model->weights.empty());
  EXPECT_NEAR(Score(*model, nullptr), 0.25, 1e-12);
}

TEST(TrainLogisticTest, BinaryFeatureReachesTheClosedFormOptimum) {
  // Without a penalty the fit reproduces each group's rate: P(1 | x=0) = 1/4, P(1 | x=1) = 3/4.
  // Standardised, x is -1 or +1 (mean 0.5, scale 0.5), so logit = bias +- w with
  // bias + w = ln 3 and bias - w = -ln 3: bias = 0, w = ln 3.
  const FeatureMatrix x = Matrix(1, {0, 0, 0, 0, 1, 1, 1, 1});
  TrainOptions options;
  options.l2 = 0;
  options.tolerance = 1e-15;
  auto model = TrainLogistic(x, {1, 0, 0, 0, 1, 1, 1, 0}, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_DOUBLE_EQ(model->mean[0], 0.5);
  EXPECT_DOUBLE_EQ(model->scale[0], 0.5);
  EXPECT_NEAR(model->bias, 0.0, 1e-6);
  EXPECT_NEAR(model->weights[0], std::log(3.0), 1e-6);
  EXPECT_NEAR(Score(*model, x.Row(0)), 0.25, 1e-6);
  EXPECT_NEAR(Score(*model, x.Row(4)), 0.75, 1e-6);
}

TEST(TrainLogisticTest, FindsHiddenTraitsAndGeneralises) {
  const Dataset data = HiddenTraitDataset(10000, 2024);
  const Dataset train = Slice(data, 0, 8000);
  const Dataset test = Slice(data, 8000, 10000);
  auto model = TrainLogistic(train.x, train.labels);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_GT(model->epochs, 0);
  EXPECT_LE(model->epochs, TrainOptions{}.max_epochs);

  const std::vector<double> scores = ScoreAll(*model, test.x);
  EXPECT_GT(AreaUnderRoc(scores, test.labels), 0.8);
  EXPECT_GT(LiftAtTop(scores, test.labels, 200), 1.5);

  // f1 and f2 carry the signal: the two largest |weight|, with the hidden signs.
  const auto top = TopFeatures(*model, train.x.names, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].name, "f1");
  EXPECT_GT(top[0].weight, 0);
  EXPECT_EQ(top[1].name, "f2");
  EXPECT_LT(top[1].weight, 0);
  // Standardised weights are comparable: the noise columns are far below the signal ones.
  EXPECT_LT(std::fabs(top[2].weight), 0.25 * std::fabs(top[1].weight));
}

TEST(TrainLogisticTest, ReachesAStationaryPointOfThePenalisedLoss) {
  const Dataset data = HiddenTraitDataset(2000, 99);
  TrainOptions options;
  options.l2 = 0.01;
  options.tolerance = 1e-12;
  auto model = TrainLogistic(data.x, data.labels, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // final_loss is the mean log-loss plus l2 / 2 * |w|^2, as recomputed from Score.
  const double loss = PenalisedLoss(*model, data.x, data.labels, options.l2);
  EXPECT_NEAR(model->final_loss, loss, 1e-9);
  // Central differences of the loss in every weight and the bias are ~0.
  const double h = 1e-4;
  for (size_t k = 0; k <= model->weights.size(); ++k) {
    LogisticModel plus = *model, minus = *model;
    (k == 0 ? plus.bias : plus.weights[k - 1]) += h;
    (k == 0 ? minus.bias : minus.weights[k - 1]) -= h;
    const double slope = (PenalisedLoss(plus, data.x, data.labels, options.l2) -
                          PenalisedLoss(minus, data.x, data.labels, options.l2)) /
                         (2 * h);
    EXPECT_NEAR(slope, 0.0, 1e-4) << "parameter " << k;
  }
}

TEST(TrainLogisticTest, LargerPenaltyShrinksWeights) {
  const Dataset data = HiddenTraitDataset(2000, 5);
  TrainOptions weak, strong;
  weak.l2 = 1e-3;
  strong.l2 = 1.0;
  auto loose = TrainLogistic(data.x, data.labels, weak);
  auto tight = TrainLogistic(data.x, data.labels, strong);
  ASSERT_TRUE(loose.ok() && tight.ok());
  double loose_norm = 0, tight_norm = 0;
  for (double w : loose->weights) loose_norm += w * w;
  for (double w : tight->weights) tight_norm += w * w;
  EXPECT_LT(tight_norm, 0.5 * loose_norm);
}

TEST(TrainLogisticTest, SeparableDataWithoutPenaltyStaysFinite) {
  // The unpenalised optimum is at infinity; training must still stop with finite weights
  // that rank the rows perfectly.
  const FeatureMatrix x = Matrix(1, {0, 1, 2, 3, 4, 5});
  const std::vector<uint8_t> labels = {0, 0, 0, 1, 1, 1};
  TrainOptions options;
  options.l2 = 0;
  auto model = TrainLogistic(x, labels, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_LE(model->epochs, options.max_epochs);
  EXPECT_TRUE(std::isfinite(model->weights[0]));
  EXPECT_TRUE(std::isfinite(model->bias));
  EXPECT_LT(model->final_loss, 0.01);
  EXPECT_DOUBLE_EQ(AreaUnderRoc(ScoreAll(*model, x), labels), 1.0);
}

TEST(TrainLogisticTest, IsDeterministic) {
  const Dataset data = HiddenTraitDataset(3000, 11);
  auto first = TrainLogistic(data.x, data.labels);
  auto second = TrainLogistic(data.x, data.labels);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->weights, second->weights);
  EXPECT_EQ(first->bias, second->bias);
  EXPECT_EQ(first->mean, second->mean);
  EXPECT_EQ(first->scale, second->scale);
  EXPECT_EQ(first->epochs, second->epochs);
  EXPECT_EQ(first->final_loss, second->final_loss);
  EXPECT_EQ(ScoreAll(*first, data.x), ScoreAll(*second, data.x));
}

// ---------------------------------------------------------------------------------------------
// ComputeInsight

TEST(ComputeInsightTest, SharesTgiAndOrderByHand) {
  // Segment of 100 users in a base of 1000. Listed: 95 segment users, 950 base users, so the
  // absent row is 100 - 95 = 5 and 1000 - 950 = 50.
  //   value     seg  base  seg share  base share  TGI                 |ln(TGI/100)|
  //   male       60   400  0.60       0.40        100*.6/.4  = 150    ln 1.5   = 0.405
  //   female     30   500  0.30       0.50        100*.3/.5  = 60     |ln 0.6| = 0.511
  //   other       5     0  0.05       0           NaN (absent from base: first)
  //   (absent)    5    50  0.05       0.05        100                 0
  //   unknown     0    50  0          0.05        0                   (segment count 0: last)
  const auto rows = ComputeInsight(
      {{"male", 60, 400}, {"female", 30, 500}, {"other", 5, 0}, {"unknown", 0, 50}}, 100, 1000);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].value, "other");
  EXPECT_EQ(rows[1].value, "female");
  EXPECT_EQ(rows[2].value, "male");
  EXPECT_EQ(rows[3].value, std::nullopt);
  EXPECT_EQ(rows[4].value, "unknown");

  EXPECT_EQ(rows[0].segment_count, 5u);
  EXPECT_EQ(rows[0].base_count, 0u);
  EXPECT_DOUBLE_EQ(rows[0].segment_share, 0.05);
  EXPECT_EQ(rows[0].base_share, 0.0);
  EXPECT_TRUE(std::isnan(rows[0].tgi));

  EXPECT_DOUBLE_EQ(rows[1].segment_share, 0.30);
  EXPECT_DOUBLE_EQ(rows[1].base_share, 0.50);
  EXPECT_DOUBLE_EQ(rows[1].tgi, 60.0);

  EXPECT_DOUBLE_EQ(rows[2].segment_share, 0.60);
  EXPECT_DOUBLE_EQ(rows[2].base_share, 0.40);
  EXPECT_DOUBLE_EQ(rows[2].tgi, 150.0);

  EXPECT_EQ(rows[3].segment_count, 5u);
  EXPECT_EQ(rows[3].base_count, 50u);
  EXPECT_DOUBLE_EQ(rows[3].tgi, 100.0);

  EXPECT_EQ(rows[4].segment_share, 0.0);
  EXPECT_DOUBLE_EQ(rows[4].base_share, 0.05);
  EXPECT_EQ(rows[4].tgi, 0.0);

  // With the absent row the shares of each population add up to 1.
  double segment_sum = 0, base_sum = 0;
  for (const InsightRow& row : rows) {
    segment_sum += row.segment_share;
    base_sum += row.base_share;
  }
  EXPECT_DOUBLE_EQ(segment_sum, 1.0);
  EXPECT_DOUBLE_EQ(base_sum, 1.0);
}

TEST(ComputeInsightTest, EqualDistinctivenessFallsToCountThenValue) {
  // 100 users in each population; every TGI below is 200 or 50, both |ln| = ln 2:
  //   q: 40 / 20 -> 200    x: 20 / 10 -> 200    p, y: 10 / 20 -> 50
  // Count descending: q (40), x (20), then p and y (10 each) by value. The absent row,
  // (100 - 80) / (100 - 70) = 20 / 30 -> TGI 66.7, |ln 2/3| = 0.405 < ln 2, comes after.
  const auto rows =
      ComputeInsight({{"y", 10, 20}, {"x", 20, 10}, {"p", 10, 20}, {"q", 40, 20}}, 100, 100);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].value, "q");
  EXPECT_EQ(rows[1].value, "x");
  EXPECT_EQ(rows[2].value, "p");
  EXPECT_EQ(rows[3].value, "y");
  EXPECT_EQ(rows[4].value, std::nullopt);
  EXPECT_DOUBLE_EQ(rows[4].tgi, 100.0 * 0.2 / 0.3);
}

TEST(ComputeInsightTest, AbsentFromBaseFirstByCountAndZeroSegmentLastByValue) {
  // Segment 20, base 100. "new1" and "new2" are absent from the base (first, by segment count
  // 8 > 2); "b", "a", "c" have no segment users (last: "c" absent from the base too, then by
  // value). "core": 10 / 100 and 90 / 100 -> TGI 100 * 0.5 / 0.9 = 55.6.
  const auto rows = ComputeInsight(
      {{"b", 0, 5}, {"new2", 2, 0}, {"core", 10, 90}, {"a", 0, 5}, {"c", 0, 0}, {"new1", 8, 0}}, 20,
      100);
  std::vector<std::optional<std::string>> order;
  for (const InsightRow& row : rows) order.push_back(row.value);
  const std::vector<std::optional<std::string>> expected = {"new1", "new2", "core", "c", "a", "b"};
  EXPECT_EQ(order, expected);  // listed counts fill both totals: no absent row
  EXPECT_DOUBLE_EQ(rows[2].tgi, 100 * 0.5 / 0.9);
}

TEST(ComputeInsightTest, UsesACallerSuppliedAbsentRowAsGiven) {
  // 10 users: 6 "a", 4 absent; base 100: 30 "a", 70 absent.
  // a: 0.6 / 0.3 -> 200, |ln 2| = 0.693; absent: 0.4 / 0.7 -> 57.1, |ln 0.571| = 0.560.
  const auto rows = ComputeInsight({{std::nullopt, 4, 70}, {"a", 6, 30}}, 10, 100);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].value, "a");
  EXPECT_DOUBLE_EQ(rows[0].tgi, 200.0);
  EXPECT_EQ(rows[1].value, std::nullopt);
  EXPECT_EQ(rows[1].segment_count, 4u);
  EXPECT_DOUBLE_EQ(rows[1].tgi, 100 * 0.4 / 0.7);
}

TEST(ComputeInsightTest, NoAbsentRowWhenListedCountsCoverTheTotals) {
  // A multi-valued dimension: users can have several values, the listed counts exceed the
  // totals, and nothing is left to be absent.
  const auto rows = ComputeInsight({{"a", 8, 50}, {"b", 7, 60}}, 10, 100);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].value.has_value());
  EXPECT_TRUE(rows[1].value.has_value());
}

TEST(ComputeInsightTest, EmptyPopulationsGiveZeroSharesAndNaNTgi) {
  const auto rows = ComputeInsight({{"a", 0, 0}}, 0, 0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].segment_share, 0.0);
  EXPECT_EQ(rows[0].base_share, 0.0);
  EXPECT_TRUE(std::isnan(rows[0].tgi));
  EXPECT_TRUE(ComputeInsight({}, 0, 0).empty());
  // Only absent users: a single absent row with TGI 100.
  const auto absent_only = ComputeInsight({}, 5, 50);
  ASSERT_EQ(absent_only.size(), 1u);
  EXPECT_EQ(absent_only[0].value, std::nullopt);
  EXPECT_DOUBLE_EQ(absent_only[0].tgi, 100.0);
}

// ---------------------------------------------------------------------------------------------
// QuantileBounds and BucketLabel

TEST(QuantileBoundsTest, CutsAtEvenRanks) {
  // 10 values, 4 buckets: ranks floor(i * 10 / 4) = 0, 2, 5, 7 -> values 1, 3, 6, 8.
  EXPECT_EQ(QuantileBounds({7, 3, 10, 1, 5, 9, 2, 8, 4, 6}, 4), (std::vector<double>{1, 3, 6, 8}));
  EXPECT_EQ(QuantileBounds({4, 2, 9}, 1), std::vector<double>{2});
}

TEST(QuantileBoundsTest, DeduplicatesRepeatedValues) {
  // 8 values, 4 buckets: ranks 0, 2, 4, 6 of {1,1,1,1,1,1,2,3} -> 1, 1, 1, 2 -> {1, 2}.
  EXPECT_EQ(QuantileBounds({1, 2, 1, 1, 3, 1, 1, 1}, 4), (std::vector<double>{1, 2}));
  EXPECT_EQ(QuantileBounds({5, 5, 5}, 10), std::vector<double>{5});
  // Fewer values than buckets: every distinct value is a bound.
  EXPECT_EQ(QuantileBounds({7, 5, 7}, 4), (std::vector<double>{5, 7}));
}

TEST(QuantileBoundsTest, EmptyInputsAndNaN) {
  EXPECT_TRUE(QuantileBounds({}, 4).empty());
  EXPECT_TRUE(QuantileBounds({1, 2}, 0).empty());
  EXPECT_TRUE(QuantileBounds({1, 2}, -3).empty());
  EXPECT_TRUE(QuantileBounds({kNaN, kNaN}, 3).empty());
  // NaN (absent) is dropped: 4 values left, 2 buckets -> ranks 0 and 2 of {1, 2, 3, 4}.
  EXPECT_EQ(QuantileBounds({4, kNaN, 1, 3, kNaN, 2}, 2), (std::vector<double>{1, 3}));
}

TEST(QuantileBoundsTest, MatchesSortingOnRandomValuesWithDuplicates) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> level(0, 40);
  for (int buckets : {1, 3, 10, 64, 1000}) {
    std::vector<double> values;
    for (int i = 0; i < 997; ++i) values.push_back(level(rng) * 0.25);
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> expected;
    for (size_t i = 0; i < static_cast<size_t>(buckets); ++i) {
      const double cut = sorted[i * sorted.size() / static_cast<size_t>(buckets)];
      if (expected.empty() || expected.back() != cut) expected.push_back(cut);
    }
    EXPECT_EQ(QuantileBounds(values, buckets), expected) << buckets;
  }
}

TEST(BucketLabelTest, HalfOpenIntervalsWithoutTrailingZeros) {
  const std::vector<double> bounds = {-2.5, -0.0, 0.1, 1000000, 1e-7 + 1000000};
  EXPECT_EQ(BucketLabel(bounds, 0), "[-2.5, 0)");
  EXPECT_EQ(BucketLabel(bounds, 1), "[0, 0.1)");
  EXPECT_EQ(BucketLabel(bounds, 2), "[0.1, 1000000)");
  EXPECT_EQ(BucketLabel(bounds, 3), "[1000000, 1000000.0000001)");
  EXPECT_EQ(BucketLabel(bounds, 4), "[1000000.0000001, +inf)");
  EXPECT_EQ(BucketLabel(bounds, 5), "");
  EXPECT_EQ(BucketLabel({}, 0), "");
  EXPECT_EQ(BucketLabel({20, 30.5}, 1), "[30.5, +inf)");
}

}  // namespace
}  // namespace sextant::audience
