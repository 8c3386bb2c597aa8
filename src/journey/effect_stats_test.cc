// Tests of the effect evaluation statistics against values known independently of this code:
// published tables, closed forms, and sums worked by hand (reproducible with Python's math
// module, e.g. `python3 -c "from math import erfc, sqrt; print(erfc(2.9424494 / sqrt(2)))"`).
#include "journey/effect_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace sextant::journey {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Chi-square upper tail in closed form, by a method unrelated to the incomplete gamma function
// under test. Even dof: exp(-x/2) * sum_{k < dof/2} (x/2)^k / k!. Odd dof: erfc(sqrt(x/2)) +
// sqrt(2x/pi) * exp(-x/2) * sum_{k < (dof-1)/2} x^k / (1 * 3 * ... * (2k+1)).
double ClosedFormChiSquareSurvival(double x, int dof) {
  double sum = 0;
  double term = 1;
  if (dof % 2 == 0) {
    for (int k = 0; k < dof / 2; ++k) {
      sum += term;
      term *= (x / 2) / (k + 1);
    }
    return std::exp(-x / 2) * sum;
  }
  for (int k = 0; k < (dof - 1) / 2; ++k) {
    sum += term;
    term *= x / (2 * k + 3);
  }
  return std::erfc(std::sqrt(x / 2)) + std::sqrt(2 * x / std::numbers::pi) * std::exp(-x / 2) * sum;
}

TEST(NormalCdfTest, MatchesTables) {
  EXPECT_DOUBLE_EQ(NormalCdf(0), 0.5);
  EXPECT_NEAR(NormalCdf(1.96), 0.9750021048517795, 1e-12);
  EXPECT_NEAR(NormalCdf(-1.96), 0.0249978951482204, 1e-12);
  EXPECT_NEAR(NormalCdf(3), 0.9986501019683699, 1e-12);
  EXPECT_NEAR(NormalCdf(kZ95), 0.975, 1e-12);
}

TEST(NormalCdfTest, KeepsRelativePrecisionInTheLowerTail) {
  EXPECT_NEAR(NormalCdf(-5) / 2.866515718791946e-07, 1, 1e-10);
  EXPECT_GT(NormalCdf(-30), 0);
  EXPECT_EQ(NormalCdf(kInf), 1);
  EXPECT_EQ(NormalCdf(-kInf), 0);
}

TEST(ChiSquareSurvivalTest, MatchesCriticalValues) {
  // Tabulated 5% critical values for 1, 3, 10 and 100 degrees of freedom.
  EXPECT_NEAR(ChiSquareSurvival(3.841459, 1), 0.05, 1e-7);
  EXPECT_NEAR(ChiSquareSurvival(7.814728, 3), 0.05, 1e-7);
  EXPECT_NEAR(ChiSquareSurvival(18.307038, 10), 0.05, 1e-7);
  EXPECT_NEAR(ChiSquareSurvival(124.342113, 100), 0.05, 1e-7);
  // 0.1% critical value for 1 degree of freedom.
  EXPECT_NEAR(ChiSquareSurvival(10.827566, 1), 0.001, 1e-8);
}

TEST(ChiSquareSurvivalTest, TwoDegreesOfFreedomIsExponential) {
  EXPECT_NEAR(ChiSquareSurvival(10.0, 2), std::exp(-5.0), 1e-14);
  EXPECT_NEAR(ChiSquareSurvival(0.5, 2), std::exp(-0.25), 1e-14);
  EXPECT_NEAR(ChiSquareSurvival(2.0, 2), std::exp(-1.0), 1e-14);
}

TEST(ChiSquareSurvivalTest, MatchesClosedFormsAcrossBothAlgorithms) {
  // x below dof/2 + 1 takes the series, above it the continued fraction.
  for (int dof = 1; dof <= 60; ++dof) {
    for (double x : {0.001, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 120.0}) {
      const double expected = ClosedFormChiSquareSurvival(x, dof);
      EXPECT_NEAR(ChiSquareSurvival(x, dof), expected, 1e-10) << "x=" << x << " dof=" << dof;
      if (expected > 1e-200) {
        EXPECT_NEAR(ChiSquareSurvival(x, dof) / expected, 1, 1e-9) << "x=" << x << " dof=" << dof;
      }
    }
  }
}

