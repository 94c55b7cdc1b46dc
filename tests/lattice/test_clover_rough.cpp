// Clover field strength, energy density and topological charge on rough random fields, against an independent
// construction written out here from explicit link products (torch::roll shifts, no library path or transport code).
//
// On constant abelian fluxes all four clover leaves coincide, so a leaf attached at the wrong site goes unnoticed
// there; on a rough field every leaf is different and any misplaced leaf changes F_μν by O(1).
#include "test_helpers.h"

#include "lattice/field_strength.h"
#include "lattice/layout.h"
#include "lattice/paths.h"

#include <array>
#include <cmath>
#include <ostream>
#include <string>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {

// ---- Independent reference: plain torch on [batch, x.., N, N] tensors -------------------------------------------

/// U_mu(x + s) for a displacement s (one integer per direction): [batch, x.., N, N]. f(x + s) = roll(f, -s).
torch::Tensor link_at(const torch::Tensor& U, int64_t mu, const std::vector<int64_t>& s) {
  auto u = U.select(1, mu);
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] != 0) u = torch::roll(u, {-s[d]}, {1 + static_cast<int64_t>(d)});
  return u;
}
torch::Tensor prod(const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(a, b); }
torch::Tensor dg(const torch::Tensor& a) { return a.transpose(-2, -1).conj(); }

/// Displacement a·mu^ + b·nu^ in D dimensions.
std::vector<int64_t> disp(int64_t D, int64_t mu, int64_t nu, int64_t a, int64_t b) {
  std::vector<int64_t> s(D, 0);
  s[mu] += a;
  s[nu] += b;
  return s;
}

/// The four plaquette leaves at x in the (mu, nu) plane, each starting and ending at x and oriented mu -> nu
/// (counter-clockwise in the (mu, nu) plane), written link by link:
///   leaf 0 (plaquette at x):          U_μ(x) U_ν(x+μ) U_μ(x+ν)† U_ν(x)†
///   leaf 1 (plaquette at x-μ):        U_ν(x) U_μ(x-μ+ν)† U_ν(x-μ)† U_μ(x-μ)
///   leaf 2 (plaquette at x-μ-ν):      U_μ(x-μ)† U_ν(x-μ-ν)† U_μ(x-μ-ν) U_ν(x-ν)
///   leaf 3 (plaquette at x-ν):        U_ν(x-ν)† U_μ(x-ν) U_ν(x+μ-ν) U_μ(x)†
std::array<torch::Tensor, 4> leaves(const torch::Tensor& U, int64_t mu, int64_t nu) {
  const int64_t D = U.dim() - 4;
  auto Um = [&](int64_t a, int64_t b) { return link_at(U, mu, disp(D, mu, nu, a, b)); };
  auto Un = [&](int64_t a, int64_t b) { return link_at(U, nu, disp(D, mu, nu, a, b)); };
  return {prod(prod(prod(Um(0, 0), Un(1, 0)), dg(Um(0, 1))), dg(Un(0, 0))),
          prod(prod(prod(Un(0, 0), dg(Um(-1, 1))), dg(Un(-1, 0))), Um(-1, 0)),
          prod(prod(prod(dg(Um(-1, 0)), dg(Un(-1, -1))), Um(-1, -1)), Un(0, -1)),
          prod(prod(prod(dg(Un(0, -1)), Um(0, -1)), Un(1, -1)), dg(Um(0, 0)))};
}

/// F = (1/8i) [(Q - Q†) - Tr(Q - Q†)/N] with Q the sum of the leaves (field_strength.h): [batch, x.., N, N].
torch::Tensor clover_f(const torch::Tensor& Q) {
  const int64_t N = Q.size(-1);
  auto A = Q - dg(Q);
  auto tr = A.diagonal(0, -2, -1).sum(-1);  // [batch, x..]
  auto eye = torch::eye(N, Q.options());
  auto traceless = A - tr.unsqueeze(-1).unsqueeze(-1) * eye / static_cast<double>(N);
  return traceless / c10::complex<double>(0.0, 8.0);
}

torch::Tensor reference_f(const torch::Tensor& U, int64_t mu, int64_t nu) {
  auto L = leaves(U, mu, nu);
  return clover_f(L[0] + L[1] + L[2] + L[3]);
}

/// Re Tr(a b): [batch, x..].
torch::Tensor re_tr(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::real(prod(a, b).diagonal(0, -2, -1).sum(-1));
}

