#include "journey/effect_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace sextant::journey {
namespace {

// Relative precision at which the incomplete gamma series and continued fraction stop.
constexpr double kGammaEpsilon = 1e-15;
// Bound on their iterations. Both converge in O(sqrt(a)) steps near x = a; the bound only
// guarantees termination on absurd degrees of freedom, far above any number of journey arms.
constexpr int kGammaMaxIterations = 100000;
// Stands in for zero in the modified Lentz algorithm to avoid dividing by it.
constexpr double kLentzTiny = 1e-300;

struct CappedCounts {
  double converted;
  double entered;
};

CappedCounts Capped(const ArmCounts& arm) {
  return {static_cast<double>(std::min(arm.converted, arm.entered)),
          static_cast<double>(arm.entered)};
}

// log(Gamma(a)) for a > 0. Written here rather than taken from std::lgamma because glibc's
// lgamma stores the sign in the global `signgam`, a data race when reports are computed on
// several threads. Shifts a up to at least 10 with Gamma(a) = Gamma(a + 1) / a, then uses the
// Stirling series, whose first omitted term is below 1e-15 there.
double LogGamma(double a) {
  double shift_log = 0;
  while (a < 10) {
    shift_log += std::log(a);
    a += 1;
  }
  const double inv = 1 / a;
  const double inv2 = inv * inv;
  const double series =
      inv *
      (1.0 / 12 +
       inv2 * (-1.0 / 360 +
               inv2 * (1.0 / 1260 +
                       inv2 * (-1.0 / 1680 + inv2 * (1.0 / 1188 + inv2 * (-691.0 / 360360))))));
  return (a - 0.5) * std::log(a) - a + 0.5 * std::log(2 * std::numbers::pi) + series - shift_log;
}

// Regularized upper incomplete gamma Q(a, x) for a > 0, x > 0: by the power series of the lower
// function P when x < a + 1 (where it converges fast and P is not close to 1, so 1 - P loses no
// precision), otherwise by the continued fraction of Q evaluated with the modified Lentz method.
double UpperIncompleteGamma(double a, double x) {
  const double log_prefactor = -x + a * std::log(x) - LogGamma(a);
  if (x < a + 1) {
    double denominator = a;
    double term = 1 / a;
    double sum = term;
    for (int iteration = 0; iteration < kGammaMaxIterations; ++iteration) {
      denominator += 1;
      term *= x / denominator;
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * kGammaEpsilon) break;
    }
    return std::clamp(1 - sum * std::exp(log_prefactor), 0.0, 1.0);
  }
  double b = x + 1 - a;
  double c = 1 / kLentzTiny;
  double d = 1 / b;
  double fraction = d;
  for (int iteration = 1; iteration <= kGammaMaxIterations; ++iteration) {
    const double an = -iteration * (iteration - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kLentzTiny) d = kLentzTiny;
    c = b + an / c;
    if (std::fabs(c) < kLentzTiny) c = kLentzTiny;
    d = 1 / d;
    const double delta = d * c;
    fraction *= delta;
    if (std::fabs(delta - 1) < kGammaEpsilon) break;
  }
  return std::clamp(std::exp(log_prefactor) * fraction, 0.0, 1.0);
}

}  // namespace

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

double ChiSquareSurvival(double x, int dof) {
  if (dof < 1 || !(x > 0)) return 1;
  if (std::isinf(x)) return 0;
  return UpperIncompleteGamma(0.5 * dof, 0.5 * x);
}

ProportionInterval WilsonInterval(uint64_t successes, uint64_t trials, double z) {
  if (trials == 0) return {0, 1};
  successes = std::min(successes, trials);
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denominator = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denominator;
  const double half_width = z / denominator * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  // At 0 or n successes the end that touches the boundary is exactly 0 or 1 algebraically;
  // setting it avoids rounding residue such as 0.9999999999999999.
  return {successes == 0 ? 0.0 : std::max(0.0, center - half_width),
          successes == trials ? 1.0 : std::min(1.0, center + half_width)};
}

