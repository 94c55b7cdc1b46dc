// Tests of the CNF vector field (Eqs. 23–25): symmetry orbits, equivariance, exact divergence, identity start.
#include "flow_test_helpers.h"

#include "flows/kernel_orbits.h"
#include "flows/vector_field.h"

using namespace blockspin::flows;
using namespace blockspin::flows::testing;

namespace {
/// Random non-zero weights; t = 0.37 is a generic time.
VectorField random_field_module(int64_t dims, int64_t K, bool tie = true, uint64_t seed = 31) {
  VectorField G(small_field_options(dims, K).tie_symmetry(tie));
  randomise(*G, seed, 0.5);
  return on_device(G);  // after drawing the weights on the CPU: the same network on every device
}
constexpr double kT = 0.37;

/// Reflection about a block centre along site dim d: x -> (1 − x) mod L.
torch::Tensor block_reflect(const torch::Tensor& f, int64_t d) { return torch::roll(torch::flip(f, {d}), {2}, {d}); }
/// Reflection about a site: x -> −x mod L (not a symmetry of the blocking).
torch::Tensor site_reflect(const torch::Tensor& f, int64_t d) { return torch::roll(torch::flip(f, {d}), {1}, {d}); }
}  // namespace

TEST(KernelOrbits, CountsAndTyingInOneAndTwoDimensions) {
  // Host-only: the kernel geometry is built on the CPU (VectorField::forward moves its orbit index to the field's
  // device); no device tensors here.
  // D = 1, K = 2: bonds (p, δ), reflection (p, δ) -> (1 − p, −δ): orbits {(0,−1),(1,1)}, {(0,0),(1,0)}, {(0,1),(1,−1)}.
  auto g1 = make_kernel_geometry(1, 2);
  EXPECT_EQ(g1.offsets.size(), 3u);
  EXPECT_EQ(g1.n_orbits, 3);
  EXPECT_EQ(g1.orbit[0][0].item<int64_t>(), g1.orbit[1][2].item<int64_t>());
  EXPECT_EQ(g1.orbit[0][1].item<int64_t>(), g1.orbit[1][1].item<int64_t>());
  EXPECT_NE(g1.orbit[0][0].item<int64_t>(), g1.orbit[0][2].item<int64_t>());
  // D = 2, K = 1: the on-site bond of all four block positions is one orbit.
  EXPECT_EQ(make_kernel_geometry(2, 1).n_orbits, 1);
  // D = 2, K = 2: 4 × 9 = 36 bonds under the order-8 group; Burnside: identity fixes 36, the two diagonal
  // reflections fix 2 × 3 each, the other five elements fix none: (36 + 12)/8 = 6 orbits.
  EXPECT_EQ(make_kernel_geometry(2, 2).n_orbits, 6);
  EXPECT_EQ(make_kernel_geometry(2, 2, false).n_orbits, 36);
}

TEST(VectorField, StartsAsTheIdentityFlow) {
  auto G = on_device(VectorField(small_field_options(2)));
  auto psi = random_field({2, 4, 4}, 32);
  EXPECT_EQ(G->forward(psi, kT).abs().max().item<double>(), 0.0);
  EXPECT_EQ(G->divergence(psi, kT).abs().max().item<double>(), 0.0);
}

