// The fused parallel transport (lattice/kernels/transport_fused.h) against the torch path (the reference): values,
// gradients for the link and the field, second and third derivatives, finite differences; both directions, every
// axis, SU(2) and SU(3), double and float.
#include "test_helpers.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/smear_fused.h"
#include "lattice/kernels/transport_fused.h"
#include "lattice/kernels/wilson_kernels.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/rng.h"
#include "lattice/su_n.h"

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;
namespace K = blockspin::lattice::kernels;

namespace {

class TransportKernels : public ::testing::TestWithParam<Geometry> {};

std::vector<Geometry> transport_geometries() {
  auto g = standard_geometries();
  g.push_back({{2, 4, 2, 2}, 3});  // extent 2: x + μ̂ = x − μ̂
  return g;
}

/// A general complex matrix field [B, C, x.., N, N] (not in the algebra: the kernel must not assume it).
torch::Tensor field(const torch::Tensor& U, int64_t channels, uint64_t seed) {
  auto shape = U.sizes().vec();
  shape[1] = channels;
  auto gen = test_generator(seed);
  return torch::randn(shape, gen, U.options());
}

torch::Tensor run_transport(const torch::Tensor& U, const torch::Tensor& W, int64_t mu, int dir, K::Mode m) {
  K::ModeGuard mode(m);
  return transport(link(U, mu), W, mu, dir);
}

/// Gradients of <G, T(U_μ, W)> for the whole link field U and for W.
std::pair<torch::Tensor, torch::Tensor> vjp(const torch::Tensor& U, const torch::Tensor& W, const torch::Tensor& G,
                                            int64_t mu, int dir, K::Mode m) {
  auto u = U.detach().requires_grad_(true), w = W.detach().requires_grad_(true);
  auto g = torch::autograd::grad({pairing(G, run_transport(u, w, mu, dir, m))}, {u, w});
  return {g[0], g[1]};
}

}  // namespace

TEST_P(TransportKernels, ValuesMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 41);
  const auto W = field(U, 3, 42);
  ASSERT_TRUE(K::transport_fused_available(link(U, 0), W));
  for (int64_t mu = 0; mu < n_dims(U); ++mu)
    for (int dir : {+1, -1}) {
      const auto ref = run_transport(U, W, mu, dir, K::Mode::torch);
      EXPECT_LT(rel(run_transport(U, W, mu, dir, K::Mode::fused), ref), 1e-13) << "mu " << mu << " dir " << dir;
      const auto f = run_transport(U.to(torch::kComplexFloat), W.to(torch::kComplexFloat), mu, dir, K::Mode::fused);
      EXPECT_LT(rel(f.to(torch::kComplexDouble), ref), 2e-6) << "mu " << mu << " dir " << dir;
    }
}

TEST_P(TransportKernels, GradientsMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 43);
  const auto W = field(U, 2, 44);
  const auto G = field(U, 2, 45);
  for (int64_t mu = 0; mu < n_dims(U); ++mu)
    for (int dir : {+1, -1}) {
      const auto [gU, gW] = vjp(U, W, G, mu, dir, K::Mode::fused);
      const auto [rU, rW] = vjp(U, W, G, mu, dir, K::Mode::torch);
      EXPECT_LT(rel(gU, rU), 1e-13) << "mu " << mu << " dir " << dir;
      EXPECT_LT(rel(gW, rW), 1e-13) << "mu " << mu << " dir " << dir;
      // float: 16 lanes, so partial blocks where 8 (double) had none.
      const auto Uf = U.to(torch::kComplexFloat), Wf = W.to(torch::kComplexFloat), Gf = G.to(torch::kComplexFloat);
      const auto [fU, fW] = vjp(Uf, Wf, Gf, mu, dir, K::Mode::fused);
      EXPECT_LT(rel(fU.to(torch::kComplexDouble), rU), 1e-5) << "mu " << mu << " dir " << dir;
      EXPECT_LT(rel(fW.to(torch::kComplexDouble), rW), 1e-5) << "mu " << mu << " dir " << dir;
    }
}

// The link gradient is the derivative: d/dt <G, T(exp(t X) U, W)> at t = 0 equals Re Σ conj(∂U) (X U).
TEST_P(TransportKernels, LinkGradientMatchesFiniteDifferences) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 46);
  const auto W = field(U, 2, 47);
  const auto G = field(U, 2, 48);
  const int64_t N = n_colors(U);
  auto shape = U.sizes().vec();
  shape.pop_back();
  shape.back() = N * N - 1;
  auto gen = test_generator(49);
  const auto X = algebra_to_matrix(torch::randn(shape, gen, torch::kDouble), N);
  for (int dir : {+1, -1}) {
    const int64_t mu = n_dims(U) - 1;
    const auto gU = vjp(U, W, G, mu, dir, K::Mode::fused).first;
    const double analytic = pairing(gU, mat_mul(X, U)).item<double>();
    auto value = [&](double t) {
      return pairing(G, run_transport(mat_mul(su_exp(X * t), U), W, mu, dir, K::Mode::fused)).item<double>();
    };
    const double h = 1e-5;
    EXPECT_NEAR((value(h) - value(-h)) / (2 * h), analytic, 1e-7 * std::max(1.0, std::abs(analytic))) << dir;
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, TransportKernels, ::testing::ValuesIn(transport_geometries()), geometry_name);

