// Hypercubic data augmentation for FP-action training (apps/readers/fp_augment.h).
#include "apps/readers/fp_augment.h"

#include <random>
#include <stdexcept>
#include <utility>

namespace blockspin::apps {

int64_t augmentation_index(int64_t seed, int64_t step, int64_t row, int64_t dims) {
  auto lo = [](int64_t v) { return static_cast<uint32_t>(static_cast<uint64_t>(v) & 0xffffffffu); };
  auto hi = [](int64_t v) { return static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32); };
  std::seed_seq seq{lo(seed), hi(seed), lo(step), hi(step), lo(row), hi(row), 0x48435542u /* "HCUB" */};
  std::mt19937_64 engine(seq);
  const auto n = static_cast<uint64_t>(lattice::hypercubic_group_size(dims));
  return static_cast<int64_t>(engine() % n);  // bias < n / 2^64
}

std::vector<lattice::HypercubicElement> augmentation_elements(int64_t seed, int64_t step, const torch::Tensor& rows,
                                                              int64_t dims) {
  const auto r = rows.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<lattice::HypercubicElement> out;
  for (int64_t b = 0; b < r.numel(); ++b)
    out.push_back(lattice::hypercubic_element(dims, augmentation_index(seed, step, r[b].item<int64_t>(), dims)));
  return out;
}

lattice::ActionFunctional augmented_action(lattice::ActionFunctional action,
                                           std::vector<lattice::HypercubicElement> elements) {
  return [action = std::move(action), elements = std::move(elements)](const torch::Tensor& U) {
    if (U.size(0) != static_cast<int64_t>(elements.size()))
      throw std::invalid_argument("augmented_action: " + std::to_string(U.size(0)) + " configurations, " +
                                  std::to_string(elements.size()) + " elements");
    return action(lattice::hypercubic_transform_batch(U, elements));
  };
}

}  // namespace blockspin::apps