TEST(VectorField, DivergenceEqualsAutogradTraceOfTheJacobian) {
  struct Case {
    std::vector<int64_t> shape;
    int64_t K;
  };
  // The last two cases wrap around the periodic lattice (offset ±2 ≡ 0 on extent 2; ±1 both hit the same neighbour).
  for (const auto& c : std::vector<Case>{{{2, 4, 4}, 2}, {{2, 6}, 3}, {{2, 4, 2, 2}, 2}, {{2, 2, 4}, 3}, {{2, 2}, 3}}) {
    const int64_t D = int64_t(c.shape.size()) - 1;
    auto G = random_field_module(D, c.K);
    auto psi = random_field(c.shape, 33).requires_grad_(true);
    auto [g, div] = G->forward_and_divergence(psi, kT);
    auto gf = g.flatten(1);
    const int64_t V = gf.size(1);
    torch::Tensor trace = torch::zeros({c.shape[0]}, real());
    for (int64_t x = 0; x < V; ++x) {
      auto row = torch::autograd::grad({gf.select(1, x).sum()}, {psi}, {}, true)[0].flatten(1);  // ∂G_x/∂Ψ per config
      trace = trace + row.select(1, x);
    }
    EXPECT_LT(max_abs_diff(div, trace), 1e-12) << "shape " << c.shape << " K " << c.K;
    EXPECT_GT(div.abs().max().item<double>(), 1e-3);
  }
}

TEST(VectorField, CommutesWithBlockPreservingSymmetriesOnly) {
  for (int64_t K : {2, 3}) {
    auto G = random_field_module(2, K);
    auto psi = random_field({2, 8, 8}, 34);
    auto g = G->forward(psi, kT);
    auto commutes = [&](auto op) { return max_abs_diff(G->forward(op(psi), kT), op(g)); };
    EXPECT_LT(commutes([](const torch::Tensor& f) { return torch::roll(f, {2}, {1}); }), 1e-12);
    EXPECT_LT(commutes([](const torch::Tensor& f) { return torch::roll(f, {-2, 4}, {1, 2}); }), 1e-12);
    EXPECT_LT(commutes([](const torch::Tensor& f) { return block_reflect(f, 1); }), 1e-12);
    EXPECT_LT(commutes([](const torch::Tensor& f) { return block_reflect(f, 2); }), 1e-12);
    EXPECT_LT(commutes([](const torch::Tensor& f) { return f.transpose(1, 2); }), 1e-12);
    // 90° rotation about a block centre: transpose then block reflection.
    EXPECT_LT(commutes([](const torch::Tensor& f) { return block_reflect(f.transpose(1, 2), 1); }), 1e-12);
    EXPECT_LT(commutes([](const torch::Tensor& f) { return -f; }), 1e-12);  // Z2 (H odd)
    // Not symmetries of the blocked field: translation by one site, reflection about a site.
    EXPECT_GT(commutes([](const torch::Tensor& f) { return torch::roll(f, {1}, {1}); }), 1e-3);
    EXPECT_GT(commutes([](const torch::Tensor& f) { return site_reflect(f, 1); }), 1e-3);
  }
  // Untied weights break the reflection symmetry (and keep translation by 2).
  auto U = random_field_module(2, 2, false);
  auto psi = random_field({2, 8, 8}, 35);
  auto g = U->forward(psi, kT);
  EXPECT_GT(max_abs_diff(U->forward(block_reflect(psi, 1), kT), block_reflect(g, 1)), 1e-3);
  EXPECT_LT(max_abs_diff(U->forward(torch::roll(psi, {2}, {2}), kT), torch::roll(g, {2}, {2})), 1e-12);
  // 1D and 3D: block reflection and translation by 2.
  for (auto shape : std::vector<std::vector<int64_t>>{{2, 8}, {2, 4, 4, 4}}) {
    const int64_t D = int64_t(shape.size()) - 1;
    auto G = random_field_module(D, 2);
    auto p = random_field(shape, 36);
    auto gp = G->forward(p, kT);
    EXPECT_LT(max_abs_diff(G->forward(block_reflect(p, D), kT), block_reflect(gp, D)), 1e-12);
    EXPECT_LT(max_abs_diff(G->forward(torch::roll(p, {2}, {1}), kT), torch::roll(gp, {2}, {1})), 1e-12);
  }
}

TEST(VectorField, FloatFieldsUseCastParameters) {
  auto G = random_field_module(2, 2);
  auto psi = random_field({2, 4, 4}, 37);
  auto gd = G->forward(psi, kT);
  auto gf = G->forward(psi.to(torch::kFloat), kT);
  EXPECT_EQ(gf.dtype(), torch::kFloat);
  EXPECT_LT(max_abs_diff(gf.to(torch::kDouble), gd), 1e-4);
}

