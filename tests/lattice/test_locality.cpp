// The second-derivative locality profile: exact for the Wilson action (nonzero only for links that share a plaquette
// with the source, r <= 1), symmetric (the block between links ℓ, ℓ' from either side), and the exponential fit
// recovers a known rate.
#include "test_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/locality.h"
#include "lattice/rng.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

TEST(Locality, WilsonActionReachesOnlyItsPlaquettes) {
  auto gen = test_generator(5);
  const auto U = near_identity_gauge_field(1, {4, 4, 4, 4}, 3, 0.5, gen, cplx());
  const auto wilson = GaugeAction::wilson(1.0);
  const auto p = second_derivative_locality([&](const torch::Tensor& V) { return wilson(V); }, U, 1);
  ASSERT_EQ(p.distance.size(), 4u * 256u);
  int64_t inside = 0;
  for (size_t i = 0; i < p.norm.size(); ++i) {
    if (p.distance[i] > 1.0 + 1e-12) {
      EXPECT_LT(p.norm[i], 1e-13) << "link " << i << " at r = " << p.distance[i];
    } else if (p.norm[i] > 1e-6) {
      ++inside;
    }
  }
  // the source itself, 2·3 parallel links in its plaquettes and 4·3 perpendicular ones
  EXPECT_EQ(inside, 1 + 6 + 12);
}

TEST(Locality, HessianBlocksAreSymmetric) {
  auto gen = test_generator(6);
  const auto U = near_identity_gauge_field(1, {2, 4, 2, 2}, 2, 0.6, gen, cplx());
  // A gauge-invariant test action that couples every pair of links: S (1 + 0.1 S), S the Symanzik action.
  const auto wilson = GaugeAction::symanzik(1.0);
  const ActionFunctional action = [&](const torch::Tensor& V) { return wilson(V) * (1.0 + 0.1 * wilson(V)); };
  // source (0, μ=0) vs link (0, ν=2): the block seen from each side (translate so the other link is the source)
  const auto p0 = second_derivative_locality(action, U, 0);
  const auto p2 = second_derivative_locality(action, U, 2);
  const int64_t V = 2 * 4 * 2 * 2;
  EXPECT_GT(p0.norm[2 * V + 0], 1e-6);
  EXPECT_NEAR(p0.norm[2 * V + 0], p2.norm[0 * V + 0], 1e-12 * p0.norm[2 * V + 0]);
}

TEST(Locality, ExponentialFitRecoversTheRate) {
  std::vector<double> r, y;
  for (int i = 0; i < 20; ++i) {
    r.push_back(0.25 * i);
    y.push_back(2.0 * std::exp(-3.05 * r.back()) * (1.0 + 0.01 * std::sin(7.0 * i)));
  }
  const auto f = fit_exponential_decay(r, y, 0.5);
  EXPECT_EQ(f.n, 18);
  EXPECT_NEAR(f.rate, 3.05, 0.01);
  EXPECT_LT(f.rate_error, 0.01);
  EXPECT_NEAR(f.amplitude, 2.0, 0.05);
  EXPECT_TRUE(std::isnan(fit_exponential_decay({1.0}, {1.0}, 0.0).rate));
}
