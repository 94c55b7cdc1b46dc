// ∇ log Z of the φ⁴ action by contrastive divergence (Eq. 34) with reweighting of a stored sample bank (Eq. 36).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
//   ∇_c log Z[c'] = − Σ_i w_i ∇_c S[c'](φ_i) / Σ_i w_i,   w_i = e^{−S[c'](φ_i) + S[c](φ_i)},   φ_i ~ p[c]
// with ∇_c S = (∂S/∂κ, ∂S/∂λ) of Eq. (35). The bank is redrawn with the lattice module's scalar HMC at the current
// couplings when the reweighting ESS/N (Eq. 12 with these w_i) drops below R_W (Appendix C: 0.85), or when empty.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "flows/common.h"
#include "lattice/scalar_action.h"
#include "lattice/scalar_hmc.h"

namespace blockspin::flows {

struct LogZGradient {
  torch::Tensor grad;      ///< [2] double: (∂ log Z/∂κ, ∂ log Z/∂λ)
  double ess_per_n = 1;    ///< reweighting ESS/N of the bank at the requested couplings
  bool resampled = false;  ///< the bank was redrawn for this estimate
};

/// Eq. (36) from samples [N, x..] drawn at couplings with actions sampled_action [N] = S[c](φ_i); couplings c'
/// constant.
LogZGradient reweighted_log_z_gradient(const torch::Tensor& samples, const torch::Tensor& sampled_action,
                                       const lattice::ScalarCouplings& target);

struct SampleBankOptions {
  int64_t size = 3000;               ///< number of stored configurations (the paper: 3k)
  int64_t chains = 100;              ///< parallel HMC chains (size must be a multiple)
  int64_t therm_trajectories = 200;  ///< per chain, from i.i.d. N(0, 1) starts
  int64_t stride = 1;                ///< trajectories between stored configurations
  double resample_ess = 0.85;        ///< R_W
  lattice::ScalarHmcOptions hmc{};
};

/// Reweighting bank of HMC configurations for ∇ log Z on a lattice of given extents (state public for checkpoints).
class SampleBank {
 public:
  SampleBank(std::vector<int64_t> extents, const SampleBankOptions& options,
             torch::TensorOptions dtype = torch::TensorOptions().dtype(torch::kDouble));
  /// Eq. (36) at c' (detached), redrawing with HMC at c' first if needed. Generator on the bank's device.
  LogZGradient gradient(const lattice::ScalarCouplings& c, at::Generator& gen);
  /// Redraws the bank at c.
  void resample(const lattice::ScalarCouplings& c, at::Generator& gen);

  std::vector<int64_t> extents;
  SampleBankOptions options;
  torch::TensorOptions tensor_options;
  torch::Tensor samples;            ///< [size, x..] (undefined until the first draw)
  torch::Tensor sampled_action;     ///< [size] S at the sampling couplings
  torch::Tensor sampled_couplings;  ///< [2] (κ, λ) of the last draw
  int64_t draws = 0;
};

/// Eq. (36) over a bank split into parts (the shards of a data-parallel run: `parts` are this process's, in order, and
/// `collectives.gather` concatenates every process's in rank order): exactly the estimate of one bank holding all the
/// parts in order, the same on every process. Every part is redrawn at c, each with its own generator (gens[i] for
/// parts[i]), when any is empty or the ESS/N over all parts is below R_W.
LogZGradient sharded_log_z_gradient(const std::vector<SampleBank*>& parts, const std::vector<at::Generator*>& gens,
                                    const lattice::ScalarCouplings& c, const ShardCollectives& collectives = {});

}  // namespace blockspin::flows
