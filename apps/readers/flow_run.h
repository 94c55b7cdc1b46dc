// Shared code of `blockspin train-flow` and `blockspin sample`: the run config of a super-resolving RG flow for φ⁴
// (flows/), its checkpoint file, and the JSON of an evaluation (flows/evaluation.h).
//
// DIR/checkpoint.h5 (format "flow_checkpoint"), rewritten atomically every training.checkpoint_every steps and at the
// end of training:
//   trainer          FlowTrainer::save archive (flow parameters, couplings, Adam state, counters, and per shard of
//                    the batch its generator, coarse batch and reweighting-bank part) as bytes
//   parameters/<name> every flow parameter (float64; h5py-readable copy, not read back)
//   attributes: step, levels, kappa, lambda (learned couplings), seconds, ess_ema, best_ess_ema, best_step,
//               config (the resolved run config)
// DIR/best.h5: the same format, written at a checkpoint step whenever the moving-average batch ESS/N (at the final
// number of levels) is the best so far.
#pragma once

#include "apps/app.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "run/checkpoint.h"
#include "run/run_directory.h"
#include "support/config.h"
#include "flows/coarse_proposals.h"
#include "flows/evaluation.h"
#include "flows/training.h"
#include "lattice/scalar_hmc.h"

namespace blockspin::apps {

using FlowEvalOptions = flows::FlowEvalOptions;

/// The train-flow / sample config. Library options (trainer, flow architecture, evaluation) keep their defaults in
/// the library structs (flows/training.h, flows/vector_field.h, flows/cnf.h, flows/evaluation.h); the run-only keys
/// have theirs here.
struct FlowRunSetup {
  flows::TrainerOptions trainer;
  int64_t levels = 1;
  flows::CNFOptions cnf{flows::VectorFieldOptions(2)};  ///< field dims set from flow.coarse_shape
  int64_t steps = 300, checkpoint_every = 50, log_every = 10;
  int64_t uv_extensions = 0, uv_retrain_steps = 50;
  double uv_lr_factor = 0.2;
  /// Which model the final evaluation (and `sample`) uses: "best" (DIR/best.h5, the checkpoint with the highest
  /// moving-average batch ESS/N at the final number of levels; early stopping) or "final" (DIR/checkpoint.h5).
  std::string eval_checkpoint = "best";
  /// flow.init_from: a train-flow output directory whose trained levels (and learned couplings, RK4 step count)
  /// initialise this flow at a fresh start (warm start across sizes, flows/rg_flow.h warm_start_levels); "" = none.
  std::string init_from;
  flows::FlowEvalOptions eval;
};

/// Reads every key (defaults recorded in the resolved config); ConfigError naming the key on bad input.
FlowRunSetup read_flow_setup(Config& cfg);

/// A fresh RGFlow of setup.levels levels (parameters initialised from torch's global generator: seed it first).
flows::RGFlow make_flow(const FlowRunSetup& s);

/// A train-flow output directory's stored config (config.json, parsed). InputError naming the directory when it is not
/// one (needs config.json and checkpoint.h5) or naming config.json when that does not parse.
nlohmann::json read_flow_run_config(const std::filesystem::path& dir);
/// The file that holds the model of the train-flow output `dir` with config `s`: best.h5 when the config evaluates the
/// best checkpoint and the file exists, else checkpoint.h5.
std::filesystem::path flow_model_checkpoint(const std::filesystem::path& dir, const FlowRunSetup& s);
/// The trained model of the train-flow output `dir` (config `s`) in a fresh FlowTrainer with `options`: the file of
/// flow_model_checkpoint, read with read_flow_checkpoint (its path into `checkpoint` when given). What `sample`,
/// `export` and the warm start load; seed torch first where parameters not in the file must be reproducible.
std::unique_ptr<flows::FlowTrainer> load_flow_model(const std::filesystem::path& dir, const FlowRunSetup& s,
                                                    const flows::TrainerOptions& options,
                                                    std::filesystem::path* checkpoint = nullptr);

/// The warm start of a fresh train-flow run from setup.init_from: its model (best.h5 when its config evaluates the
/// best, else checkpoint.h5) into every level of `trainer` (level i from min(i, n − 1)), its learned couplings and RK4
/// step count; the noise widths come with the levels (the first batch no longer sets them). A directory that is not a
/// train-flow output, another matching or another architecture is a ConfigError naming flow.init_from. Returns a line
/// for the log.
std::string warm_start_flow(const FlowRunSetup& setup, flows::FlowTrainer& trainer);

/// All training steps: setup.steps, then setup.uv_retrain_steps after each of the setup.uv_extensions extensions.
int64_t total_flow_steps(const FlowRunSetup& s);
/// Levels the flow must have before training step steps_done + 1.
int64_t flow_levels_before_step(const FlowRunSetup& s, int64_t steps_done);

/// Run bookkeeping stored with a checkpoint (needed for a bitwise-identical resume of the best-model tracking).
struct FlowRunState {
  double seconds = 0;
  double ess_ema = 0;        ///< moving average of the batch ESS/N (0.9 old + 0.1 new)
  double best_ess_ema = -1;  ///< best moving average at a checkpoint so far (DIR/best.h5)
  int64_t best_step = -1;
};

/// Writes DIR/`name` (checkpoint.h5 or best.h5) of the run atomically.
void write_flow_checkpoint(const RunDirectory& run, const std::string& name, const flows::FlowTrainer& trainer,
                           const FlowRunState& state);
/// What a train-flow --resume may change: flow.adjoint, training.log_every, training.checkpoint_every and eval.*;
/// stored configs are resolved with this version's defaults first.
ResumeRules flow_resume_rules();
/// Loads the model and counters of a checkpoint file into `trainer` (no config check and no shard state: a model for
/// `sample`). A damaged file or a stored step outside [0, max_steps] is an InputError naming it.
FlowRunState read_flow_checkpoint(const std::filesystem::path& path, flows::FlowTrainer& trainer, int64_t max_steps);
/// Loads all of DIR/`name` of the run (collective: rank 0 reads it; the run's resume rules check the stored config);
/// a checkpoint written with another number of shards is an InputError naming it.
FlowRunState resume_flow_checkpoint(const RunDirectory& run, const std::string& name, flows::FlowTrainer& trainer,
                                    int64_t max_steps);

/// Draws eval.n flow proposals shared over the ranks (rank r with the seed rank_seed(eval.seed, r); one process:
/// eval.seed) and evaluates them on rank 0 (flows/evaluation.h); std::nullopt on the other ranks.
std::optional<flows::FlowEvaluation> evaluate_flow_sharded(flows::FlowTrainer& trainer,
                                                           const flows::FlowEvalOptions& eval, bool keep_fields);

/// The metrics.json block of an evaluation (the Γ-method results as {mean, error, tau_int, tau_int_error} or
/// {"error": why}; deviations of the flow from HMC in σ).
nlohmann::json evaluation_json(const flows::FlowEvaluation& r, const flows::FlowEvalOptions& o);
/// Logs the coarse-proposal stride and warns when the pilot did not converge or the proposals stayed correlated.
void log_evaluation_warnings(const flows::FlowEvaluation& r, const flows::FlowEvalOptions& o);

}  // namespace blockspin::apps
