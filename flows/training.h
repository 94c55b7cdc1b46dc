// FlowTrainer: reverse-KL training of an RGFlow (Eqs. 31–33) with learnable couplings — IR matching (Sec. VI: coarse
// κ_c, λ_c learnable, coarse samples from differentiable Langevin, Eq. 37) or UV matching (Appendix A: fine couplings
// learnable, coarse samples from HMC) — and ∇ log Z by contrastive divergence with reweighting (Eqs. 34, 36).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// Loss per step (batch mean over fine samples φ̃ = T(φ), φ from the coarse sampler):
//   D_KL^(I) = ⟨S_F(φ̃) − S_L(φ) − log det J_T⟩ = ⟨S_F(φ̃) + log p̃(φ̃)⟩ with log p_L = −S_L   (Eq. 32)
//   D_KL^(II) = log Z_F − log Z_L: only its gradient is used, through the surrogate ±(∇ log Z)·c, where ∇ log Z comes
//   from the SampleBank on the lattice whose couplings are learnable (IR: coarse, minus sign; UV: fine, plus sign).
// The reported loss is D_KL^(I) (the surrogate's value is meaningless). Adam(β1 = 0.8, β2 = 0.9), lr 0.01 × 0.997 per
// step (Appendix C). All state needed to resume bit-identically is reachable (save/load).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "flows/log_z_gradient.h"
#include "flows/ode_control.h"
#include "flows/rg_flow.h"
#include "lattice/scalar_action.h"
#include "lattice/scalar_hmc.h"

namespace blockspin::flows {

enum class Matching { IR, UV };

struct TrainerOptions {
  Matching matching = Matching::IR;
  std::vector<int64_t> coarse_extents{4, 4};
  /// Fixed (IR) or initial (UV) fine couplings; 0.25 / 0.01 is the paper's near-critical point.
  double kappa_fine = 0.25, lambda_fine = 0.01;
  double kappa_coarse = 0.25, lambda_coarse = 0.01;  ///< initial (IR) or fixed (UV) coarse couplings
  bool learn_kappa = true;
  bool learn_lambda = false;  ///< the paper fixes λ and learns κ only
  int64_t batch = 64;
  // IR coarse sampler: Langevin (Eq. 37)
  double langevin_step = 0.01;
  int64_t langevin_therm = 50000;  ///< detached steps from i.i.d. N(0, 1) before the first training step
  int64_t langevin_steps = 500;    ///< differentiable steps per training step, from the previous batch
  // UV coarse sampler: scalar HMC
  lattice::ScalarHmcOptions hmc{};
  int64_t hmc_therm = 200;
  int64_t hmc_trajectories = 1;  ///< per training step
  SampleBankOptions bank{};
  double lr = 0.01, beta1 = 0.8, beta2 = 0.9, lr_decay = 0.997;
  /// RK4 error control (ode_control.h): checked on the training batch every check_every steps, before the update;
  /// when the step count is refined the step's forward pass is redone with the same coarse batch and noise.
  OdeControlOptions ode_control{};
  bool init_noise_from_coarse = true;  ///< Appendix C, at the first step (from the whole first batch)
  uint64_t seed = 1;
  /// Independent random streams the batch and the ∇ log Z bank are split into (data parallelism; not in the paper):
  /// shard k holds its rows of the batch (contiguous blocks, the first batch % shards one more) and of the bank's
  /// chains, and draws its coarse chains, flow noise and bank configurations from a generator seeded
  /// lattice::stream_seed(seed, k). A run is reproducible for a given number of shards, whichever processes compute
  /// them; one shard is the paper's algorithm with one generator.
  int64_t shards = 1;
  int64_t first_shard = 0, last_shard = -1;  ///< the shards this process computes, [first, last); last −1: all
  /// float32: the coarse sampler, the flow's fields and vector field, the KL's action and the ∇ log Z bank in float;
  /// log p̃ is carried in double (initial −S_L and every divergence and noise term added in double), the RK4 error
  /// control replays in double, and the evaluation (proposals, Metropolis, HMC reference) runs in double.
  torch::Dtype dtype = torch::kDouble;
  torch::Device device = torch::kCPU;
};

struct TrainMetrics {
  int64_t step = 0;
  double loss = 0;               ///< D_KL^(I) estimate (Eq. 32)
  double ess_per_n = 0;          ///< Eq. (12) on the batch
  double kappa = 0, lambda = 0;  ///< learnable couplings after the update (coarse for IR, fine for UV)
  double bank_ess = 1;           ///< reweighting ESS/N of the ∇ log Z bank
  bool bank_resampled = false;
  double lr = 0;
  int64_t ode_steps = 0;         ///< RK4 steps per CNF used for this step
  bool ode_checked = false;      ///< whether the RK4 error was estimated at this step
  double ode_error = 0;          ///< the estimate (max |error of log p̃| over the batch) when checked
  bool ode_refined = false;      ///< the step count was doubled at this step
  int64_t ode_steps_before = 0;  ///< when refined: the previous count and its estimated error
  double ode_error_before = 0;
  bool ode_at_limit = false;  ///< the tolerance was not reached within ode_control.max_steps
};

class FlowTrainer {
 public:
  FlowTrainer(RGFlow flow, const TrainerOptions& options);
  /// One optimisation step.
  TrainMetrics step();
  /// UV matching, Appendix A: append a copy of the last level (the linear size doubles), redraw the fine-lattice bank
  /// and keep training every level with the learning rate multiplied by lr_factor (the paper: 1/5).
  void extend_uv(double lr_factor = 0.2);

  /// Learnable couplings (coarse for IR, fine for UV) and the fixed ones.
  lattice::ScalarCouplings learned_couplings() const { return {kappa, lambda}; }
  lattice::ScalarCouplings fine_couplings() const;
  lattice::ScalarCouplings coarse_couplings() const;
  std::vector<int64_t> fine_extents() const;

  /// Everything needed to resume: flow parameters, couplings, optimiser, counters, and every shard's generator,
  /// coarse batch and bank part (gathered from all processes through `collectives`: every process must call it).
  void save(torch::serialize::OutputArchive& archive) const;
  /// Restores a save(); with `shard_state` false only the model and the counters (e.g. to sample from it with any
  /// number of shards). Throws std::invalid_argument when the archive's number of shards is not options.shards.
  void load(torch::serialize::InputArchive& archive, bool shard_state = true);

  /// One shard's random state (see TrainerOptions::shards).
  struct Shard {
    int64_t index = 0;  ///< k of [0, shards)
    int64_t batch = 0;  ///< its rows of the batch
    at::Generator generator;
    torch::Tensor coarse_batch;  ///< its current coarse configurations (Langevin or HMC chains), detached
    std::unique_ptr<SampleBank> bank;
  };

  TrainerOptions options;
  RGFlow flow;
  torch::Tensor kappa, lambda;  ///< 0-dim double, requires_grad when learnable
  std::unique_ptr<torch::optim::Adam> optimizer;
  std::vector<Shard> shards;     ///< the shards this process computes, in order
  ShardCollectives collectives;  ///< how processes combine them (default: one process holding every shard)
  int64_t steps_done = 0;
  double lr = 0;

 private:
  void make_optimizer();
  void make_banks();
  /// Whether other processes hold shards too (then their results come through `collectives`).
  bool shards_elsewhere() const { return static_cast<int64_t>(shards.size()) < options.shards; }
  std::vector<torch::Tensor> draw_coarse();
  /// Sums the gradients of this process's shards' losses (in shard order) and over processes into the parameters.
  torch::Tensor backward_shards(const std::vector<FlowState>& fine);
};

}  // namespace blockspin::flows
