// Flow-based Monte Carlo: Metropolis independence sampler (Eq. 10), ESS/N (Eq. 12), reverse-KL estimate (Eq. 11)
// and the integrated autocorrelation time of the accepted chain (Γ-method, lattice/gamma_method.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// Inputs are per-proposal log-densities: log_q = log p̃(φ̃_i) from the flow and log_p = −S(φ̃_i) of the target (any
// constant offsets drop out of Eq. 10 and of ESS/N). With log w_i = log_p_i − log_q_i, Eq. (10) accepts φ̃ with
// probability min(1, w(φ̃)/w(φ_c)). The chain starts at proposal 0 (accepted unconditionally).
#pragma once

#include <torch/torch.h>

#include "lattice/gamma_method.h"

namespace blockspin::flows {

/// ESS/N = (Σ w)² / (N Σ w²) from log w [N] (Eq. 12), computed stably (shifted by max log w). In (0, 1].
double effective_sample_size_fraction(const torch::Tensor& log_weights);

/// Estimate of D_KL(p̃‖p) − log Z_p + log Z_q = mean(log_q − log_p) (Eq. 11 with unnormalised densities).
double reverse_kl_estimate(const torch::Tensor& log_q, const torch::Tensor& log_p);

struct MetropolisResult {
  torch::Tensor chain;       ///< [N] int64: index of the proposal held after step i (gather configurations with it)
  torch::Tensor accepted;    ///< [N] bool: whether step i accepted its proposal (step 0 always true)
  double acceptance = 0;     ///< accepted fraction of steps 1..N−1
  double ess_per_n = 0;      ///< Eq. (12) on all proposals
  double kl = 0;             ///< reverse_kl_estimate on all proposals
  lattice::GammaResult tau;  ///< Γ-method analysis of the observable along the chain (τ_int, mean, error)
};

/// Runs the independence sampler over N proposals in order. `observable` [N] (optional; default log w) is measured
/// on the chain for τ_int. Uniform numbers come from `gen` (CPU). log_q and log_p: [N], any dtype/device.
MetropolisResult metropolis_independence(const torch::Tensor& log_q, const torch::Tensor& log_p, at::Generator& gen,
                                         const torch::Tensor& observable = {}, const lattice::GammaOptions& gamma = {});

}  // namespace blockspin::flows
