// Statistics of journey effect evaluation (效果评估): per-arm goal conversion, the comparison of
// an arm (a treatment or an A/B variant) with a baseline arm (usually the control group), and
// the sample ratio mismatch (SRM) check of how entering customers were split. The method, with
// its caveats, is described for analysts in docs/effect-evaluation.md.
//
// Every function is pure: no state, no allocation beyond the returned names, safe to call from
// any thread. Counts come from stored data and are never trusted to be consistent: a
// `converted` larger than `entered` is treated as `entered`, and undefined statistics (no
// entries, every or no customer converted) get the documented neutral values instead of
// failing.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sextant::journey {

// Two-sided 95% normal quantile, z such that P(|Z| <= z) = 0.95.
inline constexpr double kZ95 = 1.959963984540054;
// A comparison is `significant` when its p-value is below this.
inline constexpr double kSignificanceLevel = 0.05;
// The split is flagged as a sample ratio mismatch when the SRM p-value is below this.
inline constexpr double kSampleRatioMismatchLevel = 0.001;

// What one arm of a journey (the control group, the treatment, or one A/B branch) did over the
// evaluated period.
struct ArmCounts {
  std::string name{};
  uint64_t entered = 0;    // customers assigned to the arm
  uint64_t converted = 0;  // of those, customers who reached the goal (at most `entered`)
  // Configured traffic share of the arm, in [0, 1]. Shares are used as relative weights, so
  // they need not sum to 1 over the arms that are compared.
  double expected_share = 0;
};

// `arm` compared with `baseline`. Rates are fractions in [0, 1], not percentages.
struct ArmComparison {
  std::string arm{};
  std::string baseline{};
  double rate = 0;             // arm.converted / arm.entered; 0 when nobody entered
  double baseline_rate = 0;    // the same for the baseline
  double uplift_absolute = 0;  // rate - baseline_rate
  // (rate - baseline_rate) / baseline_rate; NaN when baseline_rate == 0.
  double uplift_relative = std::numeric_limits<double>::quiet_NaN();
  // 95% confidence interval of uplift_absolute by Newcombe's hybrid score method (Newcombe
  // 1998, method 10), built from the Wilson intervals of the two rates. [-1, 1] when either arm
  // has no entries.
  double ci_low = 0;
  double ci_high = 0;
  // Two-sided two-proportion z-test with pooled variance. z > 0 when the arm converts better.
  // z = 0 and p_value = 1 when the test is undefined: an arm without entries, or a pooled rate
  // of 0 or 1.
  double z = 0;
  double p_value = 1;
  bool significant = false;  // p_value < kSignificanceLevel
};

// Pearson chi-square goodness-of-fit test of the entered counts against the configured shares.
struct SampleRatioCheck {
  double chi_square = 0;
  int degrees_of_freedom = 0;  // usable arms - 1; 0 when fewer than 2 arms are usable
  double p_value = 1;
  bool mismatch = false;  // p_value < kSampleRatioMismatchLevel
};

// A two-sided confidence interval of a proportion; both ends in [0, 1].
struct ProportionInterval {
  double low = 0;
  double high = 1;
};

// Conversion rate of `arm`: converted / entered, with converted capped at entered; 0 when
// nobody entered.
double ConversionRate(const ArmCounts& arm);

// Compares `arm` with `baseline` (see ArmComparison for every field and its undefined cases).
ArmComparison CompareArms(const ArmCounts& arm, const ArmCounts& baseline);

// Tests whether `arms` received entering customers in the proportions of their expected_share.
// Arms whose share is not a positive finite number are skipped; the remaining shares are
// renormalised to sum to 1. Fewer than 2 usable arms, or no entries at all, gives df as
// described, chi_square 0 and p_value 1.
SampleRatioCheck CheckSampleRatio(const std::vector<ArmCounts>& arms);

// Wilson score interval (without continuity correction) of successes / trials at normal quantile
// `z`. successes is capped at trials; trials == 0 gives [0, 1].
ProportionInterval WilsonInterval(uint64_t successes, uint64_t trials, double z = kZ95);

// Standard normal cumulative distribution function P(Z <= z), accurate in both tails.
double NormalCdf(double z);

// Upper tail P(X >= x) of the chi-square distribution with `dof` degrees of freedom, i.e. the
// regularized upper incomplete gamma function Q(dof / 2, x / 2). Returns 1 when x <= 0, x is
// NaN, or dof < 1.
double ChiSquareSurvival(double x, int dof);

}  // namespace sextant::journey
