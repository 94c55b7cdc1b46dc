// Reflection characters (lcnn/reflection_characters.h): the projection is idempotent, the Plaq character channels
// transform with their signs under each axis reflection, and a network built on them is exactly invariant under all
// 2^D reflections (1e-12), gauge invariant, zero on the unit configuration, with link derivatives equal to finite
// differences; the same network on the clover leaves without characters is not invariant.
#include "test_lcnn_helpers.h"

#include "lattice/derivatives.h"
#include "lattice/gauge_field.h"
#include "lattice/hypercubic.h"
#include "lcnn/common.h"
#include "lcnn/fp_action_model.h"
#include "lcnn/lbilin.h"
#include "lcnn/lconv_bilin.h"
#include "lcnn/plaq.h"
#include "lcnn/reflection_characters.h"

#include <sstream>

using namespace blockspin;
using namespace blockspin::lcnn;
using namespace blockspin::lcnn::testing;

namespace {

/// W at the reflected sites: x_μ -> -x_μ (periodic) along site axis μ of [B, C, x.., N, N].
torch::Tensor reflect_sites(const torch::Tensor& W, int64_t mu) { return torch::roll(W.flip(2 + mu), 1, 2 + mu); }

/// A small character network in D = 4: Plaq characters, L-Act, two transporting and one local L-ConvBilin, trace.
nlohmann::json character_spec(bool characters, const std::string& prefactor = "none") {
  nlohmann::json plaq = {{"type", "plaq"}};
  if (characters)
    plaq["reflection_characters"] = true;
  else
    plaq["clover_leaves"] = true;  // the same 24 inputs' span, without characters
  nlohmann::json layers = {plaq,
                           {{"type", "lact"}, {"mode", "polynomial"}},
                           {{"type", "lconvbilin"}, {"out", 16}, {"kernel_size", 2}},
                           {{"type", "lact"}, {"mode", "polynomial"}},
                           {{"type", "lconvbilin"}, {"out", 5}, {"kernel_size", 2}},
                           {{"type", "lconvbilin"}, {"out", 2}, {"kernel_size", 1}},
                           {{"type", "lact"}, {"mode", "polynomial"}},
                           {{"type", "trace"}},
                           {{"type", "linear"}, {"out", 1}}};
  if (characters) {
    layers[2]["characters"] = "spread";
    layers[4]["characters"] = std::vector<int64_t>{0, 1, 6, 9, 15};
    layers[5]["characters"] = "trivial";
  }
  return {{"network", {{"layers", layers}}}, {"dims", 4}, {"prefactor", prefactor}, {"degree", 2}};
}

/// Every parameter moved off its initial value (the L-Act coefficients too), so that no symmetry is accidental.
void perturb(torch::nn::Module& m, double scale) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.add_(scale * torch::randn(p.sizes(), p.options()));
}

}  // namespace