// Double backprop (the L-CNN's training through D = dA/dU) and one order more: the fused op's backward is built of
// differentiable ops, so every order equals the torch path's.
TEST(TransportKernelsHigher, SecondAndThirdDerivativesMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field({{3, 4, 2, 3}, 3}, 51, 2);
  const auto W = field(U, 2, 52);
  const auto G = field(U, 2, 53);
  const auto H = field(U, 2, 54);
  const auto HU = field(U, U.size(1), 55);
  for (int dir : {+1, -1}) {
    auto derivatives = [&](K::Mode m) {
      K::ModeGuard mode(m);
      auto u = U.detach().requires_grad_(true), w = W.detach().requires_grad_(true);
      // A two-step transport (as an L-Conv's stack of offsets) of a field that depends on U.
      auto T = transport(link(u, 1), transport(link(u, 1), w * link(u, 0), 1, dir), 1, dir);
      auto g = torch::autograd::grad({pairing(G, T)}, {u, w}, {}, true, true);
      auto second = torch::autograd::grad({pairing(HU, g[0]) + pairing(H, g[1])}, {u, w}, {}, true, true);
      auto third = torch::autograd::grad({pairing(HU, second[0]) + pairing(H, second[1])}, {u, w});
      return std::vector<torch::Tensor>{g[0], g[1], second[0], second[1], third[0], third[1]};
    };
    const auto fused = derivatives(K::Mode::fused), ref = derivatives(K::Mode::torch);
    for (size_t i = 0; i < fused.size(); ++i) EXPECT_LT(rel(fused[i], ref[i]), 1e-12) << "dir " << dir << " #" << i;
    // Second derivatives alone (no graph kept: the link gradient's backward runs the fused loops).
    auto second_only = [&](K::Mode m) {
      K::ModeGuard mode(m);
      auto u = U.detach().requires_grad_(true), w = W.detach().requires_grad_(true);
      auto T = transport(link(u, 1), transport(link(u, 1), w * link(u, 0), 1, dir), 1, dir);
      auto g = torch::autograd::grad({pairing(G, T)}, {u, w}, {}, true, true);
      return torch::autograd::grad({pairing(HU, g[0]) + pairing(H, g[1])}, {u, w});
    };
    const auto s_fused = second_only(K::Mode::fused), s_ref = second_only(K::Mode::torch);
    EXPECT_LT(rel(s_fused[0], s_ref[0]), 1e-12) << "dir " << dir;
    EXPECT_LT(rel(s_fused[1], s_ref[1]), 1e-12) << "dir " << dir;
  }
}

TEST(TransportKernelsAvailability, CoversCpuSu2Su3WithMatchingShapes) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field({{4, 4}, 3}, 1);
  const auto W = field(U, 2, 2);
  EXPECT_TRUE(K::transport_fused_available(link(U, 1), W));
  EXPECT_FALSE(K::transport_fused_available(link(U, 1), W.narrow(0, 0, 1)));  // batch broadcasting: torch path
  EXPECT_FALSE(K::transport_fused_available(link(U, 1), W.to(torch::kComplexFloat)));
  const auto U4 = rough_field({{4, 4}, 4}, 1);
  EXPECT_FALSE(K::transport_fused_available(link(U4, 0), field(U4, 1, 3)));
  // Unavailable shapes take the torch path inside transport(): the same result in both modes.
  const auto W4 = field(U4, 1, 3);
  EXPECT_TRUE(torch::equal(run_transport(U4, W4, 0, 1, K::Mode::fused), run_transport(U4, W4, 0, 1, K::Mode::torch)));
}

// The loops read memory: a lazily conjugated view (T.conj() in a loss sends its gradient as one) must be resolved
// first. Before this was handled the fused gradient of Re Σ conj(T) G was wrong by O(1).
TEST(TransportKernelsAvailability, LazyConjugateViewsAreResolved) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field({{4, 3, 2, 2}, 3}, 61);
  const auto W = field(U, 2, 62);
  const auto G = field(U, 2, 63);
  for (int dir : {+1, -1}) {
    EXPECT_LT(rel(run_transport(U, W.conj(), 1, dir, K::Mode::fused),
                  run_transport(U, W.conj().resolve_conj(), 1, dir, K::Mode::torch)),
              1e-13);
    auto grad = [&](K::Mode m) {
      auto u = U.detach().requires_grad_(true);
      auto T = run_transport(u, W, 1, dir, m);
      return torch::autograd::grad({torch::real(T.conj() * G).sum()}, {u})[0];
    };
    EXPECT_LT(rel(grad(K::Mode::fused), grad(K::Mode::torch)), 1e-13) << dir;
  }
  // The other fused kernels read conjugate views alike.
  EXPECT_LT(rel(K::plaquette_deficit_sum(U.conj()), K::plaquette_deficit_sum(U.conj().resolve_conj())), 1e-14);
  EXPECT_LT(
      rel(K::smear_fused(U.conj(), SmearingOptions{}), K::smear_fused(U.conj().resolve_conj(), SmearingOptions{})),
      1e-14);
}
