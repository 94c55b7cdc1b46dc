// LExp: gauge-equivariant link update U_μ -> exp(Σ_i β_μi [W_i]_TA) U_μ (L-Exp of Favoni et al.).
#pragma once

#include <torch/torch.h>

namespace blockspin::lcnn {

struct LExpOptions {
  LExpOptions(int64_t channels, int64_t dims) : channels_(channels), dims_(dims) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, dims);
};

/// U'_μ(x) = exp(Σ_i β_{μ i} [W_i(x)]_TA) U_μ(x), β real [D, C] initialised to 0 (identity layer).
/// [M]_TA = (M - M†)/2 - Tr(M - M†)/(2N) is traceless anti-hermitian, so the exponent lies in su(N) and U' ∈ SU(N);
/// the paper writes exp(i Σ β [W]_ah) with a hermitian "ah" convention: the same map. Covariance: [ΩWΩ†]_TA =
/// Ω[W]_TA Ω†, so U'_μ(x) -> Ω(x) U'_μ(x) Ω(x+μ^)†. forward(U [B, D, x.., N, N], W [B, C, x.., N, N]) -> U'.
class LExpImpl : public torch::nn::Cloneable<LExpImpl> {
 public:
  explicit LExpImpl(const LExpOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& U, const torch::Tensor& W);
  LExpOptions options;
  torch::Tensor beta;
};
TORCH_MODULE(LExp);

}  // namespace blockspin::lcnn
