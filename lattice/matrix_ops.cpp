// Hot-path colour-matrix operations (see matrix_ops.h): torch::matmul based; the transport by the fused kernel.
#include "lattice/matrix_ops.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/transport_fused.h"
#include "lattice/layout.h"

namespace blockspin::lattice {

torch::Tensor mat_mul(const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(a, b); }

torch::Tensor mat_mul_dag(const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(a, dag(b)); }

torch::Tensor dag_mat_mul(const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(dag(a), b); }

torch::Tensor color_trace(const torch::Tensor& a) { return a.diagonal(0, -2, -1).sum(-1); }

torch::Tensor re_trace(const torch::Tensor& a) { return torch::real(color_trace(a)); }

torch::Tensor re_trace_mm(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::real((a * b.transpose(-2, -1)).sum({-2, -1}));
}

torch::Tensor transport(const torch::Tensor& U_mu, const torch::Tensor& W, int64_t mu, int dir) {
  if (kernels::mode() == kernels::Mode::fused && kernels::transport_fused_available(U_mu, W))
    return kernels::transport_fused(U_mu, W, mu, dir);
  if (dir > 0) return mat_mul_dag(mat_mul(U_mu, shift(W, mu, 1)), U_mu);
  // U_mu(x - mu)† W(x - mu) U_mu(x - mu), computed at y = x - mu and shifted.
  return shift(mat_mul(dag_mat_mul(U_mu, W), U_mu), mu, -1);
}

torch::Tensor identity_like(const torch::Tensor& like) { return torch::eye(like.size(-1), like.options()); }

}  // namespace blockspin::lattice
