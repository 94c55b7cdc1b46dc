// Shared code of `blockspin train-flow` and `blockspin sample`: the run config of a super-resolving RG flow for φ⁴
// (flows/), its checkpoint file, and the evaluation (flow proposals -> independence Metropolis -> observables with
// Γ-method errors, compared with direct HMC on the fine lattice).
//
// DIR/checkpoint.h5 (format "flow_checkpoint"), rewritten atomically every training.checkpoint_every steps and at the
// end of training:
//   trainer          FlowTrainer::save archive (flow parameters, couplings, Adam state, generator, coarse batch,
//                    reweighting bank, counters) as bytes
//   parameters/<name> every flow parameter (float64; h5py-readable copy, not read back)
//   attributes: step, levels, kappa, lambda (learned couplings), seconds, ess_ema, best_ess_ema, best_step,
//               config (the resolved run config)
// DIR/best.h5: the same format, written at a checkpoint step whenever the moving-average batch ESS/N (at the final
// number of levels) is the best so far.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "apps/config.h"
#include "flows/coarse_proposals.h"
#include "flows/training.h"
#include "lattice/scalar_hmc.h"

namespace blockspin::apps {

struct FlowEvalOptions {
  int64_t n = 2000;            ///< flow proposals
  int64_t batch_size = 250;    ///< proposals pushed through the flow at once
  /// Exact HMC chains on the coarse lattice at the (learned) coarse couplings feeding the flow (eval.coarse_*; the
  /// HMC options are the training's training.hmc).
  flows::CoarseProposalOptions coarse{};
  int64_t ode_steps = 0;       ///< RK4 steps per CNF for the evaluation; 0: the trained (checkpointed) count
  int64_t n_hmc = 2000;        ///< direct fine-lattice HMC measurements for the comparison (0: none)
  int64_t hmc_chains = 8;
  int64_t hmc_therm = 200;
  lattice::ScalarHmcOptions hmc{};
  uint64_t seed = 2;
};

struct FlowRunSetup {
  flows::TrainerOptions trainer;
  int64_t levels = 1;
  int64_t kernel_size = 2, features = 11, time_kernels = 10, feature_bond = 20, time_bond = 20;
  bool tie_symmetry = true;
  double mix_init_scale = 1.0;
  int64_t cnf_steps = 10;
  bool adjoint = false;
  int64_t steps = 300, checkpoint_every = 50, log_every = 10;
  int64_t uv_extensions = 0, uv_retrain_steps = 50;
  double uv_lr_factor = 0.2;
  /// Which model the final evaluation (and `sample`) uses: "best" (DIR/best.h5, the checkpoint with the highest
  /// moving-average batch ESS/N at the final number of levels; early stopping) or "final" (DIR/checkpoint.h5).
  std::string eval_checkpoint = "best";
  FlowEvalOptions eval;
};

/// Reads every key (defaults recorded in the resolved config); ConfigError naming the key on bad input.
FlowRunSetup read_flow_setup(Config& cfg);

/// A fresh RGFlow of setup.levels levels (parameters initialised from torch's global generator: seed it first).
flows::RGFlow make_flow(const FlowRunSetup& s);

/// All training steps: setup.steps, then setup.uv_retrain_steps after each of the setup.uv_extensions extensions.
int64_t total_flow_steps(const FlowRunSetup& s);
/// Levels the flow must have before training step steps_done + 1.
int64_t flow_levels_before_step(const FlowRunSetup& s, int64_t steps_done);

/// Run bookkeeping stored with a checkpoint (needed for a bitwise-identical resume of the best-model tracking).
struct FlowRunState {
  double seconds = 0;
  double ess_ema = 0;       ///< moving average of the batch ESS/N (0.9 old + 0.1 new)
  double best_ess_ema = -1;  ///< best moving average at a checkpoint so far (DIR/best.h5)
  int64_t best_step = -1;
};

void write_flow_checkpoint(const std::filesystem::path& path, const flows::FlowTrainer& trainer,
                           const nlohmann::json& config, const FlowRunState& state);
/// Loads a checkpoint into `trainer`; with `config` non-null, a different stored config is a ConfigError.
FlowRunState read_flow_checkpoint(const std::filesystem::path& path, flows::FlowTrainer& trainer,
                                  const nlohmann::json* config);

struct FlowEvaluation {
  nlohmann::json metrics;
  torch::Tensor fields;       ///< [n, x..] proposals (only with keep_fields)
  torch::Tensor accepted;     ///< [n] bool
  torch::Tensor chain;        ///< [n] int64: proposal held after step i
  torch::Tensor log_weights;  ///< [n] log p − log q
  torch::Tensor log_q, log_p;
};

/// Draws o.n proposals from the flow (coarse HMC at the coarse couplings, noise, CNF), runs the independence
/// Metropolis sampler and measures ⟨|m|⟩, χ = V⟨m²⟩, the Binder cumulant and ξ² (second moment) on the accepted
/// chain, and on direct HMC at the fine couplings (o.n_hmc > 0), with the deviation in σ.
FlowEvaluation evaluate_flow(flows::FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields);

}  // namespace blockspin::apps