/// F_μν for all ordered pairs (F_νμ = -F_μν, F_μμ = 0), from a function giving F for μ < ν.
template <class FieldStrength>
std::vector<std::vector<torch::Tensor>> all_f(const torch::Tensor& U, FieldStrength f) {
  const int64_t D = U.dim() - 4;
  std::vector<std::vector<torch::Tensor>> F(D, std::vector<torch::Tensor>(D));
  for (int64_t mu = 0; mu < D; ++mu)
    for (int64_t nu = mu + 1; nu < D; ++nu) {
      F[mu][nu] = f(U, mu, nu);
      F[nu][mu] = -F[mu][nu];
    }
  return F;
}

/// E(x) = (1/2) Σ_{μ≠ν} Tr F_μν² over ordered pairs.
torch::Tensor reference_energy(const std::vector<std::vector<torch::Tensor>>& F) {
  torch::Tensor E;
  for (size_t mu = 0; mu < F.size(); ++mu)
    for (size_t nu = 0; nu < F.size(); ++nu)
      if (mu != nu) {
        auto e = 0.5 * re_tr(F[mu][nu], F[mu][nu]);
        E = E.defined() ? E + e : e;
      }
  return E;
}

/// q(x) = (1/32π²) Σ over all 24 permutations (μ,ν,ρ,σ) of sign · Re Tr F_μν F_ρσ (D = 4).
torch::Tensor reference_charge_density(const std::vector<std::vector<torch::Tensor>>& F) {
  std::array<int, 4> p{0, 1, 2, 3};
  torch::Tensor q;
  do {
    int inversions = 0;
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) inversions += p[i] > p[j];
    const double sign = inversions % 2 ? -1.0 : 1.0;
    auto t = sign * re_tr(F[p[0]][p[1]], F[p[2]][p[3]]);
    q = q.defined() ? q + t : t;
  } while (std::next_permutation(p.begin(), p.end()));
  return q / (32.0 * M_PI * M_PI);
}

/// The bug this file guards against: leaf 1 taken from the plaquette at x+μ (transported to x by U_μ(x)) instead
/// of the one at x-μ. Used only to show that the comparisons below have teeth.
torch::Tensor misplaced_leaf_f(const torch::Tensor& U, int64_t mu, int64_t nu) {
  auto L = leaves(U, mu, nu);
  auto wrong = path_product(U, {fwd(mu), fwd(mu), fwd(nu), bwd(mu), bwd(nu), bwd(mu)}).squeeze(1);
  return clover_f(L[0] + wrong + L[2] + L[3]);
}

// ---- Configurations ----------------------------------------------------------------------------------------------

struct RoughCase {
  int64_t n_colors;
  bool haar;  ///< Haar-random links (else near-identity with spread 0.8)
};

void PrintTo(const RoughCase& c, std::ostream* os) { *os << "SU(" << c.n_colors << (c.haar ? ") Haar" : ") rough"); }

std::string case_name(const ::testing::TestParamInfo<RoughCase>& info) {
  return "SU" + std::to_string(info.param.n_colors) + (info.param.haar ? "_haar" : "_rough");
}

const std::vector<int64_t> kExtents{4, 5, 4, 6};

torch::Tensor make_field(const RoughCase& c) {
  auto gen = test_generator(c.haar ? 9101 : 9102);
  return c.haar ? hot_gauge_field(2, kExtents, c.n_colors, gen, cplx())
                : near_identity_gauge_field(2, kExtents, c.n_colors, 0.8, gen, cplx());
}

class CloverRough : public ::testing::TestWithParam<RoughCase> {};

}  // namespace

// Checks the explicit link-by-link leaves against path_product of the four μ->ν loops (two routes to the same leaves).
TEST_P(CloverRough, LeavesMatchPathProducts) {
  auto U = make_field(GetParam());
  for (auto [mu, nu] : planes(4)) {
    auto L = leaves(U, mu, nu);
    const std::array<Path, 4> paths{Path{fwd(mu), fwd(nu), bwd(mu), bwd(nu)}, Path{fwd(nu), bwd(mu), bwd(nu), fwd(mu)},
                                    Path{bwd(mu), bwd(nu), fwd(mu), fwd(nu)}, Path{bwd(nu), fwd(mu), fwd(nu), bwd(mu)}};
    for (int i = 0; i < 4; ++i)
      EXPECT_LT(max_abs_diff(path_product(U, paths[i]).squeeze(1), L[i]), 1e-13) << "leaf " << i;
    // The leaves really are different on this field (unlike on constant fluxes).
    EXPECT_GT(max_abs_diff(L[0], L[1]), 0.3);
  }
}

