// Shared types of the flows library: a batch of fields with their log-densities, the block factor b = 2, and the
// collectives of a data-parallel run.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace blockspin::flows {

/// Linear block factor b of every super-resolution level (the paper uses b = 2 throughout).
constexpr int64_t kBlockFactor = 2;

/// A batch of scalar fields φ : [batch, x..] (lattice/layout.h) with log p(φ) : [batch] under the distribution they
/// were drawn from (up to the caller's normalisation, e.g. −S_coarse with log Z dropped).
struct FlowState {
  torch::Tensor phi;
  torch::Tensor log_prob;
};

/// How the processes of a data-parallel run combine what their shards computed (training.h: the shards of a batch are
/// split over processes in order, contiguous blocks). Filled by the application from its process group; the defaults
/// are a single process.
struct ShardCollectives {
  /// In place: every tensor becomes the sum over processes.
  std::function<void(std::vector<torch::Tensor>&)> sum = [](std::vector<torch::Tensor>&) {};
  /// Every process's tensor (CPU; sizes may differ along dim 0) concatenated along dim 0 in rank order.
  std::function<torch::Tensor(const torch::Tensor&)> gather = [](const torch::Tensor& t) { return t; };
};

}  // namespace blockspin::flows
