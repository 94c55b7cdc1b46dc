// Scalar-field observables: magnetisation, two-point functions (position, momentum, time slice), and their
// Γ-method ensemble estimates (susceptibilities, Binder cumulant, connected correlators, second-moment ξ).
//
// Conventions (V the number of sites, φ̃(p) = Σ_x φ_x e^{−ipx} the unnormalised DFT, p_μ = 2π n_μ/L_μ):
//   m = (1/V) Σ_x φ_x;   G(x) = (1/V) Σ_y φ_y φ_{y+x} (per configuration; Σ_x G(x) = V m²);
//   G̃(p) = Σ_x G(x) e^{−ipx} = |φ̃(p)|²/V;   C(t) = Σ_{x⊥} G(t μ̂ + x⊥) along axis μ (zero transverse momentum);
//   connected: G_c(x) = ⟨G(x)⟩ − ⟨m⟩², C_c(t) = ⟨C(t)⟩ − (V/L_μ)⟨m⟩²;
//   χ = V⟨m²⟩ = G̃(0) (gamma_susceptibility; the natural one in the symmetric phase, where ⟨m⟩ = 0 exactly on a
//     finite lattice), χ' = V(⟨m²⟩ − ⟨|m|⟩²) (gamma_susceptibility_abs; the usual one in the broken phase);
//   Binder U = 1 − ⟨m⁴⟩/(3⟨m²⟩²) (0 for Gaussian m, 2/3 for m = ±const);
//   second-moment correlation length ξ² = (⟨G̃(0)⟩/⟨G̃(p_min)⟩ − 1)/p̂², p_min = 2π/L along one axis,
//     p̂² = 4 sin²(π/L) (free theory: ξ² = κ/(1 − 2Dκ), free_scalar.h).
// Time series for the Γ-method are tensors [T, chains, ...]: measurement i along dim 0, independent chains
// (replicas of gamma_method.h) along dim 1. Derived quantities use gamma_method_derived (UWerr error propagation).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lattice/gamma_method.h"

namespace blockspin::lattice {

// ---- per configuration (differentiable, any D >= 1, any device/dtype) ----

/// m = (1/V) Σ_x φ_x: [batch].
torch::Tensor magnetisation(const torch::Tensor& phi);
/// G(x) = (1/V) Σ_y φ_y φ_{y+x} by FFT: [batch, x..].
torch::Tensor two_point_function(const torch::Tensor& phi);
/// G̃(p) = |φ̃(p)|²/V on the momentum grid (index n_μ ↔ p_μ = 2π n_μ/L_μ): [batch, x..].
torch::Tensor two_point_function_momentum(const torch::Tensor& phi);
/// Zero-momentum correlator along axis mu, C(t) = Σ_{x⊥} G(t μ̂ + x⊥): [batch, L_mu]. Σ_t C(t) = V m².
torch::Tensor timeslice_correlator(const torch::Tensor& phi, int64_t mu = 0);
/// (G̃(0), G̃(p_min)) per configuration: [batch, 2]. p_min = 2π/L_mu along mu; mu = −1 averages G̃(p_min) over all D
/// directions (then all extents must be equal, else std::invalid_argument).
torch::Tensor second_moment_inputs(const torch::Tensor& phi, int64_t mu = -1);
/// p̂²_min = 4 sin²(π/L).
double lattice_momentum_squared_min(int64_t extent);

// ---- ensemble of configurations as one batch (no errors) ----

/// Connected G_c(x) = mean_b G_b(x) − (mean_b m_b)² over the batch: [x..].
torch::Tensor connected_two_point_function(const torch::Tensor& phi);

// ---- Γ-method estimates from time series [T, chains, ...] ----

/// data[r][i] for gamma_method: series [T, chains] -> chains replicas of T measurements.
std::vector<std::vector<double>> to_replicas(const torch::Tensor& series);
/// ⟨a⟩ of a primary observable a: [T, chains].
GammaResult gamma_mean(const torch::Tensor& series, const GammaOptions& opt = {});
/// χ = V⟨m²⟩ from the magnetisation series m: [T, chains].
GammaResult gamma_susceptibility(const torch::Tensor& m, int64_t volume, const GammaOptions& opt = {});
/// χ' = V(⟨m²⟩ − ⟨|m|⟩²) from m: [T, chains].
GammaResult gamma_susceptibility_abs(const torch::Tensor& m, int64_t volume, const GammaOptions& opt = {});
/// U = 1 − ⟨m⁴⟩/(3⟨m²⟩²) from m: [T, chains].
GammaResult gamma_binder_cumulant(const torch::Tensor& m, const GammaOptions& opt = {});
/// Connected correlator ⟨c_k⟩ − factor·⟨m⟩² for every k: c [T, chains, n], m [T, chains]. factor 1 with
/// c = two_point_function(φ).flatten(1) gives G_c(x); factor V/L_μ with c = timeslice_correlator gives C_c(t);
/// factor 0 gives the plain ⟨c_k⟩.
std::vector<GammaResult> gamma_connected_correlator(const torch::Tensor& c, const torch::Tensor& m, double factor,
                                                    const GammaOptions& opt = {});
/// Second-moment ξ² from inputs [T, chains, 2] = second_moment_inputs per measurement, lattice extent L along p_min.
GammaResult gamma_xi2_second_moment(const torch::Tensor& inputs, int64_t extent, const GammaOptions& opt = {});
/// ξ = sqrt of the above. Throws std::domain_error if ⟨G̃(0)⟩ < ⟨G̃(p_min)⟩ overall or, with several chains, in some
/// chain (the per-chain bias estimate needs f finite there): then use gamma_xi2_second_moment or fewer, longer chains.
GammaResult gamma_xi_second_moment(const torch::Tensor& inputs, int64_t extent, const GammaOptions& opt = {});

}  // namespace blockspin::lattice
