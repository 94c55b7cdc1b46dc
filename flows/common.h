// Shared types of the flows library: a batch of fields with their log-densities, the block factor b = 2.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::flows {

/// Linear block factor b of every super-resolution level (the paper uses b = 2 throughout).
constexpr int64_t kBlockFactor = 2;

/// A batch of scalar fields φ : [batch, x..] (lattice/layout.h) with log p(φ) : [batch] under the distribution they
/// were drawn from (up to the caller's normalisation, e.g. −S_coarse with log Z dropped).
struct FlowState {
  torch::Tensor phi;
  torch::Tensor log_prob;
};

}  // namespace blockspin::flows
