// Clover field strength, energy density and topological charge.
//
// F_μν(x) = (1/8i) [(Q_μν - Q_μν†) - Tr(Q_μν - Q_μν†)/N], hermitian and traceless, with Q_μν the sum of the four
// plaquette leaves in the (μ, ν) plane that start and end at x, all oriented μ -> ν; P_μν ≈ exp(i a² F_μν).
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// Sum of the four plaquette leaves at x in the (mu, nu) plane: [batch, 1, x.., N, N].
torch::Tensor clover(const torch::Tensor& U, int64_t mu, int64_t nu);
/// Clover field strength F_μν (hermitian traceless): [batch, 1, x.., N, N].
torch::Tensor field_strength(const torch::Tensor& U, int64_t mu, int64_t nu);

/// Clover energy density E(x) = (1/2) Σ_{μ,ν} Tr F_μν(x)² = Σ_{μ<ν} Tr F_μν²: [batch, x..].
torch::Tensor energy_density_clover(const torch::Tensor& U);
/// Plaquette energy density E(x) = 2 Σ_{μ<ν} Re Tr(1 - P_μν(x)), the same at leading order in a: [batch, x..].
torch::Tensor energy_density_plaquette(const torch::Tensor& U);

/// Clover topological charge density q(x) = (1/32π²) ε_μνρσ Tr F_μν F_ρσ (D = 4 only): [batch, x..].
torch::Tensor topological_charge_density(const torch::Tensor& U);
/// Q = Σ_x q(x): [batch].
torch::Tensor topological_charge(const torch::Tensor& U);

}  // namespace blockspin::lattice
