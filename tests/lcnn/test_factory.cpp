// Tests of the JSON model factory: FP-paper capacity, error messages, whole-network equivariance, lattice-size
// independence.
#include "lcnn/factory.h"
#include "test_lcnn_helpers.h"

#include "lattice/gauge_action.h"
#include "lattice/observables.h"

#include <string>

namespace blockspin::lcnn::testing {
namespace {

using json = nlohmann::json;

json fp_paper_spec() {
  return json::parse(R"({"layers": [{"type": "plaq"},
      {"type": "lconvbilin", "out": 12, "kernel_size": 2},
      {"type": "lconvbilin", "out": 24, "kernel_size": 2},
      {"type": "lconvbilin", "out": 24, "kernel_size": 1},
      {"type": "trace"}, {"type": "linear", "out": 1}], "sum_sites": true})");
}

/// A small network using every layer type.
json all_layers_spec(bool sum_sites) {
  auto spec = json::parse(R"({"layers": [{"type": "plaq", "both_orientations": true}, {"type": "poly", "axes": [0]},
      {"type": "lconvbilin", "out": 3, "kernel_size": 2},
      {"type": "lact", "mode": "polynomial"},
      {"type": "lexp"},
      {"type": "lconv", "out": 3, "kernel_size": 2, "dilation": 2, "complex_weights": true},
      {"type": "lact", "mode": "relu"},
      {"type": "lbilin", "out": 2, "add_unit": true},
      {"type": "trace", "imag_part": true},
      {"type": "linear", "out": 2}]})");
  spec["sum_sites"] = sum_sites;
  return spec;
}

/// Gives the parameters that start at a trivial value (β of LExp, LAct coefficients) random values.
void randomise_trivial_parameters(torch::nn::Module& model, double scale) {
  torch::NoGradGuard ng;
  for (auto& p : model.named_parameters(true))
    if (p.key().find("beta") != std::string::npos || p.key().find("coefficients") != std::string::npos)
      p.value().add_(scale * torch::randn_like(p.value()));
}

TEST(Factory, FpPaperModelHasTheExpectedCapacity) {
  seed_weights(301);
  auto model = on_device(make_model(fp_paper_spec(), 4));
  // 12·13·(2·6·9+1) + 24·25·(2·12·9+1) + 24·49·(2·24·1+1) + (24+1) = 17004 + 130200 + 57624 + 25.
  EXPECT_EQ(count_parameters(*model), 204853);
  const std::vector<int64_t> per_layer{0, 17004, 130200, 57624, 0, 25};
  ASSERT_EQ(model->layers().size(), per_layer.size());
  for (size_t i = 0; i < per_layer.size(); ++i) EXPECT_EQ(count_parameters(*model->layers()[i]), per_layer[i]) << i;
  // It runs on an SU(3) lattice and is gauge invariant.
  const Geometry g{{3, 3, 3, 4}, 3};
  const auto U = rough_field(g, 302, 1);
  const auto S = model(U);
  ASSERT_EQ(S.sizes(), torch::IntArrayRef({1}));
  const auto omega = random_omega(g, 303, 1);
  EXPECT_LT((model(lattice::gauge_transform(U, omega)) - S).abs().item<double>(),
            1e-10 * (1 + std::abs(S.item<double>())));
}

