// Tests of the parameter-free layers Plaq, Poly and Trace: covariance, translation, Wilson action, Polyakov loops.
#include "lcnn/plaq.h"
#include "lcnn/poly.h"
#include "lcnn/trace.h"
#include "test_lcnn_helpers.h"

#include "lattice/field_strength.h"
#include "lattice/gauge_action.h"
#include "lattice/matrix_ops.h"
#include "lattice/observables.h"
#include "lattice/paths.h"

namespace blockspin::lcnn::testing {
namespace {

class InputLayers : public ::testing::TestWithParam<Geometry> {};

TEST_P(InputLayers, PlaqIsCovariantAndTranslationEquivariant) {
  const auto g = GetParam();
  const auto U = rough_field(g, 11);
  const auto omega = random_omega(g, 12);
  const int64_t D = g.extents.size();
  auto plaq = on_device(Plaq(PlaqOptions().both_orientations(true)));
  const auto W = plaq(U);
  ASSERT_EQ(W.size(1), D * (D - 1));
  EXPECT_EQ(plaq->out_channels(D), D * (D - 1));
  // Channel layout: planes order, then daggers.
  const auto planes = lattice::planes(D);
  const int64_t P = planes.size();
  EXPECT_LT(max_abs_diff(W.narrow(1, P - 1, 1), lattice::plaquette_field(U, planes.back().first, planes.back().second)),
            1e-14);
  EXPECT_LT(max_abs_diff(W.narrow(1, P, P), lattice::dag(W.narrow(1, 0, P))), 1e-14);
  EXPECT_LT(max_abs_diff(plaq(lattice::gauge_transform(U, omega)), lattice::gauge_transform_covariant(W, omega)),
            1e-12);
  const auto d = displacement(D);
  EXPECT_LT(max_abs_diff(plaq(lattice::translate(U, d)), lattice::translate(W, d)), 1e-14);
}

TEST_P(InputLayers, PolyIsCovariantAndMatchesPolyakovLoop) {
  const auto g = GetParam();
  const auto U = rough_field(g, 21);
  const auto omega = random_omega(g, 22);
  const int64_t D = g.extents.size();
  auto poly = on_device(Poly());  // all axes
  const auto W = poly(U);
  ASSERT_EQ(W.size(1), D);
  EXPECT_LT(max_abs_diff(poly(lattice::gauge_transform(U, omega)), lattice::gauge_transform_covariant(W, omega)),
            1e-12);
  const auto d = displacement(D);
  EXPECT_LT(max_abs_diff(poly(lattice::translate(U, d)), lattice::translate(W, d)), 1e-14);
  // (1/N) Tr at x_mu = 0 is the Polyakov loop; the trace does not depend on x_mu.
  const auto tr = lattice::color_trace(W) / double(g.n_colors);  // [B, D, x..]
  for (int64_t mu = 0; mu < D; ++mu) {
    const auto t_mu = tr.select(1, mu);  // [B, x..]
    EXPECT_LT(max_abs_diff(t_mu.select(1 + mu, 0), lattice::polyakov_loop_field(U, mu)), 1e-13);
    EXPECT_LT(max_abs_diff(t_mu, lattice::shift_scalar(t_mu, mu, 1)), 1e-13);
  }
  auto one = on_device(Poly(PolyOptions().axes({D - 1})));
  EXPECT_LT(max_abs_diff(one(U), W.narrow(1, D - 1, 1)), 1e-15);
  EXPECT_THROW(on_device(Poly(PolyOptions().axes({D})))->forward(U), std::invalid_argument);
}

TEST_P(InputLayers, TraceIsInvariant) {
  const auto g = GetParam();
  const auto U = rough_field(g, 31);
  const auto omega = random_omega(g, 32);
  const auto W = on_device(Plaq())(U);
  auto both = on_device(Trace(TraceOptions().imag_part(true)));
  const auto S = both(W);
  ASSERT_EQ(S.size(1), 2 * W.size(1));
  EXPECT_FALSE(S.is_complex());
  EXPECT_LT(max_abs_diff(both(lattice::gauge_transform_covariant(W, omega)), S), 1e-12);
  // Im Tr vanishes identically for SU(2), not for SU(3).
  if (g.n_colors == 2) {
    EXPECT_LT(max_abs(S.narrow(1, W.size(1), W.size(1))), 1e-14);
  } else {
    EXPECT_GT(max_abs(S.narrow(1, W.size(1), W.size(1))), 1e-3);
  }
  auto im = on_device(Trace(TraceOptions().real_part(false).imag_part(true)));
  EXPECT_LT(max_abs_diff(im(W), S.narrow(1, W.size(1), W.size(1))), 1e-15);
  EXPECT_THROW(Trace(TraceOptions().real_part(false)), std::invalid_argument);
}

// clover_leaves: per plane the four leaves at x, which sum to the clover (lattice/field_strength.h), then their
// daggers; covariant at x and translation equivariant.
TEST_P(InputLayers, PlaqCloverLeavesSumToTheClover) {
  const auto g = GetParam();
  const auto U = rough_field(g, 13);
  const auto omega = random_omega(g, 14);
  const int64_t D = g.extents.size();
  auto plaq = on_device(Plaq(PlaqOptions().clover_leaves(true).both_orientations(true)));
  const auto W = plaq(U);
  const auto planes = lattice::planes(D);
  const int64_t P = planes.size();
  ASSERT_EQ(W.size(1), 8 * P);
  EXPECT_EQ(plaq->out_channels(D), 8 * P);
  for (int64_t k = 0; k < P; ++k) {
    const auto sum = W.narrow(1, k, 1) + W.narrow(1, P + k, 1) + W.narrow(1, 2 * P + k, 1) + W.narrow(1, 3 * P + k, 1);
    EXPECT_LT(max_abs_diff(sum, lattice::clover(U, planes[k].first, planes[k].second)), 1e-13) << k;
    // the four leaves differ (a rough field): not one plaquette four times
    EXPECT_GT(max_abs_diff(W.narrow(1, k, 1), W.narrow(1, 3 * P + k, 1)), 1e-3) << k;
  }
  EXPECT_LT(max_abs_diff(W.narrow(1, 4 * P, 4 * P), lattice::dag(W.narrow(1, 0, 4 * P))), 1e-14);
  EXPECT_LT(max_abs_diff(plaq(lattice::gauge_transform(U, omega)), lattice::gauge_transform_covariant(W, omega)),
            1e-12);
  const auto d = displacement(D);
  EXPECT_LT(max_abs_diff(plaq(lattice::translate(U, d)), lattice::translate(W, d)), 1e-13);
}

TEST_P(InputLayers, PlaqTraceReproducesWilsonDensity) {
  const auto g = GetParam();
  const auto U = rough_field(g, 41);
  const double beta = 2.7;
  const double N = g.n_colors;
  const auto S = on_device(Trace())(on_device(Plaq())(U));  // [B, P, x..]
  const auto density = (beta * (1.0 - S / N)).sum(1);
  EXPECT_LT(max_abs_diff(density, lattice::GaugeAction::wilson(beta).density(U)), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Geometries, InputLayers, ::testing::ValuesIn(lcnn_geometries()),
                         lattice::testing::geometry_name);

}  // namespace
}  // namespace blockspin::lcnn::testing
