// The fused Wilson kernels against the torch path (the reference): plaquette sums, staples, action, forces,
// autograd gradients and double backward, in D = 2, 3, 4 for SU(2), SU(3) (specialised) and SU(4) (generic).
#include "test_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/kernels/mode.h"
#include "lattice/kernels/wilson_kernels.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"
#include "lattice/rng.h"
#include "lattice/su_n.h"

#include <ATen/Parallel.h>

using namespace blockspin::lattice;
using namespace blockspin::lattice::testing;
namespace K = blockspin::lattice::kernels;

namespace {

class WilsonKernels : public ::testing::TestWithParam<Geometry> {};

std::vector<Geometry> kernel_geometries() {
  auto g = standard_geometries();
  g.push_back({{3, 4, 2, 3}, 4});  // the generic-N path
  return g;
}

}  // namespace

// Σ_x Σ_{μ<ν} (N − Re Tr P_μν(x)) equals the sum over the torch plaquette fields (1e-13 relative in double).
TEST_P(WilsonKernels, PlaquetteDeficitMatchesTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 11);
  const double N = static_cast<double>(n_colors(U));
  auto ref = torch::zeros({U.size(0)}, real());
  for (auto [mu, nu] : planes(n_dims(U))) ref += (N - re_trace(plaquette_field(U, mu, nu))).flatten(1).sum(1);
  EXPECT_LT(rel(K::plaquette_deficit_sum(U), ref), 1e-13);
  // float: the same to single-precision rounding
  EXPECT_LT(rel(K::plaquette_deficit_sum(U.to(torch::kComplexFloat)).to(torch::kDouble), ref), 1e-5);
}

// Near the identity the action is a sum of tiny deficits: summed per plaquette (not as Σ Re Tr P subtracted from
// N·V·planes) it stays quadratic in ε for ε = 1e-6 (ratio 4 for 2ε) and agrees with the torch path.
TEST(WilsonKernelsPrecision, DeficitOfNearIdentityFieldsIsAccurate) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  auto field = [](double eps) {
    auto gen = test_generator(3);
    return near_identity_gauge_field(1, {4, 4, 4, 4}, 3, eps, gen, cplx());
  };
  const auto U1 = field(1e-6), U2 = field(2e-6);
  const double d1 = K::plaquette_deficit_sum(U1).item<double>(), d2 = K::plaquette_deficit_sum(U2).item<double>();
  EXPECT_GT(d1, 0);
  EXPECT_NEAR(d2 / d1, 4.0, 4e-3);
  K::ModeGuard torch_path(K::Mode::torch);
  const double s1 = GaugeAction::wilson(3.0)(U1).item<double>();  // β/N = 1: S = deficit
  EXPECT_NEAR(d1 / s1, 1.0, 1e-3);
}

// The staple sums equal GaugeAction::staples on the torch path, for every direction and for all at once.
TEST_P(WilsonKernels, StaplesMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 12);
  const auto action = GaugeAction::wilson(1.0);
  std::vector<torch::Tensor> ref;
  {
    K::ModeGuard torch_path(K::Mode::torch);
    for (int64_t mu = 0; mu < n_dims(U); ++mu) ref.push_back(action.staples(U, mu));
  }
  const auto all = K::wilson_staples(U);
  for (int64_t mu = 0; mu < n_dims(U); ++mu) {
    EXPECT_LT(rel(K::wilson_staples(U, mu), ref[mu]), 1e-13) << "mu " << mu;
    EXPECT_LT(rel(all.narrow(1, mu, 1), ref[mu]), 1e-13) << "mu " << mu;
  }
}

// The action value and the analytic force of the Wilson action are the same on both paths (and the force's
// definition as a derivative is checked against finite differences in test_derivatives on the default path).
TEST_P(WilsonKernels, ActionAndForceMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 13);
  const auto action = GaugeAction::wilson(5.5);
  torch::Tensor s_ref, f_ref;
  {
    K::ModeGuard torch_path(K::Mode::torch);
    s_ref = action(U);
    f_ref = action.derivative(U);
  }
  EXPECT_LT(rel(action(U), s_ref), 1e-13);
  EXPECT_LT(rel(action.derivative(U), f_ref), 1e-13);
}

