// BlockNoise N: per-block Gaussian noise that sums to zero in every 2^D block (Eqs. 19–21), learnable σ.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// In every block B with n = 2^D sites the noise ζ_B lives in the (n−1)-dimensional zero-sum subspace. Its first n−1
// components are N(0, Σ) with Σ = σ²(1_{n−1} − 1/n) (Eq. 19, "1/n" the all-(1/n) matrix) and ζ_{B,n} = −Σ_i ζ_{B,i}
// (Eq. 20). Equivalently ζ_B = σ (η_B − mean(η_B)) with η_B ~ N(0, 1_n): that is how it is sampled (differentiable
// in σ, reparametrised). log_prob is the exact density with respect to the Lebesgue measure of the zero-sum subspace,
//   log p_ζ(ζ) = Σ_B [ −(n−1)/2 log(2πσ²) − |ζ_B|²/(2σ²) ],
// which is what makes Eq. (21) log p_N(Ψ) = log p_U(ψ) + log p_ζ(ζ) exact (ψ and ζ are orthogonal). The density of
// the n−1 coordinates (ζ_1..ζ_{n−1}) of Eq. (19) is larger by ½ log n per block. σ = exp(log_sigma); Appendix C
// initialises σ² to the variance of the coarse configurations (init_from_coarse).
#pragma once

#include <torch/torch.h>

#include "flows/common.h"

namespace blockspin::flows {

struct BlockNoiseOptions {
  /// Initial σ (> 0).
  TORCH_ARG(double, sigma) = 1.0;
  /// Register log σ as a trainable parameter (otherwise as a buffer).
  TORCH_ARG(bool, learnable) = true;
};

class BlockNoiseImpl : public torch::nn::Cloneable<BlockNoiseImpl> {
 public:
  explicit BlockNoiseImpl(const BlockNoiseOptions& options = {});
  void reset() override;
  /// σ as a 0-dim tensor (parameter dtype/device).
  torch::Tensor sigma() const;
  /// Sets σ (no grad). Throws unless sigma > 0.
  void set_sigma(double sigma);
  /// Appendix C: σ² = variance of all entries of the coarse configurations [batch, x..].
  void init_from_coarse(const torch::Tensor& coarse);
  /// ζ with the shape, dtype and device of the fine field `like` [batch, 2L..], from `gen` (on like's device).
  torch::Tensor sample(const torch::Tensor& like, at::Generator& gen);
  /// ζ = σ (η − block mean of η) for standard normal η [batch, 2L..]: what `sample` does with its draw.
  torch::Tensor from_standard_normal(const torch::Tensor& eta);
  /// log p_ζ(ζ) on the zero-sum subspace: [batch]. Does not check that ζ sums to zero per block.
  torch::Tensor log_prob(const torch::Tensor& zeta);

  BlockNoiseOptions options;
  torch::Tensor log_sigma;
};
TORCH_MODULE(BlockNoise);

}  // namespace blockspin::flows
