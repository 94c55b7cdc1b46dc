// Constant-field-strength abelian configurations ('t Hooft flux on the torus) and their exact lattice observables.
//
// Exactly solvable smooth gauge fields: all links are diagonal, every plaquette of a flux plane equals exp(iθH),
// so loops, clover field strength, energy density and topological charge are known in closed form at finite
// lattice spacing. Used as references by tests and by `blockspin observe`.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// Quantised constant flux through one plane: n units in the (mu, nu) plane along the Cartan direction
/// H = diag(charges) (integers summing to zero; empty means diag(1, -1, 0, ...)).
struct Flux {
  int64_t mu;
  int64_t nu;
  int64_t n;
  std::vector<int64_t> charges;
};

/// Every plaquette of the (mu, nu) plane equals exp(i φ H) with φ = 2π n / (L_mu L_nu); fluxes through several
/// planes superpose. Construction: U_nu(x) = exp(i φ x_mu H), U_mu(x) = exp(-i φ L_mu x_nu H) on the slice
/// x_mu = L_mu - 1, all other factors 1.
torch::Tensor abelian_flux_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes, const torch::TensorOptions& options);

/// Exact (1/N) Re Tr of the m x n loop (m along mu) in the (mu, nu) plane; the same at every site.
double abelian_flux_wilson_loop(const std::vector<int64_t>& extents, int64_t n_colors, const std::vector<Flux>& fluxes,
                                int64_t mu, int64_t nu, int64_t m, int64_t n);
/// Exact average plaquette per plane, in the order of planes(D).
std::vector<double> abelian_flux_plaquette_per_plane(const std::vector<int64_t>& extents, int64_t n_colors,
                                                     const std::vector<Flux>& fluxes);
/// Exact clover energy density Σ_{μ<ν} Tr F_μν² (constant in x).
double abelian_flux_energy_density(const std::vector<int64_t>& extents, int64_t n_colors,
                                   const std::vector<Flux>& fluxes);
/// Exact clover topological charge at finite lattice spacing (D = 4).
double abelian_flux_topological_charge(const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes);
/// Its continuum value n_01 n_23 Tr(H_01 H_23) - n_02 n_13 Tr(H_02 H_13) + n_03 n_12 Tr(H_03 H_12), an integer (D = 4).
double abelian_flux_continuum_charge(const std::vector<int64_t>& extents, int64_t n_colors,
                                     const std::vector<Flux>& fluxes);

}  // namespace blockspin::lattice
