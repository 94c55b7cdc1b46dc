// Tests of the SU(N) maximiser, blocked links, plain RG blocking and the blocking kernel.
#include "test_helpers.h"

#include "lattice/blocking.h"
#include "lattice/derivatives.h"
#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"
#include "lattice/su_n_check.h"
#include "lattice/su_n_maximiser.h"

#include <string>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;

namespace {
torch::Tensor value(const torch::Tensor& W, const torch::Tensor& Q) { return re_trace_mm(W, dag(Q)); }

/// Ginibre matrices, some made (nearly) singular: rank N-1, rank 1, zero, and tiny singular values.
torch::Tensor test_matrices(int64_t N, uint64_t seed) {
  auto gen = test_generator(seed);
  auto Q = torch::randn({40, N, N}, gen, cplx());
  auto svd = torch::linalg_svd(Q, false);
  auto s = std::get<1>(svd).to(torch::kComplexDouble);
  s.narrow(0, 0, 10).narrow(1, N - 1, 1).zero_();      // rank N-1
  s.narrow(0, 10, 5).narrow(1, 1, N - 1).zero_();      // rank 1
  s.narrow(0, 15, 5).narrow(1, N - 1, 1).mul_(1e-13);  // nearly singular
  s.narrow(0, 20, 2).zero_();                          // zero
  return mat_mul(std::get<0>(svd) * s.unsqueeze(-2), std::get<2>(svd));
}
}  // namespace

class Maximiser : public ::testing::TestWithParam<int64_t> {};

TEST_P(Maximiser, IsStationarySuNAndBeatsRandomElements) {
  const int64_t N = GetParam();
  auto Q = test_matrices(N, 500 + N);
  auto W = su_n_maximiser(Q);
  EXPECT_LT(max_abs(su_n_violation(W)), 1e-12);
  auto scale = Q.abs().amax({-2, -1}).clamp_min(1.0);
  EXPECT_LT(max_abs(maximiser_gradient(W, Q) / scale.unsqueeze(-1)), 1e-12);
  auto best = value(W, Q);
  auto gen = test_generator(600 + N);
  for (int trial = 0; trial < 50; ++trial) {
    auto R = random_su_n({Q.size(0)}, N, gen, cplx());
    EXPECT_TRUE((value(R, Q) <= best + 1e-12).all().item<bool>());
    // Small moves away from W never increase the value (local maximum, not only stationary).
    auto near = mat_mul(random_su_n_near_identity({Q.size(0)}, N, 1e-3, gen, cplx()), W);
    EXPECT_TRUE((value(near, Q) <= best + 1e-12).all().item<bool>());
  }
  // At least as good as the polar decomposition with the plain determinant-phase fix, strictly better somewhere.
  auto polar = value(project_su_n(Q), Q);
  EXPECT_TRUE((polar <= best + 1e-12).all().item<bool>());
  if (N > 2) {
    EXPECT_GT((best - polar).max().item<double>(), 1e-6);
  }
}

TEST_P(Maximiser, RecoversScaledGroupElements) {
  const int64_t N = GetParam();
  auto gen = test_generator(700 + N);
  auto R = random_su_n({20}, N, gen, cplx());
  auto W = su_n_maximiser(2.5 * R);
  EXPECT_LT(max_abs_diff(W, R), 1e-12);
}

