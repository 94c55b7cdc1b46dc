// apps/readers/fp_scores: per-β means with standard errors and the improvement factor with its propagated error,
// against closed forms on constructed scores.
#include "apps/readers/fp_scores.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using blockspin::apps::FpScores;
namespace A = blockspin::apps;

torch::Tensor dbl(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

TEST(FpScores, ScoresAreThePapersDefinitions) {
  const auto A_fp = dbl({10.0, 20.0}), A = dbl({9.0, 21.0});
  const auto D_fp = torch::zeros({2, 3}, torch::kDouble), D = dbl({1, 2, 2, 0, 0, 3}).reshape({2, 3});
  const auto s = A::fp_scores(A, D, A_fp, D_fp, dbl({5.0, 6.0}), 2.0);
  EXPECT_DOUBLE_EQ(s.rel[0].item<double>(), 0.1);
  EXPECT_DOUBLE_EQ(s.rel[1].item<double>(), 0.05);
  EXPECT_DOUBLE_EQ(s.l2[0].item<double>(), 4.5);  // (1 + 4 + 4) / 2
  EXPECT_DOUBLE_EQ(s.l2[1].item<double>(), 4.5);
}

TEST(FpScores, PerBetaMeansAndStandardErrors) {
  // β 5: 2000 values, β 6: two, β 7: one (no error).
  auto gen = at::detail::createCPUGenerator(7);
  const auto x = torch::rand({2000}, gen, torch::kDouble);
  const auto rel = torch::cat({x, dbl({1.0, 3.0, 4.0})}), l2 = 2 * rel;
  const auto beta = torch::cat({torch::full({2000}, 5.0, torch::kDouble), dbl({6.0, 6.0, 7.0})});
  const auto j = A::score_json(FpScores{rel, l2, beta});
  EXPECT_EQ(j["n"], 2003);
  EXPECT_NEAR(j["relative_action_error"].get<double>(), rel.mean().item<double>(), 1e-15);
  const auto& b5 = j["per_beta"]["5"];
  EXPECT_EQ(b5["n"], 2000);
  EXPECT_NEAR(b5["relative_action_error"].get<double>(), x.mean().item<double>(), 1e-15);
  // The standard error of the mean, σ/√n, up to the Γ-method's O(1/n²) bias convention.
  const double se = x.std().item<double>() / std::sqrt(2000.0);
  EXPECT_NEAR(b5["relative_action_error_err"].get<double>(), se, 1e-5 * se);
  EXPECT_NEAR(b5["L2_err"].get<double>(), 2 * se, 2e-5 * se);
  const auto& b6 = j["per_beta"]["6"];
  EXPECT_DOUBLE_EQ(b6["relative_action_error"].get<double>(), 2.0);
  EXPECT_GT(b6["relative_action_error_err"].get<double>(), 0.0);
  EXPECT_FALSE(j["per_beta"]["7"].contains("L2_err"));
  EXPECT_DOUBLE_EQ(j["per_beta"]["7"]["L2"].get<double>(), 8.0);
}

TEST(FpScores, ImprovementIsTheBestBaselineOverTheModelWithPropagatedError) {
  auto gen = at::detail::createCPUGenerator(11);
  const int64_t n = 4000;
  const auto beta = torch::full({n}, 5.0, torch::kDouble);
  const auto model = torch::rand({n}, gen, torch::kDouble) + 1.0;  // mean 1.5
  const auto noise = torch::rand({n}, gen, torch::kDouble);
  const FpScores m{model, model, beta};
  const FpScores worse{10 * model, 10 * model, beta}, best{4 * model + noise, 3 * model, beta};
  const auto j = A::improvement_json(m, {worse, best}, {"wilson", "dbw2"});
  const auto& p = j["5"];
  EXPECT_EQ(p["best_relative_action_error"], "dbw2");
  EXPECT_NEAR(p["relative_action_error"].get<double>(),
              (4 * model + noise).mean().item<double>() / model.mean().item<double>(), 1e-13);
  // Fully correlated (baseline = 3 × model): the ratio has no error (up to the Γ-method's numerical gradient;
  // uncorrelated scores of this spread would give ~1e-2).
  EXPECT_NEAR(p["L2"].get<double>(), 3.0, 1e-13);
  EXPECT_LT(p["L2_err"].get<double>(), 1e-6);
  // Linear error propagation for r = ā/b̄: δr = sqrt(var(a − r b) / n) / b̄.
  const double r = p["relative_action_error"].get<double>(), mb = model.mean().item<double>();
  const double expected = ((4 * model + noise) - r * model).std().item<double>() / std::sqrt(double(n)) / mb;
  EXPECT_NEAR(p["relative_action_error_err"].get<double>(), expected, 1e-3 * expected);
  // No baselines (evaluate.baselines = []): no factors.
  EXPECT_TRUE(A::improvement_json(m, {}, {}).empty());
}

// Coverage: per β of the evaluated rows, mean and sd (n − 1) of the observable, the training rows' at that β, and the
// shift in training standard deviations; a β without training rows has no "training", one training row no shift.
TEST(FpScores, CoverageComparesEvaluatedAndTrainingRowsPerBeta) {
  const auto c = A::coverage_json(dbl({2.0, 4.0, 7.0, 1.0}), dbl({5.0, 5.0, 6.0, 7.0}), dbl({1.0, 2.0, 3.0, 9.0}),
                                  dbl({5.0, 5.0, 5.0, 6.0}));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c["5"]["n"], 2);
  EXPECT_DOUBLE_EQ(c["5"]["mean"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(c["5"]["sd"].get<double>(), std::sqrt(2.0));
  EXPECT_EQ(c["5"]["training"]["n"], 3);
  EXPECT_DOUBLE_EQ(c["5"]["training"]["mean"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(c["5"]["training"]["sd"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(c["5"]["shift"].get<double>(), 1.0);  // (3 − 2) / 1
  EXPECT_EQ(c["6"]["training"]["n"], 1);
  EXPECT_FALSE(c["6"].contains("shift"));
  EXPECT_FALSE(c["7"].contains("training"));
}

}  // namespace
