// Tests of batched Langevin for φ⁴: the Eq. (37) update, coupling gradients through the trajectory, the free theory.
#include "test_helpers.h"

#include "lattice/free_scalar.h"
#include "lattice/langevin.h"
#include "lattice/scalar_observables.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
torch::Tensor start_field(uint64_t seed, std::vector<int64_t> shape = {3, 4, 4}) {
  auto gen = test_generator(seed);
  return 0.7 * torch::randn(shape, gen, real());
}

/// A scalar loss of the configurations after `steps` Langevin steps at couplings (κ, λ), noise from `seed`.
torch::Tensor loss_after(const torch::Tensor& phi0, const ScalarCouplings& c, int64_t steps, double tau,
                         uint64_t seed) {
  auto gen = test_generator(seed);
  LangevinOptions o;
  o.step_size = tau;
  o.steps = steps;
  auto phi = langevin_evolve(phi0, c, o, gen);
  auto m = magnetisation(phi);
  return (phi.pow(2).flatten(1).mean(1) + m * m * m).sum();
}
}  // namespace

TEST(Langevin, StepIsEulerMaruyamaOfEquation37) {
  auto phi = start_field(301);
  auto eta = start_field(302);
  auto c = ScalarCouplings::constant(0.2, 0.3);
  const double tau = 0.05;
  auto expect = phi - tau * scalar_action_derivative(phi, c) + std::sqrt(2 * tau) * eta;
  EXPECT_LT(max_abs_diff(langevin_step(phi, c, tau, eta), expect), 1e-15);
  // langevin_evolve draws one N(0,1) field per step from the generator, in order.
  auto gen_a = test_generator(303), gen_b = test_generator(303);
  LangevinOptions o;
  o.step_size = tau;
  o.steps = 3;
  auto evolved = langevin_evolve(phi, c, o, gen_a);
  auto manual = phi;
  for (int s = 0; s < 3; ++s) manual = langevin_step(manual, c, tau, torch::randn(phi.sizes(), gen_b, real()));
  EXPECT_LT(max_abs_diff(evolved, manual), 1e-14);
  EXPECT_GT(max_abs_diff(evolved, phi), 0.1);
}

TEST(Langevin, GradientWrtCouplingsMatchesFiniteDifferencesWithTheSameNoise) {
  auto phi0 = start_field(304);
  const double k = 0.18, l = 0.4, tau = 0.05, h = 1e-5;
  const int64_t steps = 6;
  auto kappa = torch::tensor(k, real()).requires_grad_(true);
  auto lambda = torch::tensor(l, real()).requires_grad_(true);
  auto loss = loss_after(phi0, {kappa, lambda}, steps, tau, 305);
  auto g = torch::autograd::grad({loss}, {kappa, lambda});
  auto L = [&](double kk, double ll) {
    return loss_after(phi0, ScalarCouplings::constant(kk, ll), steps, tau, 305).item<double>();
  };
  const double fd_k = (L(k + h, l) - L(k - h, l)) / (2 * h);
  const double fd_l = (L(k, l + h) - L(k, l - h)) / (2 * h);
  EXPECT_NEAR(g[0].item<double>(), fd_k, 1e-6 * (1 + std::abs(fd_k)));
  EXPECT_NEAR(g[1].item<double>(), fd_l, 1e-6 * (1 + std::abs(fd_l)));
  EXPECT_GT(std::abs(fd_k), 1e-2);
  // A different noise sequence gives a different gradient (the test would notice mismatched noise).
  const double fd_k_other = (loss_after(phi0, ScalarCouplings::constant(k + h, l), steps, tau, 306).item<double>() -
                             loss_after(phi0, ScalarCouplings::constant(k - h, l), steps, tau, 306).item<double>()) /
                            (2 * h);
  EXPECT_GT(std::abs(fd_k_other - fd_k), 1e-3);
}

