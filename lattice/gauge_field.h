// Gauge-field constructors (cold, hot, near-identity) and gauge transformations.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// Throws std::invalid_argument unless D >= 2, every extent >= 1 and N >= 2 (the message names the problem).
void check_lattice_geometry(const std::vector<int64_t>& extents, int64_t n_colors);

/// All links = 1: [batch, D, x.., N, N]. `options` must be complex.
torch::Tensor cold_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                               const torch::TensorOptions& options);
/// Independent Haar-random links (infinite-coupling "hot start").
torch::Tensor hot_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors, at::Generator& gen,
                              const torch::TensorOptions& options);
/// Independent near-identity links exp(i ε Σ_a η_a t^a), η ~ N(0, 1).
torch::Tensor near_identity_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                        double epsilon, at::Generator& gen, const torch::TensorOptions& options);

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