TEST(ChiSquareSurvivalTest, AnswersDegenerateInput) {
  EXPECT_EQ(ChiSquareSurvival(0, 1), 1);
  EXPECT_EQ(ChiSquareSurvival(-3, 2), 1);
  EXPECT_EQ(ChiSquareSurvival(kNaN, 2), 1);
  EXPECT_EQ(ChiSquareSurvival(5, 0), 1);
  EXPECT_EQ(ChiSquareSurvival(5, -1), 1);
  EXPECT_EQ(ChiSquareSurvival(kInf, 1), 0);
  EXPECT_EQ(ChiSquareSurvival(1e6, 3), 0);
}

TEST(WilsonIntervalTest, MatchesNewcombeSingleProportionExamples) {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3.
  const ProportionInterval a = WilsonInterval(81, 263);
  EXPECT_NEAR(a.low, 0.2553, 5e-5);
  EXPECT_NEAR(a.high, 0.3662, 5e-5);
  const ProportionInterval none = WilsonInterval(0, 10);
  EXPECT_EQ(none.low, 0);
  EXPECT_NEAR(none.high, 0.2775327998628892, 1e-12);
  const ProportionInterval all = WilsonInterval(10, 10);
  EXPECT_NEAR(all.low, 0.7224672001371107, 1e-12);
  EXPECT_EQ(all.high, 1);
}

TEST(WilsonIntervalTest, AnswersDegenerateInput) {
  const ProportionInterval empty = WilsonInterval(0, 0);
  EXPECT_EQ(empty.low, 0);
  EXPECT_EQ(empty.high, 1);
  // More successes than trials is read as every trial succeeding.
  const ProportionInterval capped = WilsonInterval(12, 10);
  EXPECT_NEAR(capped.low, 0.7224672001371107, 1e-12);
  EXPECT_EQ(capped.high, 1);
}

TEST(CompareArmsTest, WorkedTwoProportionExample) {
  // 200/1000 against 150/1000. Pooled rate p = 350/2000 = 0.175,
  // se = sqrt(0.175 * 0.825 * (1/1000 + 1/1000)) = sqrt(0.000288750) = 0.0169926...,
  // z = 0.05 / 0.0169926 = 2.9424494, p = erfc(2.9424494 / sqrt(2)) = 0.0032562696.
  // Newcombe: Wilson(200/1000) = [0.1763918, 0.2259937], Wilson(150/1000) = [0.1292157,
  // 0.1733859]; low = 0.05 - hypot(0.2 - 0.1763918, 0.1733859 - 0.15) = 0.0167011,
  // high = 0.05 + hypot(0.2259937 - 0.2, 0.15 - 0.1292157) = 0.0832267.
  const ArmComparison c = CompareArms({.name = "treatment", .entered = 1000, .converted = 200},
                                      {.name = "control", .entered = 1000, .converted = 150});
  EXPECT_EQ(c.arm, "treatment");
  EXPECT_EQ(c.baseline, "control");
  EXPECT_DOUBLE_EQ(c.rate, 0.2);
  EXPECT_DOUBLE_EQ(c.baseline_rate, 0.15);
  EXPECT_NEAR(c.uplift_absolute, 0.05, 1e-15);
  EXPECT_NEAR(c.uplift_relative, 1.0 / 3, 1e-14);
  EXPECT_NEAR(c.z, 2.9424494316825, 1e-9);
  EXPECT_NEAR(c.p_value, 0.0032562696284120633, 1e-10);
  EXPECT_TRUE(c.significant);
  EXPECT_NEAR(c.ci_low, 0.016701054306740445, 1e-9);
  EXPECT_NEAR(c.ci_high, 0.0832267033173967, 1e-9);
}

