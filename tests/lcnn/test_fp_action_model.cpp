// FpActionModel: parameter count of the papers' architecture, exact gauge and translation invariance, A[1] = 0 bitwise,
// link derivatives by autograd against finite differences, double backward to the weights, and bad specs.
#include "test_lcnn_helpers.h"

#include "lattice/derivatives.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/hypercubic.h"
#include "lattice/kernels/mode.h"
#include "lattice/matrix_ops.h"
#include "lcnn/fp_action_model.h"

#include <fstream>
#include <sstream>

using namespace blockspin;
using namespace blockspin::lcnn;
using namespace blockspin::lcnn::testing;

namespace {

nlohmann::json architecture(const std::string& name) {
  std::ifstream in(std::string(BLOCKSPIN_SOURCE_DIR) + "/models/architectures/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, true, /*ignore_comments=*/true);
}

}  // namespace

// The shipped architectures: the papers' model has 204,853 parameters (as quoted in arXiv:2401.06481).
TEST(FpActionModel, ShippedArchitecturesBuild) {
  auto paper = make_fp_action_model(architecture("fp_action_paper.json"));
  EXPECT_EQ(count_parameters(*paper), 204853);
  auto proceedings = make_fp_action_model(architecture("fp_action_proceedings.json"));
  EXPECT_GT(count_parameters(*proceedings), 0);
  EXPECT_LT(count_parameters(*proceedings), count_parameters(*paper));
  // The bounded-below variant has the shipped model's parameters (its checkpoints load into it).
  auto shipped = make_fp_action_model(architecture("fp_action_shipped.json"));
  auto positive = make_fp_action_model(architecture("fp_action_shipped_positive.json"));
  EXPECT_EQ(positive->options.positive_softness(), 0.02);
  EXPECT_EQ(count_parameters(*positive), count_parameters(*shipped));
  // The papers' body as a Wilson correction: the body's parameters and the two coefficients c_0, c_1.
  auto paper_wilson = make_fp_action_model(architecture("fp_action_paper_wilson.json"));
  EXPECT_EQ(paper_wilson->options.prefactor(), "wilson");
  EXPECT_EQ(count_parameters(*paper_wilson), 204853 + 2);
  // The shipped body with polynomial L-Acts: three coefficients per channel of the four L-Acts (6 + 3 × 12 channels).
  auto lact = make_fp_action_model(architecture("fp_action_shipped_lact.json"));
  EXPECT_EQ(count_parameters(*lact), count_parameters(*shipped) + 3 * (6 + 3 * 12));
  auto lact_positive = make_fp_action_model(architecture("fp_action_shipped_lact_positive.json"));
  EXPECT_EQ(lact_positive->options.positive_softness(), 0.02);
  EXPECT_EQ(count_parameters(*lact_positive), count_parameters(*lact));
  auto lact_reflections = make_fp_action_model(architecture("fp_action_shipped_lact_reflections.json"));
  EXPECT_EQ(lact_reflections->options.symmetrise(), "reflections");
  EXPECT_EQ(count_parameters(*lact_reflections), count_parameters(*lact));
  // Reflection characters: 505,132 bilinear weights (24 → 16 → 16 → 12 channels), 3 × 68 L-Act coefficients, the
  // readout (13) and c_0, c_1; the projections keep 31,582 free bilinear weights (the trace of a projection: Σ C).
  auto characters = make_fp_action_model(architecture("fp_action_reflection_characters.json"));
  EXPECT_EQ(count_parameters(*characters), 505132 + 204 + 13 + 2);
  double free = 0;
  for (const auto& b : characters->named_buffers())
    if (b.key().find("proj_c") != std::string::npos) free += b.value().sum().item<double>();
  EXPECT_EQ(free, 31582);
}

// The shipped body with polynomial L-Acts starts as the shipped model (g = 1 at initialisation: the same weights give
// the same A to rounding); with the L-Acts changed it differs and is still gauge invariant (1e-12), zero on the unit
// configuration (exactly) and its link derivative matches finite differences.
TEST(FpActionModel, LActArchitectureStartsAsTheShippedModelAndStaysInvariant) {
  const Geometry g{{3, 4, 3, 3}, 3};
  seed_weights(31);
  auto shipped = on_device(make_fp_action_model(architecture("fp_action_shipped.json")));
  seed_weights(31);
  auto lact = on_device(make_fp_action_model(architecture("fp_action_shipped_lact.json")));
  const auto U = rough_field(g, 32);
  {
    torch::NoGradGuard no_grad;
    for (auto* m : {&shipped, &lact}) (*m)->coefficients[1].fill_(0.7);  // c_1 = 0 at initialisation: the body counts
    const auto A0 = shipped->forward(U);
    EXPECT_GT(max_abs(A0), 1e-3);
    EXPECT_LT(max_abs_diff(lact->forward(U), A0) / max_abs(A0), 1e-13);
    int64_t changed = 0;
    for (auto& item : lact->named_parameters())
      if (item.key().rfind("body.", 0) == 0 && item.key().find("coefficients") != std::string::npos) {  // the L-Acts
        item.value().add_(0.05 * torch::randn(item.value().sizes(), item.value().options()));
        ++changed;
      }
    EXPECT_EQ(changed, 4);
    const auto A = lact->forward(U);
    EXPECT_GT(max_abs_diff(A, A0) / max_abs(A0), 1e-4);
    EXPECT_LT(max_abs_diff(lact->forward(lattice::gauge_transform(U, random_omega(g, 33))), A) / max_abs(A), 1e-12);
    const auto unit = lattice::cold_gauge_field(2, g.extents, g.n_colors, cplx());
    EXPECT_TRUE(torch::equal(lact->forward(unit), torch::zeros({2}, real_options())));
  }
  expect_derivative_matches_finite_differences([&](const torch::Tensor& W) { return lact->forward(W); },
                                               U.narrow(0, 0, 1));
}

class FpActionModelGeometries : public ::testing::TestWithParam<Geometry> {};

// A[Ω U Ω†] = A[U] (1e-12 relative), A[shifted U] = A[U], and A[1] = 0 exactly, for both constructions, with and
// without Polyakov loops among the inputs.
TEST_P(FpActionModelGeometries, GaugeAndTranslationInvariantAndZeroOnTheUnitConfiguration) {
  const auto g = GetParam();
  for (const auto& [prefactor, poly] : std::vector<std::pair<std::string, bool>>{
           {"none", false}, {"wilson", false}, {"none", true}, {"wilson", true}}) {
    const std::string tag = prefactor + (poly ? " + poly" : "");
    seed_weights(11);
    auto model = on_device(make_fp_action_model(small_spec(static_cast<int64_t>(g.extents.size()), prefactor, poly)));
    torch::NoGradGuard no_grad;
    const auto U = rough_field(g, 21);
    const auto A = model->forward(U);
    ASSERT_EQ(A.sizes(), torch::IntArrayRef({U.size(0)}));
    EXPECT_GT(max_abs(A), 1e-3) << tag << ": the model should not vanish on a rough field";
    const auto A_gauge = model->forward(lattice::gauge_transform(U, random_omega(g, 22)));
    EXPECT_LT(max_abs_diff(A_gauge, A) / max_abs(A), 1e-12) << tag;
    std::vector<int64_t> shifts{1, 2}, dims{2, 3};  // two lattice axes of [B, D, x0, x1, ..]
    const auto A_shift = model->forward(torch::roll(U, shifts, dims));
    EXPECT_LT(max_abs_diff(A_shift, A) / max_abs(A), 1e-12) << tag;
    const auto unit = lattice::cold_gauge_field(2, g.extents, g.n_colors, cplx());
    EXPECT_TRUE(torch::equal(model->forward(unit), torch::zeros({2}, real_options()))) << tag;
    // A unit configuration inside a batch with others is still exactly zero.
    EXPECT_EQ(model->forward(torch::cat({U, unit.narrow(0, 0, 1)}, 0))[U.size(0)].item<double>(), 0.0) << tag;
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, FpActionModelGeometries, ::testing::ValuesIn(lcnn_geometries()),
                         lattice::testing::geometry_name);

// The link derivative of the model by autograd equals symmetric finite differences of A (the convention of
// lattice/derivatives.h), with Polyakov loops among the inputs, and action_and_derivative gives the same A and D from
// one forward.
TEST(FpActionModel, LinkDerivativeMatchesFiniteDifferences) {
  const Geometry g{{3, 4, 3, 3}, 3};
  seed_weights(12);
  auto model = on_device(make_fp_action_model(small_spec(4, "wilson", /*poly=*/true)));
  const auto U = rough_field(g, 23, 1);
  lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model->forward(V); };
  const auto D = lattice::autograd_derivative(action, U);
  const auto [A2, D2] = lattice::action_and_derivative(action, U);
  EXPECT_TRUE(torch::allclose(D2, D, 0, 1e-14));
  EXPECT_NEAR(A2.item<double>(), model->forward(U).item<double>(), 1e-12);
  for (auto [mu, a] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {2, 5}, {3, 7}}) {
    const std::vector<int64_t> site{1, 2, 0, 2};
    const double fd = lattice::finite_difference_derivative(action, U, 0, mu, site, a, 1e-5);
    const double ad = D.index({0, mu, site[0], site[1], site[2], site[3], a}).item<double>();
    EXPECT_NEAR(ad, fd, 1e-7 * std::max(1.0, std::abs(fd))) << "mu " << mu << " a " << a;
  }
}

