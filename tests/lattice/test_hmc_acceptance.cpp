// HMC at moderate acceptance (50-70 %): there the Metropolis decision matters, so a wrong decision (inverted,
// sign-flipped or skipped) shows up in the sampled distribution and in the acceptance rate. At acceptance ≈ 1 (the
// other statistical HMC test) such a bug is invisible.
#include "test_helpers.h"

#include "exact_2d.h"
#include "lattice/gamma_method.h"
#include "lattice/hmc.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/su_n.h"

#include <cmath>
#include <functional>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {

/// 2D SU(2) Wilson action on 8x8 with a coarse leapfrog: acceptance about 60 %.
constexpr double kBeta = 2.0;
const std::vector<int64_t> kExtents{8, 8};
constexpr int64_t kColors = 2;
HmcOptions coarse_leapfrog() {
  HmcOptions o;
  o.integrator = Integrator::Leapfrog;
  o.trajectory_length = 0.8;
  o.steps = 2;
  return o;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

/// One trajectory for all chains: the library's hmc_trajectory (a hook so that a copy with a deliberately broken
/// decision can be substituted when checking that the tests below have teeth).
using Trajectory = std::function<HmcStep(const torch::Tensor&, const MdAction&, const HmcOptions&, at::Generator&)>;
HmcStep library_trajectory(const torch::Tensor& U, const MdAction& a, const HmcOptions& o, at::Generator& gen) {
  return hmc_trajectory(U, a, o, gen);
}

struct RunResult {
  std::vector<std::vector<double>> plaquette;   ///< [chain][trajectory]
  std::vector<std::vector<double>> accepted;    ///< 0/1
  std::vector<std::vector<double>> acc_prob;    ///< min(1, e^{-ΔH})
  std::vector<std::vector<double>> acc_excess;  ///< accepted - min(1, e^{-ΔH})
};

RunResult run_chains(const Trajectory& trajectory, int64_t chains, int n_therm, int n_meas, uint64_t seed) {
  auto gen = test_generator(seed);
  auto U = hot_gauge_field(chains, kExtents, kColors, gen, cplx());
  auto action = md_action(GaugeAction::wilson(kBeta));
  const auto o = coarse_leapfrog();
  RunResult r;
  r.plaquette.resize(chains), r.accepted.resize(chains), r.acc_prob.resize(chains), r.acc_excess.resize(chains);
  for (int t = 0; t < n_therm + n_meas; ++t) {
    auto step = trajectory(U, action, o, gen);
    U = step.U;
    if (t < n_therm) continue;
    auto plaq = to_vector(average_plaquette(U));
    auto acc = to_vector(step.accepted);
    auto prob = to_vector(torch::clamp_max(torch::exp(-step.delta_H), 1.0));
    for (int64_t c = 0; c < chains; ++c) {
      r.plaquette[c].push_back(plaq[c]);
      r.accepted[c].push_back(acc[c]);
      r.acc_prob[c].push_back(prob[c]);
      r.acc_excess[c].push_back(acc[c] - prob[c]);
    }
  }
  return r;
}

/// Checks (a) ⟨P⟩ = exact 2D value and (b) acceptance = ⟨min(1, e^{-ΔH})⟩ at 50-70 % acceptance.
void check_moderate_acceptance(const Trajectory& trajectory) {
  // 32 chains (hot start) x 300 measured trajectories after 30 thermalisation trajectories.
  const auto r = run_chains(trajectory, 32, 30, 300, 4711);
  const auto plaq = gamma_method(r.plaquette);
  const auto acc = gamma_method(r.accepted);
  const auto prob = gamma_method(r.acc_prob);
  // acceptance - min(1, e^{-ΔH}) has zero mean given ΔH: the sharpest form of (b), same run, correlations included.
  const auto excess = gamma_method(r.acc_excess);
  const double exact = exact_plaquette_2d(kColors, kBeta);
  // The regime in which the decision matters: neither almost always accepted nor almost always rejected.
  EXPECT_GT(prob.value, 0.5) << "<min(1,exp(-dH))> " << prob.value;
  EXPECT_LT(prob.value, 0.7) << "<min(1,exp(-dH))> " << prob.value;
  // (a) plaquette
  EXPECT_NEAR(plaq.value, exact, 5 * plaq.error)
      << "plaquette " << plaq.value << " +- " << plaq.error << " (tau_int " << plaq.tau_int << "), exact " << exact;
  EXPECT_LT(plaq.error, 0.005);  // the check has teeth
  // (b) acceptance rate
  EXPECT_NEAR(excess.value, 0.0, 5 * excess.error)
      << "acceptance " << acc.value << " +- " << acc.error << " vs <min(1,exp(-dH))> " << prob.value << " +- "
      << prob.error << "; difference " << excess.value << " +- " << excess.error;
  EXPECT_LT(excess.error, 0.02);
}

/// Checks one trajectory's Metropolis decision chain by chain against a replay of its random numbers.
void check_decision_per_chain(const Trajectory& trajectory) {
  const int64_t chains = 64;
  auto gen_U = test_generator(4712);
  auto U = near_identity_gauge_field(chains, kExtents, kColors, 1.0, gen_U, cplx());
  auto action = md_action(GaugeAction::wilson(kBeta));
  auto o = coarse_leapfrog();
  o.steps = 1;
  for (double length : {0.8, 3.0}) {  // ΔH from about -10 to 20; then ΔH > 300 on every chain
    o.trajectory_length = length;
    auto gen = test_generator(4713);
    auto replay = test_generator(0);
    set_generator_state(replay, generator_state(gen));
    const auto step = trajectory(U, action, o, gen);

    std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
    auto p = random_algebra(prefix, kColors, replay, real());
    auto [U1, p1] = md_evolve(U, p, action, o);
    auto dH = (kinetic_energy(p1) + action.value(U1)) - (kinetic_energy(p) + action.value(U));
    ASSERT_LT(max_abs_diff(dH, step.delta_H), 1e-9) << "replayed trajectory differs: draw order changed?";
    auto u = torch::rand({chains}, replay, real());

    const auto dh = to_vector(dH), uu = to_vector(u), acc = to_vector(step.accepted);
    int reject_positive = 0, accept_positive = 0, accept_negative = 0, huge = 0;
    for (int64_t c = 0; c < chains; ++c) {
      const bool expected = uu[c] < std::exp(-dh[c]);
      EXPECT_EQ(acc[c] != 0, expected) << "L " << length << " chain " << c << ": dH " << dh[c] << ", u " << uu[c]
                                       << ", exp(-dH) " << std::exp(-dh[c]);
      if (dh[c] > 0 && !expected) ++reject_positive;
      if (dh[c] > 0 && expected) ++accept_positive;
      if (dh[c] < 0) ++accept_negative;
      // Independent of the draw order: a huge ΔH is always rejected, a negative one always accepted.
      if (dh[c] > 40) {
        ++huge;
        EXPECT_EQ(acc[c], 0.0) << "chain " << c << ", dH " << dh[c];
      }
      if (dh[c] < 0) {
        EXPECT_EQ(acc[c], 1.0) << "chain " << c << ", dH " << dh[c];
      }
      EXPECT_LT(max_abs_diff(step.U[c], expected ? U1[c] : U[c]), 1e-14) << "chain " << c;
    }
    // The draws cover every branch of the decision.
    if (length < 1) {
      EXPECT_GE(reject_positive, 10);
      EXPECT_GE(accept_positive, 5);
      EXPECT_GE(accept_negative, 5);
    } else {
      EXPECT_EQ(huge, chains);
    }
  }
}

}  // namespace

// Checks the 2D SU(2) plaquette I_2(β)/I_1(β) and acceptance = ⟨min(1, e^{-ΔH})⟩ at ≈ 60 % acceptance.
TEST(HmcAcceptance, ModerateAcceptanceSamplesExact2DAndAcceptsWithMetropolisProbability) {
  check_moderate_acceptance(library_trajectory);
}

// Checks the Metropolis decision chain by chain: accepted iff u < e^{-ΔH}, with u and the momenta replayed from a
// copy of the generator (hmc.h: momenta first, then one uniform per chain), and the new configuration is the
// proposal when accepted, the old one when rejected; ΔH > 40 is always rejected, ΔH < 0 always accepted.
TEST(HmcAcceptance, MetropolisDecisionIsExactPerChain) { check_decision_per_chain(library_trajectory); }
