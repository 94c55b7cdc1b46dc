// Hybrid Monte Carlo for the φ⁴ scalar field: Gaussian momenta, the splitting integrators of md_integrator.h,
// Metropolis step.
//
// H[φ, π] = ½ Σ_x π_x² + S(φ) with S the hopping-form action of scalar_action.h; molecular dynamics φ̇ = π,
// π̇ = −∂S/∂φ. Batched: every configuration of the batch is an independent chain with its own accept/reject (and,
// with per-configuration couplings, its own action). Fields of any D >= 1, float or double, on any device; the
// random numbers come from the caller's generator on the field's device. No autograd graph is kept.
#pragma once

#include <torch/torch.h>

#include <utility>

#include "lattice/hmc.h"
#include "lattice/scalar_action.h"

namespace blockspin::lattice {

struct ScalarHmcOptions {
  double trajectory_length = 1.0;
  int64_t steps = 10;
  Integrator integrator = Integrator::Leapfrog;
  /// Omelyan's minimum-norm parameter (used only by Integrator::Omelyan, md_integrator.h).
  double omelyan_lambda = 0.1931833275037836;
};

/// Result of one trajectory for every chain of the batch.
struct ScalarHmcStep {
  torch::Tensor phi;       ///< configuration after the Metropolis step, [batch, x..]
  torch::Tensor delta_H;   ///< H_final − H_initial, [batch] (double)
  torch::Tensor accepted;  ///< [batch] bool
};

/// Hamiltonian ½ Σ π² + S(φ) per configuration: [batch] (double).
torch::Tensor scalar_hamiltonian(const torch::Tensor& phi, const torch::Tensor& pi, const ScalarCouplings& c);

/// Molecular-dynamics evolution of (φ, π) over options.trajectory_length, no accept/reject (for tests of
/// reversibility and ΔH scaling, and for the trajectory below). Returns (φ', π').
std::pair<torch::Tensor, torch::Tensor> scalar_md_evolve(const torch::Tensor& phi, const torch::Tensor& pi,
                                                         const ScalarCouplings& c, const ScalarHmcOptions& options);

/// One HMC trajectory: draws π ~ N(0, 1) from `gen`, integrates, accepts each chain with probability min(1, e^{−ΔH})
/// (a NaN ΔH is rejected). With `metropolis = false` every finite trajectory is accepted (thermalisation only; the
/// same random numbers are drawn either way).
ScalarHmcStep scalar_hmc_trajectory(const torch::Tensor& phi, const ScalarCouplings& c, const ScalarHmcOptions& options,
                                    at::Generator& gen, bool metropolis = true);

}  // namespace blockspin::lattice