// Checks clover() and field_strength() against the explicit four-leaf sum and the documented F formula, every plane.
TEST_P(CloverRough, FieldStrengthMatchesExplicitLeaves) {
  const auto c = GetParam();
  auto U = make_field(c);
  for (auto [mu, nu] : planes(4)) {
    auto L = leaves(U, mu, nu);
    auto Q = L[0] + L[1] + L[2] + L[3];
    EXPECT_LT(max_abs_diff(clover(U, mu, nu).squeeze(1), Q), 1e-12) << "plane " << mu << nu;
    auto F_ref = reference_f(U, mu, nu);
    auto F = field_strength(U, mu, nu);
    ASSERT_EQ(F.sizes(), (std::vector<int64_t>{2, 1, 4, 5, 4, 6, c.n_colors, c.n_colors}));
    EXPECT_LT(max_abs_diff(F.squeeze(1), F_ref), 1e-12) << "plane " << mu << nu;
    EXPECT_GT(max_abs(F_ref), 0.3);  // F is O(1) on this field
  }
  // Orientation: F_νμ computed directly is -F_μν.
  EXPECT_LT(max_abs_diff(field_strength(U, 2, 0).squeeze(1), -reference_f(U, 0, 2)), 1e-12);
}

// Checks energy_density_clover(x) = (1/2) Σ_{μ≠ν} Tr F_μν² with F from the explicit leaves, site by site.
TEST_P(CloverRough, EnergyDensityMatchesExplicitLeaves) {
  auto U = make_field(GetParam());
  auto E_ref = reference_energy(all_f(U, reference_f));
  auto E = energy_density_clover(U);
  ASSERT_EQ(E.sizes(), E_ref.sizes());
  EXPECT_LT(max_abs_diff(E, E_ref), 1e-12);
  EXPECT_GT(E_ref.min().item<double>(), 0.1);
}

// Checks q(x) = (1/32π²) ε_μνρσ Tr F_μν F_ρσ (all 24 permutations) and Q = Σ_x q(x) against the explicit leaves.
TEST_P(CloverRough, TopologicalChargeMatchesExplicitLeaves) {
  auto U = make_field(GetParam());
  auto q_ref = reference_charge_density(all_f(U, reference_f));
  auto q = topological_charge_density(U);
  ASSERT_EQ(q.sizes(), q_ref.sizes());
  EXPECT_LT(max_abs_diff(q, q_ref), 1e-12);
  EXPECT_GT(max_abs(q_ref), 1e-3);  // a rough field has a sizeable, non-integer local charge
  auto Q_ref = q_ref.flatten(1).sum(1);
  EXPECT_LT(max_abs_diff(topological_charge(U), Q_ref), 1e-12) << Q_ref;
}

// Checks that a clover with one leaf at x+μ instead of x-μ differs from the reference by far more than the
// tolerances above (F, E and Q all move by >= 1e-3), i.e. the comparisons above would catch that bug.
TEST_P(CloverRough, MisplacedLeafIsDetected) {
  auto U = make_field(GetParam());
  const auto F_ref = all_f(U, reference_f);
  const auto F_bad = all_f(U, misplaced_leaf_f);
  for (auto [mu, nu] : planes(4)) EXPECT_GT(max_abs_diff(F_bad[mu][nu], F_ref[mu][nu]), 0.05);
  EXPECT_GT(max_abs_diff(reference_energy(F_bad), reference_energy(F_ref)), 1e-2);
  EXPECT_GT(max_abs_diff(reference_charge_density(F_bad), reference_charge_density(F_ref)), 1e-3);
  EXPECT_GT(max_abs_diff(reference_charge_density(F_bad).flatten(1).sum(1),
                         reference_charge_density(F_ref).flatten(1).sum(1)),
            1e-3);
}

INSTANTIATE_TEST_SUITE_P(Fields, CloverRough,
                         ::testing::Values(RoughCase{3, false}, RoughCase{3, true}, RoughCase{2, false},
                                           RoughCase{2, true}),
                         case_name);
