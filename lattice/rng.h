// Seeded random number generators bound to a device, with state that can be saved and restored.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::lattice {

/// A fresh generator on `device` (CPU or CUDA) seeded with `seed`, independent of torch's global one.
at::Generator make_generator(uint64_t seed, const torch::Device& device = torch::kCPU);

/// The generator's full state as a CPU uint8 tensor (for checkpoints), and its restoration.
torch::Tensor generator_state(const at::Generator& gen);
void set_generator_state(at::Generator& gen, const torch::Tensor& state);

}  // namespace blockspin::lattice