double ConversionRate(const ArmCounts& arm) {
  if (arm.entered == 0) return 0;
  const CappedCounts counts = Capped(arm);
  return counts.converted / counts.entered;
}

ArmComparison CompareArms(const ArmCounts& arm, const ArmCounts& baseline) {
  ArmComparison result;
  result.arm = arm.name;
  result.baseline = baseline.name;
  result.rate = ConversionRate(arm);
  result.baseline_rate = ConversionRate(baseline);
  result.uplift_absolute = result.rate - result.baseline_rate;
  if (result.baseline_rate > 0) {
    result.uplift_relative = result.uplift_absolute / result.baseline_rate;
  }

  if (arm.entered == 0 || baseline.entered == 0) {
    result.ci_low = -1;
    result.ci_high = 1;
    return result;
  }

  // Newcombe (1998) method 10: each end of the difference's interval combines the distances
  // from each rate to the Wilson limits on the side that moves the difference that way.
  const ProportionInterval arm_ci = WilsonInterval(arm.converted, arm.entered);
  const ProportionInterval baseline_ci = WilsonInterval(baseline.converted, baseline.entered);
  const double p1 = result.rate;
  const double p2 = result.baseline_rate;
  result.ci_low =
      std::max(-1.0, result.uplift_absolute - std::hypot(p1 - arm_ci.low, baseline_ci.high - p2));
  result.ci_high =
      std::min(1.0, result.uplift_absolute + std::hypot(arm_ci.high - p1, p2 - baseline_ci.low));

  const CappedCounts a = Capped(arm);
  const CappedCounts b = Capped(baseline);
  const double pooled_converted = a.converted + b.converted;
  const double pooled_entered = a.entered + b.entered;
  if (pooled_converted == 0 || pooled_converted == pooled_entered) return result;
  const double pooled_rate = pooled_converted / pooled_entered;
  const double standard_error =
      std::sqrt(pooled_rate * (1 - pooled_rate) * (1 / a.entered + 1 / b.entered));
  result.z = result.uplift_absolute / standard_error;
  // erfc of |z| / sqrt(2) rather than 2 * (1 - NormalCdf(|z|)), which would cancel to 0 for
  // large z.
  result.p_value = std::erfc(std::fabs(result.z) / std::numbers::sqrt2);
  result.significant = result.p_value < kSignificanceLevel;
  return result;
}

SampleRatioCheck CheckSampleRatio(const std::vector<ArmCounts>& arms) {
  auto usable = [](const ArmCounts& arm) {
    return std::isfinite(arm.expected_share) && arm.expected_share > 0;
  };
  int usable_arms = 0;
  double max_share = 0;
  double total_entered = 0;
  for (const ArmCounts& arm : arms) {
    if (!usable(arm)) continue;
    ++usable_arms;
    max_share = std::max(max_share, arm.expected_share);
    total_entered += static_cast<double>(arm.entered);
  }
  SampleRatioCheck result;
  if (usable_arms < 2) return result;
  result.degrees_of_freedom = usable_arms - 1;
  if (total_entered == 0) return result;
  // Shares are weights; dividing by the largest keeps their sum finite whatever their scale.
  double weight_sum = 0;
  for (const ArmCounts& arm : arms) {
    if (usable(arm)) weight_sum += arm.expected_share / max_share;
  }
  for (const ArmCounts& arm : arms) {
    if (!usable(arm)) continue;
    const double expected = total_entered * (arm.expected_share / max_share) / weight_sum;
    const double observed = static_cast<double>(arm.entered);
    if (!(expected > 0)) {
      // A share so small that its expected count underflows: any entry at all is a mismatch.
      if (observed > 0) result.chi_square = std::numeric_limits<double>::infinity();
      continue;
    }
    const double deviation = observed - expected;
    result.chi_square += deviation * deviation / expected;
  }
  result.p_value = ChiSquareSurvival(result.chi_square, result.degrees_of_freedom);
  result.mismatch = result.p_value < kSampleRatioMismatchLevel;
  return result;
}

}  // namespace sextant::journey
