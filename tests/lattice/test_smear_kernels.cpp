// The fused staple smearing (lattice/kernels/smear_fused.h) against the torch path (the reference): values, the
// analytic backward, double backward and finite differences, in D = 2, 3, 4 for SU(2) and SU(3), double and float.
#include "test_helpers.h"

#include "lattice/blocking.h"
#include "lattice/kernels/mode.h"
#include "lattice/kernels/smear_fused.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/rng.h"
#include "lattice/smearing.h"
#include "lattice/su_n.h"

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;
namespace K = blockspin::lattice::kernels;

namespace {

class SmearKernels : public ::testing::TestWithParam<Geometry> {};

std::vector<Geometry> smear_geometries() {
  auto g = standard_geometries();
  g.push_back({{4, 4, 4, 4}, 3});  // whole lane blocks, the FP geometry
  g.push_back({{2, 4, 2, 2}, 2});  // extent 2: x + ν̂ = x − ν̂
  return g;
}

// Weight sets: the default, all levels with other values, no hyperdiagonal level, none at all.
std::vector<SmearingOptions> weight_sets() {
  return {SmearingOptions{}, SmearingOptions{0.11, -0.03, 0.02}, SmearingOptions{0.05, 0.02, 0.0},
          SmearingOptions{0.0, 0.0, 0.0}};
}

torch::Tensor cotangent(const torch::Tensor& U, uint64_t seed) {
  auto gen = test_generator(seed);
  return torch::randn(U.sizes(), gen, U.options());
}

torch::Tensor vjp(const torch::Tensor& U, const torch::Tensor& G, const SmearingOptions& o, bool fused) {
  auto x = U.detach().requires_grad_(true);
  auto S = fused ? K::smear_fused(x, o) : smear_links_reference(x, o);
  return torch::autograd::grad({pairing(G, S)}, {x})[0];
}

}  // namespace

TEST_P(SmearKernels, ValuesMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 21);
  ASSERT_TRUE(K::smear_fused_available(U));
  for (const auto& o : weight_sets()) {
    const auto ref = smear_links_reference(U, o);
    EXPECT_LT(rel(K::smear_fused(U, o), ref), 1e-13) << o.s_pl << " " << o.s_d << " " << o.s_hd;
    EXPECT_LT(rel(K::smear_fused(U.to(torch::kComplexFloat), o).to(torch::kComplexDouble), ref), 2e-6);
  }
  // smear_links dispatches by the kernels mode; both modes give the reference to rounding.
  EXPECT_LT(rel(smear_links(U), smear_links_reference(U)), 1e-13);
  K::ModeGuard torch_path(K::Mode::torch);
  EXPECT_TRUE(torch::equal(smear_links(U), smear_links_reference(U)));
}

TEST_P(SmearKernels, BackwardMatchesTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 22);
  const auto G = cotangent(U, 23);
  for (const auto& o : weight_sets()) {
    const auto ref = vjp(U, G, o, false);
    EXPECT_LT(rel(vjp(U, G, o, true), ref), 1e-13) << o.s_pl << " " << o.s_d << " " << o.s_hd;
    const auto f = vjp(U.to(torch::kComplexFloat), G.to(torch::kComplexFloat), o, true);
    EXPECT_LT(rel(f.to(torch::kComplexDouble), ref), 2e-5);
  }
}

// The analytic backward is the derivative: d/dt <G, S[exp(t X) U]> at t = 0 by a central difference (X anti-Hermitian
// traceless per link) equals Re Σ conj(∂U) (X U).
TEST_P(SmearKernels, BackwardMatchesFiniteDifferences) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 24);
  const auto G = cotangent(U, 25);
  const SmearingOptions o{0.11, -0.03, 0.02};
  auto gen = test_generator(26);
  const int64_t N = n_colors(U);
  auto shape = U.sizes().vec();
  shape.pop_back();
  shape.back() = N * N - 1;
  const auto X = algebra_to_matrix(torch::randn(shape, gen, torch::kDouble), N);
  const auto grad = vjp(U, G, o, true);
  const double analytic = pairing(grad, mat_mul(X, U)).item<double>();
  const double h = 1e-5;
  auto value = [&](double t) { return pairing(G, K::smear_fused(mat_mul(su_exp(X * t), U), o)).item<double>(); };
  const double numeric = (value(h) - value(-h)) / (2 * h);
  EXPECT_NEAR(numeric, analytic, 1e-7 * std::max(1.0, std::abs(analytic)));
}

// With create_graph the backward is differentiable and its derivative is the torch path's.
TEST(SmearKernelsDouble, DoubleBackwardMatchesTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field({{3, 4, 2, 3}, 3}, 27, 1);
  const auto G = cotangent(U, 28);
  const auto H = cotangent(U, 29);
  auto second = [&](bool fused) {
    auto x = U.detach().requires_grad_(true);
    auto S = fused ? K::smear_fused(x, SmearingOptions{}) : smear_links_reference(x, SmearingOptions{});
    auto g = torch::autograd::grad({pairing(G, S)}, {x}, {}, true, true)[0];
    return torch::autograd::grad({pairing(H, g)}, {x})[0];
  };
  EXPECT_LT(rel(second(true), second(false)), 1e-13);
}

// block_links with kernels "fused" computes S only at the sites its blocked links use: Q and its gradient equal the
// torch path's for every weight set (top level 3, 2 and 0), in D = 2, 3, 4.
TEST(SmearKernelsBlocking, BlockedLinksAndGradientsMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const std::vector<Geometry> geometries{{{4, 6}, 2}, {{4, 2, 4}, 3}, {{4, 4, 4, 4}, 3}, {{2, 4, 2, 2}, 2}};
  for (const auto& geo : geometries) {
    const auto U = rough_field(geo, 31);
    for (const auto& o : weight_sets()) {
      auto run = [&](K::Mode m) {
        K::ModeGuard mode(m);
        auto x = U.detach().requires_grad_(true);
        auto Q = block_links(x, o);
        auto G = cotangent(Q, 32);
        auto g = torch::autograd::grad({pairing(G, Q)}, {x})[0];
        return std::make_pair(Q.detach(), g);
      };
      const auto [Q, g] = run(K::Mode::fused);
      const auto [Q_ref, g_ref] = run(K::Mode::torch);
      EXPECT_LT(rel(Q, Q_ref), 1e-13) << geometry_name({geo, 0}) << " " << o.s_pl << " " << o.s_hd;
      EXPECT_LT(rel(g, g_ref), 1e-13) << geometry_name({geo, 0}) << " " << o.s_pl << " " << o.s_hd;
    }
  }
}

TEST(SmearKernelsAvailability, CoversCpuSu2Su3Only) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  EXPECT_TRUE(K::smear_fused_available(rough_field({{4, 4}, 2}, 1)));
  EXPECT_FALSE(K::smear_fused_available(rough_field({{4, 4}, 4}, 1)));
  EXPECT_FALSE(K::smear_fused_available(torch::real(rough_field({{4, 4}, 3}, 1))));
}

INSTANTIATE_TEST_SUITE_P(Geometries, SmearKernels, ::testing::ValuesIn(smear_geometries()), geometry_name);
