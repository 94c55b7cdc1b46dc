// Tests of naive upsampling (Eqs. 17–18) and zero-sum block noise (Eqs. 19–21).
#include "flow_test_helpers.h"

#include "flows/block_noise.h"
#include "flows/upsample.h"

#include <cmath>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

TEST(Upsample, CopiesEverySiteIntoItsBlockAndBlockAverageIsItsLeftInverse) {
  auto phi = random_field({2, 3, 2}, 11);
  auto psi = upsample(phi);
  ASSERT_EQ(psi.sizes(), (std::vector<int64_t>{2, 6, 4}));
  for (int64_t x = 0; x < 6; ++x)
    for (int64_t y = 0; y < 4; ++y) EXPECT_EQ(psi[1][x][y].item<double>(), phi[1][x / 2][y / 2].item<double>());
  EXPECT_LT(max_abs_diff(block_average(psi), phi), 1e-15);
  for (auto shape : std::vector<std::vector<int64_t>>{{3, 5}, {2, 2, 3, 2}}) {
    auto p = random_field(shape, 12);
    EXPECT_LT(max_abs_diff(block_average(upsample(p)), p), 1e-15);
  }
  // Block average of a non-constant block is its mean, and the zero-sum part sums to zero per block.
  auto fine = random_field({1, 4}, 13);
  EXPECT_NEAR(block_average(fine)[0][1].item<double>(), 0.5 * (fine[0][2] + fine[0][3]).item<double>(), 1e-15);
  EXPECT_LT(block_average(block_zero_sum_part(fine)).abs().max().item<double>(), 1e-15);
  EXPECT_THROW(block_average(random_field({1, 3}, 14)), std::invalid_argument);
}

TEST(Upsample, LogDensityTermIsMinusHalfLogDetJTJ) {
  // Eq. (18): −½ log det(J_U^T J_U) from the autograd Jacobian of U on a 2×2 (D = 2) and a 3 (D = 1) lattice.
  for (auto shape : std::vector<std::vector<int64_t>>{{1, 2, 2}, {1, 3}}) {
    auto phi = random_field(shape, 15);
    auto J = jacobian([](const torch::Tensor& x) { return upsample(x); }, phi);
    const double logdet = torch::logdet(J.t().mm(J)).item<double>();
    const int64_t V = phi.numel(), D = phi.dim() - 1;
    EXPECT_NEAR(upsample_log_density_term(V, D), -0.5 * logdet, 1e-12);
    EXPECT_NEAR(upsample_log_density_term(V, D), -0.5 * V * D * std::log(2.0), 1e-12);
  }
}

namespace {
/// The first n−1 entries (ζ_{B,1..n−1}, Eq. 20 ordering: the block site with p = (1,..,1) is the dependent one) of
/// every 2×2 block of a [batch, 2L, 2L] field: [batch, blocks, 3].
torch::Tensor noise_coordinates_2d(const torch::Tensor& zeta) {
  const int64_t B = zeta.size(0), L = zeta.size(1) / 2, M = zeta.size(2) / 2;
  auto blocks = zeta.reshape({B, L, 2, M, 2}).permute({0, 1, 3, 2, 4}).reshape({B, L * M, 4});
  return blocks.narrow(2, 0, 3);
}

/// log N(x; 0, Σ) with Σ = σ²(1 − 1/n) (Eq. 19) for x [batch, blocks, n−1], summed over blocks.
torch::Tensor eq19_log_density(const torch::Tensor& x, double sigma, int64_t n) {
  auto Sigma = sigma * sigma * (torch::eye(n - 1, real()) - torch::full({n - 1, n - 1}, 1.0 / n, real()));
  auto Sinv = torch::inverse(Sigma);
  const double logdet = torch::logdet(Sigma).item<double>();
  auto quad = torch::einsum("bki,ij,bkj->bk", {x, Sinv, x});
  return (-0.5 * quad - 0.5 * logdet - 0.5 * (n - 1) * std::log(2 * M_PI)).sum(1);
}
}  // namespace

TEST(BlockNoise, SamplesSumToZeroInEveryBlock) {
  auto noise = on_device(BlockNoise(BlockNoiseOptions().sigma(0.7)));
  auto gen = test_generator(21);  // on the device of the fields it draws
  for (auto shape : std::vector<std::vector<int64_t>>{{3, 4, 6}, {2, 8}, {2, 2, 4, 2}}) {
    auto zeta = noise->sample(torch::zeros(shape, real()), gen);
    EXPECT_LT(block_average(zeta).abs().max().item<double>(), 1e-15);
    EXPECT_GT(zeta.abs().max().item<double>(), 0.1);
    EXPECT_EQ(zeta.dtype(), torch::kDouble);
  }
  auto zf = noise->sample(torch::zeros({2, 4, 4}, real().dtype(torch::kFloat)), gen);
  EXPECT_EQ(zf.dtype(), torch::kFloat);
}

TEST(BlockNoise, LogProbIsTheEquation19GaussianOnTheZeroSumSubspace) {
  const double sigma = 0.63;
  auto noise = on_device(BlockNoise(BlockNoiseOptions().sigma(sigma)));
  auto gen = test_generator(22);
  auto zeta = noise->sample(torch::zeros({5, 4, 6}, real()), gen);
  // Density of the n−1 free coordinates = density on the subspace × sqrt(n) per block (the embedding's volume factor).
  const int64_t blocks = 6, n = 4;
  auto expect = eq19_log_density(noise_coordinates_2d(zeta), sigma, n) - 0.5 * blocks * std::log(double(n));
  EXPECT_LT(max_abs_diff(noise->log_prob(zeta), expect), 1e-12);
  // Wrong σ must be visible.
  EXPECT_GT(max_abs_diff(noise->log_prob(zeta), eq19_log_density(noise_coordinates_2d(zeta), 1.1 * sigma, n) -
                                                    0.5 * blocks * std::log(double(n))),
            1e-2);
}

TEST(BlockNoise, EmpiricalCovarianceIsEquation19) {
  const double sigma = 1.3;
  auto noise = on_device(BlockNoise(BlockNoiseOptions().sigma(sigma)));
  auto gen = test_generator(23);
  auto x = noise_coordinates_2d(noise->sample(torch::zeros({20000, 2, 2}, real()), gen)).squeeze(1);  // [N, 3]
  auto cov = x.t().mm(x) / double(x.size(0));
  auto expect = sigma * sigma * (torch::eye(3, real()) - 0.25);
  EXPECT_LT(max_abs_diff(cov, expect), 0.05);  // statistical: σ² sqrt(2/N) ≈ 0.017
}

TEST(BlockNoise, SigmaIsLearnableAndInitialisedFromTheCoarseVariance) {
  auto noise = on_device(BlockNoise());
  auto coarse = random_field({50, 4, 4}, 24, 0.8);
  noise->init_from_coarse(coarse);
  EXPECT_NEAR(noise->sigma().item<double>() * noise->sigma().item<double>(), coarse.var().item<double>(), 1e-12);
  auto gen = test_generator(25);
  auto zeta = noise->sample(torch::zeros({2, 4, 4}, real()), gen);
  auto loss = noise->log_prob(zeta).sum() + zeta.pow(2).sum();
  loss.backward();
  ASSERT_TRUE(noise->log_sigma.grad().defined());
  EXPECT_GT(noise->log_sigma.grad().abs().item<double>(), 1e-6);
  EXPECT_THROW(noise->set_sigma(0.0), std::invalid_argument);
}
