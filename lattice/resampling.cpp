// Binning, jackknife and bootstrap for functions of means of Monte Carlo time series. See resampling.h.
#include "lattice/resampling.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

namespace blockspin::lattice {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

/// Validates data[alpha][i] and bin_size, and returns the binned observables [alpha][bin] (>= 2 bins).
std::vector<std::vector<double>> binned_observables(const std::vector<std::vector<double>>& data, int64_t bin_size,
                                                    const std::string& where) {
  if (data.empty()) fail(where, "no observables given (data is empty)");
  const size_t n = data[0].size();
  if (n == 0) fail(where, "observable 0 has no measurements");
  for (size_t a = 1; a < data.size(); ++a) {
    if (data[a].size() != n) {
      fail(where, "observable " + std::to_string(a) + " has " + std::to_string(data[a].size()) +
                      " measurements, observable 0 has " + std::to_string(n));
    }
  }
  if (bin_size < 1 || bin_size > static_cast<int64_t>(n)) {
    fail(where, "bin_size must be in [1, N = " + std::to_string(n) + "], got " + std::to_string(bin_size));
  }
  const int64_t n_bins = static_cast<int64_t>(n) / bin_size;
  if (n_bins < 2) {
    fail(where, "need at least 2 bins, got " + std::to_string(n_bins) + " (N = " + std::to_string(n) +
                    ", bin_size = " + std::to_string(bin_size) + ")");
  }
  std::vector<std::vector<double>> binned;
  binned.reserve(data.size());
  for (const auto& obs : data) binned.push_back(bin(obs, bin_size));
  return binned;
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

/// Uniform integer in [0, n) from raw 64-bit output, unbiased (rejects the 2^64 mod n lowest values).
uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // = 2^64 mod n
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}

}  // namespace

std::vector<double> bin(const std::vector<double>& data, int64_t bin_size) {
  if (data.empty()) fail("bin", "data is empty");
  if (bin_size < 1 || bin_size > static_cast<int64_t>(data.size())) {
    fail("bin", "bin_size must be in [1, N = " + std::to_string(data.size()) + "], got " + std::to_string(bin_size));
  }
  const int64_t n_bins = static_cast<int64_t>(data.size()) / bin_size;
  std::vector<double> out(static_cast<size_t>(n_bins));
  for (int64_t k = 0; k < n_bins; ++k) {
    double s = 0;
    for (int64_t j = 0; j < bin_size; ++j) s += data[k * bin_size + j];
    out[k] = s / static_cast<double>(bin_size);
  }
  return out;
}

ResampleResult jackknife(const std::vector<std::vector<double>>& data,
                         const std::function<double(const std::vector<double>&)>& f, int64_t bin_size) {
  if (!f) fail("jackknife", "the function f is empty");
  const auto binned = binned_observables(data, bin_size, "jackknife");
  const size_t n_obs = binned.size();
  const int64_t nb = static_cast<int64_t>(binned[0].size());
  const double nbd = static_cast<double>(nb);

  std::vector<double> sums(n_obs), means(n_obs);
  for (size_t a = 0; a < n_obs; ++a) {
    for (double v : binned[a]) sums[a] += v;
    means[a] = sums[a] / nbd;
  }
  const double value = f(means);

  // Leave-one-bin-out estimates θ_k = f((sum − b_k)/(n_b − 1)).
  std::vector<double> theta(static_cast<size_t>(nb));
  std::vector<double> args(n_obs);
  for (int64_t k = 0; k < nb; ++k) {
    for (size_t a = 0; a < n_obs; ++a) args[a] = (sums[a] - binned[a][k]) / (nbd - 1);
    theta[k] = f(args);
  }
  const double theta_bar = mean_of(theta);
  double ss = 0;
  for (double t : theta) ss += (t - theta_bar) * (t - theta_bar);
  return {value, std::sqrt((nbd - 1) / nbd * ss), (nbd - 1) * (theta_bar - value)};
}

ResampleResult jackknife(const std::vector<double>& data, int64_t bin_size) {
  return jackknife(
      std::vector<std::vector<double>>{data}, [](const std::vector<double>& m) { return m[0]; }, bin_size);
}

ResampleResult bootstrap(const std::vector<std::vector<double>>& data,
                         const std::function<double(const std::vector<double>&)>& f, int64_t n_boot, uint64_t seed,
                         int64_t bin_size) {
  if (!f) fail("bootstrap", "the function f is empty");
  if (n_boot < 2) fail("bootstrap", "n_boot must be >= 2, got " + std::to_string(n_boot));
  const auto binned = binned_observables(data, bin_size, "bootstrap");
  const size_t n_obs = binned.size();
  const int64_t nb = static_cast<int64_t>(binned[0].size());
  const double nbd = static_cast<double>(nb);

  std::vector<double> means(n_obs);
  for (size_t a = 0; a < n_obs; ++a) means[a] = mean_of(binned[a]);
  const double value = f(means);

  std::mt19937_64 rng(seed);
  std::vector<double> theta(static_cast<size_t>(n_boot));
  std::vector<double> sums(n_obs);
  for (int64_t b = 0; b < n_boot; ++b) {
    std::fill(sums.begin(), sums.end(), 0.0);
    for (int64_t k = 0; k < nb; ++k) {
      const auto idx = static_cast<size_t>(uniform_index(rng, static_cast<uint64_t>(nb)));
      for (size_t a = 0; a < n_obs; ++a) sums[a] += binned[a][idx];
    }
    for (size_t a = 0; a < n_obs; ++a) sums[a] /= nbd;
    theta[b] = f(sums);
  }
  const double theta_bar = mean_of(theta);
  double ss = 0;
  for (double t : theta) ss += (t - theta_bar) * (t - theta_bar);
  return {value, std::sqrt(ss / static_cast<double>(n_boot - 1)), theta_bar - value};
}

}  // namespace blockspin::lattice
