// Shared helpers of the L-CNN layers: weight handling (real/complex, dtype), parallel-transport stacks, channel
// contraction.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace blockspin::lcnn {

/// Number of transport offsets of an L-Conv with kernel size K in D dimensions: 1 + 2 D (K - 1)
/// (k = 0 once, then k = ±d, ..., ±(K-1) d along every axis).
int64_t n_offsets(int64_t dims, int64_t kernel_size);

/// A new trainable weight of logical shape `shape`, drawn from N(0, std²), stored in double precision.
/// Complex weights are stored as a real tensor [shape..., 2] (re, im) with each part of variance std²/2, so that
/// `to(torch::kFloat)` / `to(torch::kDouble)` on the module keep working.
torch::Tensor make_weight(const std::vector<int64_t>& shape, double std, bool complex_weights);

/// The weight in the precision of `like` (a complex matrix field); differentiable. Complex weights become a complex
/// tensor of like's dtype; real weights stay real (like's real dtype), so that contract_channels multiplies real
/// weights into the link data as one real GEMM instead of a complex one with zero imaginary parts (4× the flops).
torch::Tensor channel_weight(const torch::Tensor& weight, bool complex_weights, const torch::Tensor& like);

/// The copies of W parallel-transported to x from x + k mu^ for all offsets of a kernel (see n_offsets):
///   T_t(x) = U_{k.mu}(x) W(x + k mu^) U_{k.mu}(x)†,
/// built by repeated lattice::transport. Returns [batch, n_offsets * C, x.., N, N] with channel index t * C + j,
/// offsets ordered t = 0 (k = 0), then for mu = 0..D-1: k = +d, +2d, ..., +(K-1)d, then k = -d, ..., -(K-1)d.
torch::Tensor transported_stack(const torch::Tensor& U, const torch::Tensor& W, int64_t kernel_size, int64_t dilation);

/// weight [M, C] times every configuration's X [batch, C, R] -> [batch, M, R]: one GEMM per configuration (torch's
/// matmul of a matrix with a batch transposes and copies the batch instead).
torch::Tensor weight_matmul(const torch::Tensor& weight, const torch::Tensor& X);

/// Σ_c w[o, c] X_c: weight [out, C] (complex of X's dtype, or real of X's real dtype), X complex [batch, C, rest...]
/// -> [batch, out, rest...]. Real weights contract view_as_real(X) as [batch, C, 2·rest] in one real GEMM (kernels
/// "fused", the default; kernels "torch" keeps the reference: the weight cast to complex, one complex GEMM).
/// `matmul` (weight [out, C], X [batch, C, R]) -> [batch, out, R] does the GEMM (a block-sparse one for a projected
/// weight: lcnn/reflection_characters.h).
using ChannelMatmul = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;
torch::Tensor contract_channels(const torch::Tensor& weight, const torch::Tensor& X,
                                const ChannelMatmul& matmul = weight_matmul);

/// The per-site sums of matrix products of a bilinear layer: Σ_k S_k(x) Y_{ok}(x) (shared_left) or Σ_k Y_{ok}(x)
/// S_k(x), S [batch, K, x.., N, N], Y [batch, O, K, x.., N, N] -> [batch, O, x.., N, N] (contiguous), where the lane
/// kernel (lattice/kernels/channel_products.h) does not run: complex weights, CUDA, N > 3. Kernels "fused": one
/// complex GEMM per site, (N × K·N)(K·N × O·N) with the K matrices of S side by side and the O·K of Y as blocks;
/// kernels "torch" keeps the reference (S broadcast over o, O·K batched N × N products, then the sum over k).
torch::Tensor sum_site_products(const torch::Tensor& S, const torch::Tensor& Y, bool shared_left);

/// [W, W† (if conjugate), 1 (if unit)] along the channel dimension of a matrix field.
torch::Tensor extend_with_conjugate_and_unit(const torch::Tensor& W, bool conjugate, bool unit);

/// Throws std::invalid_argument naming `layer` unless W is a matrix field with `channels` channels.
void check_channels(const torch::Tensor& W, int64_t channels, const std::string& layer);

}  // namespace blockspin::lcnn
