// Tests of HMC: reversibility, ΔH ∝ ε², ⟨exp(-ΔH)⟩ = 1, group manifold, exact 2D plaquette.
#include "test_helpers.h"

#include "exact_2d.h"
#include "lattice/gamma_method.h"
#include "lattice/hmc.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/su_n.h"

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
torch::Tensor momenta(const torch::Tensor& U, uint64_t seed) {
  auto gen = test_generator(seed);
  std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
  return random_algebra(prefix, n_colors(U), gen, real());
}
}  // namespace

TEST(Hmc, ReversibleForBothIntegrators) {
  auto U = rough_field({{4, 4, 4, 4}, 3}, 61, 2, 0.3);
  auto p = momenta(U, 62);
  for (auto integrator : {Integrator::Leapfrog, Integrator::Omelyan}) {
    for (const auto& S : {GaugeAction::wilson(5.7), GaugeAction::symanzik(4.0)}) {
      HmcOptions o;
      o.integrator = integrator;
      o.trajectory_length = 1.0;
      o.steps = 12;
      auto [U1, p1] = md_evolve(U, p, md_action(S), o);
      EXPECT_GT(max_abs_diff(U1, U), 0.1);
      auto [U2, p2] = md_evolve(U1, -p1, md_action(S), o);
      EXPECT_LT(max_abs_diff(U2, U), 1e-10) << S.name();
      EXPECT_LT(max_abs_diff(-p2, p), 1e-10) << S.name();
      EXPECT_LT(max_su_n_violation(U1).max().item<double>(), 1e-12);
    }
  }
}

TEST(Hmc, EnergyViolationScalesAsStepSizeSquared) {
  auto U = rough_field({{4, 4, 4, 4}, 2}, 63, 1, 0.3);
  auto p = momenta(U, 64);
  auto S = GaugeAction::wilson(2.3);
  auto action = md_action(S);
  const double H0 = (kinetic_energy(p) + S(U)).item<double>();
  for (auto integrator : {Integrator::Leapfrog, Integrator::Omelyan}) {
    std::vector<double> dH;
    for (int64_t steps : {16, 32, 64}) {
      HmcOptions o;
      o.integrator = integrator;
      o.steps = steps;
      auto [U1, p1] = md_evolve(U, p, action, o);
      dH.push_back(std::abs((kinetic_energy(p1) + S(U1)).item<double>() - H0));
    }
    EXPECT_NEAR(dH[0] / dH[1], 4.0, 0.4);
    EXPECT_NEAR(dH[1] / dH[2], 4.0, 0.2);
  }
}

TEST(Hmc, AutogradForcesGiveTheSameTrajectory) {
  auto U = rough_field({{4, 3, 4, 4}, 3}, 65, 1, 0.3);
  auto p = momenta(U, 66);
  auto S = GaugeAction::iwasaki(2.5);
  HmcOptions o;
  o.steps = 5;
  auto [Ua, pa] = md_evolve(U, p, md_action(S), o);
  auto [Ub, pb] = md_evolve(U, p, md_action([S](const torch::Tensor& V) { return S(V); }), o);
  EXPECT_LT(max_abs_diff(Ua, Ub), 1e-11);
  EXPECT_LT(max_abs_diff(pa, pb), 1e-11);
}

TEST(Hmc, ExpMinusDeltaHAveragesToOneAndPlaquetteIsExact2D) {
  // 2D SU(2), β = 2: ⟨e^{-ΔH}⟩ = 1 (area preservation + reversibility) and ⟨P⟩ = I_2(β)/I_1(β).
  const double beta = 2.0;
  auto gen = test_generator(67);
  const int64_t chains = 48;
  auto U = cold_gauge_field(chains, {8, 8}, 2, cplx());
  auto action = md_action(GaugeAction::wilson(beta));
  HmcOptions o;
  o.steps = 6;
  o.trajectory_length = 1.0;
  std::vector<double> expdH;
  std::vector<std::vector<double>> plaq(chains);
  for (int traj = 0; traj < 100; ++traj) {
    auto step = hmc_trajectory(U, action, o, gen);
    U = step.U;
    if (traj < 20) continue;
    for (int64_t c = 0; c < chains; ++c) expdH.push_back(std::exp(-step.delta_H[c].item<double>()));
    auto P = average_plaquette(U);
    for (int64_t c = 0; c < chains; ++c) plaq[c].push_back(P[c].item<double>());
  }
  auto e = gamma_method(expdH);
  EXPECT_NEAR(e.value, 1.0, 5 * e.error) << "error " << e.error;
  auto p = gamma_method(plaq);
  const double exact = exact_plaquette_2d(2, beta);
  EXPECT_NEAR(p.value, exact, 5 * p.error) << "tau_int " << p.tau_int;
  EXPECT_LT(p.error, 0.01);  // the check has teeth
  EXPECT_LT(max_su_n_violation(U).max().item<double>(), 1e-12);
}

TEST(Hmc, MetropolisCanBeSkippedForThermalisation) {
  // A far too large step size: the Metropolis test rejects, the unconditional (thermalisation) variant accepts and
  // draws the same momenta, so both runs propose the same configuration.
  auto U = rough_field({{4, 4, 4, 4}, 2}, 68, 4, 0.2);
  HmcOptions o;
  o.steps = 1;
  o.trajectory_length = 2.5;
  auto action = md_action(GaugeAction::wilson(4.0));
  auto gen_a = test_generator(69), gen_b = test_generator(69);
  auto exact = hmc_trajectory(U, action, o, gen_a, /*metropolis=*/true);
  auto forced = hmc_trajectory(U, action, o, gen_b, /*metropolis=*/false);
  EXPECT_EQ(exact.accepted.sum().item<int64_t>(), 0) << exact.delta_H;
  EXPECT_EQ(forced.accepted.sum().item<int64_t>(), 4);
  EXPECT_LT(max_abs_diff(exact.U, U), 1e-15);
  EXPECT_LT(max_abs_diff(forced.delta_H, exact.delta_H), 1e-9);
  EXPECT_GT(max_abs_diff(forced.U, U), 0.1);
}
