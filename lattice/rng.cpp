// Device generators (see rng.h): cloned from the device's default generator type, so CPU and CUDA share one path.
#include "lattice/rng.h"

#include <mutex>

namespace blockspin::lattice {

at::Generator make_generator(uint64_t seed, const torch::Device& device) {
  at::Generator def = at::globalContext().defaultGenerator(device);  // handle to the shared default
  at::Generator gen;
  {
    std::lock_guard<std::mutex> lock(def.mutex());
    gen = def.clone();
  }
  gen.set_current_seed(seed);
  return gen;
}

torch::Tensor generator_state(const at::Generator& gen) {
  at::Generator handle = gen;  // shares the implementation; mutex() is non-const
  std::lock_guard<std::mutex> lock(handle.mutex());
  return handle.get_state().clone();
}

void set_generator_state(at::Generator& gen, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

uint64_t stream_seed(uint64_t seed, int64_t index) {
  if (index == 0) return seed;
  return (seed + static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ULL) & 0x7FFFFFFFFFFFFFFFULL;
}

}  // namespace blockspin::lattice
