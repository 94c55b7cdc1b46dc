// The FP action A_FP[V] as an autograd function of the coarse field V, with the backward given by D^FP.
//
// Forward runs fp_minimise; backward returns, for each configuration, grad_output · G with the tangent-space
// gradient G = 2 (Σ_a D^FP_a i t^a) V. This inverts the relation D_a = Re Tr(i t^a V G†) that autograd_derivative
// (derivatives.h) uses to turn torch's gradient G = ∂A/∂Re V + i ∂A/∂Im V into left link derivatives, so
// autograd_derivative(fp_action, V) returns D^FP. Only first derivatives (no double backward).
#pragma once

#include <torch/torch.h>

#include "lattice/fp_minimise.h"

namespace blockspin::lattice {

/// A_FP[V] per configuration ([batch], real), differentiable in V. If `result` is given it receives the full
/// minimiser output (converged flags etc.); otherwise a configuration that fails to converge makes this throw
/// std::runtime_error naming it and its gradient norm.
torch::Tensor fp_action(const torch::Tensor& V, const ActionFunctional& fine_action,
                        const FpMinimiserOptions& options = {}, FpResult* result = nullptr);

}  // namespace blockspin::lattice
