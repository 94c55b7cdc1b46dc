// LConvBilin: fused L-Conv + L-Bilin in the parametrisation of the FP-action L-CNN (Holland et al.; lge-cnn).
#pragma once

#include "lcnn/lbilin.h"
#include "lcnn/lconv.h"

#include <torch/torch.h>

namespace blockspin::lcnn {

struct LConvBilinOptions {
  LConvBilinOptions(int64_t in, int64_t out, int64_t kernel_size, int64_t dims)
      : in_(in), out_(out), kernel_size_(kernel_size), dims_(dims) {}
  TORCH_ARG(int64_t, in);
  TORCH_ARG(int64_t, out);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, dims);
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, add_conjugate) = true;
  TORCH_ARG(bool, add_unit) = true;
  TORCH_ARG(bool, complex_weights) = false;
  /// 0 (default): fused parametrisation (below). c > 0: the unfused form LBilin(W, LConv(W)) with an explicit
  /// L-Conv in -> c (submodule "conv", in · c · (1 + 2D(K-1)) weights) and LBilin(in, c, out).
  TORCH_ARG(int64_t, conv_channels) = 0;
  /// Reflection characters of the input and output channels (lcnn/reflection_characters.h; both or neither): the
  /// weights are projected onto the reflection-equivariant subspace. Fused form with real weights only.
  TORCH_ARG(std::vector<int64_t>, in_characters) = {};
  TORCH_ARG(std::vector<int64_t>, out_characters) = {};
};

/// W''_i(x) = Σ_{v, w} α_{i v w} A_v(x) B_w(x) with A = [W, W†, 1] and B = [T, T†, 1], where T are ALL the parallel
/// transports U_{k·μ}(x) W_j(x + kμ^) U_{k·μ}(x)† of the L-Conv receptive field (in · (1 + 2D(K-1)) matrices, see
/// transported_stack). This is L-Bilin(W, L-Conv(W)) with the L-Conv weights absorbed into α: a separate ω would only
/// be a low-rank factor of α. Parameters: out · (2 in + 1) · (2 in (1 + 2D(K-1)) + 1) with W†, 1 in both inputs,
/// held by the submodule "bilin" (an LBilin(in, in · T, out)). With conv_channels = c > 0 the layer is instead
/// LBilin(W, LConv(W)) with an explicit c-channel L-Conv (a rank-c factorisation of the fused α).
/// forward(U [B, D, x.., N, N], W [B, in, x.., N, N]) -> [B, out, x.., N, N].
class LConvBilinImpl : public torch::nn::Cloneable<LConvBilinImpl> {
 public:
  explicit LConvBilinImpl(const LConvBilinOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& U, const torch::Tensor& W);
  LConvBilinOptions options;
  LBilin bilin{nullptr};
  LConv conv{nullptr};  ///< only with conv_channels > 0
};
TORCH_MODULE(LConvBilin);

}  // namespace blockspin::lcnn
