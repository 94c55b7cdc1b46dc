// The channel-product lane kernel (lattice/kernels/channel_products.h) against a reference made of torch matrix
// products: values for every index pattern and dagger combination, first and second derivatives (the L-CNN's
// training differentiates it twice), SU(2) and SU(3), double and float, site counts that leave a partial lane block.
#include "test_helpers.h"

#include "lattice/kernels/channel_products.h"
#include "lattice/matrix_ops.h"

#include <stdexcept>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;
namespace K = blockspin::lattice::kernels;

namespace {

int64_t channel_of(K::ChannelIndex c, int64_t o, int64_t k, int64_t Kc) {
  return c == K::ChannelIndex::o ? o : c == K::ChannelIndex::k ? k : o * Kc + k;
}

/// R_r = Σ_{(o,k) → r} op(X_x) op(Y_y) by torch matrix products, for complex fields [B, C, x.., N, N].
torch::Tensor reference(const torch::Tensor& X, const torch::Tensor& Y, const K::ChannelPattern& p, bool dx, bool dy) {
  std::vector<torch::Tensor> R(p.channels(p.r));
  for (int64_t o = 0; o < p.O; ++o)
    for (int64_t k = 0; k < p.K; ++k) {
      auto a = X.select(1, channel_of(p.x, o, k, p.K)), b = Y.select(1, channel_of(p.y, o, k, p.K));
      auto term = mat_mul(dx ? dag(a) : a, dy ? dag(b) : b);
      auto& r = R[channel_of(p.r, o, k, p.K)];
      r = r.defined() ? r + term : term;
    }
  return torch::stack(R, 1);
}

torch::Tensor kernel(const torch::Tensor& X, const torch::Tensor& Y, const K::ChannelPattern& p, bool dx, bool dy) {
  auto shape = X.sizes().vec();
  shape[1] = p.channels(p.r);
  return K::from_planes(K::channel_products(K::to_planes(X), K::to_planes(Y), p, dx, dy), shape);
}

/// The six patterns the bilinear layer and its derivatives use: (x, y) → r.
std::vector<K::ChannelPattern> patterns(int64_t O, int64_t Kc) {
  using C = K::ChannelIndex;
  std::vector<K::ChannelPattern> out;
  for (auto [x, y, r] : std::vector<std::tuple<C, C, C>>{{C::k, C::ok, C::o},
                                                         {C::ok, C::k, C::o},
                                                         {C::o, C::ok, C::k},
                                                         {C::ok, C::o, C::k},
                                                         {C::k, C::o, C::ok},
                                                         {C::o, C::k, C::ok}}) {
    K::ChannelPattern p;
    p.O = O;
    p.K = Kc;
    p.x = x;
    p.y = y;
    p.r = r;
    out.push_back(p);
  }
  return out;
}

torch::Tensor field(const K::ChannelPattern& p, K::ChannelIndex c, int64_t N, torch::Dtype dt, uint64_t seed) {
  auto gen = test_generator(seed);
  return torch::randn({2, p.channels(c), 3, 5, N, N}, gen, torch::TensorOptions().dtype(dt));  // 15 sites
}

class ChannelProducts : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override {
    if (!blockspin::testing::device().is_cpu()) GTEST_SKIP() << "a CPU kernel";
  }
};

}  // namespace

TEST_P(ChannelProducts, ValuesMatchMatrixProducts) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const int64_t N = GetParam();
  uint64_t seed = 300;
  for (const auto& p : patterns(3, 4))
    for (bool dx : {false, true})
      for (bool dy : {false, true}) {
        const auto X = field(p, p.x, N, torch::kComplexDouble, ++seed),
                   Y = field(p, p.y, N, torch::kComplexDouble, ++seed);
        const auto ref = reference(X, Y, p, dx, dy);
        EXPECT_LT(rel(kernel(X, Y, p, dx, dy), ref), 1e-14) << int(p.x) << int(p.y) << int(p.r) << dx << dy;
        const auto f = kernel(X.to(torch::kComplexFloat), Y.to(torch::kComplexFloat), p, dx, dy);
        EXPECT_LT(rel(f.to(torch::kComplexDouble), ref), 1e-5) << int(p.x) << int(p.y) << int(p.r) << dx << dy;
      }
}

// First and second derivatives through the planes (to_planes/from_planes included) against the reference's autograd:
// f = <G, R(X, Y)>, then h = <H_X, ∂f/∂X> + <H_Y, ∂f/∂Y> differentiated again.
TEST_P(ChannelProducts, FirstAndSecondDerivativesMatchTheReference) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const int64_t N = GetParam();
  uint64_t seed = 400;
  for (const auto& p : patterns(2, 3))
    for (bool dx : {false, true})
      for (bool dy : {false, true}) {
        const auto X0 = field(p, p.x, N, torch::kComplexDouble, ++seed),
                   Y0 = field(p, p.y, N, torch::kComplexDouble, ++seed);
        const auto G = field(p, p.r, N, torch::kComplexDouble, ++seed);
        const auto HX = field(p, p.x, N, torch::kComplexDouble, ++seed),
                   HY = field(p, p.y, N, torch::kComplexDouble, ++seed);
        auto derivatives = [&](bool use_kernel) {
          auto X = X0.clone().requires_grad_(true), Y = Y0.clone().requires_grad_(true);
          const auto R = use_kernel ? kernel(X, Y, p, dx, dy) : reference(X, Y, p, dx, dy);
          auto g = torch::autograd::grad({pairing(G, R)}, {X, Y}, {}, true, true);
          auto h = torch::autograd::grad({pairing(HX, g[0]) + pairing(HY, g[1])}, {X, Y});
          return std::vector<torch::Tensor>{g[0].detach(), g[1].detach(), h[0], h[1]};
        };
        const auto k = derivatives(true), r = derivatives(false);
        for (size_t i = 0; i < k.size(); ++i)
          EXPECT_LT(rel(k[i], r[i]), 1e-13)
              << "derivative " << i << " pattern " << int(p.x) << int(p.y) << int(p.r) << " dag " << dx << dy;
      }
}

INSTANTIATE_TEST_SUITE_P(Colors, ChannelProducts, ::testing::Values(2, 3),
                         [](const auto& info) { return "SU" + std::to_string(info.param); });

TEST(ChannelProductsInput, WrongChannelCountsAndShapesThrow) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  if (!blockspin::testing::device().is_cpu()) GTEST_SKIP() << "a CPU kernel";
  const auto p = patterns(3, 4)[0];  // x by k (4 channels), y by (o, k) (12)
  const auto X = K::to_planes(field(p, p.x, 3, torch::kComplexDouble, 1));
  const auto Y = K::to_planes(field(p, p.y, 3, torch::kComplexDouble, 2));
  EXPECT_NO_THROW(K::channel_products(X, Y, p, false, false));
  auto expect_message = [](auto&& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "no exception, expected " << what;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_message([&] { K::channel_products(Y, X, p, false, false); }, "channel counts");
  expect_message([&] { K::channel_products(X, Y.to(torch::kFloat), p, false, false); },
                 "must both be float or both double");
  expect_message([&] { K::channel_products(X.narrow(2, 0, 1), Y, p, false, false); }, "batch, planes or sites differ");
}
