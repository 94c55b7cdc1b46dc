// Gauge-field constructors (cold, hot, near-identity, constant abelian flux) and gauge transformations.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// All links = 1: [batch, D, x.., N, N]. `options` must be complex.
torch::Tensor cold_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                               const torch::TensorOptions& options);
/// Independent Haar-random links (infinite-coupling "hot start").
torch::Tensor hot_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                              at::Generator& gen, const torch::TensorOptions& options);
/// Independent near-identity links exp(i ε Σ_a η_a t^a), η ~ N(0, 1).
torch::Tensor near_identity_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                        double epsilon, at::Generator& gen, const torch::TensorOptions& options);

/// Quantised constant flux through one plane: n units in the (mu, nu) plane, along the Cartan direction
/// H = diag(charges) (integers summing to zero; empty means diag(1, -1, 0, ...)).
struct Flux {
  int64_t mu;
  int64_t nu;
  int64_t n;
  std::vector<int64_t> charges;
};

/// Smooth abelian configuration with constant field strength ('t Hooft flux on the torus): every plaquette of the
/// (mu, nu) plane equals exp(i φ H) with φ = 2π n / (L_mu L_nu); fluxes through several planes superpose (all
/// links are diagonal). Exactly solvable: an m x n Wilson loop in a flux plane is Re Tr exp(i m n φ H) / N, and
/// in D = 4 the clover topological charge is V/(4π²) Σ_j sin(φ_01 H_j) sin(φ_23 H'_j) + ... -> n_01 n_23 Tr(H H').
torch::Tensor abelian_flux_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes, const torch::TensorOptions& options);

/// Random gauge transformation Ω(x) ∈ SU(N), Haar distributed: [batch, x.., N, N].
torch::Tensor random_gauge_transformation(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                          at::Generator& gen, const torch::TensorOptions& options);
/// U_μ(x) -> Ω(x) U_μ(x) Ω(x + μ^)†.
torch::Tensor gauge_transform(const torch::Tensor& U, const torch::Tensor& omega);
/// W(x) -> Ω(x) W(x) Ω(x)† for a matrix field [batch, channel, x.., N, N].
torch::Tensor gauge_transform_covariant(const torch::Tensor& W, const torch::Tensor& omega);

/// Translation of a whole gauge field by the displacement `d` (D integers): U'(x) = U(x + d).
torch::Tensor translate(const torch::Tensor& U, const std::vector<int64_t>& d);

/// Largest deviation from SU(N) over all links of each configuration: [batch] (see su_n_violation).
torch::Tensor max_su_n_violation(const torch::Tensor& U);

}  // namespace blockspin::lattice