// Autograd through the fused op (backward by the staple kernel) and double backward (torch path inside the
// backward) give the torch path's gradients.
TEST_P(WilsonKernels, GradientAndDoubleBackwardMatchTorchPath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U0 = rough_field(GetParam(), 14);
  const auto V = rough_field(GetParam(), 15);  // a fixed direction for the second derivative
  const auto action = GaugeAction::wilson(2.0);
  auto grads = [&](K::Mode m) {
    K::ModeGuard guard(m);
    auto U = U0.clone().requires_grad_(true);
    auto g = torch::autograd::grad({action(U).sum()}, {U}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    auto gg = torch::autograd::grad({torch::real(g * V.conj()).sum()}, {U})[0];
    return std::make_pair(g.detach(), gg);
  };
  const auto [g_fused, gg_fused] = grads(K::Mode::fused);
  const auto [g_torch, gg_torch] = grads(K::Mode::torch);
  EXPECT_LT(rel(g_fused, g_torch), 1e-13);
  EXPECT_LT(rel(gg_fused, gg_torch), 1e-13);
  // And without create_graph (the fused staple kernel in the backward).
  auto U = U0.clone().requires_grad_(true);
  const auto g = torch::autograd::grad({action(U).sum()}, {U})[0];
  EXPECT_LT(rel(g, g_torch), 1e-13);
}

// The fused HMC drift exp(ε Σ p_a i t^a) U equals su_exp's and stays in SU(N) (1e-13), also for large steps that
// need squaring.
TEST_P(WilsonKernels, LinkUpdateMatchesSuExp) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field(GetParam(), 17);
  auto gen = test_generator(18);
  std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
  const auto p = random_algebra(prefix, n_colors(U), gen, real());
  for (double eps : {0.05, 1.3}) {
    const auto ref = mat_mul(su_exp(algebra_to_matrix(eps * p, n_colors(U))), U);
    const auto fused = K::link_update(U, p, eps);
    EXPECT_LT(rel(fused, ref), 1e-13) << "eps " << eps;
    EXPECT_LT(su_n_violation(fused).max().item<double>(), 1e-13) << "eps " << eps;
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, WilsonKernels, ::testing::ValuesIn(kernel_geometries()), geometry_name);

// The fused sums are reduced in a fixed order: the same bits with one thread or two.
TEST(WilsonKernelsThreads, ResultsDoNotDependOnTheThreadCount) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  const auto U = rough_field({{6, 6, 4, 4}, 3}, 16, 2);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto gen = test_generator(19);
  const auto p = random_algebra({2, 4, 6, 6, 4, 4}, 3, gen, real());
  const auto s1 = K::plaquette_deficit_sum(U);
  const auto a1 = K::wilson_staples(U);
  const auto f1 = K::wilson_force(U, 0.7);
  const auto u1 = K::link_update(U, p, 0.3);
  at::set_num_threads(2);
  const auto s2 = K::plaquette_deficit_sum(U);
  const auto a2 = K::wilson_staples(U);
  const auto f2 = K::wilson_force(U, 0.7);
  const auto u2 = K::link_update(U, p, 0.3);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(s1, s2));
  EXPECT_TRUE(torch::equal(a1, a2));
  EXPECT_TRUE(torch::equal(f1, f2));
  EXPECT_TRUE(torch::equal(u1, u2));
}

// complex64 fields through the single-precision kernels (16 sites per vector) agree with the double-precision torch
// path to float accuracy, on lattices whose site count is not a multiple of the vector width.
TEST(WilsonKernelsFloat, SinglePrecisionKernelsMatchDoublePath) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  for (const Geometry& g : std::vector<Geometry>{{{3, 4, 3, 3}, 3}, {{5, 3, 2}, 2}, {{4, 4, 4, 4}, 3}}) {
    const auto U = rough_field(g, 20);
    const auto U32 = U.to(torch::kComplexFloat);
    auto gen = test_generator(21);
    std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
    const auto p = random_algebra(prefix, g.n_colors, gen, real());
    const auto action = GaugeAction::wilson(4.0);
    torch::Tensor a_ref, f_ref, u_ref;
    {
      K::ModeGuard torch_path(K::Mode::torch);
      a_ref = torch::cat({action.staples(U, 0), action.staples(U, 1)}, 1);
      f_ref = action.derivative(U);
      u_ref = mat_mul(su_exp(algebra_to_matrix(0.2 * p, g.n_colors)), U);
    }
    EXPECT_LT(rel(K::wilson_staples(U32).narrow(1, 0, 2).to(cplx()), a_ref), 1e-5);
    EXPECT_LT(rel(action.derivative(U32).to(torch::kDouble), f_ref), 1e-5);
    EXPECT_LT(rel(K::link_update(U32, p.to(torch::kFloat), 0.2).to(cplx()), u_ref), 1e-5);
  }
}

// Inputs the kernels do not cover are refused with a clear message (callers fall back to the torch path).
TEST(WilsonKernelsThreads, UnsupportedInputsAreRefused) {
  BLOCKSPIN_CPU_KERNEL_TEST();
  EXPECT_FALSE(K::fused_available(torch::zeros({1, 2, 2, 2, 2, 2})));  // real, not complex
  EXPECT_THROW(K::plaquette_deficit_sum(torch::zeros({1, 2, 2, 2, 2, 2})), std::invalid_argument);
  EXPECT_THROW(K::wilson_staples(rough_field({{4, 4}, 2}, 1), 2), std::invalid_argument);
}
