// Tests of path products and loop staples.
#include "test_helpers.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

TEST(Paths, ProductsMatchExplicitLinks) {
  auto U = rough_field({{3, 4, 5}, 3}, 51, 1);
  // Path +0, +1, -0 from x = (1, 2, 3): U_0(x) U_1(x+0) U_0(x+1)†.
  auto P = path_product(U, {fwd(0), fwd(1), bwd(0)});
  auto u = [&](int64_t mu, int64_t a, int64_t b, int64_t c) { return U[0][mu][a % 3][b % 4][c % 5]; };
  auto explicit_product = mat_mul_dag(mat_mul(u(0, 1, 2, 3), u(1, 2, 2, 3)), u(0, 1, 3, 3));
  EXPECT_LT(max_abs_diff(P[0][0][1][2][3], explicit_product), 1e-14);
  // Straight lines wrap around the periodic lattice.
  auto L = line_product(U, 2, 7);
  auto expect = u(2, 0, 1, 4);
  for (int64_t k = 1; k < 7; ++k) expect = mat_mul(expect, u(2, 0, 1, 4 + k));
  EXPECT_LT(max_abs_diff(L[0][0][0][1][4], expect), 1e-13);
}

TEST(Paths, ReversedLoopIsHermitianConjugate) {
  auto U = rough_field({{4, 3, 3, 4}, 2}, 52, 1);
  const Path loop = rectangle(1, 3, 2, 1);
  EXPECT_LT(max_abs_diff(path_product(U, reversed(loop)), dag(path_product(U, loop))), 1e-14);
  EXPECT_LT(max_abs_diff(path_product(U, rectangle(0, 2, 1, 1)), plaquette_field(U, 0, 2)), 1e-14);
}

TEST(Paths, StaplesCloseTheLoops) {
  // Σ_x Re Tr(U_mu(x) A_mu(x)) counts every loop once per occurrence of a mu-link in it.
  auto U = rough_field({{4, 3, 5, 3}, 3}, 53, 2);
  const Path loop = {fwd(0), fwd(0), fwd(1), bwd(0), bwd(2), bwd(0), fwd(2), bwd(1)};  // a twisted closed path
  auto total = re_trace(path_product(U, loop)).flatten(1).sum(1);
  for (int64_t mu = 0; mu < 4; ++mu) {
    int64_t occurrences = 0;
    for (auto s : loop) occurrences += s.mu == mu;
    auto closed = re_trace(mat_mul(link(U, mu), loop_staples(U, mu, loop))).flatten(1).sum(1);
    EXPECT_LT(max_abs_diff(closed, static_cast<double>(occurrences) * total), 1e-11) << "mu=" << mu;
  }
}
