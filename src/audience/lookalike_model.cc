// Logistic regression by L-BFGS over the standardised rows, and the ranking metrics used to
// judge it.
//
// Objective: mean log-loss over the training rows + l2 / 2 * |w|^2 (the bias is not
// penalised). It is convex, and strictly convex when l2 > 0, so L-BFGS with a backtracking
// (Armijo) line search converges from any start; on standardised features the problem is well
// conditioned and 10-30 iterations reach the default tolerance of 1e-6. One iteration costs one
// pass over the rows, O(rows * cols), almost always with a single evaluation of the objective.
// Newton (IRLS) needs fewer iterations but each one builds the Hessian in O(rows * cols^2):
// at 100 columns a single Newton step costs as much as ~100 L-BFGS iterations.
//
// Determinism: every sum runs in a fixed order and nothing is sampled, so equal inputs give
// bit-identical models; TrainOptions::seed is accepted but nothing needs it.
#include "audience/lookalike_model.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>

namespace sextant::audience {
namespace {

constexpr size_t kHistory = 10;   // (s, y) pairs kept by L-BFGS
constexpr int kMaxHalvings = 50;  // line-search step halvings before giving up
constexpr double kArmijo = 1e-4;  // sufficient-decrease fraction of the directional derivative

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// log(1 + e^m) and 1 / (1 + e^-m) from one exp(-|m|), exact in the tails where the naive forms
// overflow or lose everything.
struct Logistic {
  double softplus;
  double sigmoid;
};
Logistic LogisticOf(double margin) {
  const double e = std::exp(-std::fabs(margin));
  return {std::max(margin, 0.0) + std::log1p(e), margin >= 0 ? 1 / (1 + e) : e / (1 + e)};
}

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// a . b over n entries with four partial sums, which break the add-latency chain of the hot
// loop; the summation order is fixed, so the result is still deterministic.
double UnrolledDot(const double* a, const double* b, size_t n) {
  double partial[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t lane = 0; lane < 4; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  }
  for (; i < n; ++i) partial[0] += a[i] * b[i];
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

// The penalised objective over theta = (bias, w_1 .. w_cols) on the standardised training
// rows. The rows are standardised on the fly (a copy would double the memory of the matrix);
// multiplying by the reciprocal scale instead of dividing keeps the pass cheap, at an ulp of
// difference from Score.
class Objective {
 public:
  Objective(const FeatureMatrix& x, const std::vector<uint8_t>& labels, const LogisticModel& model,
            double l2)
      : x_(x), labels_(labels), mean_(model.mean), inv_scale_(x.cols), l2_(l2), z_(x.cols) {
    for (size_t col = 0; col < x.cols; ++col) inv_scale_[col] = 1 / model.scale[col];
  }

  // The objective at theta; its gradient goes to *gradient (resized to theta's size).
  double Evaluate(const std::vector<double>& theta, std::vector<double>* gradient) {
    const size_t cols = x_.cols;
    gradient->assign(theta.size(), 0);
    double loss = 0;
    for (size_t row_idx = 0; row_idx < x_.rows; ++row_idx) {
      const float* row = x_.Row(row_idx);
      for (size_t col = 0; col < cols; ++col) z_[col] = (row[col] - mean_[col]) * inv_scale_[col];
      const double margin = theta[0] + UnrolledDot(theta.data() + 1, z_.data(), cols);
      const double label = labels_[row_idx];
      const Logistic logistic = LogisticOf(margin);
      loss += logistic.softplus - label * margin;
      const double residual = logistic.sigmoid - label;
      (*gradient)[0] += residual;
      for (size_t col = 0; col < cols; ++col) (*gradient)[col + 1] += residual * z_[col];
    }
    const double inv_rows = 1.0 / static_cast<double>(x_.rows);
    loss *= inv_rows;
    for (double& g : *gradient) g *= inv_rows;
    for (size_t c = 1; c < theta.size(); ++c) {
      loss += 0.5 * l2_ * theta[c] * theta[c];
      (*gradient)[c] += l2_ * theta[c];
    }
    return loss;
  }

 private:
  const FeatureMatrix& x_;
  const std::vector<uint8_t>& labels_;
  const std::vector<double>& mean_;
  std::vector<double> inv_scale_;
  double l2_;
  std::vector<double> z_;  // the current row, standardised
};

// The L-BFGS direction -H * gradient from the stored pairs (the two-loop recursion), with the
// initial Hessian scaled by s.y / y.y of the newest pair.
struct Pair {
  std::vector<double> s;  // theta step
  std::vector<double> y;  // gradient change
  double rho;             // 1 / (s . y)
};
std::vector<double> Direction(const std::deque<Pair>& history,
                              const std::vector<double>& gradient) {
  std::vector<double> q = gradient;
  std::vector<double> alpha(history.size());
  for (size_t k = history.size(); k-- > 0;) {
    alpha[k] = history[k].rho * Dot(history[k].s, q);
    for (size_t i = 0; i < q.size(); ++i) q[i] -= alpha[k] * history[k].y[i];
  }
  if (!history.empty()) {
    const Pair& newest = history.back();
    const double gamma = 1 / (newest.rho * Dot(newest.y, newest.y));
    for (double& v : q) v *= gamma;
  }
  for (size_t k = 0; k < history.size(); ++k) {
    const double beta = history[k].rho * Dot(history[k].y, q);
    for (size_t i = 0; i < q.size(); ++i) q[i] += (alpha[k] - beta) * history[k].s[i];
  }
  for (double& v : q) v = -v;
  return q;
}

Status CheckInputs(const FeatureMatrix& x, const std::vector<uint8_t>& labels,
                   const TrainOptions& options) {
  const bool shape_ok = x.cols == 0
                            ? x.values.empty()
                            : x.values.size() % x.cols == 0 && x.values.size() / x.cols == x.rows;
  if (!shape_ok) {
    return Status(ErrorCode::kBadRequest,
                  "values has " + std::to_string(x.values.size()) + " entries for " +
                      std::to_string(x.rows) + " rows of " + std::to_string(x.cols) + " columns",
                  "x");
  }
  for (size_t i = 0; i < x.values.size(); ++i) {
    if (!std::isfinite(x.values[i])) {
      return Status(ErrorCode::kBadRequest,
                    "row " + std::to_string(i / x.cols) + ", column " + std::to_string(i % x.cols) +
                        " is not a finite number",
                    "x");
    }
  }
  if (labels.size() != x.rows) {
    return Status(ErrorCode::kBadRequest,
                  std::to_string(labels.size()) + " labels for " + std::to_string(x.rows) + " rows",
                  "labels");
  }
  size_t positives = 0;
  for (size_t row_idx = 0; row_idx < labels.size(); ++row_idx) {
    if (labels[row_idx] > 1) {
      return Status(ErrorCode::kBadRequest,
                    "label of row " + std::to_string(row_idx) + " is " +
                        std::to_string(labels[row_idx]) + ", not 0 or 1",
                    "labels");
    }
    positives += labels[row_idx];
  }
  if (positives == 0 || positives == labels.size()) {
    return Status(ErrorCode::kBadRequest, "both classes (0 and 1) must be present", "labels");
  }
  if (!(options.l2 >= 0) || !std::isfinite(options.l2)) {
    return Status(ErrorCode::kBadRequest, "must be a finite number >= 0", "options.l2");
  }
  if (options.max_epochs < 0) {
    return Status(ErrorCode::kBadRequest, "must be >= 0", "options.max_epochs");
  }
  if (!(options.tolerance >= 0)) {
    return Status(ErrorCode::kBadRequest, "must be a number >= 0", "options.tolerance");
  }
  return Status::Ok();
}

// Mean and population standard deviation per column, two-pass for accuracy. A column whose
// values are all equal gets its value as mean (so its z is exactly 0 on the training rows and
// its weight stays 0) and scale 1.
void FitStandardisation(const FeatureMatrix& x, LogisticModel* model) {
  const size_t cols = x.cols;
  std::vector<double> sum(cols, 0), low(cols, std::numeric_limits<double>::infinity()),
      high(cols, -std::numeric_limits<double>::infinity());
  for (size_t row_idx = 0; row_idx < x.rows; ++row_idx) {
    const float* row = x.Row(row_idx);
    for (size_t col = 0; col < cols; ++col) {
      sum[col] += row[col];
      low[col] = std::min<double>(low[col], row[col]);
      high[col] = std::max<double>(high[col], row[col]);
    }
  }
  model->mean.resize(cols);
  for (size_t col = 0; col < cols; ++col) {
    model->mean[col] = low[col] == high[col] ? low[col] : sum[col] / static_cast<double>(x.rows);
  }
  std::vector<double> squares(cols, 0);
  for (size_t row_idx = 0; row_idx < x.rows; ++row_idx) {
    const float* row = x.Row(row_idx);
    for (size_t col = 0; col < cols; ++col) {
      const double d = row[col] - model->mean[col];
      squares[col] += d * d;
    }
  }
  model->scale.resize(cols);
  for (size_t col = 0; col < cols; ++col) {
    model->scale[col] =
        low[col] == high[col] ? 1.0 : std::sqrt(squares[col] / static_cast<double>(x.rows));
  }
}

// Orders NaN below every number, so that sorting never meets an unordered pair.
bool ScoreLess(double a, double b) {
  if (std::isnan(a)) return !std::isnan(b);
  return !std::isnan(b) && a < b;
}
bool ScoreEqual(double a, double b) { return !ScoreLess(a, b) && !ScoreLess(b, a); }

}  // namespace

Result<LogisticModel> TrainLogistic(const FeatureMatrix& x, const std::vector<uint8_t>& labels,
                                    const TrainOptions& options) {
  SEXTANT_RETURN_IF_ERROR(CheckInputs(x, labels, options));
  LogisticModel model;
  FitStandardisation(x, &model);

  // Start at w = 0 with the bias at the log-odds of the base rate: the optimum when every
  // weight is 0, so the first steps only have to explain what the features add.
  const double positives = std::accumulate(labels.begin(), labels.end(), 0.0);
  const double rows = static_cast<double>(x.rows);
  std::vector<double> theta(x.cols + 1, 0);
  theta[0] = std::log(positives / (rows - positives));

  Objective objective(x, labels, model, options.l2);
  std::vector<double> gradient;
  double loss = objective.Evaluate(theta, &gradient);
  std::deque<Pair> history;
  std::vector<double> candidate(theta.size()), candidate_gradient;
  while (model.epochs < options.max_epochs) {
    std::vector<double> direction = Direction(history, gradient);
    double slope = Dot(gradient, direction);
    if (!(slope < 0) && !history.empty()) {
      // Rounding made the quasi-Newton direction useless; restart from steepest descent.
      history.clear();
      direction = Direction(history, gradient);
      slope = Dot(gradient, direction);
    }
    if (!(slope < 0)) break;  // the gradient is zero: at the optimum

    double candidate_loss = loss;
    bool accepted = false;
    for (int halving = 0; halving < kMaxHalvings && !accepted; ++halving) {
      const double step = std::ldexp(1.0, -halving);
      for (size_t i = 0; i < theta.size(); ++i) candidate[i] = theta[i] + step * direction[i];
      candidate_loss = objective.Evaluate(candidate, &candidate_gradient);
      accepted = candidate_loss <= loss + kArmijo * step * slope;  // false for NaN too
    }
    if (!accepted) break;  // no decrease representable in doubles
    ++model.epochs;

    Pair pair{std::vector<double>(theta.size()), std::vector<double>(theta.size()), 0};
    for (size_t i = 0; i < theta.size(); ++i) {
      pair.s[i] = candidate[i] - theta[i];
      pair.y[i] = candidate_gradient[i] - gradient[i];
    }
    // Keep only pairs with positive curvature, which keeps the implied Hessian positive
    // definite (always true when l2 > 0; guards the l2 = 0 case against rounding).
    const double curvature = Dot(pair.s, pair.y);
    if (curvature > 1e-12 * Dot(pair.y, pair.y)) {
      pair.rho = 1 / curvature;
      history.push_back(std::move(pair));
      if (history.size() > kHistory) history.pop_front();
    }
    const double improvement = loss - candidate_loss;
    theta.swap(candidate);
    gradient.swap(candidate_gradient);
    loss = candidate_loss;
    if (improvement < options.tolerance) break;
  }

  model.bias = theta[0];
  model.weights.assign(theta.begin() + 1, theta.end());
  model.final_loss = loss;
  return model;
}

double Score(const LogisticModel& model, const float* row) {
  double margin = model.bias;
  for (size_t col = 0; col < model.weights.size(); ++col) {
    margin += model.weights[col] * ((row[col] - model.mean[col]) / model.scale[col]);
  }
  return LogisticOf(margin).sigmoid;
}

// Sorts (score, label) ascending and walks the groups of equal scores: each positive beats the
// negatives below its group and ties with the negatives in it. Counting twice the wins keeps
// the sum an exact integer. NaN scores rank lowest; any nonzero label is positive; scores and
// labels of different lengths have no AUC (NaN). O(n log n).
double AreaUnderRoc(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  if (scores.size() != labels.size()) return kNaN;
  std::vector<std::pair<double, bool>> ranked(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) ranked[i] = {scores[i], labels[i] != 0};
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return ScoreLess(a.first, b.first); });
  uint64_t negatives_below = 0, positives = 0, twice_wins = 0;
  for (size_t begin = 0; begin < ranked.size();) {
    size_t end = begin;
    uint64_t group_positives = 0;
    while (end < ranked.size() && ScoreEqual(ranked[end].first, ranked[begin].first)) {
      group_positives += ranked[end].second;
      ++end;
    }
    const uint64_t group_negatives = end - begin - group_positives;
    twice_wins += 2 * group_positives * negatives_below + group_positives * group_negatives;
    negatives_below += group_negatives;
    positives += group_positives;
    begin = end;
  }
  if (positives == 0 || negatives_below == 0) return kNaN;
  return static_cast<double>(twice_wins) /
         (2.0 * static_cast<double>(positives) * static_cast<double>(negatives_below));
}

