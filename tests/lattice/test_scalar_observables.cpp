// Tests of scalar-field observables on hand-made configurations and of their Γ-method estimates on known series.
#include "test_helpers.h"

#include "lattice/layout.h"
#include "lattice/scalar_observables.h"

#include <cmath>
#include <stdexcept>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
/// cos(2π x_0/L_0) on [1, L_0, L_1]: one lattice plane wave along axis 0.
torch::Tensor plane_wave(int64_t L0, int64_t L1) {
  auto t = torch::arange(L0, real()) * (2 * M_PI / static_cast<double>(L0));
  return torch::cos(t).view({1, L0, 1}).expand({1, L0, L1}).contiguous();
}

/// G(x) = (1/V) Σ_y φ_y φ_{y+x} by explicit shifts (shift_scalar), one x at a time.
torch::Tensor brute_two_point(const torch::Tensor& phi) {
  const int64_t D = phi.dim() - 1;
  std::vector<int64_t> ext(phi.sizes().begin() + 1, phi.sizes().end());
  int64_t V = 1;
  for (auto e : ext) V *= e;
  auto G = torch::zeros({phi.size(0), V}, real());
  for (int64_t i = 0; i < V; ++i) {
    auto shifted = phi;
    int64_t r = i;  // row-major flat index -> shift by x_mu along every mu
    for (int64_t mu = D - 1; mu >= 0; --mu) {
      shifted = shift_scalar(shifted, mu, r % ext[mu]);
      r /= ext[mu];
    }
    G.select(1, i).copy_((phi * shifted).flatten(1).mean(1));
  }
  std::vector<int64_t> shape{phi.size(0)};
  shape.insert(shape.end(), ext.begin(), ext.end());
  return G.view(shape);
}

torch::Tensor random_field(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = test_generator(seed);
  return torch::randn(shape, gen, real());
}
}  // namespace

TEST(ScalarObservables, ConstantFieldHasKnownMagnetisationAndCorrelators) {
  auto phi = torch::full({2, 3, 5}, 1.5, real());
  phi[1].fill_(-0.5);
  const double V = 15;
  EXPECT_LT(max_abs_diff(magnetisation(phi), torch::tensor({1.5, -0.5}, real())), 1e-15);
  auto G = two_point_function(phi);
  EXPECT_LT(max_abs_diff(G[0], torch::full({3, 5}, 2.25, real())), 1e-14);
  auto Gp = two_point_function_momentum(phi);
  EXPECT_NEAR(Gp[0][0][0].item<double>(), V * 2.25, 1e-12);
  EXPECT_LT(max_abs(Gp[0].flatten().narrow(0, 1, 14)), 1e-12);
  EXPECT_LT(max_abs_diff(timeslice_correlator(phi, 1)[1], torch::full({5}, 3 * 0.25, real())), 1e-14);
  auto sm = second_moment_inputs(phi, 0);
  EXPECT_NEAR(sm[0][0].item<double>(), V * 2.25, 1e-12);
  EXPECT_NEAR(sm[0][1].item<double>(), 0, 1e-12);
  // A batch of ±c constant fields has vanishing ⟨m⟩ and connected G = c²; two equal ones have G_c = 0.
  auto pm = torch::stack({torch::full({3, 5}, 2.0, real()), torch::full({3, 5}, -2.0, real())});
  EXPECT_LT(max_abs_diff(connected_two_point_function(pm), torch::full({3, 5}, 4.0, real())), 1e-13);
  EXPECT_LT(max_abs(connected_two_point_function(torch::full({2, 3, 5}, 2.0, real()))), 1e-13);
}

TEST(ScalarObservables, PlaneWaveHasKnownCorrelatorsAndLowestMomentum) {
  const int64_t L0 = 6, L1 = 4, V = 24;
  auto phi = plane_wave(L0, L1);
  auto t = torch::arange(L0, real()) * (2 * M_PI / L0);
  EXPECT_NEAR(magnetisation(phi).item<double>(), 0, 1e-15);
  auto G = two_point_function(phi)[0];  // ½ cos(2π x_0/L_0), independent of x_1
  EXPECT_LT(max_abs_diff(G, (0.5 * torch::cos(t)).view({L0, 1}).expand({L0, L1})), 1e-14);
  EXPECT_LT(max_abs_diff(timeslice_correlator(phi, 0)[0], 0.5 * L1 * torch::cos(t)), 1e-14);
  EXPECT_LT(max_abs(timeslice_correlator(phi, 1)), 1e-14);
  auto Gp = two_point_function_momentum(phi)[0];
  EXPECT_NEAR(Gp[1][0].item<double>(), V / 4.0, 1e-12);
  EXPECT_NEAR(Gp[L0 - 1][0].item<double>(), V / 4.0, 1e-12);
  EXPECT_NEAR(Gp.sum().item<double>(), V / 2.0, 1e-12);
  auto along0 = second_moment_inputs(phi, 0)[0], along1 = second_moment_inputs(phi, 1)[0];
  EXPECT_NEAR(along0[1].item<double>(), V / 4.0, 1e-12);
  EXPECT_NEAR(along1[1].item<double>(), 0, 1e-12);
  EXPECT_THROW(second_moment_inputs(phi, -1), std::invalid_argument);  // 6 ≠ 4: no common p_min
  EXPECT_NEAR(lattice_momentum_squared_min(L0), 4 * std::pow(std::sin(M_PI / L0), 2), 1e-15);
}

