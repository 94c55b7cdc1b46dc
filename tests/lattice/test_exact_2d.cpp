// Checks of the exact 2D reference formula itself (it is what the sampler tests trust).
#include <gtest/gtest.h>

#include "exact_2d.h"

using namespace blockspin::lattice::testing;

TEST(Exact2D, SU2IsBesselRatio) {
  for (double beta : {0.1, 1.0, 2.5, 6.0})
    EXPECT_NEAR(exact_plaquette_2d(2, beta), bessel_i(2, beta) / bessel_i(1, beta), 1e-8);
}

TEST(Exact2D, StrongAndWeakCouplingLimits) {
  // Strong coupling: ⟨P⟩ = β/(2N²) + O(β²) for N >= 3 (β/4 for SU(2)).
  // Weak coupling: U = exp(i A^a t^a) with Gaussian A^a of variance 2N/β gives 1 - ⟨P⟩ = (N² - 1)/(2β) + O(1/β²).
  EXPECT_NEAR(exact_plaquette_2d(3, 0.01), 0.01 / 18.0, 1e-6);
  EXPECT_NEAR(exact_plaquette_2d(2, 0.01), 0.01 / 4.0, 1e-6);
  EXPECT_NEAR((1 - exact_plaquette_2d(3, 200.0)) * 200.0, 4.0, 0.05);
  EXPECT_NEAR((1 - exact_plaquette_2d(2, 200.0)) * 200.0, 1.5, 0.02);
}

TEST(Exact2D, SU3OneLinkIntegralMatchesHaarAverageSeries) {
  const double beta = 0.05, x = beta / 3.0;
  // exp((x/2) Tr(U+U†)) = exp(x Re Tr U): z = 1 + x² ⟨(Re Tr U)²⟩/2 + O(x³) = 1 + x²/4 + O(x³).
  EXPECT_NEAR(su_n_one_link_integral(3, beta), 1 + x * x / 4, 1e-6);
}