// symmetrise: the model averaged over the reflections is the mean of the plain model over the 16 reflected fields
// (1e-13), exactly invariant under every reflection where the plain model is not, still not under an axis swap; over
// the whole hypercubic group it is invariant under swaps too. Its link derivative (autograd through the gather)
// matches finite differences.
TEST(FpActionModel, SymmetrisedModelIsTheGroupAverageAndInvariant) {
  const Geometry g{{3, 3, 3, 3}, 2};
  auto spec = small_spec(4, "none", /*poly=*/true);  // ("wilson" starts as the Wilson action: invariant)
  seed_weights(13);
  auto plain = on_device(make_fp_action_model(spec));
  spec["symmetrise"] = "reflections";
  seed_weights(13);
  auto reflections = on_device(make_fp_action_model(spec));
  spec["symmetrise"] = "hypercubic";
  seed_weights(13);
  auto hypercubic = on_device(make_fp_action_model(spec));
  const auto U = rough_field(g, 25, 2);
  auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).abs().max() / b.abs().max()).item<double>();
  };
  {
    torch::NoGradGuard no_grad;
    torch::Tensor mean = torch::zeros({2}, torch::kDouble);
    for (int64_t k = 0; k < 16; ++k)
      mean = mean + plain->forward(lattice::hypercubic_transform(U, lattice::hypercubic_element(4, k))).cpu();
    const auto A = reflections->forward(U);
    EXPECT_LT(rel(A.cpu(), mean / 16), 1e-13);
    const auto reflect_03 = lattice::hypercubic_element(4, 9);    // reflect axes 0 and 3
    const auto swap_23 = lattice::hypercubic_element(4, 16 + 4);  // perm (0 1 3 2), reflect 2
    EXPECT_GT(rel(plain->forward(lattice::hypercubic_transform(U, reflect_03)), plain->forward(U)), 1e-6);
    EXPECT_LT(rel(reflections->forward(lattice::hypercubic_transform(U, reflect_03)), A), 1e-13);
    EXPECT_GT(rel(reflections->forward(lattice::hypercubic_transform(U, swap_23)), A), 1e-6);
    const auto U1 = U.narrow(0, 0, 1);
    const auto H = hypercubic->forward(U1);
    for (int64_t index : {16 + 4, 16 * 23 + 15})
      EXPECT_LT(rel(hypercubic->forward(lattice::hypercubic_transform(U1, lattice::hypercubic_element(4, index))), H),
                1e-13)
          << index;
  }
  lattice::ActionFunctional action = [&](const torch::Tensor& V) { return reflections->forward(V); };
  const auto V = U.narrow(0, 0, 1);
  const auto D = lattice::autograd_derivative(action, V);
  for (auto [mu, a] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {3, 2}}) {
    const std::vector<int64_t> site{2, 0, 1, 2};
    const double fd = lattice::finite_difference_derivative(action, V, 0, mu, site, a, 1e-5);
    const double ad = D.index({0, mu, site[0], site[1], site[2], site[3], a}).item<double>();
    EXPECT_NEAR(ad, fd, 1e-7 * std::max(1.0, std::abs(fd))) << "mu " << mu << " a " << a;
  }
}