TEST(VectorField, MixInitScaleScalesTheBondFactorsOnly) {
  auto opts = small_field_options(2);
  torch::manual_seed(81);
  auto ref = on_device(VectorField(opts));  // initialised on the CPU from the global seed, compared on the device
  torch::manual_seed(81);
  auto scaled = on_device(VectorField(VectorFieldOptions(opts).mix_init_scale(0.25)));
  EXPECT_LT(max_abs_diff(scaled->time_mix, 0.25 * ref->time_mix), 1e-15);
  EXPECT_LT(max_abs_diff(scaled->feature_mix, 0.25 * ref->feature_mix), 1e-15);
  EXPECT_TRUE(torch::equal(scaled->omega, ref->omega));
  EXPECT_EQ(scaled->weight.abs().max().item<double>(), 0.0);  // still the identity flow
  EXPECT_THROW(VectorField(VectorFieldOptions(opts).mix_init_scale(0.0)), std::invalid_argument);
}

TEST(VectorField, FusedBlockConvolutionEqualsThePerOffsetSum) {
  struct Case {
    std::vector<int64_t> shape;
    int64_t K;
    bool tie;
  };
  // Wrap-around cases: extent 2 (blocked extent 1: every Δ lands on the same block), ±2 ≡ 0 with K = 3.
  for (const auto& c : std::vector<Case>{{{3, 8, 6}, 2, true},
                                         {{2, 4, 4}, 1, true},
                                         {{2, 6, 4}, 3, true},
                                         {{2, 2, 4}, 2, false},
                                         {{2, 2, 2}, 3, true},
                                         {{3, 10}, 2, true},
                                         {{2, 2}, 2, true},
                                         {{2, 12}, 3, false}}) {
    const int64_t D = int64_t(c.shape.size()) - 1;
    auto fused = random_field_module(D, c.K, c.tie, 41);
    ASSERT_TRUE(fused->options.fused());
    auto ref = random_field_module(D, c.K, c.tie, 41);
    ref->options.fused(false);
    auto psi = random_field(c.shape, 42).requires_grad_(true);
    auto [g, div] = fused->forward_and_divergence(psi, kT);
    auto [g_ref, div_ref] = ref->forward_and_divergence(psi, kT);
    EXPECT_LT(max_abs_diff(g, g_ref), 1e-13) << "shape " << c.shape << " K " << c.K;
    EXPECT_LT(max_abs_diff(div, div_ref), 1e-12) << "shape " << c.shape << " K " << c.K;
    EXPECT_GT(g.abs().max().item<double>(), 1e-3);
    // Gradients with respect to Ψ and every parameter, through G and ∇·G (what the adjoint and backprop need).
    auto w = random_field(c.shape, 43);
    auto loss = [&](VectorFieldImpl& f) {
      auto [gg, dd] = f.forward_and_divergence(psi, kT);
      return (gg * w).sum() + (dd * dd).sum();
    };
    auto grads = torch::autograd::grad({loss(*fused)}, {psi, fused->weight, fused->omega, fused->time_mix});
    auto grads_ref = torch::autograd::grad({loss(*ref)}, {psi, ref->weight, ref->omega, ref->time_mix});
    for (size_t i = 0; i < grads.size(); ++i)
      EXPECT_LT(max_abs_diff(grads[i], grads_ref[i]), 1e-11) << "gradient " << i << " shape " << c.shape;
  }
  // float: the same to single precision.
  auto fused = random_field_module(2, 2);
  auto ref = random_field_module(2, 2);
  ref->options.fused(false);
  auto psi = random_field({2, 8, 8}, 44).to(torch::kFloat);
  EXPECT_LT(max_abs_diff(fused->forward(psi, kT), ref->forward(psi, kT)), 1e-5);
}
