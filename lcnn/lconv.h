// LConv: the lattice gauge-equivariant convolution (L-Conv) of Favoni et al., PRL 128 (2022) 032003.
#pragma once

#include <torch/torch.h>

namespace blockspin::lcnn {

struct LConvOptions {
  LConvOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t dims)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), dims_(dims) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// K >= 1: offsets k ∈ {-(K-1)d, ..., (K-1)d} in steps of d along every axis (K = 1: no transport).
  TORCH_ARG(int64_t, kernel_size);
  /// Number of space-time dimensions D (fixes the parameter count).
  TORCH_ARG(int64_t, dims);
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, complex_weights) = false;
};

/// W'_i(x) = Σ_{j, μ, k} ω_{i, j, μ, k} U_{k·μ}(x) W_j(x + k μ^) U_{k·μ}(x)†, the k = 0 term counted once.
/// weight: [out, in, T] (T = 1 + 2 D (K-1), offsets ordered as in transported_stack; complex: [out, in, T, 2]),
/// initialised ω ~ N(0, 1/(in T)). No bias (it would break covariance). Parameters are double; the forward pass casts
/// them to the input's precision, and module->to(torch::kFloat) converts them.
/// forward(U [B, D, x.., N, N], W [B, in, x.., N, N]) -> [B, out, x.., N, N].
class LConvImpl : public torch::nn::Cloneable<LConvImpl> {
 public:
  explicit LConvImpl(const LConvOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& U, const torch::Tensor& W);
  LConvOptions options;
  torch::Tensor weight;
};
TORCH_MODULE(LConv);

}  // namespace blockspin::lcnn
