// Supervised regression training with Adam: atomic checkpoints, bitwise-reproducible --resume, NaN/Inf stop,
// training curves; and the regression metrics (MSE, R²) used to evaluate it.
//
// DIR/checkpoint.h5 (format "training_checkpoint"), rewritten atomically every checkpoint_every steps and at the end:
//   parameters/<name>  every named parameter (float64; h5py-readable)
//   optimizer          torch::serialize archive of the Adam state (bytes)
//   rng_state          batch-sampling generator state (bytes)
//   curve/{step, loss, val_loss, lr}   the training curve so far
//   attributes: step, seconds, config (the resolved run config: --resume refuses a different one)
#pragma once

#include "run/run_directory.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
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
};

struct Curve {
  std::vector<int64_t> step;
  std::vector<double> loss, val_loss, lr;
};

/// Maps a batch of inputs to predictions (shape of the targets).
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

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
