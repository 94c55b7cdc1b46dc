// Seeded random number generators bound to a device, with state that can be saved and restored.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::lattice {

/// A fresh generator on `device` (CPU or CUDA) seeded with `seed`, independent of torch's global one.
at::Generator make_generator(uint64_t seed, const torch::Device& device = torch::kCPU);

/// The seed of the independent stream `index` derived from a run's `seed`: seed itself for index 0 (a one-stream run
/// is unchanged), (seed + index · 0x9E3779B97F4A7C15) mod 2^63 otherwise (a non-negative int64, so that a config seed
/// can reproduce any stream). Used for the ranks of a distributed run and the shards of a flow's training batch.
uint64_t stream_seed(uint64_t seed, int64_t index);

/// The generator's full state as a CPU uint8 tensor (for checkpoints), and its restoration.
torch::Tensor generator_state(const at::Generator& gen);
void set_generator_state(at::Generator& gen, const torch::Tensor& state);

}  // namespace blockspin::lattice
