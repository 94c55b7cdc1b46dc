// Tests of the Cabibbo–Marinari heatbath and overrelaxation.
#include "test_helpers.h"

#include "exact_2d.h"
#include "lattice/gamma_method.h"
#include "lattice/heatbath.h"
#include "lattice/kernels/heatbath_fused.h"
#include "lattice/kernels/mode.h"
#include "lattice/gauge_field.h"
#include "lattice/hmc.h"
#include "lattice/layout.h"
#include "lattice/observables.h"

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

TEST(Heatbath, SU2A0SamplerMatchesExactMean) {
  // Density ∝ sqrt(1 - a0²) exp(α a0) has ⟨a0⟩ = I_2(α)/I_1(α); both KP (α > 1) and Creutz (α <= 1) branches.
  auto gen = test_generator(71);
  for (double alpha : {0.05, 0.7, 1.5, 6.0, 40.0}) {
    auto a0 = sample_su2_a0(torch::full({200000}, alpha, real()), gen);
    const double mean = a0.mean().item<double>(), err = a0.std().item<double>() / std::sqrt(200000.0);
    EXPECT_NEAR(mean, bessel_i(2, alpha) / bessel_i(1, alpha), 5 * err) << "alpha " << alpha;
    EXPECT_LE(a0.max().item<double>(), 1.0);
    EXPECT_GE(a0.min().item<double>(), -1.0);
  }
}

TEST(Heatbath, ColourClassesShareNoLoop) {
  // Changing every link of one colour class must leave the staples of all links in that class unchanged.
  auto U = rough_field({{4, 4, 8, 4}, 2}, 72, 1, 0.5);
  auto V = rough_field({{4, 4, 8, 4}, 2}, 73, 1, 0.5);
  for (const auto& S : {GaugeAction::wilson(1.0), GaugeAction::symanzik(1.0)}) {
    for (int64_t mu = 0; mu < 4; ++mu) {
      for (const auto& colour : link_colouring({4, 4, 8, 4}, mu, S.c1() != 0)) {
        auto mask = colour.unsqueeze(0).unsqueeze(0).unsqueeze(-1).unsqueeze(-1);
        auto W = U.clone();
        link(W, mu).copy_(torch::where(mask, link(V, mu), link(U, mu)));
        auto diff = (S.staples(W, mu) - S.staples(U, mu)).abs() * mask;
        EXPECT_LT(diff.max().item<double>(), 1e-14) << S.name() << " mu=" << mu;
      }
    }
  }
  // The plain checkerboard is NOT enough for rectangles (the test above can fail).
  auto W = U.clone();
  auto checker = link_colouring({4, 4, 8, 4}, 0, false)[0].unsqueeze(0).unsqueeze(0).unsqueeze(-1).unsqueeze(-1);
  link(W, 0).copy_(torch::where(checker, link(V, 0), link(U, 0)));
  auto S = GaugeAction::symanzik(1.0);
  EXPECT_GT(((S.staples(W, 0) - S.staples(U, 0)).abs() * checker).max().item<double>(), 1e-3);
}

TEST(Heatbath, OverrelaxationIsMicrocanonical) {
  for (const auto& S : {GaugeAction::wilson(5.0), GaugeAction::iwasaki(2.5)}) {
    auto U = rough_field({{4, 4, 4, 4}, 3}, 74, 2, 0.4);
    auto V = overrelaxation_sweep(U, S);
    EXPECT_GT(max_abs_diff(U, V), 0.01);
    EXPECT_LT(max_abs_diff(S(V), S(U)), 1e-10 * S(U).abs().max().item<double>()) << S.name();
    EXPECT_LT(max_su_n_violation(V).max().item<double>(), 1e-12);
  }
}

TEST(Heatbath, StaysInGroupAndRejectsBadGeometry) {
  auto gen = test_generator(75);
  auto U = rough_field({{4, 4, 4, 4}, 3}, 76, 1, 0.4);
  auto V = heatbath_update(U, GaugeAction::symanzik(4.0), HeatbathOptions{}, gen);
  EXPECT_LT(max_su_n_violation(V).max().item<double>(), 1e-12);
  EXPECT_THROW(heatbath_sweep(rough_field({{4, 3}, 2}, 77), GaugeAction::wilson(1.0), gen), std::invalid_argument);
  EXPECT_THROW(heatbath_sweep(rough_field({{4, 6}, 2}, 78), GaugeAction::symanzik(1.0), gen), std::invalid_argument);
}

