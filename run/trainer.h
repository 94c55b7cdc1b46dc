// Supervised training: Adam or AdamW, an exponential or a reduce-on-plateau learning-rate schedule, atomic
// checkpoints, bitwise-reproducible --resume, NaN/Inf stop, training curves — for any batch loss (train) and for MSE
// regression (train_regression); and the regression metrics (MSE, R²).
//
// DIR/checkpoint.h5 (format "training_checkpoint"), rewritten atomically every checkpoint_every steps and at the end:
//   parameters/<name>  every named parameter (float64; h5py-readable)
//   optimizer          torch::serialize archive of the optimizer state (bytes)
//   rng_state          batch-sampling generator state (bytes)
//   curve/{step, loss, val_loss, lr}   the training curve so far
//   attributes: step, seconds, config (the resolved run config: --resume refuses a different one); with the plateau
//   schedule also lr (current), plateau_best, plateau_bad
// DIR/metrics.jsonl (run/metrics_log.h), one line per curve point: step, loss (training loss averaged since the last
// point), val_loss, lr, grad_norm (the gradients' global 2-norm before clipping, averaged since the last point),
// seconds (since the run began, summed over resumes) and the validation's details.
#pragma once

#include "run/run_directory.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace blockspin::run {

struct TrainerOptions {
  int64_t steps = 2000;
  int64_t batch_size = 16;
  double lr = 1e-2;        ///< initial Adam learning rate
  double lr_final = 1e-4;  ///< learning rate at the last step (exponential decay in between; = lr: constant)
  double weight_decay = 0;
  int64_t checkpoint_every = 200;
  int64_t log_every = 20;  ///< curve points (training loss averaged since the last point, validation loss)
  int64_t seed = 1;        ///< batch sampling
  int64_t eval_batch_size = 8;
  std::string optimizer = "adam";        ///< "adam" or "adamw" (decoupled weight decay)
  std::string schedule = "exponential";  ///< "exponential" (lr -> lr_final) or "plateau" (see below)
  /// plateau: at every curve point, if the validation loss has not improved on its best by a relative 1e-4 for more
  /// than plateau_patience points, lr <- max(lr · plateau_factor, lr_final) (PyTorch's ReduceLROnPlateau, mode min).
  double plateau_factor = 0.5;
  int64_t plateau_patience = 5;
  /// Gradient accumulation: each rank's share of the batch is evaluated in this many consecutive micro-batches (the
  /// same update, less memory). One process with accumulate = 2 takes bitwise the same steps as two ranks with 1.
  int64_t accumulate = 1;
  /// > 0: before each update the gradients are rescaled so that their global 2-norm is at most this
  /// (torch::nn::utils::clip_grad_norm_, after the allreduce of a distributed run); 0: no clipping.
  double clip_grad_norm = 0;
};

/// Throws std::invalid_argument naming the option when `o` is inconsistent (unknown optimizer/schedule, steps < 1,
/// ...).
void check_trainer_options(const TrainerOptions& o);

struct Curve {
  std::vector<int64_t> step;
  std::vector<double> loss, val_loss, lr;
};

/// Maps a batch of inputs to predictions (shape of the targets).
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;
/// The training loss of the batch with these row indices of the training set (CPU, int64): a scalar differentiable in
/// the model's parameters. `step` is the 0-based optimizer step the rows belong to: with (row, step) a loss can draw
/// per-row randomness (e.g. data augmentation) that does not depend on the world size, micro-batching or a resume.
using BatchLossFn = std::function<torch::Tensor(const torch::Tensor& indices, int64_t step)>;
/// A validation result: the loss the schedule watches, and optional details (e.g. the loss terms) for metrics.jsonl.
struct Validation {
  Validation(double loss_, nlohmann::json details_ = nlohmann::json::object())  // NOLINT: implicit from a loss
      : loss(loss_), details(std::move(details_)) {}
  double loss;
  nlohmann::json details;
};
/// The validation loss, evaluated without parameter gradients (the model is in eval mode); a lambda returning a
/// plain double converts.
using ValidationFn = std::function<Validation()>;

/// Minimises `loss` over batches of options.batch_size rows drawn without replacement from n_train rows (a fresh
/// permutation of the seeded generator per step). Checkpoint DIR/`subdir`/checkpoint.h5; with --resume continues
/// from it and ends with the same weights as an uninterrupted run; DIR/`subdir`/metrics.jsonl gets one line per curve
/// point. Returns the full training curve. Throws
/// support::NumericalStop on NaN/Inf (the last checkpoint is kept).
///
/// Distributed (run/distributed.h; every rank calls train with the same arguments): data parallel — the parameters
/// are broadcast from rank 0 at the start (and after a resume), every rank draws the same batch and evaluates `loss`
/// on its contiguous share of it, weighted by share / batch; the gradients and the loss are summed over the ranks
/// (one allreduce per step), so every rank takes the same optimizer step as one process on the whole batch (equal up
/// to the summation order). `validation` is called on every rank (it must return the same value everywhere; it may
/// share its work); rank 0 writes the checkpoint and metrics.jsonl. batch_size must be >= the world size.
Curve train(torch::nn::Module& model, const BatchLossFn& loss, int64_t n_train, const ValidationFn& validation,
            const TrainerOptions& options, const RunDirectory& run, const std::string& subdir,
            const std::string& label);

/// Trains `model` to minimise the mean squared error between forward(inputs[batch]) and targets[batch]; inputs and
/// targets are indexed along dim 0 and moved to `device` batch by batch. The checkpoint is DIR/`subdir`/checkpoint.h5
/// of the run directory; with --resume and an existing checkpoint, continues from it (the run's resume rules apply)
/// and ends with the same weights as an uninterrupted run. Returns the full training curve. Throws
/// support::NumericalStop on NaN/Inf (the last checkpoint is kept).
Curve train_regression(torch::nn::Module& model, const ForwardFn& forward, const torch::Tensor& inputs,
                       const torch::Tensor& targets, const torch::Tensor& val_inputs, const torch::Tensor& val_targets,
                       const TrainerOptions& options, const torch::Device& device, torch::Dtype input_dtype,
                       const RunDirectory& run, const std::string& subdir, const std::string& label);

/// Predictions for all inputs, evaluated in batches without gradients; returned on the CPU in double.
torch::Tensor predict(const ForwardFn& forward, const torch::Tensor& inputs, int64_t batch_size,
                      const torch::Device& device, torch::Dtype input_dtype);

/// {"mse", "r2"} over all elements, and per target channel (dim 1) under "targets" with the given names.
/// R² = 1 - Σ(y - ŷ)² / Σ(y - mean y)².
nlohmann::json regression_metrics(const torch::Tensor& prediction, const torch::Tensor& target,
                                  const std::vector<std::string>& target_names);

/// Loads the parameters stored in DIR/checkpoint.h5 into `model` (names and shapes must match).
void load_parameters(torch::nn::Module& model, const std::filesystem::path& checkpoint);

}  // namespace blockspin::run
