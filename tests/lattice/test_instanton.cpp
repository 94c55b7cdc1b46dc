// Tests of the discretised BPST instanton: SU(N) validity and Wilson action against the continuum 8π²/g².
#include "test_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/instanton.h"
#include "lattice/su_n.h"

#include <cmath>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
/// Wilson action / (8π²/g²), over the whole torus and over the plaquettes that do not cross the periodic boundary
/// (the singular-gauge field decays only like ρ²/|x|³, so the boundary plaquettes carry a finite-volume mismatch).
std::pair<double, double> wilson_ratio(int64_t L, double rho, int64_t N) {
  InstantonOptions o;
  o.rho = rho;
  auto U = bpst_instanton({L, L, L, L}, N, o, cplx());
  const double beta = 2.0 * static_cast<double>(N);  // g = 1
  auto density = GaugeAction::wilson(beta).density(U)[0];
  using torch::indexing::Slice;
  auto interior = density.index({Slice(0, L - 1), Slice(0, L - 1), Slice(0, L - 1), Slice(0, L - 1)}).sum();
  const double cont = bpst_continuum_action(beta, N);
  return {density.sum().item<double>() / cont, interior.item<double>() / cont};
}
}  // namespace

TEST(Instanton, IsValidSuNField) {
  for (int64_t N : {2, 3}) {
    InstantonOptions o;
    o.rho = 1.5;
    auto U = bpst_instanton({6, 6, 6, 6}, N, o, cplx());
    EXPECT_EQ(U.sizes(), torch::IntArrayRef({1, 4, 6, 6, 6, 6, N, N}));
    EXPECT_LT(max_abs(su_n_violation(U)), 1e-13);
  }
  EXPECT_THROW(bpst_instanton({6, 6, 6}, 2, {}, cplx()), std::invalid_argument);
}

TEST(Instanton, ContinuumActionConvention) {
  // 8π²/g² with β = 2N/g²: g = 1 -> 8π² for every N.
  EXPECT_NEAR(bpst_continuum_action(4.0, 2), 8 * M_PI * M_PI, 1e-12);
  EXPECT_NEAR(bpst_continuum_action(6.0, 3), 8 * M_PI * M_PI, 1e-12);
}

TEST(Instanton, WilsonActionApproachesContinuumValue) {
  // Interior Wilson action: S_W ≈ (8π²/g²)(1 - (a/ρ)²/5) minus the small part of the action density outside the
  // box; growing ρ at fixed L reduces the lattice artefact.
  const auto [full1, int1] = wilson_ratio(16, 1.0, 2);
  const auto [full2, int2] = wilson_ratio(16, 2.0, 2);
  std::cout << "[ info ] S_W / (8π²/g²) on 16^4: rho=1: " << full1 << " (interior " << int1 << "); rho=2: " << full2
            << " (interior " << int2 << ")\n";
  EXPECT_NEAR(int2, 1.0, 0.08);
  EXPECT_GT(int2, int1);
  EXPECT_LT(int1, 0.95);
  // The SU(3) embedding has the same action in units of 8π²/g².
  EXPECT_NEAR(wilson_ratio(8, 2.0, 3).first, wilson_ratio(8, 2.0, 2).first, 1e-12);
}
