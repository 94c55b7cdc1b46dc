// LAct: gauge-equivariant activation W_i -> g(Re Tr W_i) W_i (L-Act of Favoni et al.).
#pragma once

#include <torch/torch.h>

#include <string>

namespace blockspin::lcnn {

struct LActOptions {
  explicit LActOptions(int64_t channels) : channels_(channels) {}
  TORCH_ARG(int64_t, channels);
  /// "relu": g = Θ(Re Tr W_i) (keep or zero the matrix); "polynomial": g(s) = a_i0 + a_i1 s + a_i2 s², learnable per
  /// channel, initialised to g = 1.
  TORCH_ARG(std::string, mode) = "relu";
};

/// forward(W [B, C, x.., N, N]) -> [B, C, x.., N, N]. Parameter (polynomial mode only): coefficients [C, 3] (double).
class LActImpl : public torch::nn::Cloneable<LActImpl> {
 public:
  explicit LActImpl(const LActOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& W);
  LActOptions options;
  torch::Tensor coefficients;  ///< undefined in relu mode
};
TORCH_MODULE(LAct);

}  // namespace blockspin::lcnn
