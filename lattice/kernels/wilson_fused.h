// The fused Wilson-plaquette deficit Σ (N − Re Tr P) as a differentiable op: forward by the fused kernel, backward by
// the fused staple kernel (its gradient in torch's complex convention is −A_μ(x)†). When the backward itself must be
// differentiable (double backward, create_graph) it is computed on the torch path, so second derivatives are exact.
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice::kernels {

/// Σ_x Σ_{μ<ν} (N − Re Tr P_μν(x)) per configuration [batch], differentiable in U (first and second order).
torch::Tensor plaquette_deficit_differentiable(const torch::Tensor& U);

}  // namespace blockspin::lattice::kernels
