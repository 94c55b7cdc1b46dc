// RGFlow T_θ = T_θn ∘ … ∘ T_θ1 (Eq. 38): each level upsamples ×2 (U), adds zero-sum block noise (N) and applies a CNF
// (F_θi), tracking log p̃ exactly through every step (Eqs. 18, 21, 28, 29); the left inverse T† (Eq. 30).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// forward(φ, log p_L(φ)) returns (φ̃, log p̃(φ̃)) with log p̃ = log p_L − log det J_T (Eq. 29); the caller supplies
// log p_L, e.g. −S_L(φ) (log Z_L dropped, then log p̃ is shifted by the same constant). inverse(φ̃) runs every CNF
// backwards and block-averages: the coarse field φ = T†(φ̃), the noise ζ_i of every level (Eq. 30, fine-level tensors
// that sum to zero per block) and log_det with log p̃(φ̃) = log p_L(φ) + log_det, so a density can be evaluated on
// any fine configuration. The linear size doubles per level; every level's CNF works on any even extents.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "flows/block_noise.h"
#include "flows/cnf.h"
#include "flows/common.h"

namespace blockspin::flows {

struct RGFlowOptions {
  RGFlowOptions(int64_t levels, const CNFOptions& cnf) : levels_(levels), cnf_(cnf) {}
  TORCH_ARG(int64_t, levels);
  TORCH_ARG(CNFOptions, cnf);
  TORCH_ARG(BlockNoiseOptions, noise) = {};
};

/// One level T_θi = F_θi ∘ N ∘ U.
class RGLevelImpl : public torch::nn::Cloneable<RGLevelImpl> {
 public:
  RGLevelImpl(const CNFOptions& cnf, const BlockNoiseOptions& noise);
  void reset() override;
  /// With the given noise ζ (fine shape, zero sum per block).
  FlowState forward(const FlowState& coarse, const torch::Tensor& zeta);
  CNFOptions cnf_options;
  BlockNoiseOptions noise_options;
  BlockNoise noise{nullptr};
  CNF cnf{nullptr};
};
TORCH_MODULE(RGLevel);

/// Result of the left inverse T†.
struct RGInverse {
  torch::Tensor coarse;              ///< φ = T†(φ̃): [batch, L..]
  std::vector<torch::Tensor> noise;  ///< ζ of level i (i = 0 the coarsest), each on that level's fine lattice
  torch::Tensor log_det;             ///< log p̃(φ̃) − log p_L(φ): [batch]
};

class RGFlowImpl : public torch::nn::Cloneable<RGFlowImpl> {
 public:
  explicit RGFlowImpl(const RGFlowOptions& options);
  void reset() override;
  /// Draws the noise of every level from `gen` (on the field's device); if `drawn_noise` is given it receives the
  /// noise (one tensor per level, still attached to σ's graph), e.g. to replay the same map (ode_control.h).
  FlowState forward(const FlowState& coarse, at::Generator& gen, std::vector<torch::Tensor>* drawn_noise = nullptr);
  /// With given noise, one tensor per level (deterministic; for tests and replays).
  FlowState forward(const FlowState& coarse, const std::vector<torch::Tensor>& noise);
  /// Left inverse (Eq. 30) with the log-density correction.
  RGInverse inverse(const torch::Tensor& fine);
  /// Appendix C: every level's σ² = variance of the coarse configurations.
  void init_noise_from_coarse(const torch::Tensor& coarse);
  /// Appends a level (UV matching's iterated application, Appendix A); the linear size doubles once more.
  void append_level(RGLevel level);
  int64_t levels() const { return int64_t(level_modules.size()); }
  /// RK4 steps of every level's CNF (they share one count; ode_control.h refines it during training).
  int64_t ode_steps() const;
  void set_ode_steps(int64_t steps);
  RGLevel level(int64_t i) const { return level_modules.at(i); }

  RGFlowOptions options;
  std::vector<RGLevel> level_modules;
};
TORCH_MODULE(RGFlow);

/// Warm start across sizes: level i of `target` takes the parameters (and buffers) of level min(i, n − 1) of `source`
/// with n levels — the levels are local and translation-invariant, so a trained L → 2^n L stack initialises a deeper
/// one (4 → 32 from 4 → 16: the last level is repeated). Throws std::invalid_argument, changing nothing, when a level's
/// parameters differ in name or shape (another architecture).
void warm_start_levels(RGFlowImpl& target, const RGFlowImpl& source);

}  // namespace blockspin::flows