void expect_spec_error(const json& spec, const std::vector<std::string>& needles, int64_t dims = 4) {
  try {
    make_model(spec, dims);
    ADD_FAILURE() << "no exception for " << spec.dump();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(Factory, BadSpecsThrowNamingLayerAndKey) {
  auto spec = fp_paper_spec();
  spec["layers"][2]["type"] = "lconvbilinear";
  expect_spec_error(spec, {"layer 2", "'type'", "lconvbilinear"});
  spec = fp_paper_spec();
  spec["layers"][1].erase("out");
  expect_spec_error(spec, {"layer 1", "'out'", "missing"});
  spec = fp_paper_spec();
  spec["layers"][3].erase("kernel_size");
  expect_spec_error(spec, {"layer 3", "'kernel_size'"});
  spec = fp_paper_spec();
  spec["layers"][2]["out"] = "24";
  expect_spec_error(spec, {"layer 2", "'out'", "wrong type"});
  spec = fp_paper_spec();
  spec["layers"][1]["kernel_sise"] = 2;
  expect_spec_error(spec, {"layer 1", "'kernel_sise'", "unknown key"});
  spec = fp_paper_spec();
  spec["layers"][5].erase("type");
  expect_spec_error(spec, {"layer 5", "'type'"});
  spec = fp_paper_spec();
  spec["layers"][1]["out"] = 0;
  expect_spec_error(spec, {"layer 1", "'out'"});
  spec = fp_paper_spec();
  spec["layers"].erase(0);  // no plaquettes: lconvbilin has no input
  expect_spec_error(spec, {"layer 0", "plaq"});
  spec = fp_paper_spec();
  spec["layers"].erase(4);  // linear without trace
  expect_spec_error(spec, {"layer 4", "trace"});
  spec = fp_paper_spec();
  spec["layers"][0]["type"] = 3;
  expect_spec_error(spec, {"layer 0", "'type'"});
  spec = fp_paper_spec();
  spec["sum_site"] = true;
  expect_spec_error(spec, {"top level", "sum_site"});
  spec = fp_paper_spec();
  spec.erase("layers");
  expect_spec_error(spec, {"'layers'"});
  expect_spec_error(fp_paper_spec(), {"dims"}, 0);
  spec = fp_paper_spec();
  spec["dims"] = 3;
  expect_spec_error(spec, {"'dims'"}, 4);
  EXPECT_NO_THROW(make_model(spec, 0));
}

class WholeNetwork : public ::testing::TestWithParam<Geometry> {};

TEST_P(WholeNetwork, IsGaugeInvariantAndTranslationEquivariant) {
  const auto g = GetParam();
  const int64_t D = g.extents.size();
  const auto U = rough_field(g, 311);
  const auto omega = random_omega(g, 312);
  seed_weights(313);
  auto model = make_model(all_layers_spec(false), D);
  randomise_trivial_parameters(*model, 0.3);
  model->to(device());      // after drawing the weights on the CPU: the same network on every device
  const auto S = model(U);  // [B, 2, x..]
  auto expected = g.extents;
  expected.insert(expected.begin(), {2, 2});
  ASSERT_EQ(S.sizes(), torch::IntArrayRef(expected));
  EXPECT_GT(S.abs().max().item<double>(), 1e-3);
  EXPECT_LT(max_abs_diff(model(lattice::gauge_transform(U, omega)), S), 1e-12 * (1 + max_abs(S)));
  const auto d = displacement(D);
  EXPECT_LT(max_abs_diff(model(lattice::translate(U, d)), lattice::translate(S, d)), 1e-12 * (1 + max_abs(S)));
}

INSTANTIATE_TEST_SUITE_P(Geometries, WholeNetwork, ::testing::ValuesIn(lcnn_geometries()),
                         lattice::testing::geometry_name);

/// The same weights run on 4^D and 8^D; the outputs have the right shapes and are translation equivariant.
class SizeIndependence : public ::testing::TestWithParam<int64_t> {};

TEST_P(SizeIndependence, SameWeightsOnSmallAndLargeLattices) {
  const int64_t D = GetParam();
  auto spec = json::parse(R"({"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 2, "kernel_size": 2},
      {"type": "lexp"}, {"type": "lconv", "out": 2, "kernel_size": 2, "complex_weights": true},
      {"type": "lact", "mode": "polynomial"}, {"type": "lbilin", "out": 2},
      {"type": "trace"}, {"type": "linear", "out": 2}]})");
  seed_weights(321);
  auto model = make_model(spec, D);
  randomise_trivial_parameters(*model, 0.3);
  spec["sum_sites"] = true;
  auto reduced = make_model(spec, D);
  {
    torch::NoGradGuard ng;
    auto src = model->parameters(), dst = reduced->parameters();
    ASSERT_EQ(src.size(), dst.size());
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  model->to(device());  // after drawing the weights on the CPU: the same network on every device
  reduced->to(device());
  torch::NoGradGuard ng;
  for (int64_t L : {4, 8}) {
    const Geometry g{std::vector<int64_t>(D, L), 2};
    const auto U = rough_field(g, 322 + L, 1);
    const auto S = model(U);
    auto expected = g.extents;
    expected.insert(expected.begin(), {1, 2});
    ASSERT_EQ(S.sizes(), torch::IntArrayRef(expected));
    const auto d = displacement(D);
    EXPECT_LT(max_abs_diff(model(lattice::translate(U, d)), lattice::translate(S, d)), 1e-12 * (1 + max_abs(S)));
    const auto total = reduced(U);
    ASSERT_EQ(total.sizes(), torch::IntArrayRef({1}));
    EXPECT_NEAR(total.item<double>(), S.sum().item<double>(), 1e-10 * (1 + S.abs().sum().item<double>()));
  }
}

INSTANTIATE_TEST_SUITE_P(Dims, SizeIndependence, ::testing::Values(2, 4));

TEST(WholeNetwork, LinearOnPlaquetteTracesIsTheWilsonAction) {
  const Geometry g{{3, 4, 3, 3}, 3};
  const auto U = rough_field(g, 331);
  const double beta = 5.9;
  auto model = on_device(
      make_model(json::parse(R"({"layers": [{"type": "plaq"}, {"type": "trace"}, {"type": "linear", "out": 1}],
                      "sum_sites": true})"),
                 4));
  auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(model->layers()[2]);
  ASSERT_TRUE(lin);
  {
    torch::NoGradGuard ng;
    lin->weight.fill_(-beta / 3.0);
    lin->bias.fill_(6 * beta);
  }
  EXPECT_LT(max_abs_diff(model(U), lattice::GaugeAction::wilson(beta)(U)), 1e-10);
  auto mean =
      on_device(make_model(json::parse(R"({"layers": [{"type": "plaq"}, {"type": "trace"}], "mean_sites": true})"), 4));
  EXPECT_LT(max_abs_diff(mean(U) / 18.0, lattice::average_plaquette(U)), 1e-13);
}

}  // namespace
}  // namespace blockspin::lcnn::testing
