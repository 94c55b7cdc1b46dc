// LBilin: bilinear products of two sets of W objects with trainable coefficients.
#include "lcnn/lbilin.h"

#include "lcnn/common.h"
#include "lattice/kernels/channel_products.h"
#include "lattice/kernels/mode.h"
#include "lattice/matrix_ops.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

LBilinImpl::LBilinImpl(const LBilinOptions& options) : options(options) { reset(); }

int64_t LBilinImpl::n_a() const {
  return options.in1() * (options.add_conjugate() ? 2 : 1) + (options.add_unit() ? 1 : 0);
}
int64_t LBilinImpl::n_b() const {
  return options.in2() * (options.add_conjugate() ? 2 : 1) + (options.add_unit() ? 1 : 0);
}

void LBilinImpl::reset() {
  if (options.in1() < 1 || options.in2() < 1 || options.out() < 1) {
    std::ostringstream msg;
    msg << "LBilin: need in1, in2, out >= 1; got " << options.in1() << ", " << options.in2() << ", " << options.out();
    throw std::invalid_argument(msg.str());
  }
  weight = register_parameter("weight", make_weight({options.out(), n_a(), n_b()},
                                                    1.0 / std::sqrt(double(n_a() * n_b())), options.complex_weights()));
  // clone() copies the members and calls reset() again: a projection set before stays registered.
  if (proj_c.defined()) {
    proj_c = register_buffer("proj_c", proj_c);
    proj_s = register_buffer("proj_s", proj_s);
  }
}

void LBilinImpl::set_projection(const torch::Tensor& C, const torch::Tensor& S, const torch::Tensor& swap,
                                std::optional<CharacterBlocks> character_blocks) {
  if (options.complex_weights()) throw std::invalid_argument("LBilin: a weight projection needs real weights");
  const std::vector<int64_t> shape{options.out(), n_a(), n_b()};
  if (C.sizes().vec() != shape || S.sizes().vec() != shape || swap.dim() != 1 || swap.size(0) != n_b())
    throw std::invalid_argument("LBilin: projection shapes do not match the weight [out, n_A, n_B]");
  const auto to = torch::TensorOptions().dtype(weight.scalar_type()).device(weight.device());
  proj_c = register_buffer("proj_c", C.to(to));
  proj_s = register_buffer("proj_s", S.to(to));
  proj_swap = swap.to(torch::kLong);  // not a buffer: module->to(torch::kFloat) would convert it
  if (character_blocks && (character_blocks->col_order.numel() != n_b() ||
                           character_blocks->row_order.numel() != options.out() * (n_a() - options.add_unit())))
    throw std::invalid_argument("LBilin: the character blocks do not match the weight [out, n_A, n_B]");
  blocks = std::move(character_blocks);
  // Keep the initial scale of the effective weights: α ~ N(0, 1/(n_A n_B)) summed over the kept entries only.
  torch::NoGradGuard no_grad;
  const double kept = std::max<double>(1.0, (C.abs() + S.abs()).gt(0).sum().item<double>() / double(shape[0]));
  weight.mul_(std::sqrt(double(n_a() * n_b()) / kept));
}

torch::Tensor LBilinImpl::effective_weight() {
  if (!proj_c.defined()) return weight;
  if (proj_swap.device() != weight.device()) proj_swap = proj_swap.to(weight.device());  // once per device move
  return proj_c.to(weight.scalar_type()) * weight + proj_s.to(weight.scalar_type()) * weight.index_select(2, proj_swap);
}

torch::Tensor LBilinImpl::forward(const torch::Tensor& W, const torch::Tensor& Wp) {
  check_channels(W, options.in1(), "LBilin first input");
  check_channels(Wp, options.in2(), "LBilin second input");
  const bool conj = options.add_conjugate(), unit = options.add_unit();
  const int64_t out = options.out(), nA = n_a(), nB = n_b();
  const auto alpha = channel_weight(effective_weight(), options.complex_weights(), W);  // [out, nA, nB]
  auto shape = W.sizes().vec();                                                         // [B, C, x.., N, N]
  // The unit part of the smaller input needs no product: its coefficients are contracted separately (a slice of the
  // weight, not of the contracted field, so that the backward pass adds no full-size zeros).
  const bool left = nA <= nB;
  const int64_t n_small = left ? nA : nB, n_mat = unit ? n_small - 1 : n_small;
  const auto a = left ? alpha : alpha.transpose(1, 2);  // [out, n_small, n_large]
  // Y_{i v} = Σ_w α_{i v w} B_w (or Σ_v α_{i v w} A_v), then W''_i = Σ_v A_v Y_{i v} (or Σ_w Y_{i w} B_w).
  const auto large = extend_with_conjugate_and_unit(left ? Wp : W, conj, unit);
  const auto small = extend_with_conjugate_and_unit(left ? W : Wp, conj, false);  // [B, n_mat, x.., N, N]
  const auto a_mat = a.narrow(1, 0, n_mat).reshape({out * n_mat, -1});
  // Y = a_mat · large: by the character blocks where the projection has them (A the smaller side), else one GEMM.
  // CPU only: there the dense GEMM dominated the step (66 %); on a GPU it is cheap and 2^D GEMMs are 2^D launches.
  const bool by_blocks = blocks && options.block_sparse() && left && W.device().is_cpu() &&
                         lattice::kernels::mode() == lattice::kernels::Mode::fused;
  const auto mix = [&](const torch::Tensor& w, const torch::Tensor& X) {
    return by_blocks ? block_channel_matmul(*blocks, w, X) : weight_matmul(w, X);
  };
  shape[1] = out;
  if (!options.complex_weights() && lattice::kernels::mode() == lattice::kernels::Mode::fused &&
      lattice::kernels::channel_products_available(W)) {
    // Lane planes: Y comes out of one real GEMM already in the layout the channel-product kernel reads.
    namespace K = lattice::kernels;
    const auto Lp = K::to_planes(large);  // [B, n_large, blocks, 2N², lanes]
    auto blocked = Lp.sizes().vec();
    const int64_t batch = blocked[0];
    const auto L = Lp.reshape({batch, blocked[1], -1});
    blocked[1] = out * n_mat;
    const auto Y = mix(a_mat, L).view(blocked);
    K::ChannelPattern pattern;
    pattern.O = out;
    pattern.K = n_mat;
    pattern.x = left ? K::ChannelIndex::k : K::ChannelIndex::ok;
    pattern.y = left ? K::ChannelIndex::ok : K::ChannelIndex::k;
    pattern.r = K::ChannelIndex::o;
    const auto Sp = K::to_planes(small);
    auto R =
        left ? K::channel_products(Sp, Y, pattern, false, false) : K::channel_products(Y, Sp, pattern, false, false);
    blocked[1] = out;
    if (unit) R = R + weight_matmul(a.select(1, n_mat), L).view(blocked);
    return K::from_planes(R, shape);
  }
  auto Y = contract_channels(a_mat, large, mix);
  auto y_shape = shape;
  y_shape.insert(y_shape.begin() + 2, n_mat);
  auto res = sum_site_products(small, Y.reshape(y_shape), left);
  if (unit) res = res + contract_channels(a.select(1, n_mat), large);
  return res;
}

}  // namespace blockspin::lcnn
