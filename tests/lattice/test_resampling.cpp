// Tests of binning, jackknife and bootstrap against closed-form results for iid and AR(1) data.
#include "lattice/resampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace blockspin::lattice {
namespace {

std::vector<double> iid_normal(int64_t n, double mean, double sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, sigma);
  std::vector<double> x(static_cast<size_t>(n));
  for (auto& v : x) v = normal(rng);
  return x;
}

/// Sample mean and unbiased sample standard deviation.
std::pair<double, double> mean_and_s(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m += v;
  m /= static_cast<double>(x.size());
  double ss = 0;
  for (double v : x) ss += (v - m) * (v - m);
  return {m, std::sqrt(ss / static_cast<double>(x.size() - 1))};
}

const auto first_mean = [](const std::vector<double>& m) { return m[0]; };

TEST(Resampling, BinTinyExample) {
  const std::vector<double> x{1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(bin(x, 1), x);
  EXPECT_EQ(bin(x, 2), (std::vector<double>{1.5, 3.5, 5.5}));
  EXPECT_EQ(bin(x, 3), (std::vector<double>{2, 5}));
  EXPECT_EQ(bin(x, 7), (std::vector<double>{4}));
}

TEST(Resampling, JackknifeOfMeanIsNaiveStandardError) {
  const std::vector<double> x = iid_normal(1000, 1.3, 2.0, 123);
  const auto [m, s] = mean_and_s(x);
  const ResampleResult r = jackknife(x);
  EXPECT_NEAR(r.value, m, 1e-12);
  EXPECT_NEAR(r.error, s / std::sqrt(1000.0), 1e-12);
  EXPECT_NEAR(r.bias, 0.0, 1e-12);

  // Same through the general interface, with an extra observable that must not matter.
  const ResampleResult g = jackknife({x, iid_normal(1000, 0, 1, 5)}, first_mean);
  EXPECT_NEAR(g.error, r.error, 1e-14);
}

TEST(Resampling, BinnedJackknifeIsStandardErrorOfBins) {
  const std::vector<double> x = iid_normal(1003, 0.0, 1.0, 321);  // 143 bins of 7, 2 measurements dropped
  const std::vector<double> b = bin(x, 7);
  ASSERT_EQ(b.size(), 143u);
  const auto [m, s] = mean_and_s(b);
  const ResampleResult r = jackknife(x, 7);
  EXPECT_NEAR(r.value, m, 1e-12);
  EXPECT_NEAR(r.error, s / std::sqrt(143.0), 1e-12);
}

TEST(Resampling, JackknifeBiasOfSquaredMean) {
  // For f = x̄², the jackknife bias estimate is exactly s²/N.
  const std::vector<double> x = iid_normal(500, 0.7, 1.5, 99);
  const auto [m, s] = mean_and_s(x);
  const ResampleResult r = jackknife({x}, [](const std::vector<double>& v) { return v[0] * v[0]; });
  EXPECT_NEAR(r.value, m * m, 1e-12);
  EXPECT_NEAR(r.bias, s * s / 500.0, 1e-12);
  EXPECT_NEAR(r.error / (2 * std::abs(m) * s / std::sqrt(500.0)), 1.0, 0.05);  // linear propagation
}

TEST(Resampling, BootstrapOfIidMean) {
  const std::vector<double> x = iid_normal(2000, -0.4, 1.0, 7);
  const auto [m, s] = mean_and_s(x);
  const ResampleResult r = bootstrap({x}, first_mean, 2000, 2024);
  EXPECT_NEAR(r.value, m, 1e-12);
  EXPECT_NEAR(r.error / (s / std::sqrt(2000.0)), 1.0, 0.10);
  EXPECT_LT(std::abs(r.bias), 0.2 * r.error);

  // Deterministic in the seed, and the seed matters.
  const ResampleResult again = bootstrap({x}, first_mean, 2000, 2024);
  EXPECT_EQ(again.error, r.error);
  EXPECT_EQ(again.bias, r.bias);
  EXPECT_NE(bootstrap({x}, first_mean, 2000, 2025).error, r.error);
}

TEST(Resampling, BinnedBootstrapAndJackknifeOfAutocorrelatedMean) {
  // AR(1) with rho = 0.5: error of the mean sqrt(2 τ_int / N) with τ_int = 1.5. Bins of 100 >> τ_int.
  const int64_t n = 100000;
  std::mt19937_64 rng(555);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x(n);
  x[0] = normal(rng);
  for (int64_t t = 1; t < n; ++t) x[t] = 0.5 * x[t - 1] + std::sqrt(0.75) * normal(rng);
  const double exact = std::sqrt(2 * 1.5 / static_cast<double>(n));
  EXPECT_NEAR(bootstrap({x}, first_mean, 1000, 1, 100).error / exact, 1.0, 0.15);
  EXPECT_NEAR(jackknife(x, 100).error / exact, 1.0, 0.15);
  EXPECT_LT(jackknife(x, 1).error / exact, 0.7);  // unbinned: underestimates by sqrt(2 τ_int) ~ 1.7
}

TEST(Resampling, InvalidInputsThrow) {
  using Data = std::vector<std::vector<double>>;
  const std::vector<double> x{1, 2, 3, 4};
  EXPECT_THROW(bin({}, 1), std::invalid_argument);
  EXPECT_THROW(bin(x, 0), std::invalid_argument);
  EXPECT_THROW(bin(x, 5), std::invalid_argument);

  EXPECT_THROW(jackknife(Data{}, first_mean), std::invalid_argument);
  EXPECT_THROW(jackknife(std::vector<double>{}), std::invalid_argument);
  EXPECT_THROW(jackknife(Data{x, {1, 2}}, first_mean), std::invalid_argument);
  EXPECT_THROW(jackknife(x, 0), std::invalid_argument);
  EXPECT_THROW(jackknife(x, 3), std::invalid_argument);  // a single bin
  EXPECT_THROW(jackknife(Data{x}, nullptr), std::invalid_argument);

  EXPECT_THROW(bootstrap(Data{}, first_mean, 10, 1), std::invalid_argument);
  EXPECT_THROW(bootstrap(Data{x}, first_mean, 1, 1), std::invalid_argument);
  EXPECT_THROW(bootstrap(Data{x}, first_mean, 10, 1, 5), std::invalid_argument);
  EXPECT_THROW(bootstrap(Data{x, {1}}, first_mean, 10, 1), std::invalid_argument);

  try {
    jackknife(Data{x, {1, 2}}, first_mean);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("observable 1 has 2 measurements"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace blockspin::lattice