TEST(ReflectionCharacters, ProjectionIsIdempotentAndKeepsAFractionOfTheWeights) {
  seed_weights(3);
  const auto in = spread_characters(5, 4), out = std::vector<int64_t>{0, 3, 8};
  const auto p = conv_bilin_projection(in, out, 4, 2, true, true);
  const auto alpha = torch::randn(p.C.sizes(), torch::kDouble);
  auto project = [&](const torch::Tensor& a) { return p.C * a + p.S * a.index_select(2, p.swap); };
  const auto once = project(alpha);
  EXPECT_LT(max_abs_diff(project(once), once), 1e-15);
  const double kept = once.ne(0).sum().item<double>() / double(once.numel());
  EXPECT_GT(kept, 0.02);
  EXPECT_LT(kept, 0.5);
  EXPECT_THROW(conv_bilin_projection(in, {16}, 4, 2, true, true), std::invalid_argument);  // wrong character count
  EXPECT_EQ(plaq_characters(2), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(spread_characters(5, 2), (std::vector<int64_t>{0, 1, 2, 3, 0}));
}

// The projection's block structure: with the ± transport pairs rotated to sum and difference and rows and columns
// sorted by character, the projected weight vanishes outside the diagonal blocks, which hold ~1/2^D of it.
TEST(ReflectionCharacters, ProjectedWeightIsBlockDiagonalByCharacter) {
  seed_weights(5);
  const auto in = plaq_characters(4), out = spread_characters(16, 4);
  const auto p = conv_bilin_projection(in, out, 4, 2, true, true);
  const auto& b = p.blocks;
  const int64_t out_n = p.C.size(0), nA = p.C.size(1), nB = p.C.size(2), n_mat = nA - 1, rows = out_n * n_mat;
  ASSERT_EQ(b.row_order.numel(), rows);
  ASSERT_EQ(b.col_order.numel(), nB);
  const auto alpha = torch::randn(p.C.sizes(), torch::kDouble);
  const auto a = (p.C * alpha + p.S * alpha.index_select(2, p.swap)).narrow(1, 0, n_mat).reshape({rows, nB});
  const auto rotated =
      (a.index_select(1, b.col_order) * b.d1 + a.index_select(1, b.col_partner) * b.d2).index_select(0, b.row_order);
  auto outside = rotated.clone();
  int64_t r0 = 0, c0 = 0, in_blocks = 0;
  for (size_t g = 0; g < b.row_counts.size(); ++g) {
    outside.narrow(0, r0, b.row_counts[g]).narrow(1, c0, b.col_counts[g]).zero_();
    in_blocks += b.row_counts[g] * b.col_counts[g];
    r0 += b.row_counts[g], c0 += b.col_counts[g];
  }
  EXPECT_EQ(r0, rows);
  EXPECT_EQ(c0, nB);
  EXPECT_EQ(max_abs(outside), 0.0);
  EXPECT_GT(max_abs(rotated), 0.1);
  const double fraction = double(in_blocks) / double(rows * nB);
  EXPECT_GT(fraction, 1.0 / 32);
  EXPECT_LT(fraction, 1.0 / 12);
  // The rotation is exact: Σ_w α'_w B'_w = Σ_w α_w B_w for any B.
  const auto B = torch::randn({1, nB, 7}, torch::kDouble);
  const auto Br =
      B.index_select(1, b.col_order) * b.c1.view({1, -1, 1}) + B.index_select(1, b.col_partner) * b.c2.view({1, -1, 1});
  EXPECT_LT(max_abs_diff(weight_matmul(rotated, Br), weight_matmul(a, B).index_select(1, b.row_order)), 1e-12);
  // The block product itself is the dense one.
  const auto X = torch::randn({2, nB, 7}, torch::kDouble);
  EXPECT_LT(max_abs_diff(block_channel_matmul(b, a, X), weight_matmul(a, X)), 1e-12);
}

// The block-by-block contraction (kernels "fused") against the dense GEMM of the same projected weights: action, link
// derivatives and the weights' gradient of a training loss through the double backward, to rounding.
TEST(ReflectionCharacters, BlockContractionEqualsTheDenseOne) {
  const Geometry g{{3, 4, 3, 4}, 3};
  seed_weights(47);
  auto model = on_device(make_fp_action_model(character_spec(true, "wilson_clover")));
  perturb(*model, 0.05);
  const auto U = rough_field(g, 48, 2);
  const auto run = [&](bool blocks) {
    int64_t n = 0;
    for (auto& m : model->modules())
      if (auto* bilin = dynamic_cast<LBilinImpl*>(m.get())) bilin->options.block_sparse(blocks), ++n;
    EXPECT_EQ(n, 3);
    model->zero_grad();
    auto [A, D] = lattice::action_and_derivative([&](const torch::Tensor& V) { return model->forward(V); }, U, true);
    (A.pow(2).sum() + D.pow(2).sum()).backward();
    std::vector<torch::Tensor> out{A.detach(), D.detach()};
    for (auto& p : model->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto blocked = run(true), dense = run(false);
  ASSERT_EQ(blocked.size(), dense.size());
  for (size_t k = 0; k < dense.size(); ++k) {
    ASSERT_GT(max_abs(dense[k]), 0.0) << k;
    EXPECT_LT(max_abs_diff(blocked[k], dense[k]) / max_abs(dense[k]), 1e-12) << k;
  }
}

// clone() (torch::nn::Cloneable: copy, reset(), copy the parameters and buffers) keeps a character layer's projection.
TEST(ReflectionCharacters, ClonedLayerKeepsItsProjection) {
  const Geometry g{{3, 4, 3, 4}, 3};
  seed_weights(49);
  LConvBilin layer(
      LConvBilinOptions(24, 16, 2, 4).in_characters(plaq_characters(4)).out_characters(spread_characters(16, 4)));
  perturb(*layer, 0.05);
  const auto U = rough_field(g, 50, 1);
  const auto W = Plaq(PlaqOptions().reflection_characters(true))->forward(U);
  const auto copy = std::dynamic_pointer_cast<LConvBilinImpl>(layer->clone());
  ASSERT_TRUE(copy);
  ASSERT_EQ(copy->bilin->named_buffers().size(), 2u);
  torch::NoGradGuard no_grad;
  const auto Y = layer->forward(U, W);
  EXPECT_GT(max_abs(Y), 1e-3);
  EXPECT_EQ(max_abs_diff(copy->forward(U, W), Y), 0.0);
}

// Q^{ab}_μν[U reflected along ρ](x) = ± Q^{ab}_μν[U](P_ρ x), the sign (-1)^a for ρ = μ, (-1)^b for ρ = ν, + otherwise.
TEST(ReflectionCharacters, PlaqChannelsChangeSignByTheirCharacter) {
  const Geometry g{{3, 4, 3, 5}, 3};
  const auto U = rough_field(g, 41, 1);
  Plaq plaq(PlaqOptions().reflection_characters(true));
  const auto Q = plaq->forward(U);
  ASSERT_EQ(Q.size(1), 24);
  const auto chars = plaq_characters(4);
  for (int64_t rho = 0; rho < 4; ++rho) {
    const auto Qr = plaq->forward(lattice::reflect_axis(U, rho));
    const auto mapped = reflect_sites(Q, rho);
    for (int64_t c = 0; c < 24; ++c) {
      const double sign = (chars[c] >> rho) & 1 ? -1.0 : 1.0;
      EXPECT_LT(max_abs_diff(Qr.select(1, c), sign * mapped.select(1, c)), 1e-13) << "rho " << rho << " channel " << c;
    }
  }
  EXPECT_THROW(Plaq(PlaqOptions().reflection_characters(true).clover_leaves(true))->forward(U), std::invalid_argument);
}

class ReflectionCharactersPrefactor : public ::testing::TestWithParam<std::string> {};

TEST_P(ReflectionCharactersPrefactor, NetworkIsInvariantUnderEveryReflection) {
  const Geometry g{{3, 4, 3, 4}, 3};
  seed_weights(43);
  auto model = on_device(make_fp_action_model(character_spec(true, GetParam())));
  seed_weights(43);
  auto plain = on_device(make_fp_action_model(character_spec(false)));
  perturb(*model, 0.05);
  // `plain` stays at its initialisation (L-Acts g = 1): with its L-Acts perturbed the unnormalised leaves make it
  // large (1e5) and dominated by its symmetric part.
  const auto U = rough_field(g, 44, 2);
  {
    torch::NoGradGuard no_grad;
    const auto A = model->forward(U);
    ASSERT_GT(max_abs(A), 1e-3);
    ASSERT_LT(max_abs(A), 1e4);  // a tame network, so that the finite differences below mean something
    for (int64_t k = 1; k < 16; ++k) {
      const auto Ug = lattice::hypercubic_transform(U, lattice::hypercubic_element(4, k));
      EXPECT_LT(max_abs_diff(model->forward(Ug), A) / max_abs(A), 1e-12) << k;
    }
    // Teeth: the clover-leaf network without characters, and a rotation of the character network.
    const auto P = plain->forward(U);
    ASSERT_GT(max_abs(P), 1e-3);
    ASSERT_LT(max_abs(P), 1e4) << "a tame network: its symmetric part must not swamp the rest";
    EXPECT_GT(max_abs_diff(plain->forward(lattice::hypercubic_transform(U, lattice::hypercubic_element(4, 1))), P) /
                  max_abs(P),
              1e-6);
    const auto swap_02 = lattice::hypercubic_element(4, 16 * 14);  // perm (2 1 0 3): not a symmetry by construction
    EXPECT_GT(max_abs_diff(model->forward(lattice::hypercubic_transform(U, swap_02)), A) / max_abs(A), 1e-6);
    EXPECT_LT(max_abs_diff(model->forward(lattice::gauge_transform(U, random_omega(g, 45))), A) / max_abs(A), 1e-12);
    const auto unit = lattice::cold_gauge_field(2, g.extents, g.n_colors, cplx());
    EXPECT_TRUE(torch::equal(model->forward(unit), torch::zeros({2}, real_options())));
    // In float (as training in float32 runs it): the same action to single precision.
    auto model32 = on_device(make_fp_action_model(character_spec(true, GetParam())));
    torch::serialize::OutputArchive out;
    model->save(out);
    std::stringstream buffer;
    out.save_to(buffer);
    torch::serialize::InputArchive in;
    in.load_from(buffer);
    model32->load(in);
    model32->to(torch::kFloat);
    EXPECT_LT(max_abs_diff(model32->forward(U.to(torch::kComplexFloat)).to(torch::kDouble), A) / max_abs(A), 1e-4);
  }
  expect_derivative_matches_finite_differences([&](const torch::Tensor& V) { return model->forward(V); },
                                               U.narrow(0, 0, 1));
}

INSTANTIATE_TEST_SUITE_P(Prefactors, ReflectionCharactersPrefactor, ::testing::Values("none", "wilson_clover"));

// The clover-averaged Wilson density sums to the Wilson action: with c_1 = 0 both prefactors give c_0 S_W.
TEST(ReflectionCharacters, CloverPrefactorSumsToTheWilsonAction) {
  const Geometry g{{3, 4, 3, 4}, 3};
  auto wilson = on_device(make_fp_action_model(small_spec(4, "wilson")));
  auto clover = on_device(make_fp_action_model(small_spec(4, "wilson_clover")));
  const auto U = rough_field(g, 46, 2);
  torch::NoGradGuard no_grad;
  for (auto* m : {&wilson, &clover}) (*m)->coefficients.copy_(torch::tensor({0.7, 0.0, 0.0}, torch::kDouble));
  const auto A = wilson->forward(U);
  EXPECT_GT(max_abs(A), 1.0);
  EXPECT_LT(max_abs_diff(clover->forward(U), A) / max_abs(A), 1e-13);
  clover->coefficients[1].fill_(0.3);  // with the body: a different action
  EXPECT_GT(max_abs_diff(clover->forward(U), A) / max_abs(A), 1e-4);
}

TEST(ReflectionCharacters, BadSpecsNameTheProblem) {
  auto spec = character_spec(true);
  spec["network"]["layers"][2].erase("characters");
  expect_fp_action_spec_error(spec, "missing key 'characters'");
  spec = character_spec(true);
  spec["network"]["layers"][5]["characters"] = "spread";
  expect_fp_action_spec_error(spec, "\"characters\": \"trivial\"");
  spec = character_spec(true);
  spec["network"]["layers"][1]["mode"] = "relu";
  expect_fp_action_spec_error(spec, "mode relu");
  spec = character_spec(true);
  spec["network"]["layers"][4]["characters"] = std::vector<int64_t>{0, 1};
  expect_fp_action_spec_error(spec, "2 characters for 5 output channels");
  spec = character_spec(true);
  spec["network"]["layers"][4]["characters"] = "odd";
  expect_fp_action_spec_error(spec, "key 'characters'");
  spec = character_spec(true);
  spec["network"]["layers"].insert(spec["network"]["layers"].begin() + 1, nlohmann::json{{"type", "lexp"}});
  expect_fp_action_spec_error(spec, "keep reflection characters");
  expect_fp_action_spec_error(character_spec(true, "wilson"), "needs \"wilson_clover\"");
  spec = character_spec(false);
  spec["network"]["layers"][2]["characters"] = "spread";
  expect_fp_action_spec_error(spec, "needs an input with reflection characters");
}
