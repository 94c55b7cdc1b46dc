// Tests of the Wilson flow: covariance, fixed points, monotone action, RK3 convergence order, t0 interpolation.
#include "test_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/gradient_flow.h"
#include "lattice/layout.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

TEST(GradientFlow, GaugeCovariantAndInGroup) {
  auto U = rough_field({{4, 3, 4, 3}, 3}, 81, 1, 0.5);
  auto gen = test_generator(82);
  auto omega = random_gauge_transformation(1, {4, 3, 4, 3}, 3, gen, cplx());
  auto a = wilson_flow_step(gauge_transform(U, omega), 0.05);
  auto b = gauge_transform(wilson_flow_step(U, 0.05), omega);
  EXPECT_LT(max_abs_diff(a, b), 1e-12);
  EXPECT_LT(max_su_n_violation(a).max().item<double>(), 1e-12);
}

TEST(GradientFlow, ClassicalSolutionsAreFixedPoints) {
  auto flux = abelian_flux_gauge_field(1, {4, 6, 4, 4}, 3, {{0, 1, 1, {}}, {2, 3, 1, {1, 0, -1}}}, cplx());
  EXPECT_LT(max_abs_diff(wilson_flow_step(flux, 0.1), flux), 1e-13);
}

TEST(GradientFlow, ActionDecreasesAndRK3IsThirdOrder) {
  auto U = rough_field({{4, 4, 4, 4}, 2}, 83, 1, 0.6);
  auto S = GaugeAction::wilson(2.0);
  auto V = U;
  double previous = S(U).item<double>();
  for (int i = 0; i < 5; ++i) {
    V = wilson_flow_step(V, 0.02);
    const double now = S(V).item<double>();
    EXPECT_LT(now, previous);
    previous = now;
  }
  // Global error of RK3 at fixed t: O(ε³), so halving ε divides it by ~8.
  auto flow_to = [&](double eps) {
    torch::Tensor out;
    wilson_flow(U, eps, 0.2, &out);
    return out;
  };
  auto reference = flow_to(0.2 / 64);
  const double e1 = max_abs_diff(flow_to(0.2 / 4), reference), e2 = max_abs_diff(flow_to(0.2 / 8), reference);
  EXPECT_GT(e1, 1e-9);
  EXPECT_NEAR(e1 / e2, 8.0, 1.5);
}

TEST(GradientFlow, HistoryAndT0) {
  auto U = rough_field({{4, 4, 4, 4}, 3}, 84, 2, 0.5);
  auto h = wilson_flow(U, 0.05, 0.5);
  ASSERT_EQ(h.t.size(), 11u);
  ASSERT_EQ(h.charge.size(), 11u);
  EXPECT_EQ(h.t2E[0].size(0), 2);
  EXPECT_LT(max_abs(h.t2E[0]), 1e-15);  // t = 0
  const std::vector<double> t{0, 1, 2, 3}, y{0, 0.1, 0.25, 0.45};
  EXPECT_NEAR(flow_time_at(t, y, 0.3), 2.25, 1e-12);
  EXPECT_TRUE(std::isnan(flow_time_at(t, y, 0.5)));
}
