// Tests of LAct and LExp: covariance, initialisation (identity), SU(N) preservation, relu behaviour.
#include "lcnn/lact.h"
#include "lcnn/lexp.h"
#include "lcnn/plaq.h"
#include "test_lcnn_helpers.h"

#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

namespace blockspin::lcnn::testing {
namespace {

class ActExp : public ::testing::TestWithParam<Geometry> {};

TEST_P(ActExp, LActIsCovariant) {
  const auto g = GetParam();
  const auto U = rough_field(g, 201, 2, 1.2);
  const auto omega = random_omega(g, 202);
  const auto W = on_device(Plaq(PlaqOptions().both_orientations(true)))(U) * 1.5;
  const auto Wt = lattice::gauge_transform_covariant(W, omega);
  auto relu = on_device(LAct(LActOptions(W.size(1))));
  const auto r = relu(W);
  EXPECT_LT(max_abs_diff(relu(Wt), lattice::gauge_transform_covariant(r, omega)), 1e-12);
  // Each matrix is either kept or zeroed according to the sign of Re Tr W; both cases occur.
  const auto keep = (lattice::re_trace(W) > 0).unsqueeze(-1).unsqueeze(-1);
  EXPECT_LT(max_abs_diff(r, torch::where(keep, W, torch::zeros_like(W))), 1e-15);
  EXPECT_TRUE(keep.any().item<bool>());
  EXPECT_FALSE(keep.all().item<bool>());
  auto poly = on_device(LAct(LActOptions(W.size(1)).mode("polynomial")));
  EXPECT_LT(max_abs_diff(poly(W), W), 1e-15);  // g = 1 at initialisation
  {
    torch::NoGradGuard ng;
    poly->coefficients.copy_(torch::randn_like(poly->coefficients));
  }
  const auto p = poly(W);
  EXPECT_GT(max_abs_diff(p, W), 1e-2);
  EXPECT_LT(max_abs_diff(poly(Wt), lattice::gauge_transform_covariant(p, omega)), 1e-12);
  EXPECT_THROW(LAct(LActOptions(2).mode("tanh")), std::invalid_argument);
}

TEST_P(ActExp, LExpStartsAsIdentityStaysInSUNAndIsEquivariant) {
  const auto g = GetParam();
  const int64_t D = g.extents.size();
  const auto U = rough_field(g, 211);
  const auto omega = random_omega(g, 212);
  const auto W = on_device(Plaq())(U);
  auto lexp = on_device(LExp(LExpOptions(W.size(1), D)));
  EXPECT_LT(max_abs_diff(lexp(U, W), U), 1e-15);  // β = 0
  {
    torch::NoGradGuard ng;
    lexp->beta.copy_(torch::randn_like(lexp->beta));
  }
  const auto Up = lexp(U, W);
  EXPECT_GT(max_abs_diff(Up, U), 1e-2);
  EXPECT_LT(lattice::su_n_violation(Up).max().item<double>(), 1e-12);
  const auto Upt = lexp(lattice::gauge_transform(U, omega), lattice::gauge_transform_covariant(W, omega));
  EXPECT_LT(max_abs_diff(Upt, lattice::gauge_transform(Up, omega)), 1e-12);
  const auto d = displacement(D);
  EXPECT_LT(max_abs_diff(lexp(lattice::translate(U, d), lattice::translate(W, d)), lattice::translate(Up, d)), 1e-14);
  // Only the traceless anti-hermitian part of W matters: adding a hermitian part and a multiple of 1 changes nothing.
  const auto H = W + lattice::dag(W) + 0.7 * lattice::identity_like(W);
  EXPECT_LT(max_abs_diff(lexp(U, W + H), Up), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Geometries, ActExp, ::testing::ValuesIn(lcnn_geometries()), lattice::testing::geometry_name);

}  // namespace
}  // namespace blockspin::lcnn::testing