TEST(CompareArmsTest, MatchesNewcombeDifferenceExamples) {
  // Newcombe (1998), "Interval estimation for the difference between independent proportions",
  // Table II, method 10 (hybrid score), to the published 4 decimals.
  struct Example {
    uint64_t x1, n1, x2, n2;
    double low, high;
  };
  const std::vector<Example> examples = {
      {56, 70, 48, 80, 0.0524, 0.3339}, {9, 10, 3, 10, 0.1705, 0.8090},
      {6, 7, 2, 7, 0.0582, 0.8062},     {5, 56, 0, 29, -0.0381, 0.1926},
      {0, 10, 0, 20, -0.1611, 0.2775},  {10, 10, 0, 20, 0.6791, 1.0000},
  };
  for (const Example& e : examples) {
    const ArmComparison c = CompareArms({.name = "a", .entered = e.n1, .converted = e.x1},
                                        {.name = "b", .entered = e.n2, .converted = e.x2});
    EXPECT_NEAR(c.ci_low, e.low, 5e-5) << e.x1 << "/" << e.n1 << " vs " << e.x2 << "/" << e.n2;
    EXPECT_NEAR(c.ci_high, e.high, 5e-5) << e.x1 << "/" << e.n1 << " vs " << e.x2 << "/" << e.n2;
  }
}

TEST(CompareArmsTest, SwappingArmsMirrorsTheResult) {
  const ArmCounts a{.name = "a", .entered = 70, .converted = 56};
  const ArmCounts b{.name = "b", .entered = 80, .converted = 48};
  const ArmComparison ab = CompareArms(a, b);
  const ArmComparison ba = CompareArms(b, a);
  EXPECT_NEAR(ab.z, -ba.z, 1e-12);
  EXPECT_NEAR(ab.p_value, ba.p_value, 1e-15);
  EXPECT_NEAR(ab.ci_low, -ba.ci_high, 1e-12);
  EXPECT_NEAR(ab.ci_high, -ba.ci_low, 1e-12);
  EXPECT_GT(ab.z, 0);
}

TEST(CompareArmsTest, SmallDifferenceIsNotSignificant) {
  // 52/1000 against 50/1000: pooled 0.051, z = 0.002 / sqrt(0.051 * 0.949 * 0.002) = 0.2032810.
  const ArmComparison c = CompareArms({.name = "b", .entered = 1000, .converted = 52},
                                      {.name = "a", .entered = 1000, .converted = 50});
  EXPECT_NEAR(c.z, 0.20328100706668575, 1e-9);
  EXPECT_NEAR(c.p_value, 0.8389153997701586, 1e-9);
  EXPECT_FALSE(c.significant);
  EXPECT_LT(c.ci_low, 0);
  EXPECT_GT(c.ci_high, 0);
}

TEST(CompareArmsTest, BaselineWithoutConversionsHasNoRelativeUplift) {
  // 10/100 against 0/100: pooled 0.05, z = 0.1 / sqrt(0.05 * 0.95 * 0.02) = 3.2444284.
  const ArmComparison c = CompareArms({.name = "t", .entered = 100, .converted = 10},
                                      {.name = "c", .entered = 100, .converted = 0});
  EXPECT_EQ(c.baseline_rate, 0);
  EXPECT_TRUE(std::isnan(c.uplift_relative));
  EXPECT_DOUBLE_EQ(c.uplift_absolute, 0.1);
  EXPECT_NEAR(c.z, 3.244428422615251, 1e-9);
  EXPECT_NEAR(c.p_value, 0.0011768659106247401, 1e-10);
  EXPECT_TRUE(c.significant);
}

TEST(CompareArmsTest, NoEntriesGivesTheUninformativeAnswer) {
  const ArmCounts empty{.name = "empty"};
  const ArmCounts some{.name = "some", .entered = 100, .converted = 20};
  for (const ArmComparison& c :
       {CompareArms(empty, some), CompareArms(some, empty), CompareArms(empty, empty)}) {
    EXPECT_EQ(c.z, 0);
    EXPECT_EQ(c.p_value, 1);
    EXPECT_FALSE(c.significant);
    EXPECT_EQ(c.ci_low, -1);
    EXPECT_EQ(c.ci_high, 1);
  }
  const ArmComparison empty_arm = CompareArms(empty, some);
  EXPECT_EQ(empty_arm.rate, 0);
  EXPECT_DOUBLE_EQ(empty_arm.uplift_relative, -1);
  EXPECT_TRUE(std::isnan(CompareArms(some, empty).uplift_relative));
}

