// Wolff's Γ-method (UWerr) for Monte Carlo errors of primary and derived observables, with autocorrelations.
#pragma once

// Reference: U. Wolff, "Monte Carlo errors with less errors", Comput. Phys. Commun. 156 (2004) 143,
// hep-lat/0306017 (equation numbers below refer to it). The algorithm follows his UWerr.m:
//
//   1. means: ā_α over all data (all replicas pooled), ā_α^r per replica r;
//   2. gradient f_α = ∂f/∂A_α at ā by central differences with step h_α = sqrt(Γ_αα(0)/N)/2;
//   3. projected fluctuations δ_i = Σ_α f_α (a_α,i − ā_α)  (for a primary observable δ_i = a_i − ā);
//   4. Γ_F(t) = Σ_r Σ_{i=1}^{N_r−t} δ^r_i δ^r_{i+t} / (N − R t), computed lazily t = 1, 2, ...;
//   5. automatic windowing (Eq. 52): τ_int(W) = 1/2 + Σ_{t=1}^W ρ(t),
//      τ(W) = S / ln((2τ_int+1)/(2τ_int−1)) (τ = 1e-16 if τ_int(W) ≤ 1/2), g(W) = exp(−W/τ) − τ/sqrt(W N);
//      the window W is the first W with g(W) < 0;
//   6. bias correction of Γ (Eq. 31): C_F = Γ(0) + 2 Σ_{t=1}^W Γ(t); Γ(t) += C_F/N; C_F recomputed;
//   7. error = sqrt(C_F/N), τ_int = C_F/(2Γ(0)), error_of_error = error·sqrt((W+1/2)/N) (Eq. 44),
//      tau_int_error = τ_int·2·sqrt((W + 1/2 − τ_int)/N) (Eq. 42).
//
// Value of a derived quantity: F̄ = f(ā). With R > 1 replicas the O(1/N) bias of f(ā) is cancelled as in
// Eq. (49): F̄_R = Σ_r N_r f(ā^r)/N, bias b = (F̄_R − f(ā))/(R − 1), value = f(ā) − b. With R = 1 no bias
// correction is applied (value = f(ā), bias = 0). For a primary observable f is the identity and b = 0.

#include <cstdint>
#include <functional>
#include <vector>

namespace blockspin::lattice {

/// Result of a Γ-method analysis (Wolff, hep-lat/0306017).
struct GammaResult {
  double value = 0;           ///< Estimate: the mean, or f(means) for derived quantities (bias-corrected if R > 1).
  double error = 0;           ///< Statistical error sqrt(C_F/N).
  double error_of_error = 0;  ///< Error of the error, error·sqrt((W + 1/2)/N).
  double tau_int = 0.5;       ///< Integrated autocorrelation time (1/2 for uncorrelated data).
  double tau_int_error = 0;   ///< Its error, Wolff Eq. (42): tau_int·2·sqrt((W + 1/2 − tau_int)/N).
  int64_t window = 0;         ///< Summation window W chosen by the automatic windowing.
  int64_t n = 0;              ///< Total number of measurements N = Σ_r N_r.
  int64_t replicas = 0;       ///< Number of replicas R.
  bool window_found = true;   ///< False if g(W) < 0 never happened up to the maximal window (then W = max), or if
                              ///< the windowed C_F came out <= 0 (too few data; then W = 0, no autocorrelation).
  double bias = 0;            ///< Bias estimate b subtracted from f(ā) (derived quantities with R > 1), else 0.
  std::vector<double> rho;    ///< Normalised autocorrelation ρ(t) = Γ(t)/Γ(0), t = 0..W, after bias correction.
};

/// Options of the automatic windowing.
struct GammaOptions {
  /// Wolff's S = τ/τ_int guess; 1.5 is his default. S = 0 means "assume no autocorrelations" (W = 0). S < 0 throws.
  double S = 1.5;
  /// Largest window considered. −1: min_r N_r / 2 (as in UWerr). Values above min_r N_r − 1 are clamped to it
  /// (Γ(t) needs t < N_r in every replica for the normalisation N − R t). Other negative values throw.
  int64_t max_window = -1;
};

/// Primary observable. `data[r][i]`: replica r (independent Markov chain), measurement i.
/// Replicas may have different lengths. Throws std::invalid_argument on no replicas, an empty replica,
/// N < 2 in total, or a non-finite value.
///
/// Degenerate cases: constant data (Γ(0) = 0) give error 0, tau_int 1/2, W = 0, rho = {1}. If the windowed
/// C_F comes out negative (pathologically anticorrelated data), it is clamped to 0 (error 0, tau_int 0).
GammaResult gamma_method(const std::vector<std::vector<double>>& data, const GammaOptions& opt = {});

/// Convenience: a single replica.
GammaResult gamma_method(const std::vector<double>& data, const GammaOptions& opt = {});

/// Derived quantity F = f(<A_1>, ..., <A_n>). `data[alpha][r][i]`: observable alpha, replica r, measurement i.
/// All observables must have the same replica structure (same R and the same N_r). The gradient of f is
/// taken by central differences with step h_α = sqrt(Γ_αα(0)/N)/2 as in UWerr (gradient 0 where h_α = 0).
/// f is called 1 + 2·n_obs (+ R if R > 1) times. Throws std::invalid_argument on malformed data (as for
/// gamma_method, plus a missing f or mismatched replica structure) and std::domain_error if f(ā) or f(ā^r)
/// is not finite.
GammaResult gamma_method_derived(const std::vector<std::vector<std::vector<double>>>& data,
                                 const std::function<double(const std::vector<double>&)>& f,
                                 const GammaOptions& opt = {});

/// The windowing and error analysis proper, on already projected fluctuations δ (mean zero by construction).
/// `fluct` holds the replicas back to back; replica r occupies [offsets[r], offsets[r+1]), offsets.size() = R+1.
/// Returns every field except `value` and `bias` (left 0). Exposed for reuse (e.g. by other estimators) and tests.
GammaResult gamma_analyse_fluctuations(const std::vector<double>& fluct, const std::vector<int64_t>& offsets,
                                       const GammaOptions& opt = {});

}  // namespace blockspin::lattice
