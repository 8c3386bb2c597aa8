// Lookalike expansion (种群扩散): a logistic-regression model trained on "seed member vs. sampled
// non-member" over per-user features, its quality on held-out seed members, and the scores of
// every other user. No external ML service; everything here is plain C++ over dense arrays.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sextant::audience {

// Row-major feature matrix: rows are examples (users), columns are features.
struct FeatureMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;       // rows * cols
  std::vector<std::string> names;  // cols entries, for the model report
  const float* Row(size_t row) const { return values.data() + row * cols; }
};

struct TrainOptions {
  double l2 = 1e-3;         // L2 penalty on the weights (not the bias)
  int max_epochs = 300;     // full-batch gradient steps (or passes of the chosen optimiser)
  double tolerance = 1e-6;  // stop when the loss improves by less than this
  uint64_t seed = 42;       // for any shuffling / initialisation
};

struct LogisticModel {
  std::vector<double> weights;  // one per column
  double bias = 0;
  // Per-column standardisation applied before the weights (fitted on the training rows):
  // z = (x - mean) / scale, scale 1 for constant columns.
  std::vector<double> mean;
  std::vector<double> scale;
  int epochs = 0;         // epochs actually run
  double final_loss = 0;  // mean log-loss on the training rows, penalty included
};

// Fits the model to (x, labels) with labels 0/1 (both classes must be present, else
// kInvalidArgument naming "labels"). Deterministic for equal inputs and options.
Result<LogisticModel> TrainLogistic(const FeatureMatrix& x, const std::vector<uint8_t>& labels,
                                    const TrainOptions& options = {});

// P(label = 1) for one row of `cols` features.
double Score(const LogisticModel& model, const float* row);

// Area under the ROC curve of `scores` for `labels` (ties count one half). NaN if one class is
// missing.
double AreaUnderRoc(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

// Lift at the top n: (positives among the n highest scores / n) / (positives / all).
// NaN without positives or with n == 0; n is capped at the number of rows.
double LiftAtTop(const std::vector<double>& scores, const std::vector<uint8_t>& labels, size_t n);

// The columns with the largest |weight| (on the standardised scale), largest first.
struct FeatureWeight {
  std::string name;
  double weight;
};
std::vector<FeatureWeight> TopFeatures(const LogisticModel& model,
                                       const std::vector<std::string>& names, size_t count);

}  // namespace sextant::audience
