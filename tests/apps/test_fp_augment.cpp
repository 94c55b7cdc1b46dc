// apps/readers/fp_augment: the per-(seed, step, row) element is a pure, uniform draw; an invariant action's values and
// link derivatives are unchanged by the augmentation (to rounding), a learned model's are not (it sees other inputs).
#include "apps/readers/fp_augment.h"

#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/rng.h"
#include "lcnn/fp_action_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

namespace {

namespace A = blockspin::apps;
namespace L = blockspin::lattice;

torch::Tensor rough_su3(int64_t batch, uint64_t seed) {
  auto gen = L::make_generator(seed);
  return L::near_identity_gauge_field(batch, {3, 3, 3, 3}, 3, 0.7, gen,
                                      torch::TensorOptions().dtype(torch::kComplexDouble));
}

TEST(FpAugment, ElementsArePureUniformDrawsOfSeedStepAndRow) {
  std::set<int64_t> seen;
  int64_t same_as_step0 = 0;
  for (int64_t row = 0; row < 4000; ++row) {
    const int64_t k = A::augmentation_index(1, 7, row, 4);
    ASSERT_GE(k, 0);
    ASSERT_LT(k, 384);
    EXPECT_EQ(k, A::augmentation_index(1, 7, row, 4));  // pure
    seen.insert(k);
    same_as_step0 += k == A::augmentation_index(1, 0, row, 4) ? 1 : 0;
  }
  EXPECT_GE(seen.size(), 380u);  // 4000 uniform draws miss an element with probability ~384 e^{-10.4}
  EXPECT_LT(same_as_step0, 40);  // another step, another draw (~10 expected)
  int64_t seeds_differ = 0;
  for (int64_t row = 0; row < 100; ++row)
    seeds_differ += A::augmentation_index(1, 7, row, 4) != A::augmentation_index(2, 7, row, 4) ? 1 : 0;
  EXPECT_GT(seeds_differ, 90);
  const auto elements = A::augmentation_elements(1, 7, torch::tensor({5, 2, 5}, torch::kLong), 4);
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_EQ(elements[0].describe(), elements[2].describe());
  EXPECT_EQ(elements[1].describe(), L::hypercubic_element(4, A::augmentation_index(1, 7, 2, 4)).describe());
}

TEST(FpAugment, AnInvariantActionAndItsDerivativesAreUnchanged) {
  const auto U = rough_su3(4, 11);
  const auto symanzik = L::GaugeAction::symanzik(1.0);
  const L::ActionFunctional plain = [&](const torch::Tensor& V) { return symanzik(V); };
  const auto [S0, D0] = L::action_and_derivative(plain, U);
  for (int64_t step : {0, 1, 2}) {
    const auto g = A::augmentation_elements(3, step, torch::tensor({0, 1, 2, 3}, torch::kLong), 4);
    const auto [S, D] = L::action_and_derivative(A::augmented_action(plain, g), U);
    EXPECT_LT((S - S0).abs().max().item<double>() / S0.abs().max().item<double>(), 1e-13);
    EXPECT_LT((D - D0).abs().max().item<double>(), 1e-12);
  }
}

TEST(FpAugment, ALearnedModelSeesTheTransformedRows) {
  auto model = blockspin::lcnn::make_fp_action_model(nlohmann::json::parse(R"({
    "network": {"layers": [{"type": "plaq"}, {"type": "lconvbilin", "out": 3, "kernel_size": 2}, {"type": "trace"},
                           {"type": "linear", "out": 1}]}, "dims": 4, "prefactor": "none"})"));
  model->to(torch::kDouble);
  const auto U = rough_su3(3, 12);
  const L::ActionFunctional plain = [&](const torch::Tensor& V) { return model->forward(V); };
  std::vector<L::HypercubicElement> g{L::hypercubic_element(4, 0), L::hypercubic_element(4, 16 * 9 + 5),
                                      L::hypercubic_element(4, 16 * 20 + 8)};
  const auto [S, D] = L::action_and_derivative(A::augmented_action(plain, g), U);
  const auto [S0, D0] = L::action_and_derivative(plain, U);
  EXPECT_EQ(S[0].item<double>(), S0[0].item<double>());  // the identity
  for (int64_t b = 1; b < 3; ++b) {
    const double direct = model->forward(L::hypercubic_transform(U.narrow(0, b, 1), g[b]))[0].item<double>();
    EXPECT_NEAR(S[b].item<double>(), direct, 1e-12 * std::abs(direct));
    // The model is not invariant (only trained to be nearly so): other values and derivatives.
    EXPECT_GT(std::abs(S[b].item<double>() - S0[b].item<double>()), 1e-10 * std::abs(direct));
    EXPECT_GT((D[b] - D0[b]).abs().max().item<double>(), 1e-8);
  }
  EXPECT_THROW(A::augmented_action(plain, {g[0]})(U), std::invalid_argument);
}

}  // namespace
