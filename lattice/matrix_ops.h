// Hot-path colour-matrix operations on matrix fields: products, daggers, traces, parallel transport.
//
// Every N x N product and every parallel transport in the library goes through these few functions, so a
// fused kernel (e.g. a hand-written 3x3 complex product on CUDA) can replace them in one place.
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// Hermitian conjugate of the trailing N x N matrices.
inline torch::Tensor dag(const torch::Tensor& a) { return a.transpose(-2, -1).conj(); }

/// a · b (broadcasting over leading dims).
torch::Tensor mat_mul(const torch::Tensor& a, const torch::Tensor& b);
/// a · b†.
torch::Tensor mat_mul_dag(const torch::Tensor& a, const torch::Tensor& b);
/// a† · b.
torch::Tensor dag_mat_mul(const torch::Tensor& a, const torch::Tensor& b);

/// Complex trace of the trailing N x N matrices.
torch::Tensor color_trace(const torch::Tensor& a);
/// Re Tr of the trailing N x N matrices (real tensor).
torch::Tensor re_trace(const torch::Tensor& a);
/// Re Tr(a · b) without forming the product: sum_ij Re(a_ij b_ji).
torch::Tensor re_trace_mm(const torch::Tensor& a, const torch::Tensor& b);

/// Parallel transport of a matrix field W by one link along +mu or -mu (dir = +1 / -1):
///   dir = +1:  U_mu(x) W(x + mu^) U_mu(x)†
///   dir = -1:  U_mu(x - mu^)† W(x - mu^) U_mu(x - mu^)
/// `U_mu` is the one-channel link field link(U, mu); W is [batch, channel, x.., N, N]. With kernels "fused" (CPU,
/// N = 2, 3) by the site loops of kernels/transport_fused.h, differentiable to any order; otherwise torch::matmul.
torch::Tensor transport(const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu, int dir);

/// Identity matrices shaped like the trailing dims of `like`, broadcastable against it.
torch::Tensor identity_like(const torch::Tensor& like);

}  // namespace blockspin::lattice
