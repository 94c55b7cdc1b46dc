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
  auto reference = flow_to(0.2 / 128);
  const double e1 = max_abs_diff(flow_to(0.2 / 8), reference), e2 = max_abs_diff(flow_to(0.2 / 16), reference);
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

// w0² from W(t) = t d(t²E)/dt = 0.3: exact for a linear curve (W = c t), and for y = a t² + b t (W = 2a t² + b t,
// exact at the grid midpoints) up to the O(Δt²) interpolation of W between them.
TEST(GradientFlow, W0FromTheDerivativeOfT2E) {
  std::vector<double> t, lin, quad;
  const double dt = 0.01, a = 0.04, b = 0.05;
  for (int i = 0; i <= 600; ++i) {
    t.push_back(i * dt);
    lin.push_back(0.2 * t.back());
    quad.push_back(a * t.back() * t.back() + b * t.back());
  }
  EXPECT_NEAR(w0_squared_at(t, lin, 0.3), 1.5, 1e-12);  // 0.2 t = 0.3
  const double exact = (-b + std::sqrt(b * b + 8 * a * 0.3)) / (4 * a);
  EXPECT_NEAR(w0_squared_at(t, quad, 0.3), exact, 1e-4);
  EXPECT_GT(std::abs(flow_time_at(t, quad, 0.3) - exact), 0.1);  // t0 and w0² are different scales
  EXPECT_TRUE(std::isnan(w0_squared_at(t, lin, 2.0)));           // W reaches only 1.2 by t = 6
}

// The flow-time normalisation, exactly: a weak abelian plane wave A_1(x) = ε cos(p x_0) λ_3/2 (transverse, in the
// Cartan subalgebra, so the flow is linear up to O(ε³)) decays as exp(−p̂² t), p̂² = 4 sin²(p/2) — Lüscher's flow
// ∂_t B_μ = D_ν G_νμ on the lattice (arXiv:1006.4518). A flow twice too fast or too slow gives exp(−2 p̂² t) or
// exp(−p̂² t / 2).
TEST(GradientFlow, FlowTimeNormalisationFromTheHeatKernel) {
  const int64_t L = 8;
  const double eps_field = 1e-4, p = 2 * M_PI / double(L), t = 0.5;
  auto U = cold_gauge_field(1, {L, L, L, L}, 3, cplx());
  auto x0 = torch::arange(L, real()).view({L, 1, 1, 1}).expand({L, L, L, L});
  auto theta = eps_field * torch::cos(p * x0);                      // the angle of λ_3/2 on links in direction 1
  auto phase = torch::polar(torch::ones_like(theta), 0.5 * theta);  // exp(i θ/2)
  auto link = U.select(1, 1);
  link.select(-2, 0).select(-1, 0).copy_(phase);
  link.select(-2, 1).select(-1, 1).copy_(phase.conj());
  torch::Tensor V;
  wilson_flow(U, 0.01, t, &V);
  const auto flowed = 2 * torch::angle(V.select(1, 1).select(-2, 0).select(-1, 0));  // θ after the flow
  const double ratio =
      (flowed * torch::cos(p * x0)).sum().item<double>() / (theta * torch::cos(p * x0)).sum().item<double>();
  const double p_hat2 = 4 * std::pow(std::sin(p / 2), 2);
  EXPECT_NEAR(ratio, std::exp(-p_hat2 * t), 1e-6) << "p̂² t = " << p_hat2 * t;
}
