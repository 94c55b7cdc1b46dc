// Tests of the independence Metropolis sampler (Eq. 10), ESS/N (Eq. 12) and the reverse-KL estimate (Eq. 11).
#include "flow_test_helpers.h"

#include "flows/sampler.h"

#include <cmath>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

TEST(Sampler, PerfectProposalIsAlwaysAcceptedWithFullESS) {
  auto log_p = random_field({500}, 61, 3.0);
  auto log_q = log_p + 2.5;  // normalisations drop out
  // CPU generator: metropolis_independence draws its uniforms on the CPU (log_q, log_p may live on any device).
  auto gen = blockspin::lattice::make_generator(62);
  auto x = random_field({500}, 63);
  auto r = metropolis_independence(log_q, log_p, gen, x);
  EXPECT_EQ(r.acceptance, 1.0);
  EXPECT_NEAR(r.ess_per_n, 1.0, 1e-12);
  EXPECT_NEAR(r.kl, 2.5, 1e-12);
  EXPECT_TRUE(torch::equal(r.chain, torch::arange(500, torch::kLong)));
  EXPECT_LT(r.tau.tau_int, 0.65);  // independent draws
}

TEST(Sampler, EssFormulaAndDegenerateWeights) {
  auto lw = torch::log(torch::tensor({1.0, 2.0, 3.0, 4.0}, real()));
  EXPECT_NEAR(effective_sample_size_fraction(lw), 100.0 / (4 * 30.0), 1e-12);
  EXPECT_NEAR(effective_sample_size_fraction(lw + 800.0), 100.0 / 120.0, 1e-12);  // stable for huge log w
  auto one = torch::tensor({0.0, -1e4, -1e4, -1e4}, real());
  EXPECT_NEAR(effective_sample_size_fraction(one), 0.25, 1e-12);
}

TEST(Sampler, GaussianProposalForGaussianTargetMatchesExactAcceptanceEssAndKl) {
  // Target N(0, 1), proposal N(0, s²), s² = 2. Exact: ESS/N = sqrt(2s² − 1)/s², KL = ½(s² − 1 − ln s²),
  // acceptance = ∫∫ p(x) q(y) min(1, w(y)/w(x)) (quadrature).
  const double s2 = 2.0;
  const int64_t N = 40000;
  // CPU generator: metropolis_independence draws its uniforms on the CPU from the same generator, so y is drawn on
  // the CPU too (the same numbers on every device) and moved to the test device.
  auto gen = blockspin::lattice::make_generator(64);
  auto y = (std::sqrt(s2) * torch::randn({N}, gen, real().device(torch::kCPU))).to(device());
  auto log_p = -0.5 * y * y - 0.5 * std::log(2 * M_PI);
  auto log_q = -0.5 * y * y / s2 - 0.5 * std::log(2 * M_PI * s2);
  auto r = metropolis_independence(log_q, log_p, gen, y * y);
  auto g = torch::linspace(-9, 9, 1201, real());
  const double dx = (g[1] - g[0]).item<double>();
  auto p = torch::exp(-0.5 * g * g) / std::sqrt(2 * M_PI), q = torch::exp(-0.5 * g * g / s2) / std::sqrt(2 * M_PI * s2);
  auto w = p / q;
  auto acc = (p.unsqueeze(1) * q.unsqueeze(0) * torch::clamp_max(w.unsqueeze(0) / w.unsqueeze(1), 1.0)).sum() * dx * dx;
  EXPECT_NEAR(r.acceptance, acc.item<double>(), 0.015);
  EXPECT_NEAR(r.ess_per_n, std::sqrt(2 * s2 - 1) / s2, 0.01);
  EXPECT_NEAR(r.kl, 0.5 * (s2 - 1 - std::log(s2)), 0.01);
  // The chain samples the target: ⟨x²⟩ = 1 (proposals have 2); rejections make it autocorrelated.
  EXPECT_NEAR(r.tau.value, 1.0, 4 * r.tau.error + 1e-3);
  EXPECT_LT(r.tau.error, 0.05);
  EXPECT_GT(r.tau.tau_int, 0.6);
  EXPECT_NEAR(y.pow(2).mean().item<double>(), 2.0, 0.05);
}