TEST(CompareArmsTest, PooledRateOfZeroOrOneHasNoTest) {
  const ArmComparison all = CompareArms({.name = "t", .entered = 50, .converted = 50},
                                        {.name = "c", .entered = 80, .converted = 80});
  EXPECT_EQ(all.rate, 1);
  EXPECT_EQ(all.uplift_absolute, 0);
  EXPECT_EQ(all.uplift_relative, 0);
  EXPECT_EQ(all.z, 0);
  EXPECT_EQ(all.p_value, 1);
  EXPECT_FALSE(all.significant);
  EXPECT_LT(all.ci_low, 0);
  EXPECT_GT(all.ci_high, 0);

  const ArmComparison none = CompareArms({.name = "t", .entered = 10, .converted = 0},
                                         {.name = "c", .entered = 20, .converted = 0});
  EXPECT_EQ(none.p_value, 1);
  EXPECT_TRUE(std::isnan(none.uplift_relative));
  EXPECT_NEAR(none.ci_low, -0.1611, 5e-5);  // Newcombe's 0/10 vs 0/20 example
  EXPECT_NEAR(none.ci_high, 0.2775, 5e-5);
}

TEST(CompareArmsTest, MoreConversionsThanEntriesAreCapped) {
  const ArmComparison capped = CompareArms({.name = "t", .entered = 10, .converted = 15},
                                           {.name = "c", .entered = 20, .converted = 0});
  const ArmComparison exact = CompareArms({.name = "t", .entered = 10, .converted = 10},
                                          {.name = "c", .entered = 20, .converted = 0});
  EXPECT_EQ(capped.rate, 1);
  EXPECT_EQ(capped.z, exact.z);
  EXPECT_EQ(capped.ci_low, exact.ci_low);
  EXPECT_EQ(capped.ci_high, exact.ci_high);
}

TEST(CheckSampleRatioTest, FlagsAnUnevenFiftyFiftySplit) {
  // Expected 5200 each: chi2 = 2 * 200^2 / 5200 = 15.3846, p = erfc(sqrt(15.3846 / 2)).
  const SampleRatioCheck check =
      CheckSampleRatio({{.name = "control", .entered = 5000, .expected_share = 0.5},
                        {.name = "treatment", .entered = 5400, .expected_share = 0.5}});
  EXPECT_NEAR(check.chi_square, 15.384615384615385, 1e-9);
  EXPECT_EQ(check.degrees_of_freedom, 1);
  EXPECT_NEAR(check.p_value, 8.769942375590239e-05, 1e-11);
  EXPECT_TRUE(check.mismatch);
}

TEST(CheckSampleRatioTest, SignificantAtFivePercentIsNotYetAMismatch) {
  // chi2 = 2 * 100^2 / 5100 = 3.9216, p = 0.0477: below 0.05 but far above 0.001.
  const SampleRatioCheck check = CheckSampleRatio(
      {{.entered = 5000, .expected_share = 0.5}, {.entered = 5200, .expected_share = 0.5}});
  EXPECT_NEAR(check.p_value, 0.04767038065616144, 1e-9);
  EXPECT_FALSE(check.mismatch);
}

TEST(CheckSampleRatioTest, UnequalSharesAndSeveralArms) {
  // 20/80: expected 1030 and 4120, chi2 = 30^2/1030 + 30^2/4120 = 1.0922330.
  const SampleRatioCheck two = CheckSampleRatio(
      {{.entered = 1000, .expected_share = 0.2}, {.entered = 4150, .expected_share = 0.8}});
  EXPECT_NEAR(two.chi_square, 1.0922330097087378, 1e-10);
  EXPECT_NEAR(two.p_value, 0.29597697523455635, 1e-9);
  EXPECT_FALSE(two.mismatch);

  // Thirds: expected 3366.67 each, chi2 = 3.4653465, 2 dof so p = exp(-chi2 / 2).
  const SampleRatioCheck three = CheckSampleRatio({{.entered = 3300, .expected_share = 1.0 / 3},
                                                   {.entered = 3350, .expected_share = 1.0 / 3},
                                                   {.entered = 3450, .expected_share = 1.0 / 3}});
  EXPECT_NEAR(three.chi_square, 3.4653465346534658, 1e-9);
  EXPECT_EQ(three.degrees_of_freedom, 2);
  EXPECT_NEAR(three.p_value, 0.17681111425401447, 1e-9);
}

