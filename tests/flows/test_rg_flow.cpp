// Tests of the RG flow (Eqs. 15, 18, 21, 28–30): exact log p̃ against a brute-force Jacobian of the full map
// (coarse field, noise coordinates) -> fine field, the left inverse, and the identity-initialised free theory.
#include "flow_test_helpers.h"

#include "flows/rg_flow.h"
#include "flows/upsample.h"
#include "lattice/free_scalar.h"
#include "lattice/scalar_action.h"

#include <cmath>

using namespace blockspin::flows;
using namespace blockspin::flows::testing;
namespace lat = blockspin::lattice;

namespace {
RGFlow make_flow(int64_t levels, int64_t steps, double scale, uint64_t seed, double sigma = 0.8) {
  RGFlow flow(
      RGFlowOptions(levels, CNFOptions(small_field_options(2)).steps(steps)).noise(BlockNoiseOptions().sigma(sigma)));
  if (scale > 0) randomise(*flow, seed, scale);
  return on_device(flow);  // after drawing the weights on the CPU: the same network on every device
}

/// Inverse of the per-block coordinates: x [B, blocks, 3] -> zero-sum noise [B, 2L, 2M] (Eq. 20: ζ_4 = −Σ ζ_i).
torch::Tensor noise_from_coordinates(const torch::Tensor& x, int64_t L, int64_t M) {
  auto last = -x.sum(2, true);
  auto blocks = torch::cat({x, last}, 2);  // [B, L*M, 4], index 2 p0 + p1
  return blocks.reshape({x.size(0), L, M, 2, 2}).permute({0, 1, 3, 2, 4}).reshape({x.size(0), 2 * L, 2 * M});
}
/// log N(x; 0, Σ) with Σ of Eq. (19), n = 4, summed over blocks.
double eq19_log_density(const torch::Tensor& x, double sigma) {
  auto Sigma = sigma * sigma * (torch::eye(3, real()) - 0.25);
  auto quad = torch::einsum("bki,ij,bkj->bk", {x, torch::inverse(Sigma), x});
  return (-0.5 * quad - 0.5 * torch::logdet(Sigma) - 1.5 * std::log(2 * M_PI)).sum().item<double>();
}
}  // namespace

TEST(RGFlow, LogDensityEqualsBruteForceChangeOfVariables) {
  // Levels 1 (2×2 -> 4×4) and 2 (1×1 -> 2×2 -> 4×4): 16 coordinates (coarse field, noise coordinates of every level)
  // -> 16 fine sites, a bijection; log p̃ = log p_L + Σ log N_Eq19(ζ') − log|det J|.
  for (int64_t levels : {1, 2}) {
    const int64_t Lc = 4 >> levels;
    auto flow = make_flow(levels, 60, 0.25, 51);
    auto c = lat::ScalarCouplings::constant(0.2, 0.05);
    auto phi_c = random_field({1, Lc, Lc}, 52);
    std::vector<torch::Tensor> coords{phi_c.flatten()};
    int64_t L = Lc;
    for (int64_t i = 0; i < levels; ++i, L *= 2) coords.push_back(random_field({1, L * L, 3}, 53 + i, 0.7).flatten());
    auto x = torch::cat(coords);
    ASSERT_EQ(x.size(0), 16);
    // v: [m, 16] rows of coordinates -> the noise tensors of every level, batched over rows.
    auto split = [&](const torch::Tensor& v) {
      std::vector<torch::Tensor> parts;
      int64_t off = Lc * Lc, l = Lc;
      for (int64_t i = 0; i < levels; ++i, l *= 2) {
        parts.push_back(noise_from_coordinates(v.narrow(1, off, 3 * l * l).reshape({v.size(0), l * l, 3}), l, l));
        off += 3 * l * l;
      }
      return parts;
    };
    auto map = [&](const torch::Tensor& v) {
      auto coarse = v.narrow(1, 0, Lc * Lc).reshape({v.size(0), Lc, Lc});
      return flow->forward(FlowState{coarse, torch::zeros({v.size(0)}, real())}, split(v)).phi.flatten(1);
    };
    auto J = batched_jacobian(map, x);
    const double logdet = std::get<1>(torch::slogdet(J)).item<double>();
    double expect = -lat::scalar_action(phi_c, c).item<double>() - logdet;
    int64_t off = Lc * Lc, l = Lc;
    for (int64_t i = 0; i < levels; ++i, l *= 2) {
      expect += eq19_log_density(x.narrow(0, off, 3 * l * l).view({1, l * l, 3}), 0.8);
      off += 3 * l * l;
    }
    torch::NoGradGuard no_grad;
    auto out = flow->forward(FlowState{phi_c, -lat::scalar_action(phi_c, c)}, split(x.unsqueeze(0)));
    EXPECT_NEAR(out.log_prob.item<double>(), expect, 1e-8) << "levels " << levels;
    // Leaving out Eq. (18)'s term would be visible.
    EXPECT_GT(std::abs(upsample_log_density_term(Lc * Lc, 2)), 0.5);
  }
}

