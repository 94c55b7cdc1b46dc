// Shared helpers of the L-CNN layers: weight handling, parallel-transport stacks, channel contraction.
#include "lcnn/common.h"

#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

int64_t n_offsets(int64_t dims, int64_t kernel_size) { return 1 + 2 * dims * (kernel_size - 1); }

torch::Tensor make_weight(const std::vector<int64_t>& shape, double std, bool complex_weights) {
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  if (!complex_weights) return torch::randn(shape, opts) * std;
  auto s = shape;
  s.push_back(2);
  return torch::randn(s, opts) * (std / std::sqrt(2.0));
}

torch::Tensor channel_weight(const torch::Tensor& weight, bool complex_weights, const torch::Tensor& like) {
  const auto rdt = lattice::real_dtype(like.scalar_type());
  if (!complex_weights) return weight.to(rdt);
  return torch::view_as_complex(weight.to(rdt).contiguous());
}

torch::Tensor transported_stack(const torch::Tensor& U, const torch::Tensor& W, int64_t kernel_size, int64_t dilation) {
  const int64_t D = lattice::n_dims(U);
  std::vector<torch::Tensor> terms{W};
  for (int64_t mu = 0; mu < D; ++mu) {
    const auto U_mu = lattice::link(U, mu);
    for (int dir : {+1, -1}) {
      torch::Tensor t = W;
      for (int64_t k = 1; k < kernel_size; ++k) {
        for (int64_t s = 0; s < dilation; ++s) t = lattice::transport(U_mu, t, mu, dir);
        terms.push_back(t);
      }
    }
  }
  return torch::cat(terms, 1);
}

torch::Tensor contract_channels(const torch::Tensor& weight, const torch::Tensor& X) {
  const auto sizes = X.sizes().vec();
  auto out_sizes = sizes;
  out_sizes[1] = weight.size(0);
  const bool real_gemm = !weight.is_complex() && lattice::kernels::mode() == lattice::kernels::Mode::fused;
  if (!real_gemm)  // complex weights, or the reference path (kernels "torch"): one complex GEMM
    return torch::matmul(weight.to(X.scalar_type()), X.reshape({sizes[0], sizes[1], -1})).reshape(out_sizes);
  // Real weights: the real and imaginary parts are just more columns of one real GEMM.
  auto flat = torch::view_as_real(X.contiguous()).reshape({sizes[0], sizes[1], -1});
  auto out = torch::matmul(weight, flat);  // [batch, out, 2·rest]
  out_sizes.push_back(2);
  return torch::view_as_complex(out.reshape(out_sizes));
}

torch::Tensor extend_with_conjugate_and_unit(const torch::Tensor& W, bool conjugate, bool unit) {
  std::vector<torch::Tensor> parts{W};
  if (conjugate) parts.push_back(lattice::dag(W));
  if (unit) {
    auto shape = W.sizes().vec();
    shape[1] = 1;
    parts.push_back(lattice::identity_like(W).expand(shape));
  }
  return parts.size() == 1 ? W : torch::cat(parts, 1);
}

void check_channels(const torch::Tensor& W, int64_t channels, const std::string& layer) {
  lattice::check_matrix_field(W, layer.c_str());
  if (W.size(1) != channels) {
    std::ostringstream msg;
    msg << layer << ": expected " << channels << " input channels, got " << W.size(1) << " (shape " << W.sizes() << ")";
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace blockspin::lcnn