TEST(ScalarObservables, FourierCorrelatorsMatchBruteForceInOneToThreeDimensions) {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{2, 7}, std::vector<int64_t>{2, 3, 4}, std::vector<int64_t>{1, 2, 3, 4}}) {
    auto phi = random_field(shape, 401);
    auto G = two_point_function(phi);
    EXPECT_LT(max_abs_diff(G, brute_two_point(phi)), 1e-13);
    const double V = static_cast<double>(phi[0].numel());
    EXPECT_LT(max_abs_diff(G.flatten(1).sum(1), V * magnetisation(phi).pow(2)), 1e-12);
    for (int64_t mu = 0; mu < phi.dim() - 1; ++mu) {
      auto expect = G.movedim(1 + mu, 1);
      if (expect.dim() > 2) expect = expect.flatten(2).sum(2);
      EXPECT_LT(max_abs_diff(timeslice_correlator(phi, mu), expect), 1e-13) << mu;
      // G̃(p_min along mu) from the full FFT.
      std::vector<int64_t> idx(phi.dim() - 1, 0);
      idx[mu] = 1;
      auto Gp = two_point_function_momentum(phi).flatten(1);
      int64_t flat = 0;
      for (int64_t nu = 0; nu < phi.dim() - 1; ++nu) flat = flat * phi.size(1 + nu) + idx[nu];
      EXPECT_LT(max_abs_diff(second_moment_inputs(phi, mu).select(1, 1), Gp.select(1, flat)), 1e-12);
    }
  }
  EXPECT_THROW(timeslice_correlator(random_field({1, 3}, 1), 1), std::invalid_argument);
}

TEST(ScalarObservables, ObservablesAreDifferentiable) {
  auto phi = random_field({2, 4, 4}, 402).requires_grad_(true);
  auto y = two_point_function(phi).select(1, 1).sum() + second_moment_inputs(phi).sum();
  auto g = torch::autograd::grad({y}, {phi})[0];
  EXPECT_GT(max_abs(g), 0.01);
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
}

TEST(ScalarObservables, GammaEstimatesOfMagnetisationSeries) {
  // m = ±1 exactly: ⟨m²⟩ = ⟨m⁴⟩ = 1 ⇒ U = 2/3, χ = V, χ' = V(1 − 1) = 0, all without error.
  const int64_t V = 16;
  auto pm = torch::ones({50, 4}, real());
  pm.index_put_({torch::indexing::Slice(0, torch::indexing::None, 2)}, -1.0);
  auto U = gamma_binder_cumulant(pm);
  EXPECT_NEAR(U.value, 2.0 / 3.0, 1e-14);
  EXPECT_NEAR(U.error, 0, 1e-14);
  EXPECT_NEAR(gamma_susceptibility(pm, V).value, V, 1e-12);
  EXPECT_NEAR(gamma_susceptibility_abs(pm, V).value, 0, 1e-12);
  // Gaussian m with σ² = 0.3: U = 0, χ = Vσ², χ' = Vσ²(1 − 2/π), ⟨|m|⟩ = σ sqrt(2/π).
  const double s2 = 0.3;
  auto m = std::sqrt(s2) * random_field({2000, 4}, 403);
  auto Ug = gamma_binder_cumulant(m);
  auto chi = gamma_susceptibility(m, V), chi_abs = gamma_susceptibility_abs(m, V);
  auto absm = gamma_mean(m.abs());
  EXPECT_NEAR(Ug.value, 0, 5 * Ug.error);
  EXPECT_NEAR(chi.value, V * s2, 5 * chi.error);
  EXPECT_NEAR(chi_abs.value, V * s2 * (1 - 2 / M_PI), 5 * chi_abs.error);
  EXPECT_NEAR(absm.value, std::sqrt(2 * s2 / M_PI), 5 * absm.error);
  EXPECT_LT(chi.error, 0.05 * V * s2);
  EXPECT_LT(Ug.error, 0.05);
  EXPECT_EQ(chi.replicas, 4);
  EXPECT_EQ(chi.n, 8000);
  EXPECT_THROW(gamma_susceptibility(torch::zeros({5}, real()), V), std::invalid_argument);
}

TEST(ScalarObservables, GammaConnectedCorrelatorAndCorrelationLength) {
  // Correlator c_k = k + 1 + noise, m = 0.5 + noise: connected value (k + 1) − f·0.25.
  auto noise = 0.01 * random_field({400, 3, 4}, 404);
  auto c = torch::arange(1, 5, real()).view({1, 1, 4}) + noise;
  auto m = 0.5 + 0.01 * random_field({400, 3}, 405);
  auto r = gamma_connected_correlator(c, m, 2.0);
  ASSERT_EQ(r.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(r[k].value, (k + 1) - 0.5, 5 * r[k].error + 1e-12) << k;
    EXPECT_GT(r[k].error, 0);
    EXPECT_LT(r[k].error, 0.01);
  }
  auto plain = gamma_connected_correlator(c, m, 0.0);
  EXPECT_NEAR(plain[2].value, 3.0, 5 * plain[2].error);
  // ξ² = (G̃(0)/G̃(p_min) − 1)/p̂²: inputs G̃(0) = 2, G̃(p_min) = 1 give ξ² = 1/p̂² exactly.
  auto inputs = torch::stack({torch::full({30, 2}, 2.0, real()), torch::full({30, 2}, 1.0, real())}, 2);
  const double p2 = lattice_momentum_squared_min(8);
  EXPECT_NEAR(gamma_xi2_second_moment(inputs, 8).value, 1 / p2, 1e-12);
  EXPECT_NEAR(gamma_xi_second_moment(inputs, 8).value, std::sqrt(1 / p2), 1e-12);
  auto bad = torch::stack({torch::full({30, 2}, 1.0, real()), torch::full({30, 2}, 2.0, real())}, 2);
  EXPECT_THROW(gamma_xi_second_moment(bad, 8), std::domain_error);
}
