// Heatbath and overrelaxation sweeps of the Wilson action by the SIMD lane kernels (heatbath_lanes.h).
#pragma once

#include <torch/torch.h>

#include "lattice/gauge_action.h"

namespace blockspin::lattice::kernels {

/// Whether the fused sweeps run for U and the action: CPU, complex64/complex128, N = 2 or 3, plaquette-only action
/// (c1 = 0; rectangles and other N use the torch path).
bool heatbath_fused_available(const torch::Tensor& U, const GaugeAction& action);

/// heatbath_sweep (heatbath.h) with the staple products and subgroup updates fused: it draws the same random numbers
/// in the same order as the torch path (sample_su2_a0 and torch::rand on `gen`), so both give the same links to
/// rounding for the same generator state.
torch::Tensor heatbath_sweep_fused(const torch::Tensor& U, const GaugeAction& action, at::Generator& gen);

/// overrelaxation_sweep (heatbath.h), one fused pass per direction and colour class.
torch::Tensor overrelaxation_sweep_fused(const torch::Tensor& U, const GaugeAction& action);

}  // namespace blockspin::lattice::kernels
