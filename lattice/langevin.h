// Batched Langevin sampling of φ⁴ (Eq. 37 of Bauer et al., arXiv:2412.12842), differentiable w.r.t. the couplings.
//
// One step is the Euler–Maruyama discretisation of Eq. (37):
//
//   φ^(ϑ+1) = φ^(ϑ) − τ ∂S/∂φ [κ, λ](φ^(ϑ)) + sqrt(2τ) η^(ϑ),     η ~ N(0, 1) independently per site and chain,
//
// with no Metropolis correction, so the stationary distribution is e^{−S} only up to O(τ) (for the free theory it is
// Gaussian with momentum-space variance 1/(M̃(p)(1 − τM̃(p)/2)), free_scalar.h). The update is written in
// differentiable torch ops: when κ or λ (or the start configuration) require grad, the whole trajectory stays on the
// autograd graph (IR matching backpropagates through it; memory grows linearly with the number of steps). With
// `detach = true` the trajectory runs under NoGradGuard on detached inputs (thermalisation, re-thermalisation).
// The noise is drawn from the caller's generator on the field's device, one randn per step, so two runs with equally
// seeded generators see the same noise whatever the couplings.
#pragma once

#include <torch/torch.h>

#include "lattice/scalar_action.h"

namespace blockspin::lattice {

struct LangevinOptions {
  double step_size = 0.01;  ///< τ (the paper uses 0.01)
  int64_t steps = 1;        ///< number of updates
  bool detach = false;      ///< run without autograd graph (output detached)
};

/// One update with given noise η (same shape as φ): φ − τ ∂S/∂φ + sqrt(2τ) η. Differentiable in φ, κ, λ.
torch::Tensor langevin_step(const torch::Tensor& phi, const ScalarCouplings& c, double step_size,
                            const torch::Tensor& noise);

/// options.steps updates with η ~ N(0, 1) drawn from `gen`. Returns the final configurations [batch, x..].
torch::Tensor langevin_evolve(const torch::Tensor& phi, const ScalarCouplings& c, const LangevinOptions& options,
                              at::Generator& gen);

}  // namespace blockspin::lattice