namespace {

// Training on derivatives: the gradient of Σ D² with respect to a weight equals the finite difference of that loss
// (double backprop through the model).
void double_backward_to_the_weights(const std::string& symmetrise) {
  const Geometry g{{2, 3, 2, 2}, 2};
  seed_weights(13);
  auto spec = small_spec(4);
  spec["symmetrise"] = symmetrise;
  auto model = on_device(make_fp_action_model(spec));  // before taking the weight w below
  const auto U = rough_field(g, 24, 1);
  lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model->forward(V); };
  auto loss = [&] {
    auto [A, D] = lattice::action_and_derivative(action, U, /*create_graph=*/true);
    return A.pow(2).sum() + D.pow(2).sum();
  };
  auto w = model->parameters()[0];
  model->zero_grad();
  loss().backward();
  const double grad = w.grad().flatten()[3].item<double>();
  const double h = 1e-6, w0 = w.flatten()[3].item<double>();
  auto at = [&](double v) {
    torch::NoGradGuard no_grad;
    w.flatten()[3].fill_(v);
    torch::AutoGradMode on(true);
    return loss().item<double>();
  };
  const double fd = (at(w0 + h) - at(w0 - h)) / (2 * h);
  at(w0);
  EXPECT_NEAR(grad, fd, 1e-6 * std::max(1.0, std::abs(fd)));
}

}  // namespace

// For the plain model and the one averaged over the reflections (training it: the gather's double backward).
TEST(FpActionModel, DoubleBackwardToTheWeights) {
  for (const std::string symmetrise : {"none", "reflections"}) {
    SCOPED_TRACE(symmetrise);
    double_backward_to_the_weights(symmetrise);
  }
}

