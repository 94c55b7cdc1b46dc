// Tests of HMC: reversibility, ΔH ∝ ε² (2nd-order integrators) / ε⁴ (4th-order), ⟨exp(-ΔH)⟩ = 1, group manifold,
// exact 2D plaquette.
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

const std::vector<Integrator> all_integrators{Integrator::Leapfrog, Integrator::Omelyan, Integrator::Omelyan4,
                                              Integrator::Yoshida4};

TEST(Hmc, ReversibleForEveryIntegrator) {
  auto U = rough_field({{4, 4, 4, 4}, 3}, 61, 2, 0.3);
  auto p = momenta(U, 62);
  for (auto integrator : all_integrators) {
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

TEST(Hmc, EnergyViolationScalesWithTheIntegratorsOrder) {
  // |ΔH| over a fixed trajectory falls by 2^order when ε halves: 4 for leapfrog and Omelyan 2MN, 16 for the
  // 4th-order schemes (a wrong coefficient in their tables leaves them 2nd order: ratio 4).
  auto U = rough_field({{4, 4, 4, 4}, 2}, 63, 1, 0.3);
  auto p = momenta(U, 64);
  auto S = GaugeAction::wilson(2.3);
  auto action = md_action(S);
  const double H0 = (kinetic_energy(p) + S(U)).item<double>();
  for (auto integrator : all_integrators) {
    const int order = integrator_order(integrator);
    std::vector<double> dH;
    for (int64_t steps : {16, 32, 64}) {
      HmcOptions o;
      o.integrator = integrator;
      o.steps = steps;
      auto [U1, p1] = md_evolve(U, p, action, o);
      dH.push_back(std::abs((kinetic_energy(p1) + S(U1)).item<double>() - H0));
    }
    const double expected = std::pow(2.0, order);
    EXPECT_NEAR(dH[0] / dH[1], expected, 0.1 * expected) << integrator_name(integrator) << " " << dH[0];
    EXPECT_NEAR(dH[1] / dH[2], expected, 0.05 * expected) << integrator_name(integrator) << " " << dH[1];
  }
}

TEST(Hmc, PerturbedFourthOrderTableIsOnlySecondOrder) {
  // The order test above can fail: shifting one drift pair of 4MN5FV (keeping Σd = 1, the scheme symmetric and
  // reversible) breaks the ε³ cancellation, and |ΔH| falls by 4, not 16, per halving of ε.
  auto U = rough_field({{4, 4, 4, 4}, 2}, 63, 1, 0.3);
  auto p0 = momenta(U, 64);
  auto S = GaugeAction::wilson(2.3);
  auto action = md_action(S);
  auto scheme = splitting_scheme(Integrator::Omelyan4);
  scheme.drifts[0] += 0.01;
  scheme.drifts[4] += 0.01;
  scheme.drifts[2] -= 0.02;
  const double H0 = (kinetic_energy(p0) + S(U)).item<double>();
  std::vector<double> dH;
  for (int64_t steps : {32, 64, 128}) {
    torch::NoGradGuard no_grad;
    torch::Tensor V = U, p = p0;
    integrate(
        scheme, steps, 1.0 / static_cast<double>(steps), [&](double h) { p = p - h * action.derivative(V); },
        [&](double h) { V = update_links(V, p, h); });
    dH.push_back(std::abs((kinetic_energy(p) + S(V)).item<double>() - H0));
  }
  EXPECT_NEAR(dH[0] / dH[1], 4.0, 0.6) << dH[0];
  EXPECT_NEAR(dH[1] / dH[2], 4.0, 0.3) << dH[1];
}

TEST(Hmc, IntegratorNamesAndForceCounts) {
  for (auto integrator : all_integrators) {
    EXPECT_EQ(integrator_from_name(integrator_name(integrator)), integrator);
    const auto s = splitting_scheme(integrator);
    double kicks = 0, drifts = 0;
    for (double c : s.kicks) kicks += c;
    for (double d : s.drifts) drifts += d;
    EXPECT_NEAR(kicks, 1.0, 1e-15) << integrator_name(integrator);
    EXPECT_NEAR(drifts, 1.0, 1e-15) << integrator_name(integrator);
    int forces = 0;
    integrate(
        s, 7, 0.1, [&](double) { ++forces; }, [](double) {});
    EXPECT_EQ(forces, 7 * (static_cast<int>(s.kicks.size()) - 1) + 1) << integrator_name(integrator);
  }
  EXPECT_THROW(integrator_from_name("verlet"), std::invalid_argument);
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
