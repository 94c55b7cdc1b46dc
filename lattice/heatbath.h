// Cabibbo–Marinari heatbath (Kennedy–Pendleton / Creutz SU(2) updates) and overrelaxation for plaquette + rectangle
// actions. (Cabibbo, Marinari, Phys. Lett. B119 (1982) 387; Kennedy, Pendleton, Phys. Lett. B156 (1985) 393; Creutz,
// Phys. Rev. D21 (1980) 2308; see docs/references.md.)
//
// A link's local action is -(β/N) Re Tr(U_μ(x) A_μ(x)) with A the full weighted staple sum of the action
// (GaugeAction::staples), so the same code serves Wilson and improved actions. Links are updated in parallel in
// colour classes whose members share no loop of the action:
//   plaquette only:  colour = (Σ_{ν≠μ} x_ν) mod 2                         (needs even extents ν ≠ μ)
//   with rectangles: colour = (x_μ mod 2) + 2 ((Σ_{ν≠μ} x_ν) mod 4)        (needs L_μ even, L_ν ≡ 0 mod 4)
// (two μ-links share a rectangle only if they differ by ±μ, ±ν, ±μ±ν or ±2ν, which these colourings separate).
// Each SU(2) subgroup (i < j) of SU(N) is updated in turn. With kernels "fused" (the default) CPU SU(2)/SU(3) fields
// with the Wilson action use the lane kernels of lattice/kernels/heatbath_fused.h (same random numbers, same links to
// rounding); everything else the torch path here.
#pragma once

#include <torch/torch.h>

#include <array>

#include "lattice/gauge_action.h"

namespace blockspin::lattice {

struct HeatbathOptions {
  int64_t or_steps = 3;  ///< overrelaxation sweeps after each heatbath sweep
};

/// Throws std::invalid_argument (saying which extent) if the lattice admits no parallel colouring for `action`.
void check_heatbath_geometry(const std::vector<int64_t>& extents, const GaugeAction& action);

/// Boolean site masks [x..] of the colour classes for links along mu.
std::vector<torch::Tensor> link_colouring(const std::vector<int64_t>& extents, int64_t mu, bool rectangles,
                                          const torch::Device& device = torch::kCPU);

/// Samples a0 ∈ [-1, 1] with density ∝ sqrt(1 - a0²) exp(α a0) for each α (α >= 0): Kennedy–Pendleton for
/// α > 1, Creutz's method below; exact rejection sampling, [M] double on α's device.
torch::Tensor sample_su2_a0(const torch::Tensor& alpha, at::Generator& gen);

/// SU(2) elements x = (x0, x1, x2, x3) with density ∝ exp(α x0) on SU(2) for α = 2βk/N per entry of k [M] (the
/// heatbath of one subgroup): x0 from sample_su2_a0, then the direction from two uniform draws (cos θ, φ), in that
/// order on `gen`; the four components in k's dtype.
std::array<torch::Tensor, 4> sample_su2_elements(const torch::Tensor& k, double beta, int64_t n_colors,
                                                 at::Generator& gen);

/// One heatbath sweep over all links (every SU(2) subgroup once per link).
torch::Tensor heatbath_sweep(const torch::Tensor& U, const GaugeAction& action, at::Generator& gen);
/// One overrelaxation sweep (microcanonical: the action is unchanged up to rounding).
torch::Tensor overrelaxation_sweep(const torch::Tensor& U, const GaugeAction& action);
/// One heatbath sweep followed by options.or_steps overrelaxation sweeps.
torch::Tensor heatbath_update(const torch::Tensor& U, const GaugeAction& action, const HeatbathOptions& options,
                              at::Generator& gen);

}  // namespace blockspin::lattice
