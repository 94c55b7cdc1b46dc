// Binning, jackknife and bootstrap error estimates for (functions of) means of Monte Carlo time series.
#pragma once

// Conventions shared by all functions here:
//  * `data[alpha][i]`: observable alpha, measurement i; all observables have the same length N and are
//    measured on the same configurations (their correlations are kept: bins are resampled jointly).
//  * Binning with bin_size b keeps floor(N/b) bins of b consecutive measurements and drops the trailing
//    partial bin. The "full" means used for `value` are the means over the kept bins.
//  * At least 2 bins are needed. Invalid input throws std::invalid_argument saying what is wrong.
//  * `value` is f(full means) (not bias-corrected); `bias` is the resampling estimate of the bias of that
//    value, so a bias-corrected estimate is value − bias.

#include <cstdint>
#include <functional>
#include <vector>

namespace blockspin::lattice {

/// Result of a jackknife or bootstrap analysis.
struct ResampleResult {
  double value;  ///< f(full means).
  double error;  ///< Resampling error estimate.
  double bias;  ///< Bias estimate of `value` (jackknife: (n_b−1)(θ̄_jk − value); bootstrap: θ̄_boot − value).
};

/// Jackknife over bins of `bin_size` consecutive measurements (drops the trailing partial bin). data[alpha][i].
/// With n_b bins and leave-one-bin-out estimates θ_k: error = sqrt((n_b−1)/n_b · Σ_k (θ_k − θ̄)²).
ResampleResult jackknife(const std::vector<std::vector<double>>& data,
                         const std::function<double(const std::vector<double>&)>& f, int64_t bin_size = 1);

/// Jackknife of the mean of one observable. With bin_size 1 the error is exactly s/sqrt(N)
/// (s² the unbiased sample variance) and the bias is 0.
ResampleResult jackknife(const std::vector<double>& data, int64_t bin_size = 1);

/// Bootstrap (binned), deterministic given seed (std::mt19937_64; bin indices drawn by unbiased rejection
/// sampling of its raw output, so the result does not depend on the standard library's distributions).
/// Each of the n_boot (>= 2) samples draws n_b bins with replacement, shared by all observables.
/// value = f(full means), error = standard deviation (1/(n_boot−1)) of the bootstrap replicas,
/// bias = mean of the replicas − value.
ResampleResult bootstrap(const std::vector<std::vector<double>>& data,
                         const std::function<double(const std::vector<double>&)>& f, int64_t n_boot, uint64_t seed,
                         int64_t bin_size = 1);

/// Blocks (bins) data: averages of consecutive blocks of bin_size, trailing partial block dropped.
/// Requires 1 <= bin_size <= data.size().
std::vector<double> bin(const std::vector<double>& data, int64_t bin_size);

}  // namespace blockspin::lattice
