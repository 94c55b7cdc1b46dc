// Tests of the plaquette + rectangle gauge actions: normalisation, exact values, invariances.
#include "test_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/layout.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
std::vector<GaugeAction> all_actions(double beta) {
  return {GaugeAction::wilson(beta), GaugeAction::symanzik(beta), GaugeAction::iwasaki(beta), GaugeAction::dbw2(beta),
          GaugeAction::from_name("rectangle", beta, 0.27)};
}
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs() / b.abs().clamp_min(1.0)).max().item<double>();
}
}  // namespace

TEST(GaugeActionCoefficients, NormalisationAndLiteratureValues) {
  for (const auto& name : GaugeAction::names()) {
    auto S = GaugeAction::from_name(name, 6.0, -0.2);
    EXPECT_DOUBLE_EQ(S.c0() + 8.0 * S.c1(), 1.0) << name;
    EXPECT_DOUBLE_EQ(S.beta(), 6.0);
    EXPECT_EQ(S.name(), name);
  }
  EXPECT_DOUBLE_EQ(GaugeAction::wilson(1).c1(), 0.0);
  EXPECT_DOUBLE_EQ(GaugeAction::symanzik(1).c1(), -1.0 / 12.0);
  EXPECT_DOUBLE_EQ(GaugeAction::symanzik(1).c0(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(GaugeAction::iwasaki(1).c1(), -0.331);
  EXPECT_DOUBLE_EQ(GaugeAction::iwasaki(1).c0(), 3.648);
  EXPECT_DOUBLE_EQ(GaugeAction::dbw2(1).c1(), -1.4088);
  EXPECT_THROW(GaugeAction::from_name("wilsn", 1.0), std::invalid_argument);
}

class GaugeActionGeometry : public ::testing::TestWithParam<Geometry> {};

TEST_P(GaugeActionGeometry, UnitConfigurationHasZeroAction) {
  const auto g = GetParam();
  auto U = cold_gauge_field(2, g.extents, g.n_colors, cplx());
  for (const auto& S : all_actions(5.0)) EXPECT_LT(max_abs(S(U)), 1e-12) << S.name();
}

TEST_P(GaugeActionGeometry, GaugeInvariant) {
  const auto g = GetParam();
  auto U = rough_field(g, 21);
  auto gen = test_generator(22);
  auto omega = random_gauge_transformation(2, g.extents, g.n_colors, gen, cplx());
  auto V = gauge_transform(U, omega);
  EXPECT_GT(max_abs_diff(U, V), 0.1);  // the transformation really changes the links
  for (const auto& S : all_actions(4.0)) {
    EXPECT_LT(rel_diff(S(V), S(U)), 1e-12) << S.name();
    EXPECT_LT(max_abs_diff(S.density(V), S.density(U)), 1e-12) << S.name();  // density is local and invariant
  }
}

TEST_P(GaugeActionGeometry, TranslationInvariantAndDensitySums) {
  const auto g = GetParam();
  auto U = rough_field(g, 23);
  std::vector<int64_t> d(g.extents.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<int64_t>(i) + 1;
  auto V = translate(U, d);
  for (const auto& S : all_actions(3.0)) {
    EXPECT_LT(rel_diff(S(V), S(U)), 1e-12) << S.name();
    EXPECT_LT(rel_diff(S.density(U).flatten(1).sum(1), S(U)), 1e-13) << S.name();
    // The density moves with the configuration.
    auto moved = S.density(U);
    for (size_t mu = 0; mu < d.size(); ++mu) moved = torch::roll(moved, {-d[mu]}, {static_cast<int64_t>(mu) + 1});
    EXPECT_LT(max_abs_diff(S.density(V), moved), 1e-12) << S.name();
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, GaugeActionGeometry, ::testing::ValuesIn(standard_geometries()), geometry_name);

TEST(GaugeActionExact, ConstantFluxValues) {
  // One flux plane with plaquettes exp(iφH), H = diag(1,-1,0): plaquettes p1 = (1/N) Σ cos(φ q),
  // 2x1 rectangles in that plane p2 = (1/N) Σ cos(2φ q); all other loops are 1.
  const std::vector<int64_t> ext{4, 6, 3, 5};
  const int64_t N = 3;
  for (int64_t n : {1, 2, -3}) {
    auto U = abelian_flux_gauge_field(1, ext, N, {{0, 1, n, {}}}, cplx());
    const double phi = 2 * M_PI * n / (4.0 * 6.0);
    const double V = 4 * 6 * 3 * 5;
    const double p1 = (2 * std::cos(phi) + 1) / 3.0, p2 = (2 * std::cos(2 * phi) + 1) / 3.0;
    for (const auto& S : all_actions(2.5)) {
      const double exact = 2.5 * V * (S.c0() * (1 - p1) + S.c1() * 2 * (1 - p2));
      EXPECT_NEAR(S(U).item<double>(), exact, 1e-10 * std::abs(exact)) << S.name() << " n=" << n;
    }
  }
}

TEST(GaugeActionExact, ImprovedActionsAgreeInTheClassicalContinuumLimit) {
  // S_improved / S_wilson = 1 + O(φ²) on smooth fields: the c0 + 8 c1 = 1 normalisation at work.
  for (int64_t L : {8, 16, 32}) {
    auto U = abelian_flux_gauge_field(1, {L, L}, 2, {{0, 1, 1, {}}}, cplx());
    const double phi = 2 * M_PI / (L * L);
    const double wil = GaugeAction::wilson(1.0)(U).item<double>();
    for (const auto& S : all_actions(1.0)) {
      const double ratio = S(U).item<double>() / wil;
      // Leading deviation is exactly -2 c1 φ² (expand 1 - cos); it vanishes only because c0 + 8 c1 = 1.
      EXPECT_NEAR(ratio, 1.0 - 2.0 * S.c1() * phi * phi, 2.0 * std::abs(S.c1()) * std::pow(phi, 4) + 1e-12)
          << S.name() << " L=" << L;
    }
  }
}

TEST(GaugeActionInput, RejectsNonGaugeFields) {
  auto S = GaugeAction::wilson(1.0);
  EXPECT_THROW(S(torch::zeros({1, 2, 4, 4, 3, 3}, torch::kDouble)), std::invalid_argument);         // real
  EXPECT_THROW(S(torch::zeros({1, 3, 4, 4, 3, 3}, torch::kComplexDouble)), std::invalid_argument);  // size(1) != D
  EXPECT_THROW(S(torch::zeros({1, 2, 4, 4, 3, 2}, torch::kComplexDouble)), std::invalid_argument);  // not square
}
