// Tests of the Γ-method error analysis on AR(1) processes with exactly known autocorrelations.
#include "lattice/gamma_method.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "lattice/resampling.h"

namespace blockspin::lattice {
namespace {

/// AR(1): x_t = rho x_{t-1} + sqrt(1 - rho²) η_t, started in equilibrium (x_0 ~ N(0,1)), so Var x = 1 and
/// the normalised autocorrelation is rho^|t|: τ_int = (1 + rho) / (2 (1 - rho)).
std::vector<double> ar1(double rho, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x(static_cast<size_t>(n));
  const double s = std::sqrt(1 - rho * rho);
  x[0] = normal(rng);
  for (int64_t t = 1; t < n; ++t) x[t] = rho * x[t - 1] + s * normal(rng);
  return x;
}

double exact_tau(double rho) { return (1 + rho) / (2 * (1 - rho)); }

void expect_all_finite(const GammaResult& r) {
  EXPECT_TRUE(std::isfinite(r.value));
  EXPECT_TRUE(std::isfinite(r.error));
  EXPECT_TRUE(std::isfinite(r.error_of_error));
  EXPECT_TRUE(std::isfinite(r.tau_int));
  EXPECT_TRUE(std::isfinite(r.tau_int_error));
  for (double v : r.rho) EXPECT_TRUE(std::isfinite(v));
}

class GammaAr1 : public ::testing::TestWithParam<double> {};

TEST_P(GammaAr1, RecoversTauIntAndErrorOfMean) {
  const double rho = GetParam();
  const int64_t n = 200000;
  const GammaResult r = gamma_method(ar1(rho, n, 20240611), GammaOptions{});
  const double tau = exact_tau(rho);
  const double exact_error = std::sqrt(2 * tau / static_cast<double>(n));  // σ² = 1

  expect_all_finite(r);
  EXPECT_EQ(r.n, n);
  EXPECT_EQ(r.replicas, 1);
  EXPECT_TRUE(r.window_found);
  EXPECT_GE(r.window, 1);
  ASSERT_EQ(static_cast<int64_t>(r.rho.size()), r.window + 1);
  EXPECT_DOUBLE_EQ(r.rho[0], 1.0);
  EXPECT_NEAR(r.tau_int, tau, 3 * r.tau_int_error) << "rho = " << rho;
  EXPECT_GT(r.tau_int_error, 0);
  EXPECT_LT(r.tau_int_error, r.tau_int);
  EXPECT_NEAR(r.error / exact_error, 1.0, 0.10);
  EXPECT_GT(r.error_of_error, 0);
  EXPECT_LT(r.error_of_error, 0.1 * r.error);
  EXPECT_NEAR(r.value, 0.0, 4 * r.error);  // true mean is 0
  if (rho > 0) {
    EXPECT_NEAR(r.rho[1], rho, 0.05);
  }
  std::printf("[ AR(1) rho=%.1f ] tau_int = %.4f +- %.4f (exact %.4f), W = %lld, error = %.6g (exact %.6g)\n", rho,
              r.tau_int, r.tau_int_error, tau, static_cast<long long>(r.window), r.error, exact_error);
}

INSTANTIATE_TEST_SUITE_P(Rho, GammaAr1, ::testing::Values(0.0, 0.5, 0.9));

TEST(GammaMethod, ReplicasGiveConsistentTauInt) {
  const double rho = 0.9;
  const double tau = exact_tau(rho);
  // Four independent chains of different lengths, 200000 measurements in total.
  std::vector<std::vector<double>> reps;
  const int64_t lengths[] = {30000, 50000, 70000, 50000};
  for (int r = 0; r < 4; ++r) reps.push_back(ar1(rho, lengths[r], 1000 + r));
  const GammaResult multi = gamma_method(reps);
  const GammaResult single = gamma_method(ar1(rho, 200000, 77));

  expect_all_finite(multi);
  EXPECT_EQ(multi.n, 200000);
  EXPECT_EQ(multi.replicas, 4);
  EXPECT_TRUE(multi.window_found);
  EXPECT_NEAR(multi.tau_int, tau, 3 * multi.tau_int_error);
  EXPECT_NEAR(multi.tau_int, single.tau_int, 3 * std::hypot(multi.tau_int_error, single.tau_int_error));
  EXPECT_NEAR(multi.error / std::sqrt(2 * tau / 200000.0), 1.0, 0.10);
  // The value of a primary observable with replicas is the pooled mean.
  double sum = 0;
  for (const auto& rep : reps)
    for (double x : rep) sum += x;
  EXPECT_NEAR(multi.value, sum / 200000.0, 1e-14);
  EXPECT_EQ(multi.bias, 0.0);
  std::printf("[ 4 replicas ] tau_int = %.4f +- %.4f (single chain %.4f +- %.4f, exact %.4f)\n", multi.tau_int,
              multi.tau_int_error, single.tau_int, single.tau_int_error, tau);
}

/// Naive transcription of Wolff's formulas (Eqs. 31, 33, 41, 42, 44, 52), for an exact comparison.
TEST(GammaMethod, MatchesNaiveReferenceWithReplicas) {
  const std::vector<std::vector<double>> reps{ar1(0.8, 700, 31), ar1(0.8, 1300, 32)};
  const GammaResult r = gamma_method(reps);
  const int64_t N = 2000, R = 2;
  double mean = 0;
  for (const auto& rep : reps)
    for (double x : rep) mean += x;
  mean /= N;
  const auto gamma = [&](int64_t t) {
    double s = 0;
    for (const auto& rep : reps)
      for (size_t i = 0; i + t < rep.size(); ++i) s += (rep[i] - mean) * (rep[i + t] - mean);
    return s / static_cast<double>(N - R * t);
  };
  // Window: first W with g(W) < 0.
  int64_t W = 0;
  for (int64_t w = 1; w <= 350; ++w) {
    double ti = 0.5;
    for (int64_t t = 1; t <= w; ++t) ti += gamma(t) / gamma(0);
    const double tau = ti <= 0.5 ? 1e-16 : 1.5 / std::log((2 * ti + 1) / (2 * ti - 1));
    if (std::exp(-w / tau) - tau / std::sqrt(static_cast<double>(w * N)) < 0) {
      W = w;
      break;
    }
  }
  ASSERT_GT(W, 0);
  std::vector<double> g(W + 1);
  for (int64_t t = 0; t <= W; ++t) g[t] = gamma(t);
  double C = g[0];
  for (int64_t t = 1; t <= W; ++t) C += 2 * g[t];
  for (auto& v : g) v += C / N;
  C = g[0];
  for (int64_t t = 1; t <= W; ++t) C += 2 * g[t];
  const double tau = C / (2 * g[0]), err = std::sqrt(C / N);

  EXPECT_EQ(r.window, W);
  EXPECT_NEAR(r.value, mean, 1e-14);
  EXPECT_NEAR(r.error, err, 1e-12 * err);
  EXPECT_NEAR(r.tau_int, tau, 1e-10);
  EXPECT_NEAR(r.error_of_error, err * std::sqrt((W + 0.5) / N), 1e-12 * err);
  EXPECT_NEAR(r.tau_int_error, tau * 2 * std::sqrt((W + 0.5 - tau) / N), 1e-10);
  ASSERT_EQ(r.rho.size(), g.size());
  for (int64_t t = 0; t <= W; ++t) EXPECT_NEAR(r.rho[t], g[t] / g[0], 1e-12);
}

/// Two AR(1) chains with the same rho whose noises have correlation c: every linear combination is again AR(1).
struct CorrelatedPair {
  std::vector<double> x, y;
};
CorrelatedPair correlated_ar1(double rho, double c, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  CorrelatedPair p{std::vector<double>(n), std::vector<double>(n)};
  const double s = std::sqrt(1 - rho * rho), sc = std::sqrt(1 - c * c);
  for (int64_t t = 0; t < n; ++t) {
    const double e1 = normal(rng), e2 = c * e1 + sc * normal(rng);
    p.x[t] = t == 0 ? e1 : rho * p.x[t - 1] + s * e1;
    p.y[t] = t == 0 ? e2 : rho * p.y[t - 1] + s * e2;
  }
  return p;
}

TEST(GammaMethod, DerivedRatioMatchesLinearPropagation) {
  const double rho = 0.7, c = 0.5, sb = 0.5;
  const int64_t n = 200000;
  const CorrelatedPair p = correlated_ar1(rho, c, n, 4242);
  std::vector<double> a(n), b(n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = 2 + p.x[i];
    b[i] = 4 + sb * p.y[i];
  }
  const auto ratio = [](const std::vector<double>& m) { return m[0] / m[1]; };
  const GammaResult r = gamma_method_derived({{a}, {b}}, ratio);
  expect_all_finite(r);
  EXPECT_TRUE(r.window_found);

  // Exact: δF = x/4 − sb·y/8 is AR(1) with variance α² + β² + 2αβc and τ_int = (1+ρ)/(2(1−ρ)).
  const double al = 1.0 / 4, be = -sb / 8;
  const double var = al * al + be * be + 2 * al * be * c;
  const double exact_error = std::sqrt(var * 2 * exact_tau(rho) / n);
  EXPECT_NEAR(r.value, 0.5, 4 * exact_error);
  EXPECT_NEAR(r.error / exact_error, 1.0, 0.10);
  EXPECT_NEAR(r.tau_int, exact_tau(rho), 3 * r.tau_int_error);
  EXPECT_EQ(r.bias, 0.0);  // one replica: no bias correction

  // Linear propagation by hand: project with the analytic gradient at the sample means, then the primary
  // Γ-method. The numerical gradient of a/b is exact in a and O(h²) in b, so the results agree closely.
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  std::vector<double> proj(n);
  for (int64_t i = 0; i < n; ++i) proj[i] = a[i] / mb - ma * b[i] / (mb * mb);
  const GammaResult by_hand = gamma_method(proj);
  EXPECT_EQ(r.window, by_hand.window);
  EXPECT_NEAR(r.error / by_hand.error, 1.0, 1e-6);
  EXPECT_NEAR(r.tau_int, by_hand.tau_int, 1e-6 * by_hand.tau_int);
  EXPECT_NEAR(r.value, ma / mb, 1e-14);

  // Jackknife with bins much longer than τ_int agrees within ~15 % (its own error is ~ 1/sqrt(2·1000)).
  const ResampleResult jk = jackknife({a, b}, ratio, 200);
  EXPECT_NEAR(jk.error / r.error, 1.0, 0.15);
  std::printf("[ a/b ] value = %.6f +- %.3g (exact error %.3g, by hand %.3g, jackknife(200) %.3g)\n", r.value, r.error,
              exact_error, by_hand.error, jk.error);
}

TEST(GammaMethod, LinearDerivedEqualsPrimary) {
  const std::vector<double> x = ar1(0.5, 50000, 9);
  const GammaResult prim = gamma_method(x);
  const GammaResult der = gamma_method_derived({{x}}, [](const std::vector<double>& m) { return 3 * m[0] - 2; });
  EXPECT_NEAR(der.value, 3 * prim.value - 2, 1e-12);
  EXPECT_NEAR(der.error, 3 * prim.error, 1e-9 * prim.error);
  EXPECT_NEAR(der.tau_int, prim.tau_int, 1e-9);
  EXPECT_EQ(der.window, prim.window);
}

TEST(GammaMethod, DerivedReplicaBiasCorrection) {
  // Wolff Eq. (49): value = f(ā) − (Σ_r N_r f(ā^r)/N − f(ā))/(R − 1).
  std::vector<std::vector<double>> a, b;
  const int64_t lengths[] = {3000, 5000, 4000};
  for (int r = 0; r < 3; ++r) {
    std::vector<double> x = ar1(0.5, lengths[r], 50 + r), y = ar1(0.3, lengths[r], 60 + r);
    for (auto& v : x) v = 1 + 0.5 * v;
    for (auto& v : y) v = 2 + 0.5 * v;
    a.push_back(x);
    b.push_back(y);
  }
  const auto f = [](const std::vector<double>& m) { return m[0] * m[0] / m[1]; };
  const GammaResult r = gamma_method_derived({a, b}, f);

  double sa = 0, sb = 0, f_rep = 0;
  int64_t n = 0;
  for (int i = 0; i < 3; ++i) {
    double ra = 0, rb = 0;
    for (double v : a[i]) ra += v;
    for (double v : b[i]) rb += v;
    sa += ra, sb += rb, n += lengths[i];
    f_rep += lengths[i] * f({ra / lengths[i], rb / lengths[i]});
  }
  const double f_bar = f({sa / n, sb / n});
  const double bias = (f_rep / n - f_bar) / 2;
  EXPECT_NEAR(r.bias, bias, 1e-12);
  EXPECT_NEAR(r.value, f_bar - bias, 1e-12);
  EXPECT_NE(r.bias, 0.0);
  EXPECT_EQ(r.replicas, 3);
  EXPECT_EQ(r.n, 12000);
  EXPECT_LT(std::abs(r.bias), r.error);  // the bias is O(1/N), far below the O(1/sqrt(N)) error
}

TEST(GammaMethod, ConstantDataGiveZeroErrorWithoutNaN) {
  const GammaResult r = gamma_method(std::vector<double>(1000, 3.7));
  expect_all_finite(r);
  EXPECT_EQ(r.value, 3.7);
  EXPECT_EQ(r.error, 0.0);
  EXPECT_EQ(r.error_of_error, 0.0);
  EXPECT_EQ(r.tau_int, 0.5);
  EXPECT_EQ(r.tau_int_error, 0.0);
  EXPECT_EQ(r.window, 0);
  EXPECT_EQ(r.n, 1000);

  // Constant replicas, and a derived quantity of constant observables.
  const GammaResult rr = gamma_method(std::vector<std::vector<double>>{{0.1, 0.1, 0.1}, {0.1, 0.1}});
  expect_all_finite(rr);
  EXPECT_EQ(rr.error, 0.0);
  const GammaResult d = gamma_method_derived({{{2.0, 2.0, 2.0, 2.0}}, {{0.3, 0.3, 0.3, 0.3}}},
                                             [](const std::vector<double>& m) { return m[0] / m[1]; });
  expect_all_finite(d);
  EXPECT_DOUBLE_EQ(d.value, 2.0 / 0.3);
  EXPECT_EQ(d.error, 0.0);
  EXPECT_EQ(d.tau_int, 0.5);

  // f independent of the only fluctuating observable: zero gradient, zero error.
  const GammaResult z = gamma_method_derived({{ar1(0.5, 1000, 1)}, {std::vector<double>(1000, 5.0)}},
                                             [](const std::vector<double>& m) { return 2 * m[1]; });
  expect_all_finite(z);
  EXPECT_EQ(z.value, 10.0);
  EXPECT_EQ(z.error, 0.0);
}

TEST(GammaMethod, WindowingOptions) {
  const std::vector<double> slow = ar1(0.99, 20000, 3);
  GammaOptions small;
  small.max_window = 3;
  const GammaResult capped = gamma_method(slow, small);
  EXPECT_FALSE(capped.window_found);
  EXPECT_EQ(capped.window, 3);
  EXPECT_EQ(capped.rho.size(), 4u);

  // S = 0: no autocorrelations assumed, W = 0 and τ_int = 1/2 exactly (bias correction scales Γ(0) and C_F alike).
  GammaOptions none;
  none.S = 0;
  const GammaResult naive = gamma_method(slow, none);
  EXPECT_TRUE(naive.window_found);
  EXPECT_EQ(naive.window, 0);
  EXPECT_NEAR(naive.tau_int, 0.5, 1e-12);
  EXPECT_LT(naive.error, gamma_method(slow).error);  // ignoring autocorrelations underestimates the error

  // A larger S gives a larger window.
  GammaOptions wide;
  wide.S = 3;
  const std::vector<double> x = ar1(0.9, 50000, 5);
  EXPECT_GT(gamma_method(x, wide).window, gamma_method(x).window);
}

TEST(GammaMethod, LongChain) {
  // A 1e6-long strongly correlated chain (an O(N²) Γ would take minutes; no timing assertion, only reported).
  const std::vector<double> x = ar1(0.95, 1000000, 11);
  const auto t0 = std::chrono::steady_clock::now();
  const GammaResult r = gamma_method(x);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.window_found);
  EXPECT_NEAR(r.tau_int, exact_tau(0.95), 3 * r.tau_int_error);
  std::printf("[ N = 1e6, rho = 0.95 ] tau_int = %.3f +- %.3f (exact %.3f), W = %lld, %.3f s\n", r.tau_int,
              r.tau_int_error, exact_tau(0.95), static_cast<long long>(r.window), seconds);
}

TEST(GammaMethod, InvalidInputsThrow) {
  using Data = std::vector<std::vector<double>>;
  const auto id = [](const std::vector<double>& m) { return m[0]; };
  EXPECT_THROW(gamma_method(Data{}), std::invalid_argument);
  EXPECT_THROW(gamma_method(std::vector<double>{}), std::invalid_argument);
  EXPECT_THROW(gamma_method(std::vector<double>{1.0}), std::invalid_argument);
  EXPECT_THROW(gamma_method(Data{{1.0, 2.0}, {}}), std::invalid_argument);
  EXPECT_THROW(gamma_method(std::vector<double>{1.0, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  GammaOptions bad_s;
  bad_s.S = -1;
  EXPECT_THROW(gamma_method(std::vector<double>{1.0, 2.0, 3.0}, bad_s), std::invalid_argument);
  GammaOptions bad_w;
  bad_w.max_window = -2;
  EXPECT_THROW(gamma_method(std::vector<double>{1.0, 2.0, 3.0}, bad_w), std::invalid_argument);

  EXPECT_THROW(gamma_method_derived({}, id), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({{{1.0, 2.0}}}, nullptr), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({{{1.0, 2.0}}, {{1.0, 2.0}, {3.0}}}, id), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({{{1.0, 2.0}}, {{1.0, 2.0, 3.0}}}, id), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({{{1.0, 2.0}}, {{}}}, id), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({{{0.0, 0.0}}}, [](const std::vector<double>& m) { return 1 / m[0]; }),
               std::domain_error);

  // Messages say what is wrong.
  try {
    gamma_method(Data{{1.0, 2.0}, {}});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("replica 1 is empty"), std::string::npos) << e.what();
  }
}

TEST(GammaMethod, FewAnticorrelatedMeasurementsNeverGiveZeroError) {
  // Four independent-looking values whose estimated ρ(1) is strongly negative: the windowed C_F is <= 0.
  // The analysis must fall back to W = 0 (naive error) instead of reporting an error of zero.
  const std::vector<double> x{-0.00055, 0.00060, -0.00104, 0.00254};
  const GammaResult r = gamma_method(x);
  EXPECT_FALSE(r.window_found);
  EXPECT_EQ(r.window, 0);
  double mean = 0, var = 0;
  for (double v : x) mean += v / 4;
  for (double v : x) var += (v - mean) * (v - mean) / 4;  // Γ(0)
  EXPECT_NEAR(r.error, std::sqrt(var * (1 + 1.0 / 4) / 4), 1e-15);
  EXPECT_GT(r.error, 0.0);
  EXPECT_NEAR(r.tau_int, 0.5 * (1 + 1.0 / 4) / (1 + 1.0 / 4), 1e-12);
}

}  // namespace
}  // namespace blockspin::lattice
