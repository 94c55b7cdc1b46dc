// Hybrid Monte Carlo for gauge fields: Gaussian su(N) momenta, the splitting integrators of md_integrator.h, Metropolis
// step.
//
// H[U, p] = ½ Σ_{x,μ,a} p_{x,μ,a}² + S[U]; molecular dynamics U̇_μ(x) = (i p^a t^a) U_μ(x), ṗ^a = -D^a[U], with D the
// left link derivative of gauge_action.h. Batched: every configuration in the batch is an independent chain with
// its own accept/reject.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "lattice/gauge_action.h"
#include "lattice/md_integrator.h"

namespace blockspin::lattice {

/// An action for molecular dynamics: value [batch] and link derivative components [batch, D, x.., N²-1].
struct MdAction {
  std::function<torch::Tensor(const torch::Tensor&)> value;
  std::function<torch::Tensor(const torch::Tensor&)> derivative;
};
/// Analytic forces of a plaquette + rectangle action.
MdAction md_action(const GaugeAction& action);
/// Any differentiable action functional, with forces by autograd.
MdAction md_action(std::function<torch::Tensor(const torch::Tensor&)> action);

struct HmcOptions {
  double trajectory_length = 1.0;
  int64_t steps = 10;
  Integrator integrator = Integrator::Omelyan;
  /// Omelyan's minimum-norm parameter λ of the 2nd-order scheme (md_integrator.h).
  double omelyan_lambda = 0.1931833275037836;
  /// Project every link back onto SU(N) after each accepted trajectory (guards against drift in float32).
  bool reunitarise = false;
};

/// Result of one trajectory for every chain of the batch.
struct HmcStep {
  torch::Tensor U;         ///< configuration after the Metropolis step
  torch::Tensor delta_H;   ///< H_final - H_initial, [batch] (double)
  torch::Tensor accepted;  ///< [batch] bool
};

/// Molecular-dynamics evolution of (U, p) over options.trajectory_length (no accept/reject): for tests
/// (reversibility, ΔH scaling) and for the trajectory below. Returns (U', p').
std::pair<torch::Tensor, torch::Tensor> md_evolve(const torch::Tensor& U, const torch::Tensor& p,
                                                  const MdAction& action, const HmcOptions& options);

/// Kinetic energy ½ Σ p² per configuration: [batch] (double).
torch::Tensor kinetic_energy(const torch::Tensor& p);

/// The MD drift U <- exp(ε Σ_a p_a i t^a) U (p [batch, D, x.., N²-1]): the fused kernel, or the torch path (other
/// devices, kernels "torch", or when autograd must see it).
torch::Tensor update_links(const torch::Tensor& U, const torch::Tensor& p, double eps);

/// One HMC trajectory: draws p ~ N(0, 1) from `gen`, integrates, accepts each chain with probability min(1, e^{-ΔH}).
/// With `metropolis = false` every trajectory is accepted (molecular-dynamics thermalisation far from equilibrium,
/// where ΔH grows with the volume; not exact, so only for discarded thermalisation updates). The same random
/// numbers are drawn either way.
HmcStep hmc_trajectory(const torch::Tensor& U, const MdAction& action, const HmcOptions& options, at::Generator& gen,
                       bool metropolis = true);

}  // namespace blockspin::lattice