TEST(Langevin, PerConfigurationCouplingGradientsIn1D) {
  auto phi0 = start_field(307, {4, 8});
  auto kappa = torch::tensor({0.1, 0.2, 0.3, 0.4}, real()).requires_grad_(true);
  auto lambda = torch::full({4}, 0.01, real());
  auto loss = loss_after(phi0, {kappa, lambda}, 5, 0.02, 308);
  auto g = torch::autograd::grad({loss}, {kappa})[0];
  const double h = 1e-5;
  for (int64_t b = 0; b < 4; ++b) {
    auto kp = kappa.detach().clone(), km = kappa.detach().clone();
    kp[b].add_(h);
    km[b].sub_(h);
    const double fd = (loss_after(phi0, {kp, lambda}, 5, 0.02, 308).item<double>() -
                       loss_after(phi0, {km, lambda}, 5, 0.02, 308).item<double>()) /
                      (2 * h);
    EXPECT_NEAR(g[b].item<double>(), fd, 1e-6 * (1 + std::abs(fd))) << b;
  }
}

TEST(Langevin, DetachOptionDropsTheGraphButNotTheTrajectory) {
  auto phi0 = start_field(309);
  auto kappa = torch::tensor(0.2, real()).requires_grad_(true);
  ScalarCouplings c{kappa, torch::tensor(0.1, real())};
  LangevinOptions o;
  o.steps = 4;
  auto gen_a = test_generator(310), gen_b = test_generator(310);
  auto with_graph = langevin_evolve(phi0, c, o, gen_a);
  o.detach = true;
  auto detached = langevin_evolve(phi0, c, o, gen_b);
  EXPECT_TRUE(with_graph.requires_grad());
  EXPECT_FALSE(detached.requires_grad());
  EXPECT_LT(max_abs_diff(with_graph.detach(), detached), 1e-15);
}

TEST(Langevin, FreeTheoryStationaryVarianceHasTheExpectedStepSizeBias) {
  // Eq. (37) without Metropolis is stationary at variance 1/(M̃(1 − τM̃/2)) per mode, not 1/M̃: with τ = 0.3 the
  // two ⟨φ²⟩ differ by ~40%, so the test tells the exact discretisation (sqrt(2τ) noise, τ∂S drift) apart.
  const std::vector<int64_t> ext{4, 4};
  const double kappa = 0.1, tau = 0.3;
  auto gen = test_generator(311);
  auto c = ScalarCouplings::constant(kappa, 0.0);
  LangevinOptions therm;
  therm.step_size = tau;
  therm.steps = 50;
  therm.detach = true;
  auto phi = langevin_evolve(torch::zeros({128, 4, 4}, real()), c, therm, gen);
  LangevinOptions one = therm;
  one.steps = 1;
  std::vector<torch::Tensor> phi2;
  for (int s = 0; s < 400; ++s) {
    phi = langevin_evolve(phi, c, one, gen);
    phi2.push_back(phi.pow(2).flatten(1).mean(1));
  }
  auto r = gamma_mean(torch::stack(phi2));
  const double biased = free_langevin_phi2(ext, kappa, tau), exact = free_phi2(ext, kappa);
  EXPECT_NEAR(r.value, biased, 5 * r.error) << r.error;
  EXPECT_GT(std::abs(r.value - exact), 20 * r.error);
  EXPECT_GT(biased / exact, 1.3);
}

TEST(Langevin, FloatFieldWithDoubleCouplingsKeepsFloatAndGradient) {
  auto phi0 = start_field(312).to(torch::kFloat);
  auto kappa = torch::tensor(0.2, real()).requires_grad_(true);
  auto gen = test_generator(313);
  LangevinOptions o;
  o.steps = 3;
  auto phi = langevin_evolve(phi0, {kappa, torch::tensor(0.1, real())}, o, gen);
  EXPECT_EQ(phi.scalar_type(), torch::kFloat);
  phi.pow(2).sum().backward();
  ASSERT_TRUE(kappa.grad().defined());
  EXPECT_EQ(kappa.grad().scalar_type(), torch::kDouble);
  EXPECT_TRUE(std::isfinite(kappa.grad().item<double>()));
}