// Rows tied with the n-th highest score straddle the cut; they count in proportion to the
// places left for them (the expected value under a random tie break), so a constant score has
// lift 1 whatever n is. NaN scores rank lowest, nonzero labels are positive, and scores and
// labels of different lengths give NaN. O(n): one selection and one pass.
double LiftAtTop(const std::vector<double>& scores, const std::vector<uint8_t>& labels, size_t n) {
  if (scores.size() != labels.size()) return kNaN;
  n = std::min(n, scores.size());
  const auto positives = static_cast<size_t>(
      std::count_if(labels.begin(), labels.end(), [](uint8_t label) { return label != 0; }));
  if (n == 0 || positives == 0) return kNaN;

  std::vector<double> descending = scores;
  std::nth_element(descending.begin(), descending.begin() + static_cast<ptrdiff_t>(n - 1),
                   descending.end(), [](double a, double b) { return ScoreLess(b, a); });
  const double cut = descending[n - 1];
  size_t above = 0, positives_above = 0, at_cut = 0, positives_at_cut = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool positive = labels[i] != 0;
    if (ScoreLess(cut, scores[i])) {
      ++above;
      positives_above += positive;
    } else if (ScoreEqual(cut, scores[i])) {
      ++at_cut;
      positives_at_cut += positive;
    }
  }
  const double top_positives = static_cast<double>(positives_above) +
                               static_cast<double>(positives_at_cut) *
                                   static_cast<double>(n - above) / static_cast<double>(at_cut);
  return (top_positives / static_cast<double>(n)) /
         (static_cast<double>(positives) / static_cast<double>(scores.size()));
}

// Equal |weight| keep column order. A column without a name in `names` is named "#<index>".
std::vector<FeatureWeight> TopFeatures(const LogisticModel& model,
                                       const std::vector<std::string>& names, size_t count) {
  std::vector<size_t> columns(model.weights.size());
  std::iota(columns.begin(), columns.end(), 0);
  count = std::min(count, columns.size());
  std::partial_sort(columns.begin(), columns.begin() + static_cast<ptrdiff_t>(count), columns.end(),
                    [&](size_t a, size_t b) {
                      const double wa = std::fabs(model.weights[a]),
                                   wb = std::fabs(model.weights[b]);
                      return ScoreLess(wb, wa) || (ScoreEqual(wa, wb) && a < b);
                    });
  std::vector<FeatureWeight> top;
  top.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t col = columns[i];
    top.push_back(
        {col < names.size() ? names[col] : "#" + std::to_string(col), model.weights[col]});
  }
  return top;
}

}  // namespace sextant::audience
