// The staple smearing of lattice/smearing.h by the SIMD lane kernels (smear_lanes.h), as a differentiable op.
#pragma once

#include <torch/torch.h>

#include "lattice/smearing.h"

namespace blockspin::lattice::kernels {

/// Whether smear_fused can run on U: CPU, complex64/complex128, N = 2 or 3, 2 <= D <= 6.
bool smear_fused_available(const torch::Tensor& U);

/// smear_links(U, options) (smearing.h) by the lane kernels, differentiable in U with the analytic backward of
/// smear_lanes.h. A backward that must itself be differentiable (create_graph) differentiates the torch path
/// (smear_links_reference) instead, so double backward works and agrees.
/// blocked_sites_only: S_μ is computed only at the sites with even transverse coordinates (those block_links uses:
/// 2x_B and 2x_B + μ̂), with only the paths that reach them (about 1/2.7 of the work in D = 4); S elsewhere is
/// unspecified, and the gradient is right for upstream gradients that vanish there (as block_links's do).
torch::Tensor smear_fused(const torch::Tensor& U, const SmearingOptions& options, bool blocked_sites_only = false);

}  // namespace blockspin::lattice::kernels
