// HMC with a learned FP action (arXiv:2502.03315's use of the model): the MD force of β·A_model by autograd equals
// finite differences of A_model, the molecular dynamics is reversible, |ΔH| falls as ε² for both integrators, and
// ⟨e^{−ΔH}⟩ = 1 within its Γ-method error — on a model with random weights, so nothing relies on training.
#include "test_lcnn_helpers.h"

#include "lattice/gamma_method.h"
#include "lattice/hmc.h"
#include "lattice/su_n.h"
#include "lattice/su_n_check.h"
#include "lcnn/fp_action_model.h"

#include <cmath>

using namespace blockspin;
using namespace blockspin::lcnn;
using namespace blockspin::lcnn::testing;

namespace {

FpActionModel random_model() {
  seed_weights(91);
  auto model = make_fp_action_model(small_spec(4, "wilson"));
  model->to(torch::kDouble);
  model->to(device());
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  return model;
}

const double kBeta = 1.5;

lattice::MdAction md(FpActionModel& model) {
  return lattice::md_action([model](const torch::Tensor& U) mutable { return kBeta * model->forward(U); });
}

torch::Tensor momenta(const torch::Tensor& U, uint64_t seed) {
  auto gen = test_generator(seed);
  std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
  return lattice::random_algebra(prefix, lattice::n_colors(U), gen, real_options());
}

double energy(const lattice::MdAction& a, const torch::Tensor& U, const torch::Tensor& p) {
  return (lattice::kinetic_energy(p) + a.value(U)).sum().item<double>();
}

}  // namespace

TEST(FpActionHmc, ForceEqualsFiniteDifferencesOfTheModel) {
  auto model = random_model();
  const auto action = md(model);
  const auto U = rough_field({{3, 2, 2, 2}, 3}, 92, 1, 0.4);
  const auto D = action.derivative(U);
  ASSERT_EQ(D.sizes(), (std::vector<int64_t>{1, 4, 3, 2, 2, 2, 8}));
  // D^a_{x,μ} = d/dε S[exp(iε t^a) U_μ(x)] at ε = 0: central differences (error O(h²) ~ 1e-10).
  const double h = 1e-5;
  for (int64_t k = 0; k < 12; ++k) {
    const int64_t mu = k % 4, x0 = k % 3, a = (5 * k) % 8;
    auto e = torch::zeros_like(D);
    e.index_put_({0, mu, x0, 0, 1, 0, a}, 1.0);
    const double fd =
        (action.value(lattice::update_links(U, e, h)) - action.value(lattice::update_links(U, e, -h))).item<double>() /
        (2 * h);
    EXPECT_NEAR(D.index({0, mu, x0, 0, 1, 0, a}).item<double>(), fd, 1e-8 * std::max(1.0, std::abs(fd))) << k;
  }
  EXPECT_GT(max_abs(D), 1e-3) << "a vanishing force would make the comparison empty";
}

TEST(FpActionHmc, ReversibleAndEnergyViolationScalesWithTheIntegratorsOrder) {
  auto model = random_model();
  const auto action = md(model);
  const auto U = rough_field({{3, 2, 2, 2}, 3}, 93, 1, 0.3);
  const auto p = momenta(U, 94);
  const double H0 = energy(action, U, p);
  for (auto integrator : {lattice::Integrator::Leapfrog, lattice::Integrator::Omelyan, lattice::Integrator::Omelyan4,
                          lattice::Integrator::Yoshida4}) {
    lattice::HmcOptions o;
    o.integrator = integrator;
    o.trajectory_length = 0.5;
    o.steps = 8;
    auto [U1, p1] = lattice::md_evolve(U, p, action, o);
    EXPECT_GT(max_abs_diff(U1, U), 0.05);
    auto [U2, p2] = lattice::md_evolve(U1, -p1, action, o);
    EXPECT_LT(max_abs_diff(U2, U), 1e-10);
    EXPECT_LT(max_abs_diff(-p2, p), 1e-10);
    EXPECT_LT(lattice::max_su_n_violation(U1).max().item<double>(), 1e-12);
    std::vector<double> dH;
    for (int64_t steps : {8, 16, 32}) {
      o.steps = steps;
      auto [Ue, pe] = lattice::md_evolve(U, p, action, o);
      dH.push_back(std::abs(energy(action, Ue, pe) - H0));
    }
    // 2^order per halving of ε: 4 (leapfrog, Omelyan 2MN), 16 (the 4th-order schemes).
    const double expected = std::pow(2.0, lattice::integrator_order(integrator));
    const auto& name = lattice::integrator_name(integrator);
    EXPECT_NEAR(dH[0] / dH[1], expected, 0.125 * expected) << name << " " << dH[0] << " " << dH[1];
    EXPECT_NEAR(dH[1] / dH[2], expected, 0.0625 * expected) << name << " " << dH[1] << " " << dH[2];
  }
}

TEST(FpActionHmc, ExpMinusDeltaHAveragesToOne) {
  auto model = random_model();
  const auto action = md(model);
  auto gen = test_generator(95);  // draws the fields, the momenta and the accept/reject on the test device
  const int64_t chains = 16;
  auto U = lattice::near_identity_gauge_field(chains, {2, 2, 2, 2}, 3, 0.2, gen, cplx());
  lattice::HmcOptions o;
  o.steps = 3;
  o.trajectory_length = 1.0;
  std::vector<std::vector<double>> expdH(chains);
  double acceptance = 0;
  for (int traj = 0; traj < 50; ++traj) {
    auto step = lattice::hmc_trajectory(U, action, o, gen);
    U = step.U;
    if (traj < 10) continue;
    for (int64_t c = 0; c < chains; ++c) expdH[c].push_back(std::exp(-step.delta_H[c].item<double>()));
    acceptance += step.accepted.to(torch::kDouble).mean().item<double>() / 40;
  }
  const auto e = lattice::gamma_method(expdH);
  EXPECT_NEAR(e.value, 1.0, 4 * e.error) << "error " << e.error;
  EXPECT_LT(acceptance, 0.98) << "ΔH ~ 0 would make the check empty";
  EXPECT_GT(acceptance, 0.3);
}
