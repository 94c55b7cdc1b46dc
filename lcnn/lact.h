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
  /// The channels' reflection characters (lcnn/reflection_characters.h; empty: none): g is even (a_i1 = 0) on a
  /// channel with a non-trivial one, so that g(Re Tr W_i) W_i keeps its character. relu mode needs them all trivial.
  TORCH_ARG(std::vector<int64_t>, characters) = {};
};

/// forward(W [B, C, x.., N, N]) -> [B, C, x.., N, N]. Parameter (polynomial mode only): coefficients [C, 3] (double).
class LActImpl : public torch::nn::Cloneable<LActImpl> {
 public:
  explicit LActImpl(const LActOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& W);
  LActOptions options;
  torch::Tensor coefficients;  ///< undefined in relu mode
  torch::Tensor odd_mask;      ///< [C]: 0 where g must be even (characters given), else undefined
};
TORCH_MODULE(LAct);

}  // namespace blockspin::lcnn