TEST(CheckSampleRatioTest, SharesAreRenormalisedWeights) {
  // A 0.2 / 0.8 split read from shares 0.1 / 0.4 (say, with a 50% holdout not listed), or 20 / 80.
  const SampleRatioCheck reference = CheckSampleRatio(
      {{.entered = 1000, .expected_share = 0.2}, {.entered = 4150, .expected_share = 0.8}});
  for (double scale : {0.5, 100.0, 1e300}) {
    const SampleRatioCheck scaled =
        CheckSampleRatio({{.entered = 1000, .expected_share = 0.2 * scale},
                          {.entered = 4150, .expected_share = 0.8 * scale}});
    EXPECT_NEAR(scaled.chi_square, reference.chi_square, 1e-9) << scale;
    EXPECT_NEAR(scaled.p_value, reference.p_value, 1e-9) << scale;
  }
}

TEST(CheckSampleRatioTest, SkipsArmsWithoutAUsableShare) {
  const SampleRatioCheck check = CheckSampleRatio({{.entered = 5000, .expected_share = 0.5},
                                                   {.entered = 777, .expected_share = 0},
                                                   {.entered = 888, .expected_share = -1},
                                                   {.entered = 999, .expected_share = kNaN},
                                                   {.entered = 111, .expected_share = kInf},
                                                   {.entered = 5400, .expected_share = 0.5}});
  EXPECT_NEAR(check.chi_square, 15.384615384615385, 1e-9);
  EXPECT_EQ(check.degrees_of_freedom, 1);
}

TEST(CheckSampleRatioTest, AnswersWhenThereIsNothingToTest) {
  for (const std::vector<ArmCounts>& arms : std::vector<std::vector<ArmCounts>>{
           {},
           {{.entered = 100, .expected_share = 1}},
           {{.entered = 100, .expected_share = 1}, {.entered = 100, .expected_share = 0}}}) {
    const SampleRatioCheck check = CheckSampleRatio(arms);
    EXPECT_EQ(check.degrees_of_freedom, 0);
    EXPECT_EQ(check.chi_square, 0);
    EXPECT_EQ(check.p_value, 1);
    EXPECT_FALSE(check.mismatch);
  }
  const SampleRatioCheck no_entries = CheckSampleRatio(
      {{.entered = 0, .expected_share = 0.5}, {.entered = 0, .expected_share = 0.5}});
  EXPECT_EQ(no_entries.degrees_of_freedom, 1);
  EXPECT_EQ(no_entries.p_value, 1);
  EXPECT_FALSE(no_entries.mismatch);

  const SampleRatioCheck exact = CheckSampleRatio(
      {{.entered = 500, .expected_share = 0.5}, {.entered = 500, .expected_share = 0.5}});
  EXPECT_EQ(exact.chi_square, 0);
  EXPECT_EQ(exact.p_value, 1);
}

TEST(CheckSampleRatioTest, TrafficToAVanishingShareIsAMismatch) {
  const SampleRatioCheck check = CheckSampleRatio(
      {{.entered = 1, .expected_share = 1},
       {.entered = 1, .expected_share = std::numeric_limits<double>::denorm_min()}});
  EXPECT_EQ(check.p_value, 0);
  EXPECT_TRUE(check.mismatch);
  // Here the expected count of the last arm, 1 * denorm_min / 2, rounds to 0.
  const SampleRatioCheck underflow = CheckSampleRatio(
      {{.entered = 0, .expected_share = 1},
       {.entered = 0, .expected_share = 1},
       {.entered = 1, .expected_share = std::numeric_limits<double>::denorm_min()}});
  EXPECT_EQ(underflow.chi_square, kInf);
  EXPECT_EQ(underflow.p_value, 0);
  EXPECT_TRUE(underflow.mismatch);
}

}  // namespace
}  // namespace sextant::journey
