// BaselineCnn: layout of the raw-link input, periodic translation equivariance, any lattice size, and — the point of
// the PRL's contrast — no gauge invariance.
#include "lcnn/baseline_cnn.h"

#include "lattice/gauge_field.h"
#include "test_lcnn_helpers.h"

using namespace blockspin;
using namespace blockspin::lcnn::testing;

TEST(BaselineCnn, LinksAsChannelsLayout) {
  const Geometry g{{4, 3}, 3};
  auto U = rough_field(g, 11);
  auto X = lcnn::links_as_channels(U);
  ASSERT_EQ(X.sizes(), (std::vector<int64_t>{2, 2 * 2 * 3 * 3, 4, 3}));
  // channel (part, mu, a, b) = part * D N² + mu N² + a N + b
  for (int64_t mu = 0; mu < 2; ++mu)
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 3; ++b) {
        const auto entry = U.select(1, mu).select(-2, a).select(-1, b);  // [B, x..]
        const int64_t c = mu * 9 + a * 3 + b;
        EXPECT_EQ(max_abs_diff(X.select(1, c), torch::real(entry)), 0.0);
        EXPECT_EQ(max_abs_diff(X.select(1, 18 + c), torch::imag(entry)), 0.0);
      }
}

TEST(BaselineCnn, TranslationEquivariantOnAnySizeButNotGaugeInvariant) {
  seed_weights(3);
  auto cnn = on_device(lcnn::BaselineCnn(lcnn::BaselineCnnOptions(2, 2, 3).hidden({6, 5}).kernel_size(3)));
  for (const Geometry& g : {Geometry{{4, 6}, 2}, Geometry{{8, 8}, 2}}) {
    auto U = rough_field(g, 5);
    auto y = cnn->forward(U);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, g.extents[0], g.extents[1]}));
    EXPECT_EQ(y.scalar_type(), torch::kDouble);
    // shifting the field shifts the output (periodic padding)
    auto Us = torch::roll(U, {1, -2}, {2, 3});
    EXPECT_LT(max_abs_diff(cnn->forward(Us), torch::roll(y, {1, -2}, {2, 3})), 1e-12);
    // a gauge transformation changes the raw link components, and so the output
    auto omega = random_omega(g, 8);
    auto y_gauge = cnn->forward(lattice::gauge_transform(U, omega));
    EXPECT_GT(max_abs_diff(y_gauge, y), 1e-3);
  }
}

TEST(BaselineCnn, RejectsUnsupportedOptionsAndInputs) {
  EXPECT_THROW(lcnn::BaselineCnn(lcnn::BaselineCnnOptions(4, 3, 1)), std::invalid_argument);
  EXPECT_THROW(lcnn::BaselineCnn(lcnn::BaselineCnnOptions(2, 3, 1).kernel_size(2)), std::invalid_argument);
  auto cnn = on_device(lcnn::BaselineCnn(lcnn::BaselineCnnOptions(2, 3, 1)));
  EXPECT_THROW(cnn->forward(rough_field({{4, 4}, 2}, 1)), std::invalid_argument);
}

TEST(BaselineCnn, FloatModuleRunsInFloat) {
  seed_weights(4);
  auto cnn = on_device(lcnn::BaselineCnn(lcnn::BaselineCnnOptions(2, 2, 2).hidden({4})));
  auto U = rough_field({{4, 4}, 2}, 2);
  auto y64 = cnn->forward(U);
  cnn->to(torch::kFloat);  // stays on the test device
  auto y32 = cnn->forward(U.to(torch::kComplexFloat));
  EXPECT_EQ(y32.scalar_type(), torch::kFloat);
  EXPECT_LT(max_abs_diff(y32.to(torch::kDouble), y64), 1e-5);
}
