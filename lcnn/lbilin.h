// LBilin: the lattice gauge-equivariant bilinear layer (L-Bilin) of Favoni et al., PRL 128 (2022) 032003.
#pragma once

#include <torch/torch.h>

#include "lcnn/reflection_characters.h"

#include <optional>

namespace blockspin::lcnn {

struct LBilinOptions {
  LBilinOptions(int64_t in1, int64_t in2, int64_t out) : in1_(in1), in2_(in2), out_(out) {}
  TORCH_ARG(int64_t, in1);
  TORCH_ARG(int64_t, in2);
  TORCH_ARG(int64_t, out);
  /// Extend both inputs by their hermitian conjugates.
  TORCH_ARG(bool, add_conjugate) = true;
  /// Extend both inputs by the unit matrix (gives linear "residual" terms and a covariant bias α_i11 · 1).
  TORCH_ARG(bool, add_unit) = true;
  TORCH_ARG(bool, complex_weights) = false;
  /// With character blocks (set_projection), kernels "fused", on the CPU: contract α with the larger input block by
  /// block; false (or kernels "torch", or a GPU): one dense GEMM over the projected α. Same values.
  TORCH_ARG(bool, block_sparse) = true;
};

/// W''_i(x) = Σ_{v, w} α_{i v w} A_v(x) B_w(x), A = [W, W†, 1], B = [W', W'†, 1] (the W† / 1 parts per options).
/// weight: [out, n_A, n_B] with n_A = in1 (1 + add_conjugate) + add_unit (same for B), α ~ N(0, 1/(n_A n_B)).
/// forward(W [B, in1, x.., N, N], W' [B, in2, x.., N, N]) -> [B, out, x.., N, N]. Cost: out · min(n_A, n_B) matrix
/// products per site (α is contracted with the larger input first). Parameters: double, cast to the input precision.
class LBilinImpl : public torch::nn::Cloneable<LBilinImpl> {
 public:
  explicit LBilinImpl(const LBilinOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& W, const torch::Tensor& Wp);
  int64_t n_a() const;
  int64_t n_b() const;
  /// Constrains the weights to α_eff = C ⊙ α + S ⊙ α[:, :, swap] (C, S [out, n_A, n_B]: buffers; swap [n_B], a plain
  /// member, so that a dtype change leaves it an index): the reflection-equivariant subspace of
  /// lcnn/reflection_characters.h. Real weights only.
  void set_projection(const torch::Tensor& C, const torch::Tensor& S, const torch::Tensor& swap,
                      std::optional<CharacterBlocks> blocks = std::nullopt);
  /// The weights the forward pass uses: α, or its projection.
  torch::Tensor effective_weight();
  LBilinOptions options;
  torch::Tensor weight;
  torch::Tensor proj_c, proj_s, proj_swap;  ///< undefined unless set_projection was called
  std::optional<CharacterBlocks> blocks;    ///< the projection's block structure, if it has one
};
TORCH_MODULE(LBilin);

}  // namespace blockspin::lcnn