// positive_softness τ: A = Σ_x s_W(x) τ log(1 + e^{y(x)/τ}) with y the readout polynomial (checked against that formula
// built by hand from site_readout and the Wilson density), A ≥ 0 where the plain model with the same weights is
// negative, and the link derivative through the softplus equals finite differences.
TEST(FpActionModel, PositiveSoftnessBoundsTheActionBelow) {
  const Geometry g{{3, 2, 3, 2}, 3};
  const double tau = 0.05;
  auto with_tau = [&](double t) {
    seed_weights(14);
    auto spec = small_spec(4, "wilson");
    spec["positive_softness"] = t;
    auto model = on_device(make_fp_action_model(spec));
    torch::NoGradGuard no_grad;
    model->coefficients.copy_(torch::tensor({-0.1, 0.8, 0.3}, torch::kDouble));  // y changes sign across sites
    return model;
  };
  auto plain = with_tau(0.0), positive = with_tau(tau);
  const auto U = rough_field(g, 25, 3);
  {
    torch::NoGradGuard no_grad;
    const auto r = positive->site_readout(U).flatten(1);
    const auto y = -0.1 + 0.8 * r + 0.3 * r * r;
    ASSERT_GT(y.max().item<double>(), 0.0);
    ASSERT_LT(y.min().item<double>(), -tau) << "the test needs sites with negative local coupling";
    const auto s = lattice::GaugeAction::wilson(3.0).density(U).flatten(1);
    const auto expected = (s * tau * torch::log1p(torch::exp(y / tau))).sum(1);
    const auto A = positive->forward(U);
    EXPECT_LT(max_abs_diff(A, expected) / max_abs(expected), 1e-12);
    EXPECT_GT(A.min().item<double>(), 0.0);
    EXPECT_TRUE((A >= plain->forward(U)).all().item<bool>()) << "τ softplus(y/τ) >= y";
    auto negative = with_tau(0.0), bounded = with_tau(tau);
    negative->coefficients.fill_(0.0)[0] = -1.0;
    bounded->coefficients.fill_(0.0)[0] = -1.0;
    EXPECT_LT(negative->forward(U).max().item<double>(), 0.0);
    EXPECT_GE(bounded->forward(U).min().item<double>(), 0.0);
  }
  expect_derivative_matches_finite_differences([&](const torch::Tensor& V) { return positive->forward(V); },
                                               U.narrow(0, 0, 1));
}

// Bad specs name the key.
TEST(FpActionModel, BadSpecsNameTheKey) {
  auto spec = small_spec(4);
  spec["prefactr"] = "none";
  expect_fp_action_spec_error(spec, "prefactr");
  spec = small_spec(4);
  spec["prefactor"] = "symanzik";
  expect_fp_action_spec_error(spec, "prefactor");
  spec = small_spec(4);
  spec["degree"] = "two";
  expect_fp_action_spec_error(spec, "degree");
  spec = small_spec(4);
  spec["network"]["layers"][4]["out"] = 2;  // two scalars per site
  expect_fp_action_spec_error(spec, "network");
  spec = small_spec(4);
  spec["network"]["sum_sites"] = true;
  expect_fp_action_spec_error(spec, "network");
  expect_fp_action_spec_error(nlohmann::json{{"dims", 4}}, "network");
  spec = small_spec(4, "wilson");
  spec["positive_softness"] = -0.1;
  expect_fp_action_spec_error(spec, "positive_softness");
  spec = small_spec(4, "none");
  spec["positive_softness"] = 0.1;  // A >= 0 needs the Wilson density
  expect_fp_action_spec_error(spec, "positive_softness");
  spec = small_spec(4);
  spec["symmetrise"] = "rotations";  // the message lists lcnn::symmetrise_choices()
  expect_fp_action_spec_error(spec,
                              R"(key 'symmetrise': expected "none", "reflections" or "hypercubic", got "rotations")");
}

// The real-weight GEMM contraction (kernels "fused") and the complex reference (kernels "torch") give the same action
// and link derivative (1e-13 relative).
TEST(FpActionModel, RealGemmContractionMatchesComplexReference) {
  const Geometry g{{3, 4, 3, 3}, 3};
  seed_weights(14);
  auto model = on_device(make_fp_action_model(small_spec(4)));
  const auto U = rough_field(g, 25);
  lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model->forward(V); };
  auto run = [&](lattice::kernels::Mode m) {
    lattice::kernels::ModeGuard guard(m);
    return lattice::action_and_derivative(action, U);
  };
  const auto [A_f, D_f] = run(lattice::kernels::Mode::fused);
  const auto [A_t, D_t] = run(lattice::kernels::Mode::torch);
  EXPECT_LT(max_abs_diff(A_f, A_t) / max_abs(A_t), 1e-13);
  EXPECT_LT(max_abs_diff(D_f, D_t) / max_abs(D_t), 1e-13);
}