namespace {
/// Plaquette history of `chains` heatbath chains after `therm` sweeps (Γ-method over chains as replicas).
GammaResult heatbath_plaquette(int64_t N, const std::vector<int64_t>& ext, const GaugeAction& S, int64_t chains,
                               int therm, int sweeps, uint64_t seed, int64_t or_steps = 1) {
  auto gen = test_generator(seed);
  auto U = cold_gauge_field(chains, ext, N, cplx());
  std::vector<std::vector<double>> plaq(chains);
  for (int s = 0; s < therm + sweeps; ++s) {
    U = heatbath_update(U, S, HeatbathOptions{or_steps}, gen);
    if (s < therm) continue;
    auto P = average_plaquette(U);
    for (int64_t c = 0; c < chains; ++c) plaq[c].push_back(P[c].item<double>());
  }
  return gamma_method(plaq);
}
}  // namespace

TEST(Heatbath, Exact2DPlaquetteSU2AndSU3) {
  for (auto [N, beta] : std::vector<std::pair<int64_t, double>>{{2, 1.5}, {2, 4.0}, {3, 3.0}, {3, 8.0}}) {
    auto r = heatbath_plaquette(N, {8, 8}, GaugeAction::wilson(beta), 16, 15, 80, 79 + N);
    const double exact = exact_plaquette_2d(N, beta);
    EXPECT_NEAR(r.value, exact, 5 * r.error) << "SU(" << N << ") beta " << beta << " tau " << r.tau_int;
    EXPECT_LT(r.error, 0.005);
  }
}

TEST(Heatbath, AgreesWithHmcForImprovedAction2D) {
  // No exact result for the 2D Symanzik action: the two independent algorithms must agree.
  const auto S = GaugeAction::symanzik(3.0);
  const int64_t chains = 32;
  auto hb = heatbath_plaquette(2, {8, 4}, S, chains, 15, 60, 91);
  auto gen = test_generator(92);
  auto U = cold_gauge_field(chains, {8, 4}, 2, cplx());
  HmcOptions o;
  o.steps = 6;
  std::vector<std::vector<double>> plaq(chains);
  for (int t = 0; t < 80; ++t) {
    U = hmc_trajectory(U, md_action(S), o, gen).U;
    if (t < 20) continue;
    auto P = average_plaquette(U);
    for (int64_t c = 0; c < chains; ++c) plaq[c].push_back(P[c].item<double>());
  }
  auto hmc = gamma_method(plaq);
  const double sigma = std::sqrt(hb.error * hb.error + hmc.error * hmc.error);
  EXPECT_NEAR(hb.value, hmc.value, 5 * sigma) << "heatbath " << hb.value << " hmc " << hmc.value;
  EXPECT_LT(sigma, 0.01);
}

// The fused sweeps (kernels "fused": lane kernels, per-element sampler) draw the same random numbers as the torch
// path and give the same links to rounding, for SU(2) and SU(3), double; float to single-precision rounding.
TEST(HeatbathFused, SweepsMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  namespace K = blockspin::lattice::kernels;
  const auto action = GaugeAction::wilson(5.7);
  for (int64_t N : {2, 3}) {
    auto gen0 = test_generator(40 + N);
    const auto U = near_identity_gauge_field(2, {4, 2, 4, 6}, N, 0.5, gen0, cplx());
    ASSERT_TRUE(K::heatbath_fused_available(U, action));
    auto run = [&](K::Mode m, const torch::Tensor& start) {
      K::ModeGuard mode(m);
      auto gen = test_generator(50 + N);
      auto V = heatbath_sweep(start, action, gen);
      return overrelaxation_sweep(V, action);
    };
    const auto fused = run(K::Mode::fused, U), ref = run(K::Mode::torch, U);
    EXPECT_FALSE(torch::equal(fused, U));
    EXPECT_LT(max_abs_diff(fused, ref), 1e-13) << "N = " << N;
    EXPECT_LT(max_abs(max_su_n_violation(fused)), 1e-13);
    const auto f32 = run(K::Mode::fused, U.to(torch::kComplexFloat)).to(torch::kComplexDouble);
    EXPECT_LT(max_abs_diff(f32, ref), 1e-4) << "N = " << N;
  }
  // Rectangle actions keep the torch path.
  auto gen1 = test_generator(1);
  const auto U3 = near_identity_gauge_field(1, {4, 4}, 3, 0.5, gen1, cplx());
  EXPECT_TRUE(K::heatbath_fused_available(U3, GaugeAction::wilson(5.0)));
  EXPECT_FALSE(K::heatbath_fused_available(U3, GaugeAction::symanzik(5.0)));
}
