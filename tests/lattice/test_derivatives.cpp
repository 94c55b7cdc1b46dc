// Tests of link derivatives: analytic = autograd = finite differences; covariance; double backward.
#include "test_helpers.h"

#include "lattice/derivatives.h"
#include "lattice/gauge_action.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <random>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
std::vector<GaugeAction> actions() {
  return {GaugeAction::wilson(2.3), GaugeAction::symanzik(2.3), GaugeAction::iwasaki(2.3), GaugeAction::dbw2(2.3)};
}
}  // namespace

class Derivatives : public ::testing::TestWithParam<Geometry> {};

TEST_P(Derivatives, AnalyticEqualsAutograd) {
  const auto g = GetParam();
  auto U = rough_field(g, 31, 2, 0.8);
  for (const auto& S : actions()) {
    auto analytic = S.derivative(U);
    auto autograd = autograd_derivative(S, U);
    ASSERT_EQ(analytic.sizes(), autograd.sizes());
    const double scale = max_abs(analytic);
    EXPECT_GT(scale, 1e-3) << S.name();
    EXPECT_LT(max_abs_diff(analytic, autograd), 1e-12 * std::max(1.0, scale)) << S.name();
    // Matrix and component forms describe the same derivative.
    EXPECT_LT(max_abs_diff(algebra_to_matrix(analytic, g.n_colors), S.derivative_matrix(U)), 1e-12 * scale);
    EXPECT_LT(max_abs_diff(autograd_derivative_matrix(S, U), S.derivative_matrix(U)), 1e-12 * scale);
  }
}

TEST_P(Derivatives, AnalyticEqualsFiniteDifferences) {
  const auto g = GetParam();
  auto U = rough_field(g, 32, 2, 0.8);
  const int64_t D = static_cast<int64_t>(g.extents.size());
  auto gen = std::mt19937_64(33);
  for (const auto& S : actions()) {
    auto analytic = S.derivative(U);
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t b = gen() % 2, mu = gen() % D, a = gen() % n_generators(g.n_colors);
      std::vector<int64_t> site;
      for (auto L : g.extents) site.push_back(static_cast<int64_t>(gen() % L));
      const double fd = finite_difference_derivative(S, U, b, mu, site, a, 1e-4);
      std::vector<at::indexing::TensorIndex> idx{b, mu};
      for (auto x : site) idx.emplace_back(x);
      idx.emplace_back(a);
      const double an = analytic.index(idx).item<double>();
      EXPECT_NEAR(an, fd, 1e-7 * std::max(1.0, std::abs(an))) << S.name() << " mu=" << mu << " a=" << a;
    }
  }
}

TEST_P(Derivatives, DerivativeMatrixIsGaugeCovariant) {
  // Under U -> Ω U Ω(x+μ)†, the left derivative at (x, μ) transforms as Ω(x) D Ω(x)†.
  const auto g = GetParam();
  auto U = rough_field(g, 34);
  auto gen = test_generator(35);
  auto omega = random_gauge_transformation(2, g.extents, g.n_colors, gen, cplx());
  for (const auto& S : actions()) {
    auto D0 = S.derivative_matrix(U);
    auto D1 = S.derivative_matrix(gauge_transform(U, omega));
    EXPECT_LT(max_abs_diff(D1, gauge_transform_covariant(D0, omega)), 1e-12 * std::max(1.0, max_abs(D0)));
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, Derivatives, ::testing::ValuesIn(standard_geometries()), geometry_name);

TEST(DerivativesExact, VanishOnClassicalSolutions) {
  // The unit configuration and constant-flux configurations solve the lattice equations of motion.
  auto cold = cold_gauge_field(1, {4, 4, 4, 4}, 3, cplx());
  auto flux = abelian_flux_gauge_field(1, {4, 6, 4, 4}, 3, {{0, 1, 1, {}}, {2, 3, 2, {1, 0, -1}}}, cplx());
  for (const auto& S : actions()) {
    EXPECT_LT(max_abs(S.derivative(cold)), 1e-13) << S.name();
    EXPECT_LT(max_abs(S.derivative(flux)), 1e-12) << S.name();
  }
}

TEST(DerivativesDoubleBackward, GradientOfDerivativeLossReachesParameters) {
  // A loss built from link derivatives (as in FP-action training) must be differentiable w.r.t. the action's
  // parameters. Here S_θ = θ S_wilson: D_θ = θ D_1, so d/dθ Σ D_θ² = 2 θ Σ D_1².
  auto U = rough_field({{3, 4, 3, 3}, 2}, 36, 1, 0.7);
  auto theta = torch::full({}, 1.7, torch::dtype(torch::kDouble).requires_grad(true));
  auto wilson = GaugeAction::wilson(1.0);
  ActionFunctional S = [&](const torch::Tensor& V) { return theta * wilson(V); };
  auto D = autograd_derivative(S, U, /*create_graph=*/true);
  auto loss = D.pow(2).sum();
  auto grad = torch::autograd::grad({loss}, {theta})[0];
  const double expected = 2.0 * 1.7 * wilson.derivative(U).pow(2).sum().item<double>();
  EXPECT_NEAR(grad.item<double>(), expected, 1e-10 * expected);
}

TEST(DerivativesPrecision, SinglePrecisionAgrees) {
  auto U = rough_field({{4, 4, 4, 4}, 3}, 37, 1, 0.5).to(torch::kComplexFloat);
  auto S = GaugeAction::symanzik(6.0);
  auto analytic = S.derivative(U);
  EXPECT_EQ(analytic.scalar_type(), torch::kFloat);
  EXPECT_LT(max_abs_diff(analytic, autograd_derivative(S, U)), 1e-4 * max_abs(analytic));
}
