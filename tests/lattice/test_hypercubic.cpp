// Tests for lattice/hypercubic.h: the group, the conventions (which plane goes where), invariance of gauge actions
// under all 384 elements in D = 4 and of their link derivatives taken by autograd through the map.
#include "lattice/hypercubic.h"

#include "lattice/derivatives.h"
#include "lattice/gauge_action.h"
#include "lattice/observables.h"
#include "test_helpers.h"

#include <set>
#include <utility>

namespace blockspin::lattice {
namespace {

using testing::max_abs_diff;
using testing::rough_field;

TEST(Hypercubic, GroupElementsAreDistinctAndZeroIsTheIdentity) {
  for (int64_t D : {2, 3, 4}) {
    const int64_t n = hypercubic_group_size(D);
    EXPECT_EQ(n, D == 2 ? 8 : D == 3 ? 48 : 384);
    std::set<std::pair<std::vector<int64_t>, std::vector<bool>>> seen;
    for (int64_t k = 0; k < n; ++k) {
      const auto g = hypercubic_element(D, k);
      seen.insert({g.permutation, g.reflected});
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
    EXPECT_THROW(hypercubic_element(D, n), std::invalid_argument);
  }
  const auto id = hypercubic_element(4, 0);
  EXPECT_EQ(id.describe(), "perm (0 1 2 3)");
  EXPECT_EQ(hypercubic_element(4, 16 + 9).describe(), "perm (0 1 3 2), reflect 0 3");
  const auto U = rough_field({{3, 3, 3, 3}, 2}, 1, 1);
  EXPECT_EQ(max_abs_diff(hypercubic_transform(U, id), U), 0.0);
}

// (U^π)_ν(y) = U_{π(ν)}(x): the 1×2 loops of U^π in directions (ν, ρ) are U's in directions (π(ν), π(ρ)), site
// averaged. Reflections keep every loop's average (a reflected loop is a loop of the other orientation: Re Tr W† = Re
// Tr W).
TEST(Hypercubic, PermutationsMovePlanesAndReflectionsKeepLoops) {
  const auto U = rough_field({{3, 3, 3, 3}, 3}, 2, 1);
  auto loop12 = [](const torch::Tensor& V, int64_t mu, int64_t nu) {
    return wilson_loop_field(V, mu, nu, 1, 2).flatten(1).mean(1);
  };
  for (int64_t index : {16 * 1, 16 * 7, 16 * 23, 16 * 14 + 5, 16 * 9 + 15}) {
    const auto g = hypercubic_element(4, index);
    const auto V = hypercubic_transform(U, g);
    for (int64_t nu = 0; nu < 4; ++nu)
      for (int64_t rho = 0; rho < 4; ++rho) {
        if (nu == rho) continue;
        const auto expected =
            loop12(U, g.permutation[static_cast<size_t>(nu)], g.permutation[static_cast<size_t>(rho)]);
        EXPECT_LT(max_abs_diff(loop12(V, nu, rho), expected), 1e-13) << g.describe() << " " << nu << rho;
      }
  }
  // Not the identity: the links themselves move.
  EXPECT_GT(max_abs_diff(hypercubic_transform(U, hypercubic_element(4, 1)), U), 0.1);
  EXPECT_GT(max_abs_diff(hypercubic_transform(U, hypercubic_element(4, 16)), U), 0.1);
}

TEST(Hypercubic, GaugeActionsAreInvariantUnderEveryElement) {
  const auto U = rough_field({{3, 3, 3, 3}, 3}, 3, 2);
  const auto symanzik = GaugeAction::symanzik(1.0);
  const auto S = symanzik(U);
  double worst = 0;
  for (int64_t k = 0; k < hypercubic_group_size(4); ++k)
    worst = std::max(worst, max_abs_diff(symanzik(hypercubic_transform(U, hypercubic_element(4, k))), S));
  EXPECT_LT(worst / S.abs().max().item<double>(), 1e-13);
}

// The link derivative of S[U^g] with respect to U, by autograd through the map, equals that of S for an invariant S:
// what training a learned action on transformed inputs against untransformed labels relies on.
TEST(Hypercubic, DerivativesThroughTheMapOfAnInvariantActionAreUnchanged) {
  const auto U = rough_field({{3, 3, 3, 3}, 3}, 4, 2);
  const auto iwasaki = GaugeAction::iwasaki(1.0);
  const auto D0 = iwasaki.derivative(U);
  for (int64_t index : {1, 2, 16, 16 * 5 + 3, 16 * 23 + 15, 16 * 12 + 6}) {
    const auto g = hypercubic_element(4, index);
    const ActionFunctional transformed = [&](const torch::Tensor& V) { return iwasaki(hypercubic_transform(V, g)); };
    const auto D = autograd_derivative(transformed, U);
    EXPECT_LT(max_abs_diff(D, D0), 1e-12) << g.describe();
    // A non-invariant functional (one plane's plaquettes) shows the map is really taken: its derivative changes.
    const ActionFunctional plane = [&](const torch::Tensor& V) {
      return plaquette_per_plane(hypercubic_transform(V, g)).select(1, 0);
    };
    const ActionFunctional plane0 = [&](const torch::Tensor& V) { return plaquette_per_plane(V).select(1, 0); };
    if (g.permutation[0] != 0 || g.permutation[1] != 1) {
      EXPECT_GT(max_abs_diff(autograd_derivative(plane, U), autograd_derivative(plane0, U)), 1e-3) << g.describe();
    }
  }
}

// The batched single-gather form is the row-by-row transform bit for bit, also in the derivative of a functional that
// is not invariant (so every link's route matters), on a lattice whose first axis has another extent.
TEST(Hypercubic, BatchTransformIsTheRowByRowTransform) {
  const auto U = rough_field({{4, 3, 3, 3}, 3}, 6, 6);
  std::vector<HypercubicElement> elements;
  for (int64_t index : {0, 15, 16 * 2 + 6, 16 * 3 + 9, 16 * 4 + 15, 16 * 5 + 1})  // permutations keep axis 0
    elements.push_back(hypercubic_element(4, index));
  auto row_by_row = [&](const torch::Tensor& V) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < V.size(0); ++b)
      rows.push_back(hypercubic_transform(V.narrow(0, b, 1), elements[static_cast<size_t>(b)]));
    return torch::cat(rows, 0);
  };
  EXPECT_EQ(max_abs_diff(hypercubic_transform_batch(U, elements), row_by_row(U)), 0.0);
  auto plane = [](const torch::Tensor& V) {
    return plaquette_per_plane(V).select(1, 0) + 0.3 * plaquette_per_plane(V).select(1, 4);
  };
  const auto D_batch =
      autograd_derivative([&](const torch::Tensor& V) { return plane(hypercubic_transform_batch(V, elements)); }, U);
  const auto D_rows = autograd_derivative([&](const torch::Tensor& V) { return plane(row_by_row(V)); }, U);
  EXPECT_GT(D_rows.abs().max().item<double>(), 1e-3);
  EXPECT_EQ(max_abs_diff(D_batch, D_rows), 0.0);
  elements.pop_back();
  EXPECT_THROW(hypercubic_transform_batch(U, elements), std::invalid_argument);
}

TEST(Hypercubic, PermutingAxesOfDifferentExtentsIsAnError) {
  const auto U = rough_field({{4, 3, 3, 3}, 2}, 5, 1);
  EXPECT_THROW(permute_axes(U, {1, 0, 2, 3}), std::invalid_argument);
  EXPECT_NO_THROW(permute_axes(U, {0, 2, 1, 3}));
  EXPECT_THROW(permute_axes(U, {0, 0, 1, 2}), std::invalid_argument);
  EXPECT_NO_THROW(reflect_axis(U, 0));
}

}  // namespace
}  // namespace blockspin::lattice
