// A trained FP-action model as an action to simulate with (generate's action.model, fp-data's fine_action.model):
// a `blockspin train` fp_action run directory (or a shipped copy under models/) or an exported TorchScript `.pt`.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace blockspin::apps {

struct LearnedAction {
  std::string source;    ///< the path as given
  std::string kind;      ///< "checkpoint" (train run directory) or "torchscript" (.pt from `blockspin export`)
  int64_t n_colors = 3;  ///< the group the model was trained on
  int64_t n_parameters = 0;
  /// A[U] per configuration [B] (β-free; differentiable in U), for links [B, D, x.., N, N] of the dtype and device
  /// given to load_learned_action. A TorchScript file is evaluated in complex128 on the CPU and converted back.
  std::function<torch::Tensor(const torch::Tensor&)> action;
};

/// Loads the model at `path` for SU(N) links on lattices of `shape` (a TorchScript file serves only the shape it was
/// exported for). Checks, each an InputError naming the file: not a model; another group (model card or export
/// metadata); another lattice dimension or shape; a forward that does not return one finite action per configuration
/// (probed on two configurations near the identity).
LearnedAction load_learned_action(const std::filesystem::path& path, const std::vector<int64_t>& shape, int64_t N,
                                  torch::Dtype dtype, const torch::Device& device);

}  // namespace blockspin::apps
