// Tests of φ⁴ HMC: reversibility, ΔH ∝ ε², per-chain Metropolis, exact free theory, Schwinger–Dyson identity.
#include "test_helpers.h"

#include "lattice/free_scalar.h"
#include "lattice/gamma_method.h"
#include "lattice/scalar_hmc.h"
#include "lattice/scalar_observables.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
torch::Tensor gaussian(std::vector<int64_t> shape, uint64_t seed, double scale = 1.0) {
  auto gen = test_generator(seed);
  return scale * torch::randn(shape, gen, real());
}
}  // namespace

TEST(ScalarHmc, ReversibleForEveryIntegratorInOneAndTwoDimensions) {
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{3, 4, 5}, std::vector<int64_t>{3, 9}}) {
    auto phi = gaussian(shape, 201);
    auto pi = gaussian(shape, 202);
    ScalarCouplings c{torch::tensor({0.15, 0.22, 0.3}, real()), torch::tensor({0.02, 0.5, 1.2}, real())};
    for (auto integrator : {Integrator::Leapfrog, Integrator::Omelyan, Integrator::Omelyan4, Integrator::Yoshida4}) {
      ScalarHmcOptions o;
      o.integrator = integrator;
      o.trajectory_length = 1.5;
      o.steps = 15;
      auto [phi1, pi1] = scalar_md_evolve(phi, pi, c, o);
      EXPECT_GT(max_abs_diff(phi1, phi), 0.1);
      auto [phi2, pi2] = scalar_md_evolve(phi1, -pi1, c, o);
      EXPECT_LT(max_abs_diff(phi2, phi), 1e-10);
      EXPECT_LT(max_abs_diff(-pi2, pi), 1e-10);
    }
  }
}

TEST(ScalarHmc, EnergyViolationScalesWithTheIntegratorsOrder) {
  auto phi = gaussian({1, 6, 6}, 203, 0.8);
  auto pi = gaussian({1, 6, 6}, 204);
  auto c = ScalarCouplings::constant(0.18, 0.3);
  const double H0 = scalar_hamiltonian(phi, pi, c).item<double>();
  for (auto integrator : {Integrator::Leapfrog, Integrator::Omelyan, Integrator::Omelyan4, Integrator::Yoshida4}) {
    std::vector<double> dH;
    for (int64_t steps : {20, 40, 80}) {
      ScalarHmcOptions o;
      o.integrator = integrator;
      o.steps = steps;
      auto [phi1, pi1] = scalar_md_evolve(phi, pi, c, o);
      dH.push_back(std::abs(scalar_hamiltonian(phi1, pi1, c).item<double>() - H0));
    }
    const double expected = std::pow(2.0, integrator_order(integrator));
    EXPECT_NEAR(dH[0] / dH[1], expected, 0.1 * expected) << integrator_name(integrator) << " " << dH[0];
    EXPECT_NEAR(dH[1] / dH[2], expected, 0.05 * expected) << integrator_name(integrator) << " " << dH[1];
  }
}

TEST(ScalarHmc, PerChainMetropolisKeepsRejectedChainsAndCanBeSkipped) {
  auto phi = gaussian({32, 4, 4}, 205);
  auto c = ScalarCouplings::constant(0.2, 0.8);
  ScalarHmcOptions o;
  o.steps = 3;
  o.trajectory_length = 1.0;  // coarse: a mixture of accepted and rejected chains
  auto gen_a = test_generator(206), gen_b = test_generator(206);
  auto exact = scalar_hmc_trajectory(phi, c, o, gen_a);
  auto forced = scalar_hmc_trajectory(phi, c, o, gen_b, /*metropolis=*/false);
  const auto n_acc = exact.accepted.sum().item<int64_t>();
  EXPECT_GT(n_acc, 0) << exact.delta_H;
  EXPECT_LT(n_acc, 32) << exact.delta_H;
  EXPECT_EQ(forced.accepted.sum().item<int64_t>(), 32);
  EXPECT_LT(max_abs_diff(forced.delta_H, exact.delta_H), 1e-12);
  for (int64_t b = 0; b < 32; ++b) {
    // Same momenta, so both runs propose the same φ'; an accepted chain takes it, a rejected one keeps φ.
    const bool acc = exact.accepted[b].item<bool>();
    EXPECT_GT(max_abs_diff(forced.phi[b], phi[b]), 0.01) << b;
    if (acc) {
      EXPECT_LT(max_abs_diff(exact.phi[b], forced.phi[b]), 1e-15) << b;
    } else {
      EXPECT_LT(max_abs_diff(exact.phi[b], phi[b]), 1e-15) << b;
    }
  }
  EXPECT_EQ(exact.delta_H.scalar_type(), torch::kDouble);
}

