// Poly: Polyakov loops starting and ending at every site, along chosen axes, as W objects (an L-CNN input layer).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lcnn {

struct PolyOptions {
  /// Axes μ along which to form Polyakov loops; empty = all axes 0..D-1.
  TORCH_ARG(std::vector<int64_t>, axes) = {};
};

/// forward(U [B, D, x.., N, N]) -> W [B, A, x.., N, N], channel a = the loop U_μ(x) U_μ(x+μ^) ... U_μ(x+(L_μ-1)μ^)
/// around the periodic direction μ = axes[a], starting and ending at x (covariant: W(x) -> Ω(x) W(x) Ω(x)†).
/// Its trace does not depend on x_μ. No parameters.
class PolyImpl : public torch::nn::Cloneable<PolyImpl> {
 public:
  explicit PolyImpl(const PolyOptions& options = {});
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& U);
  /// Number of output channels for D dimensions.
  int64_t out_channels(int64_t dims) const;
  PolyOptions options;
};
TORCH_MODULE(Poly);

}  // namespace blockspin::lcnn