TEST(RGFlow, LeftInverseRecoversCoarseFieldNoiseAndDensity) {
  auto flow = make_flow(2, 100, 0.25, 54);
  // The noise is drawn on the CPU and moved: the 1e-10 inversion bounds hold for this draw but not for every draw, so
  // every device must see the same noise.
  auto gen = lat::make_generator(55);  // CPU
  auto c = lat::ScalarCouplings::constant(0.2, 0.05);
  auto phi_c = random_field({3, 2, 2}, 56);
  torch::NoGradGuard no_grad;
  const auto host = real().device(torch::kCPU);
  std::vector<torch::Tensor> noise{flow->level(0)->noise->sample(torch::zeros({3, 4, 4}, host), gen).to(device()),
                                   flow->level(1)->noise->sample(torch::zeros({3, 8, 8}, host), gen).to(device())};
  auto out = flow->forward(FlowState{phi_c, -lat::scalar_action(phi_c, c)}, noise);
  ASSERT_EQ(out.phi.sizes(), (std::vector<int64_t>{3, 8, 8}));
  auto inv = flow->inverse(out.phi);
  EXPECT_LT(max_abs_diff(inv.coarse, phi_c), 1e-10);
  EXPECT_LT(max_abs_diff(inv.noise[0], noise[0]), 1e-10);
  EXPECT_LT(max_abs_diff(inv.noise[1], noise[1]), 1e-10);
  // log p̃ sums O(V) terms of size O(1): 1e-8 absolute is ~1e-10 relative.
  EXPECT_LT(max_abs_diff(-lat::scalar_action(inv.coarse, c) + inv.log_det, out.log_prob), 1e-8);
  EXPECT_GT(max_abs_diff(inv.log_det, torch::zeros_like(inv.log_det)), 1.0);
  // The generator overload draws zero-sum noise of the right shapes, on the field's device: on the CPU from the same
  // generator as before, elsewhere from a generator there (these checks hold for any noise).
  auto device_gen = device().is_cpu() ? gen : test_generator(55);
  auto s = flow->forward(FlowState{phi_c, torch::zeros({3}, real())}, device_gen);
  EXPECT_EQ(s.phi.sizes(), out.phi.sizes());
  EXPECT_LT(max_abs_diff(flow->inverse(s.phi).coarse, phi_c), 1e-10);
}

TEST(RGFlow, IdentityFlowOnFreeTheoryGivesTheExactGaussianPushForward) {
  // λ = 0: coarse φ ~ N(0, C_c) exactly normalised (log Z analytic). With F = identity the fine field U φ + ζ is
  // N(0, U C_c Uᵀ + σ² P), P the per-block zero-sum projector; its log-density must equal the flow's log p̃.
  const double kappa = 0.15, sigma = 0.6;
  auto flow = make_flow(1, 2, 0.0, 0, sigma);
  auto gen = test_generator(57);
  const int64_t L = 2, V = 4;
  auto M = lat::free_inverse_propagator_momentum({L, L}, kappa);  // CPU: only the number log Z is taken from it
  const double logZ = 0.5 * V * std::log(2 * M_PI) - 0.5 * M.log().sum().item<double>();
  auto c = lat::ScalarCouplings::constant(kappa, 0.0);
  auto phi_c = random_field({4, L, L}, 58);
  auto out = flow->forward(FlowState{phi_c, -lat::scalar_action(phi_c, c) - logZ}, gen);
  // Covariances: C_c = M⁻¹ from the action's Hessian, U from the upsampling Jacobian.
  auto Mpos = jacobian(
      [&](const torch::Tensor& v) {
        return lat::scalar_action_derivative(v.view({1, L, L}), c);
      },
      torch::zeros({V}, real()));
  auto U = jacobian([](const torch::Tensor& v) { return upsample(v.view({1, 2, 2})); }, torch::zeros({V}, real()));
  auto P = jacobian(
      [](const torch::Tensor& v) {
        return block_zero_sum_part(v.view({1, 4, 4}));
      },
      torch::zeros({16}, real()));
  auto C = U.mm(torch::inverse(Mpos)).mm(U.t()) + sigma * sigma * P;
  auto x = out.phi.flatten(1);
  auto quad = torch::einsum("bi,ij,bj->b", {x, torch::inverse(C), x});
  auto expect = -0.5 * quad - 0.5 * torch::logdet(C) - 8 * std::log(2 * M_PI);
  EXPECT_LT(max_abs_diff(out.log_prob.detach(), expect), 1e-10);
}

// Warm start across sizes: every level of a deeper stack takes the parameters of the source's level min(i, n − 1); an
// architecture mismatch is refused before anything is copied.
TEST(RGFlowWarmStart, DeeperStackTakesTheTrainedLevelsAndRepeatsTheLast) {
  auto make = [](int64_t levels, int64_t features, uint64_t seed) {
    RGFlow f(RGFlowOptions(levels, CNFOptions(small_field_options(2).features(features)).steps(2)));
    randomise(*f, seed, 0.3);
    return f;
  };
  auto source = make(2, 3, 1);
  auto target = make(3, 3, 2);
  warm_start_levels(*target, *source);
  for (int64_t i = 0; i < 3; ++i) {
    const auto src = source->level(std::min<int64_t>(i, 1))->named_parameters(true);
    for (const auto& p : target->level(i)->named_parameters(true))
      EXPECT_TRUE(torch::equal(p.value(), *src.find(p.key()))) << "level " << i << " " << p.key();
  }
  // The copy maps a coarse field like the source on the levels they share.
  auto coarse = random_field({2, 4, 4}, 3);
  std::vector<torch::Tensor> noise;
  auto gen = test_generator(4);
  torch::NoGradGuard no_grad;
  FlowState start{coarse, torch::zeros({2}, real())};
  const auto a = source->forward(start, gen, &noise);
  auto two_levels = make(2, 3, 5);
  warm_start_levels(*two_levels, *target);  // back: the first two levels of target are the source's
  EXPECT_LT(max_abs_diff(two_levels->forward(start, noise).phi, a.phi), 1e-13);

  auto other = make(3, 4, 6);  // 4 features: another architecture
  const auto before = other->level(0)->parameters()[0].clone();
  EXPECT_THROW(warm_start_levels(*other, *source), std::invalid_argument);
  EXPECT_TRUE(torch::equal(other->level(0)->parameters()[0], before));
}
