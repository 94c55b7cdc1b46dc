// Tests of the RG staple smearing: unit configuration, staple counts, path reference, gauge covariance, smooth limit.
#include "test_helpers.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"
#include "lattice/smearing.h"
#include "lattice/su_n.h"

#include <algorithm>
#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

TEST(Smearing, StapleCounts) {
  EXPECT_EQ(n_staple_offsets(4, 1), 6);
  EXPECT_EQ(n_staple_offsets(4, 2), 12);
  EXPECT_EQ(n_staple_offsets(4, 3), 8);
  EXPECT_EQ(n_staple_offsets(3, 3), 0);
  EXPECT_EQ(n_staple_offsets(2, 2), 0);
  EXPECT_NEAR(smearing_s0(SmearingOptions{}, 4), 1.0 - 6 * 0.07 - 12 * 0.016 - 8 * 0.008, 1e-15);
}

TEST(Smearing, UnitConfigurationGivesUnitLinks) {
  for (const auto& g : standard_geometries()) {
    auto U = cold_gauge_field(2, g.extents, g.n_colors, cplx());
    auto S = smear_links(U);
    EXPECT_LT(max_abs_diff(S, U), 1e-14) << geometry_name({g, 0});
    // Each staple sum is the number of offsets times 1 (the ordering average is normalised).
    const auto D = static_cast<int64_t>(g.extents.size());
    for (int64_t k = 1; k <= 3; ++k)
      EXPECT_LT(max_abs_diff(staple_sum(U, k), static_cast<double>(n_staple_offsets(D, k)) * U), 1e-13);
  }
}

namespace {
/// Reference: Σ over signed transverse sets of size k of the mirrored staples averaged over orderings, by path_product.
torch::Tensor reference_staples(const torch::Tensor& U, int64_t mu, int64_t k) {
  const int64_t D = n_dims(U);
  std::vector<int64_t> tr;
  for (int64_t nu = 0; nu < D; ++nu)
    if (nu != mu) tr.push_back(nu);
  torch::Tensor total = torch::zeros_like(link(U, mu));
  for (int64_t mask = 0; mask < (1 << tr.size()); ++mask) {
    if (__builtin_popcountll(mask) != k) continue;
    std::vector<int64_t> dirs;
    for (size_t i = 0; i < tr.size(); ++i)
      if (mask & (1 << i)) dirs.push_back(tr[i]);
    for (int64_t signs = 0; signs < (1 << k); ++signs) {
      std::vector<Step> steps;
      for (int64_t i = 0; i < k; ++i) steps.push_back({dirs[i], (signs >> i) & 1 ? -1 : 1});
      std::vector<int> perm(k);
      for (int i = 0; i < k; ++i) perm[i] = i;
      int n_perm = 0;
      torch::Tensor avg = torch::zeros_like(total);
      do {
        Path p;
        for (int i : perm) p.push_back(steps[i]);
        p.push_back(fwd(mu));
        for (auto it = perm.rbegin(); it != perm.rend(); ++it) p.push_back({steps[*it].mu, -steps[*it].sign});
        avg = avg + path_product(U, p);
        ++n_perm;
      } while (std::next_permutation(perm.begin(), perm.end()));
      total = total + avg / static_cast<double>(n_perm);
    }
  }
  return total;
}
}  // namespace

TEST(Smearing, MatchesPathProductReference) {
  auto U = rough_field({{3, 4, 3, 3}, 2}, 401, 1, 0.7);
  for (int64_t k = 1; k <= 3; ++k) {
    auto fast = staple_sum(U, k);
    for (int64_t mu = 0; mu < 4; ++mu)
      EXPECT_LT(max_abs_diff(link(fast, mu), reference_staples(U, mu, k)), 1e-12) << "k=" << k << " mu=" << mu;
  }
}

TEST(Smearing, GaugeCovariant) {
  for (const auto& g : standard_geometries()) {
    auto U = rough_field(g, 402);
    auto gen = test_generator(403);
    auto omega = random_gauge_transformation(2, g.extents, g.n_colors, gen, cplx());
    auto S = smear_links(U);
    auto S_transformed = smear_links(gauge_transform(U, omega));
    EXPECT_LT(max_abs_diff(S_transformed, gauge_transform(S, omega)), 1e-12) << geometry_name({g, 0});
  }
}

TEST(Smearing, ReducesToLinkOnSmoothFieldsAtLeadingOrder) {
  // U_μ(x) = exp(i a A_μ(a x)) with a smooth periodic A on the unit torus: S - U = O(a²) (halving a must cut
  // the deviation by at least ~4; the symmetric staple sums cancel the O(a) field-strength terms).
  auto deviation = [](int64_t L) {
    const double a = 1.0 / static_cast<double>(L);
    const std::vector<int64_t> ext{L, L, L};
    auto x = torch::arange(L, real()) * a;
    auto grids = torch::meshgrid({x, x, x}, "ij");
    std::vector<torch::Tensor> comps;
    for (int64_t mu = 0; mu < 3; ++mu) {
      std::vector<torch::Tensor> c;
      for (int64_t aa = 0; aa < 8; ++aa) {
        const double ph = 0.3 * static_cast<double>(aa + 3 * mu);
        c.push_back(torch::sin(2 * M_PI * grids[mu % 3] + ph) * torch::cos(2 * M_PI * grids[(aa + 1) % 3] - ph) +
                    0.5 * torch::cos(2 * M_PI * grids[(mu + 2) % 3] + ph));
      }
      comps.push_back(torch::stack(c, -1));
    }
    auto A = torch::stack(comps, 0).unsqueeze(0);  // [1, 3, L, L, L, 8]
    auto U = su_exp(algebra_to_matrix(a * A, 3));
    return max_abs_diff(smear_links(U), U);
  };
  const double d6 = deviation(6), d12 = deviation(12);
  EXPECT_GT(d6, 1e-4);
  EXPECT_GT(d6 / d12, 3.5) << d6 << " " << d12;  // at least quadratic in a
}

TEST(Smearing, TwoDimensionsHasOnlyPlanarStaples) {
  auto U = rough_field({{4, 6}, 3}, 404);
  EXPECT_LT(max_abs(staple_sum(U, 2)), 1e-300);
  SmearingOptions o;
  auto expected = smearing_s0(o, 2) * U + o.s_pl * staple_sum(U, 1);
  EXPECT_LT(max_abs_diff(smear_links(U, o), expected), 1e-14);
  EXPECT_NEAR(smearing_s0(o, 2), 1.0 - 2 * o.s_pl, 1e-15);
}
