// Tests of LConv, LBilin and LConvBilin: definition, covariance, translation, 1x2 Wilson loop, parameter counts.
#include "lcnn/common.h"
#include "lcnn/lbilin.h"
#include "lcnn/lconv.h"
#include "lcnn/lconv_bilin.h"
#include "lcnn/plaq.h"
#include "lcnn/trace.h"
#include "test_lcnn_helpers.h"

#include "lattice/matrix_ops.h"
#include "lattice/observables.h"
#include "lattice/paths.h"

namespace blockspin::lcnn::testing {
namespace {

using lattice::dag;
using lattice::mat_mul;
using lattice::mat_mul_dag;

int64_t count_parameters_of(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

class MixingLayers : public ::testing::TestWithParam<Geometry> {};

TEST_P(MixingLayers, LConvIsCovariantAndTranslationEquivariant) {
  const auto g = GetParam();
  const int64_t D = g.extents.size();
  const auto U = rough_field(g, 101);
  const auto omega = random_omega(g, 102);
  const auto W = on_device(Plaq(PlaqOptions().both_orientations(true)))(U);
  seed_weights(103);
  for (bool cw : {false, true}) {
    auto conv = on_device(LConv(LConvOptions(W.size(1), 3, 3, D).dilation(1).complex_weights(cw)));
    const auto out = conv(U, W);
    auto expected = W.sizes().vec();
    expected[1] = 3;
    ASSERT_EQ(out.sizes(), torch::IntArrayRef(expected));
    EXPECT_GT(max_abs(out), 1e-2);
    const auto out_t = conv(lattice::gauge_transform(U, omega), lattice::gauge_transform_covariant(W, omega));
    EXPECT_LT(max_abs_diff(out_t, lattice::gauge_transform_covariant(out, omega)), 1e-12) << "complex=" << cw;
    const auto d = displacement(D);
    EXPECT_LT(max_abs_diff(conv(lattice::translate(U, d), lattice::translate(W, d)), lattice::translate(out, d)),
              1e-13);
  }
}

TEST_P(MixingLayers, LBilinAndLConvBilinAreCovariant) {
  const auto g = GetParam();
  const int64_t D = g.extents.size();
  const auto U = rough_field(g, 111);
  const auto omega = random_omega(g, 112);
  const auto W = on_device(Plaq())(U);
  const int64_t P = W.size(1);
  const auto Wt = lattice::gauge_transform_covariant(W, omega);
  const auto Ut = lattice::gauge_transform(U, omega);
  seed_weights(113);
  // Both contraction orders of LBilin (n_A <= n_B and n_A > n_B), all combinations of the input extensions.
  for (bool conj : {false, true})
    for (bool unit : {false, true}) {
      const auto W2 = W.narrow(1, 0, 1);
      for (auto [a, b] : {std::pair{W, W2}, std::pair{W2, W}}) {
        auto bil = on_device(LBilin(LBilinOptions(a.size(1), b.size(1), 2).add_conjugate(conj).add_unit(unit)));
        const auto out = bil(a, b);
        const auto at = lattice::gauge_transform_covariant(a, omega), bt = lattice::gauge_transform_covariant(b, omega);
        EXPECT_LT(max_abs_diff(bil(at, bt), lattice::gauge_transform_covariant(out, omega)), 1e-12);
      }
    }
  for (int64_t K : {1, 2}) {
    auto cb = on_device(LConvBilin(LConvBilinOptions(P, 4, K, D).dilation(2)));
    const auto out = cb(U, W);
    EXPECT_EQ(out.size(1), 4);
    EXPECT_LT(max_abs_diff(cb(Ut, Wt), lattice::gauge_transform_covariant(out, omega)), 1e-12);
    const auto d = displacement(D);
    EXPECT_LT(max_abs_diff(cb(lattice::translate(U, d), lattice::translate(W, d)), lattice::translate(out, d)), 1e-13);
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, MixingLayers, ::testing::ValuesIn(lcnn_geometries()),
                         lattice::testing::geometry_name);

/// One-hot LConv weight selecting input channel j at offset t.
void set_one_hot(LConv& conv, int64_t i, int64_t j, int64_t t) {
  torch::NoGradGuard ng;
  conv->weight.zero_();
  conv->weight[i][j][t] = 1.0;
}

/// LBilin against the naive double sum Σ_{v,w} α_{ivw} A_v B_w, for both contraction orders and all extensions.
TEST(LBilin, MatchesTheNaiveDoubleSum) {
  const Geometry g{{3, 4}, 3};
  const auto U = rough_field(g, 125);
  const auto W = on_device(Plaq(PlaqOptions().both_orientations(true)))(U);     // 2 channels
  const auto W1 = lattice::plaquette_field(U, 1, 0) + 0.3 * W.narrow(1, 0, 1);  // 1 channel, not unitary
  seed_weights(126);
  for (bool conj : {false, true})
    for (bool unit : {false, true})
      for (bool cw : {false, true})
        for (auto [a, b] : {std::pair{W, W1}, std::pair{W1, W}}) {
          auto bil = on_device(
              LBilin(LBilinOptions(a.size(1), b.size(1), 3).add_conjugate(conj).add_unit(unit).complex_weights(cw)));
          auto ext = [&](const torch::Tensor& X) {
            std::vector<torch::Tensor> parts;
            for (int64_t c = 0; c < X.size(1); ++c) parts.push_back(X.narrow(1, c, 1));
            if (conj)
              for (int64_t c = 0; c < X.size(1); ++c) parts.push_back(dag(X.narrow(1, c, 1)));
            if (unit) parts.push_back(torch::ones_like(X.narrow(1, 0, 1)) * lattice::identity_like(X));
            return parts;
          };
          const auto A = ext(a), B = ext(b);
          ASSERT_EQ(int64_t(A.size()), bil->n_a());
          ASSERT_EQ(int64_t(B.size()), bil->n_b());
          auto alpha =
              cw ? torch::view_as_complex(bil->weight.detach()) : bil->weight.detach().to(torch::kComplexDouble);
          const auto out = bil(a, b);
          for (int64_t i = 0; i < 3; ++i) {
            auto ref = torch::zeros_like(A[0]);
            for (size_t v = 0; v < A.size(); ++v)
              for (size_t w = 0; w < B.size(); ++w) ref = ref + alpha[i][v][w] * mat_mul(A[v], B[w]);
            EXPECT_LT(max_abs_diff(out.narrow(1, i, 1), ref), 1e-13) << conj << unit << cw;
          }
        }
}

TEST(LConv, SingleTermsAreTheDefiningTransports) {
  const Geometry g{{5, 4, 3}, 3};
  const auto U = rough_field(g, 121);
  const auto W = on_device(Plaq())(U);  // 3 channels
  // K = 3, dilation 2: offsets t = 0; mu=0: +2, +4, -2, -4; mu=1: +2, +4, -2, -4; ...
  auto conv = on_device(LConv(LConvOptions(3, 1, 3, 3).dilation(2)));
  EXPECT_EQ(conv->weight.sizes(), torch::IntArrayRef({1, 3, 13}));
  // k = 0: the input channel itself.
  set_one_hot(conv, 0, 2, 0);
  EXPECT_LT(max_abs_diff(conv(U, W), W.narrow(1, 2, 1)), 1e-15);
  // mu = 1, k = +4 (t = 1 + 4 + 1): L W(x + 4 mu) L† with L = U_1(x) ... U_1(x + 3).
  set_one_hot(conv, 0, 1, 6);
  auto L = lattice::line_product(U, 1, 4);
  EXPECT_LT(max_abs_diff(conv(U, W), mat_mul_dag(mat_mul(L, lattice::shift(W.narrow(1, 1, 1), 1, 4)), L)), 1e-13);
  // mu = 2, k = -2 (t = 1 + 8 + 2): L W(x - 2 mu) L† with L = U_2(x-1)† U_2(x-2)† = (U_2(x-2) U_2(x-1))†.
  set_one_hot(conv, 0, 0, 11);
  L = dag(lattice::shift(lattice::line_product(U, 2, 2), 2, -2));
  EXPECT_LT(max_abs_diff(conv(U, W), mat_mul_dag(mat_mul(L, lattice::shift(W.narrow(1, 0, 1), 2, -2)), L)), 1e-13);
  // Linearity: the full output is the weighted sum of its terms.
  EXPECT_EQ(n_offsets(3, 3), 13);
}

TEST(LayerShapes, ParameterCountsAndValidation) {
  EXPECT_EQ(LConv(LConvOptions(6, 12, 2, 4))->weight.numel(), 12 * 6 * 9);
  EXPECT_EQ(LConv(LConvOptions(6, 12, 3, 2))->weight.numel(), 12 * 6 * 9);
  EXPECT_EQ(LConv(LConvOptions(6, 12, 1, 4).complex_weights(true))->weight.numel(), 2 * 12 * 6);
  EXPECT_EQ(LBilin(LBilinOptions(6, 5, 7))->weight.sizes(), torch::IntArrayRef({7, 13, 11}));
  EXPECT_EQ(LBilin(LBilinOptions(6, 5, 7).add_conjugate(false).add_unit(false))->weight.sizes(),
            torch::IntArrayRef({7, 6, 5}));
  EXPECT_EQ(LConvBilin(LConvBilinOptions(6, 12, 2, 4))->bilin->weight.sizes(), torch::IntArrayRef({12, 13, 109}));
  EXPECT_THROW(LConv(LConvOptions(6, 12, 0, 4)), std::invalid_argument);
  EXPECT_THROW(LConvBilin(LConvBilinOptions(6, 12, 2, 1)), std::invalid_argument);
  const Geometry g{{4, 3}, 2};
  const auto U = rough_field(g, 131);
  const auto W = on_device(Plaq())(U);
  EXPECT_THROW(on_device(LConv(LConvOptions(2, 1, 2, 2)))->forward(U, W), std::invalid_argument);  // 1 channel, not 2
  EXPECT_THROW(on_device(LConv(LConvOptions(1, 1, 2, 3)))->forward(U, W), std::invalid_argument);  // D = 2, not 3
}

TEST(LConvBilin, InitialisationKeepsActivationsOrderOne) {
  const Geometry g{{4, 4, 4, 4}, 3};
  const auto U = rough_field(g, 141, 1, 0.8);
  seed_weights(142);
  auto W = on_device(Plaq())(U);
  const std::vector<std::pair<int64_t, int64_t>> layers{{12, 2}, {24, 2}, {24, 1}};
  for (auto [out, K] : layers) {
    W = on_device(LConvBilin(LConvBilinOptions(W.size(1), out, K, 4)))(U, W);
    const double rms = W.abs().pow(2).mean().sqrt().item<double>();
    EXPECT_GT(rms, 0.05);
    EXPECT_LT(rms, 20.0);
  }
}

/// The unfused form LBilin(W, LConv(W)) with an L-Conv that just lists the transports equals the fused layer: the
/// fused α contains every unfused network (a separate ω is only a low-rank factor of α).
TEST(LConvBilin, UnfusedWithSelectingConvEqualsFused) {
  const Geometry g{{3, 4, 3}, 3};
  const int64_t D = 3, K = 2, T = n_offsets(D, K);
  const auto U = rough_field(g, 161);
  const auto omega = random_omega(g, 162);
  const auto W = on_device(Plaq())(U);
  const int64_t P = W.size(1);
  seed_weights(163);
  auto fused = on_device(LConvBilin(LConvBilinOptions(P, 2, K, D)));
  auto unfused = on_device(LConvBilin(LConvBilinOptions(P, 2, K, D).conv_channels(P * T)));
  ASSERT_TRUE(unfused->conv);
  EXPECT_EQ(unfused->conv->weight.numel(), P * P * T * T);
  EXPECT_EQ(unfused->bilin->weight.numel(), fused->bilin->weight.numel());
  {
    torch::NoGradGuard ng;
    unfused->conv->weight.zero_();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < P; ++j) unfused->conv->weight[t * P + j][j][t] = 1.0;
    unfused->bilin->weight.copy_(fused->bilin->weight);
  }
  const auto out = fused(U, W);
  EXPECT_LT(max_abs_diff(unfused(U, W), out), 1e-13);
  // A generic unfused layer is covariant too.
  auto small = on_device(LConvBilin(LConvBilinOptions(P, 2, K, D).conv_channels(2)));
  EXPECT_EQ(count_parameters_of(*small), P * 2 * T + 2 * (2 * P + 1) * (2 * 2 + 1));
  const auto o = small(U, W);
  EXPECT_LT(max_abs_diff(small(lattice::gauge_transform(U, omega), lattice::gauge_transform_covariant(W, omega)),
                         lattice::gauge_transform_covariant(o, omega)),
            1e-12);
}

/// P_01(x) and its transport from x + 0^ multiply to the 1x2 rectangle (long side along 0).
TEST(WilsonLoops, HandSetWeightsGiveTheRectangle) {
  for (const Geometry& g : {Geometry{{5, 4}, 2}, Geometry{{4, 3, 3, 4}, 3}}) {
    const int64_t D = g.extents.size();
    const auto U = rough_field(g, 151);
    const auto W = on_device(Plaq())(U);  // channel 0 = P_01
    const int64_t P = W.size(1);
    const double N = g.n_colors;
    // (a) LConv selects U_0(x) P_01(x+0) U_0(x)† (offset t = 1: mu = 0, k = +1); LBilin(conv, W) multiplies by P_01(x):
    //     the product is the rectangle matrix itself.
    auto conv = on_device(LConv(LConvOptions(P, 1, 2, D)));
    set_one_hot(conv, 0, 0, 1);
    auto bil = on_device(LBilin(LBilinOptions(1, P, 1).add_conjugate(false).add_unit(false)));
    {
      torch::NoGradGuard ng;
      bil->weight.zero_();
      bil->weight[0][0][0] = 1.0;
    }
    const auto R = bil(conv(U, W), W);
    EXPECT_LT(max_abs_diff(R, lattice::path_product(U, lattice::rectangle(0, 1, 2, 1))), 1e-13);
    // (b) The fused LConvBilin: A_0 = P_01(x), B_t = transported P_01 (channel t * P + 0 with t = 1). P · T(P) is a
    //     cyclic permutation of the rectangle, so its trace is the 1x2 Wilson loop.
    auto cb = on_device(LConvBilin(LConvBilinOptions(P, 1, 2, D)));
    {
      torch::NoGradGuard ng;
      cb->bilin->weight.zero_();
      cb->bilin->weight[0][0][1 * P + 0] = 1.0 / N;
    }
    const auto loop = on_device(Trace())(cb(U, W)).select(1, 0);
    EXPECT_LT(max_abs_diff(loop, lattice::wilson_loop_field(U, 0, 1, 2, 1)), 1e-12);
    EXPECT_GT(max_abs_diff(loop, lattice::wilson_loop_field(U, 0, 1, 1, 2)), 1e-3);  // not the other orientation
  }
}

}  // namespace
}  // namespace blockspin::lcnn::testing
