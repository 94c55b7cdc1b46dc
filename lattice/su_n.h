// The group SU(N) and its Lie algebra as batched torch tensors: generators, exp map, projections, random elements.
//
// Conventions: generators t^a (a = 0..N²-2) are the generalised Gell-Mann matrices / 2, hermitian, traceless,
// Tr(t^a t^b) = δ_ab / 2; for N = 2 they are the Pauli matrices / 2, for N = 3 the Gell-Mann matrices / 2 in the
// usual order λ_1..λ_8. An algebra element is stored either as real components c_a ([..., N²-1]) or as the
// traceless anti-hermitian matrix X = Σ_a c_a (i t^a) ([..., N, N]); group elements are exp(X).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// Number of generators N² - 1.
inline int64_t n_generators(int64_t n_colors) { return n_colors * n_colors - 1; }

/// Generators t^a as a tensor [N²-1, N, N] of the given complex dtype/device.
torch::Tensor generators(int64_t n_colors, const torch::TensorOptions& options);

/// Σ_a c_a (i t^a): components [..., N²-1] (real) -> traceless anti-hermitian matrices [..., N, N] (complex).
torch::Tensor algebra_to_matrix(const torch::Tensor& components, int64_t n_colors);
/// Components c_a = -2 Re Tr(i t^a M) = 2 Im Tr(t^a M) of a matrix's traceless anti-hermitian part: [..., N, N] ->
/// [..., N²-1].
torch::Tensor matrix_to_algebra(const torch::Tensor& M);

/// Traceless anti-hermitian part [M]_TA = (M - M†)/2 - Tr(M - M†)/(2N) · 1.
torch::Tensor project_traceless_antihermitian(const torch::Tensor& M);

/// Exponential map exp(X) for (traceless anti-hermitian) X; lands in SU(N). Autograd-aware.
torch::Tensor su_exp(const torch::Tensor& X);

/// Projection onto SU(N): the closest unitary matrix (polar decomposition M = W (M†M)^{1/2}, computed by SVD)
/// followed by the determinant phase fix W -> W · det(W)^{-1/N}. Idempotent on SU(N). Autograd-aware.
torch::Tensor project_su_n(const torch::Tensor& M);

/// Haar-distributed SU(N) matrices of shape [prefix..., N, N] (QR of a Ginibre matrix with the phases of R's
/// diagonal fixed, then det^{-1/N}). `options` must be complex and on the generator's device.
torch::Tensor random_su_n(const std::vector<int64_t>& prefix, int64_t n_colors, at::Generator& gen,
                          const torch::TensorOptions& options);

/// Near-identity SU(N) matrices exp(i ε Σ_a η_a t^a) with η_a ~ N(0, 1) independently.
torch::Tensor random_su_n_near_identity(const std::vector<int64_t>& prefix, int64_t n_colors, double epsilon,
                                        at::Generator& gen, const torch::TensorOptions& options);

/// Gaussian algebra components η_a ~ N(0, 1): real tensor [prefix..., N²-1] (e.g. HMC momenta).
torch::Tensor random_algebra(const std::vector<int64_t>& prefix, int64_t n_colors, at::Generator& gen,
                             const torch::TensorOptions& real_options);

/// Deviation of matrices from SU(N): per matrix max(max_ij |(U†U - 1)_ij|, |det U - 1|), real [...].
torch::Tensor su_n_violation(const torch::Tensor& U);

}  // namespace blockspin::lattice
