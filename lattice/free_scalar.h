// Exact free-theory (λ = 0) results for the hopping-form φ⁴ action on finite periodic lattices, for tests.
//
// With λ = 0, S = ½ φ·Mφ with M = 2(1 − κ Σ_μ (T_μ + T_μ⁻¹)), T_μ the unit shift along μ. M is circulant, so in
// momentum space p_μ = 2π n_μ / L_μ (n_μ = 0..L_μ−1)
//
//   M̃(p) = 2(1 − 2κ Σ_μ cos p_μ),   G̃(p) = Σ_x ⟨φ_0 φ_x⟩ e^{−ipx} = 1/M̃(p),   ⟨φ_x φ_y⟩ = (1/V) Σ_p G̃(p) e^{ip(x−y)}.
//
// Consequences (exact on any finite lattice, D >= 1, every extent >= 1):
//   ⟨φ²⟩ = (1/V) Σ_p 1/M̃(p);  χ = V⟨m²⟩ = G̃(0) = 1/(2(1 − 2Dκ));
//   second-moment ξ² = (G̃(0)/G̃(p_min) − 1)/p̂²_min = κ/(1 − 2Dκ), p̂² = 4 sin²(p/2), p_min = 2π/L along one axis
//   (continuum: (aM)² = (1 − 2λ)/κ − 2D = 1/ξ² at λ = 0); m is Gaussian, so ⟨|m|⟩ = sqrt(2χ/(πV)) and the Binder
//   cumulant is 0.
// Euler–Maruyama Langevin (langevin.h) with step τ is stationary at the Gaussian with variance 1/(M̃(1 − τM̃/2)).
// All functions require M̃(p) > 0 for every p (throw std::domain_error otherwise) and return double CPU results.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace blockspin::lattice {

/// M̃(p) = 2(1 − 2κ Σ_μ cos p_μ) on the momentum grid: [L_0, ..., L_{D−1}], index n_μ ↔ p_μ = 2π n_μ/L_μ.
torch::Tensor free_inverse_propagator_momentum(const std::vector<int64_t>& extents, double kappa);
/// G̃(p) = 1/M̃(p): [L_0, ..., L_{D−1}] (same indexing; equals V⟨|φ̃(p)|²⟩/V² with φ̃ the unnormalised DFT).
torch::Tensor free_propagator_momentum(const std::vector<int64_t>& extents, double kappa);
/// G(x) = ⟨φ_y φ_{y+x}⟩ in position space: [L_0, ..., L_{D−1}].
torch::Tensor free_propagator(const std::vector<int64_t>& extents, double kappa);
/// Zero-momentum (time-slice) correlator C(t) = Σ_{x_1..x_{D−1}} G(t, x_1, ...) along axis 0: [L_0].
torch::Tensor free_timeslice_correlator(const std::vector<int64_t>& extents, double kappa);
/// ⟨φ_x²⟩ = G(0).
double free_phi2(const std::vector<int64_t>& extents, double kappa);
/// χ = V⟨m²⟩ = 1/(2(1 − 2Dκ)) (volume independent).
double free_susceptibility(int64_t n_dims, double kappa);
/// Second-moment ξ² = κ/(1 − 2Dκ) (volume independent, lattice-momentum definition).
double free_xi2_second_moment(int64_t n_dims, double kappa);
/// ⟨φ_x²⟩ of the stationary distribution of Euler–Maruyama Langevin with step τ: (1/V) Σ_p 1/(M̃(1 − τM̃/2)).
/// Requires 0 < τM̃(p) < 2 for all p (stability), else throws std::domain_error.
double free_langevin_phi2(const std::vector<int64_t>& extents, double kappa, double step_size);

}  // namespace blockspin::lattice