// The per-matrix phase solver (kernels "fused", the default) and the batched torch path find the same maximum: the
// same value everywhere, the same W where it is unique (the generic rows 22..39 of test_matrices).
TEST_P(Maximiser, FusedAndTorchPathsAgree) {
  const int64_t N = GetParam();
  auto Q = test_matrices(N, 800 + N);
  const auto W = su_n_maximiser(Q);
  torch::Tensor W_ref;
  {
    kernels::ModeGuard torch_path(kernels::Mode::torch);
    W_ref = su_n_maximiser(Q);
  }
  auto scale = Q.abs().amax({-2, -1}).clamp_min(1.0);
  EXPECT_LT(max_abs((value(W, Q) - value(W_ref, Q)) / scale), 1e-13);
  EXPECT_LT(max_abs_diff(W.narrow(0, 22, 18), W_ref.narrow(0, 22, 18)), 1e-12);
  // float: the same maximum to single-precision rounding
  const auto Wf = su_n_maximiser(Q.to(torch::kComplexFloat)).to(torch::kComplexDouble);
  EXPECT_LT(max_abs((value(Wf, Q) - value(W_ref, Q)) / scale), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Colors, Maximiser, ::testing::Values(2, 3, 4));

TEST(Blocking, ShapesAndOddExtents) {
  auto U = rough_field({{4, 6, 2, 4}, 2}, 510, 2);
  auto Q = block_links(U);
  EXPECT_EQ(Q.sizes(), torch::IntArrayRef({2, 4, 2, 3, 1, 2, 2, 2}));
  auto V = rg_block(U);
  EXPECT_EQ(V.sizes(), Q.sizes());
  EXPECT_LT(max_abs(su_n_violation(V)), 1e-13);
  auto odd = rough_field({{4, 5, 4}, 2}, 511, 1);
  try {
    block_links(odd);
    FAIL() << "odd extent accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("odd extent 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rg_block(odd), std::invalid_argument);
}

TEST(Blocking, UnitConfigurationBlocksToUnit) {
  auto U = cold_gauge_field(1, {4, 4, 4, 4}, 3, cplx());
  EXPECT_LT(max_abs_diff(block_links(U), cold_gauge_field(1, {2, 2, 2, 2}, 3, cplx())), 1e-14);
  EXPECT_LT(max_abs_diff(rg_block(U), cold_gauge_field(1, {2, 2, 2, 2}, 3, cplx())), 1e-14);
}

class Kernel : public ::testing::TestWithParam<Geometry> {};

TEST_P(Kernel, NonNegativeAndZeroOnBlockedField) {
  const auto g = GetParam();
  auto U = rough_field(g, 520, 2, 0.5);
  auto V = rg_block(U);
  auto T0 = blocking_kernel(U, V);
  EXPECT_LT(max_abs(T0), 1e-12);
  auto gen = test_generator(521);
  auto ext = extents(V);
  auto other = near_identity_gauge_field(2, ext, g.n_colors, 0.4, gen, cplx());
  auto T1 = blocking_kernel(U, other);
  EXPECT_TRUE((T1 > 1e-3).all().item<bool>()) << T1;
  auto hot = hot_gauge_field(2, ext, g.n_colors, gen, cplx());
  EXPECT_TRUE((blocking_kernel(U, hot) > 0).all().item<bool>());
  auto rough = rough_field(g, 522, 2, 1.5);  // rough fine fields too
  EXPECT_TRUE((blocking_kernel(rough, other) >= -1e-12).all().item<bool>());
  EXPECT_LT(max_abs(blocking_kernel(rough, rg_block(rough))), 1e-12);
}

TEST_P(Kernel, GaugeInvariant) {
  const auto g = GetParam();
  auto U = rough_field(g, 530, 2, 0.5);
  auto gen = test_generator(531);
  auto V = near_identity_gauge_field(2, extents(rg_block(U)), g.n_colors, 0.4, gen, cplx());
  auto omega = random_gauge_transformation(2, g.extents, g.n_colors, gen, cplx());
  auto omega_B = omega;
  for (size_t d = 0; d < g.extents.size(); ++d) omega_B = omega_B.slice(1 + d, 0, c10::nullopt, 2);
  auto T = blocking_kernel(U, V);
  auto T_g = blocking_kernel(gauge_transform(U, omega), gauge_transform(V, omega_B));
  EXPECT_LT(max_abs_diff(T, T_g), 1e-11 * std::max(1.0, max_abs(T)));
}

TEST_P(Kernel, CoarseDerivativeIsMinusKappaOverNReTr) {
  // d/dε T[U, exp(iε t^a) V] = -(κ/N) Re Tr(i t^a V Q†), the D^FP formula at fixed U.
  const auto g = GetParam();
  auto U = rough_field(g, 540, 2, 0.5);
  auto gen = test_generator(541);
  auto V = near_identity_gauge_field(2, extents(rg_block(U)), g.n_colors, 0.4, gen, cplx());
  BlockingOptions o;
  o.kappa = 3.7;
  auto Q = block_links(U, o.smearing);
  auto autograd = autograd_derivative([&](const torch::Tensor& v) { return blocking_kernel(U, v, o); }, V);
  auto t = generators(g.n_colors, cplx()) * c10::complex<double>(0, 1);  // i t^a
  auto M = mat_mul_dag(V, Q).unsqueeze(-3);                              // [.., 1, N, N]
  auto formula = -(o.kappa / g.n_colors) * re_trace_mm(t, M);
  EXPECT_GT(max_abs(formula), 1e-3);
  EXPECT_LT(max_abs_diff(autograd, formula), 1e-12 * max_abs(formula));
}

INSTANTIATE_TEST_SUITE_P(Geometries, Kernel,
                         ::testing::Values(Geometry{{4, 6}, 3}, Geometry{{4, 2, 4}, 2}, Geometry{{4, 4, 2, 4}, 2},
                                           Geometry{{2, 4, 2, 4}, 3}),
                         geometry_name);

TEST(Blocking, RejectsLinksOutsideSuN) {
  auto U = rough_field({{4, 4, 4, 4}, 2}, 550, 2, 0.5);
  auto V = rg_block(U);
  auto bad = V.clone();
  bad.index_put_({1, 2, 0, 1, 1, 0}, 1.1 * bad.index({1, 2, 0, 1, 1, 0}));
  try {
    blocking_kernel(U, bad);
    FAIL() << "non-SU(N) link accepted";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("batch 1, mu 2, site (0, 1, 1, 0)"), std::string::npos) << msg;
  }
  auto bad_fine = U.clone();
  bad_fine.index_put_({0, 0, 3, 3, 3, 3}, torch::zeros({2, 2}, cplx()));
  EXPECT_THROW(rg_block(bad_fine), std::invalid_argument);
  EXPECT_THROW(blocking_kernel(U, rough_field({{4, 4, 4, 4}, 2}, 551, 2)), std::invalid_argument);  // wrong shape
  EXPECT_NO_THROW(check_su_n(U));
}