TEST(ScalarHmc, FreeTheoryMatchesExactFiniteLattice) {
  // 4×4, κ = 0.1, λ = 0: ⟨φ²⟩, χ = V⟨m²⟩ = 1/(2(1 − 4κ)), ξ² = κ/(1 − 4κ), ⟨|m|⟩ = sqrt(2χ/(πV)), Binder U = 0.
  const std::vector<int64_t> ext{4, 4};
  const double kappa = 0.1;
  const int64_t chains = 256, V = 16;
  auto gen = test_generator(207);
  auto c = ScalarCouplings::constant(kappa, 0.0);
  ScalarHmcOptions o;
  o.steps = 8;
  o.trajectory_length = 1.0;
  auto phi = torch::zeros({chains, 4, 4}, real());
  std::vector<torch::Tensor> phi2, m, sm;
  torch::Tensor expdH = torch::zeros({0}, real());
  int64_t accepted = 0;
  for (int traj = 0; traj < 420; ++traj) {
    auto step = scalar_hmc_trajectory(phi, c, o, gen);
    phi = step.phi;
    if (traj < 20) continue;
    accepted += step.accepted.sum().item<int64_t>();
    expdH = torch::cat({expdH, torch::exp(-step.delta_H)});
    phi2.push_back(phi.pow(2).flatten(1).mean(1));
    m.push_back(magnetisation(phi));
    sm.push_back(second_moment_inputs(phi));
  }
  auto mser = torch::stack(m);
  auto p2 = gamma_mean(torch::stack(phi2));
  auto chi = gamma_susceptibility(mser, V);
  auto absm = gamma_mean(mser.abs());
  auto U = gamma_binder_cumulant(mser);
  auto xi2 = gamma_xi2_second_moment(torch::stack(sm), 4);
  const double chi_exact = free_susceptibility(2, kappa);
  EXPECT_NEAR(p2.value, free_phi2(ext, kappa), 5 * p2.error) << p2.error;
  EXPECT_NEAR(chi.value, chi_exact, 5 * chi.error) << chi.error;
  EXPECT_NEAR(absm.value, std::sqrt(2 * chi_exact / (M_PI * V)), 5 * absm.error) << absm.error;
  EXPECT_NEAR(U.value, 0.0, 5 * U.error) << U.error;
  EXPECT_NEAR(xi2.value, free_xi2_second_moment(2, kappa), 5 * xi2.error) << xi2.error;
  // The checks have teeth: errors well below the differences to nearby wrong answers (e.g. κ → 0.11).
  EXPECT_LT(p2.error, 0.2 * (free_phi2(ext, 0.11) - free_phi2(ext, kappa)));
  EXPECT_LT(chi.error, 0.2 * (free_susceptibility(2, 0.11) - chi_exact));
  EXPECT_LT(xi2.error, 0.5 * (free_xi2_second_moment(2, 0.11) - free_xi2_second_moment(2, kappa)));
  const double acc = static_cast<double>(accepted) / static_cast<double>(400 * chains);
  EXPECT_GT(acc, 0.5);
  auto e = gamma_method(std::vector<double>(expdH.data_ptr<double>(), expdH.data_ptr<double>() + expdH.numel()));
  EXPECT_NEAR(e.value, 1.0, 5 * e.error);
}

TEST(ScalarHmc, InteractingTheorySatisfiesSchwingerDysonIdentity) {
  // ⟨φ_x ∂S/∂φ_x⟩ = 1 for every site and any couplings (integration by parts); 1D L = 8 and 2D 3×3. Two groups of
  // chains with different per-configuration couplings, each checked with its own couplings.
  for (const std::vector<int64_t>& ext : {std::vector<int64_t>{8}, std::vector<int64_t>{3, 3}}) {
    const int64_t chains = 48, half = chains / 2;
    auto gen = test_generator(208);
    std::vector<int64_t> shape{chains};
    shape.insert(shape.end(), ext.begin(), ext.end());
    auto kappa = torch::cat({torch::full({half}, 0.3, real()), torch::full({half}, 0.2, real())});
    auto lambda = torch::cat({torch::full({half}, 0.5, real()), torch::full({half}, 0.05, real())});
    ScalarCouplings c{kappa, lambda};
    ScalarHmcOptions o;
    o.steps = 8;
    auto phi = torch::zeros(shape, real());
    std::vector<torch::Tensor> sd, sd_swapped;
    ScalarCouplings swapped{kappa.flip(0), lambda.flip(0)};  // each group measured with the other's couplings
    for (int traj = 0; traj < 220; ++traj) {
      phi = scalar_hmc_trajectory(phi, c, o, gen).phi;
      if (traj < 20) continue;
      sd.push_back((phi * scalar_action_derivative(phi, c)).flatten(1).mean(1));
      sd_swapped.push_back((phi * scalar_action_derivative(phi, swapped)).flatten(1).mean(1));
    }
    auto series = torch::stack(sd), wrong = torch::stack(sd_swapped);
    for (int64_t g = 0; g < 2; ++g) {
      auto r = gamma_mean(series.narrow(1, g * half, half));
      EXPECT_NEAR(r.value, 1.0, 5 * r.error) << "D = " << ext.size() << ", group " << g;
      EXPECT_LT(r.error, 0.02);
      // The identity has teeth: with the other group's couplings it fails by many standard deviations.
      auto w = gamma_mean(wrong.narrow(1, g * half, half));
      EXPECT_GT(std::abs(w.value - 1.0), 10 * w.error) << "D = " << ext.size() << ", group " << g;
    }
  }
}

TEST(ScalarHmc, FloatFieldsStayFloat) {
  auto phi = gaussian({4, 4, 4}, 209).to(torch::kFloat);
  auto gen = test_generator(210);
  ScalarHmcOptions o;
  o.steps = 10;
  auto step = scalar_hmc_trajectory(phi, ScalarCouplings::constant(0.15, 0.3), o, gen);
  EXPECT_EQ(step.phi.scalar_type(), torch::kFloat);
  EXPECT_EQ(step.delta_H.scalar_type(), torch::kDouble);
  EXPECT_LT(step.delta_H.abs().max().item<double>(), 0.5);
  auto pi = gaussian({4, 4, 4}, 211).to(torch::kFloat);
  auto c = ScalarCouplings::constant(0.15, 0.3);
  auto [phi1, pi1] = scalar_md_evolve(phi, pi, c, o);
  auto [phi2, pi2] = scalar_md_evolve(phi1, -pi1, c, o);
  EXPECT_LT(max_abs_diff(phi2, phi), 1e-4);
}
