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
torch::Tensor smear_fused(const torch::Tensor& U, const SmearingOptions& options);

}  // namespace blockspin::lattice::kernels
