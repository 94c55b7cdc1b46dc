// The parallel transport of lattice/matrix_ops.h (one link, either direction) by fused site loops, as a
// differentiable op whose backward is made of differentiable ops, so double backward (the L-CNN's training through
// D = dA/dU) works at any order.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::lattice::kernels {

/// Whether transport_fused can run: CPU, complex64/complex128 (the same for both), N = 2 or 3, U_mu [B, 1, x.., N, N]
/// with the batch, sites and N of W [B, C, x.., N, N].
bool transport_fused_available(const torch::Tensor& U_mu, const torch::Tensor& W);

/// transport(U_mu, W, mu, dir) (matrix_ops.h): dir > 0: U_μ(x) W(x + μ̂) U_μ(x)†; dir < 0: U_μ(x − μ̂)† W(x − μ̂)
/// U_μ(x − μ̂). Backward (torch's convention for complex gradients: for P = A B, ∂P → A: G B†, → B: A† G): the
/// gradient for W is the transport of G the other way; for the link, Σ_c [P_c U R_c† + P_c† U R_c] with
/// R_c = Q_c(x + μ̂) and (P, Q) = (G, W) for dir > 0, (W, G) at the link's site for dir < 0 — a fused op whose own
/// backward is closed-form torch.
torch::Tensor transport_fused(const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu, int dir);

}  // namespace blockspin::lattice::kernels
