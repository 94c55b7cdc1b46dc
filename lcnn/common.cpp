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

torch::Tensor weight_matmul(const torch::Tensor& weight, const torch::Tensor& X) {
  if (X.size(0) == 1) return torch::mm(weight, X.select(0, 0)).unsqueeze(0);
  return torch::bmm(weight.expand({X.size(0), weight.size(0), weight.size(1)}), X);
}

torch::Tensor contract_channels(const torch::Tensor& weight, const torch::Tensor& X, const ChannelMatmul& matmul) {
  const auto sizes = X.sizes().vec();
  auto out_sizes = sizes;
  out_sizes[1] = weight.size(0);
  const bool real_gemm = !weight.is_complex() && lattice::kernels::mode() == lattice::kernels::Mode::fused;
  if (!real_gemm)  // complex weights, or the reference path (kernels "torch"): one complex GEMM
    return matmul(weight.to(X.scalar_type()), X.reshape({sizes[0], sizes[1], -1})).reshape(out_sizes);
  // Real weights: the real and imaginary parts are just more columns of one real GEMM.
  auto flat = torch::view_as_real(X.contiguous()).reshape({sizes[0], sizes[1], -1});
  auto out = matmul(weight, flat);  // [batch, out, 2·rest]
  out_sizes.push_back(2);
  return torch::view_as_complex(out.reshape(out_sizes));
}

torch::Tensor sum_site_products(const torch::Tensor& S, const torch::Tensor& Y, bool shared_left) {
  if (lattice::kernels::mode() != lattice::kernels::Mode::fused) {
    const auto s = S.unsqueeze(1);
    return (shared_left ? lattice::mat_mul(s, Y) : lattice::mat_mul(Y, s)).sum(2);
  }
  const int64_t nd = S.dim() - 4, batch = S.size(0), K = S.size(1), O = Y.size(1), N = S.size(-1);
  const int64_t sites = S.numel() / (batch * K * N * N);
  std::vector<int64_t> ps{0}, py{0}, pr{0, 0};  // permutations of S, Y and of the result's site layout
  for (int64_t d = 0; d < nd; ++d) ps.push_back(2 + d), py.push_back(3 + d);
  torch::Tensor r;
  auto shape = S.sizes().vec();  // becomes [batch, x.., N, O, N] (shared_left) or [batch, x.., O, N, N]
  shape.erase(shape.begin() + 1);
  if (shared_left) {
    // S_k side by side: [batch, x.., N(row), K, N]; Y as [batch, x.., K, N, O, N(col)].
    ps.insert(ps.end(), {nd + 2, 1, nd + 3});
    py.insert(py.end(), {2, nd + 3, 1, nd + 4});
    r = torch::bmm(S.permute(ps).reshape({batch * sites, N, K * N}),
                   Y.permute(py).reshape({batch * sites, K * N, O * N}));
    shape.insert(shape.end() - 1, O);
    pr = {0, nd + 2};
    for (int64_t d = 0; d < nd; ++d) pr.push_back(1 + d);
    pr.insert(pr.end(), {nd + 1, nd + 3});
  } else {
    // Y as [batch, x.., O, N(row), K, N]; S_k stacked: [batch, x.., K, N, N(col)].
    py.insert(py.end(), {1, nd + 3, 2, nd + 4});
    ps.insert(ps.end(), {1, nd + 2, nd + 3});
    r = torch::bmm(Y.permute(py).reshape({batch * sites, O * N, K * N}),
                   S.permute(ps).reshape({batch * sites, K * N, N}));
    shape.insert(shape.end() - 2, O);
    pr = {0, nd + 1};
    for (int64_t d = 0; d < nd; ++d) pr.push_back(1 + d);
    pr.insert(pr.end(), {nd + 2, nd + 3});
  }
  return r.view(shape).permute(pr).contiguous();
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
