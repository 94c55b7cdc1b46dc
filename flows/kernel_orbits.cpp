// Kernel bonds and their symmetry orbits (see kernel_orbits.h).
#include "flows/kernel_orbits.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace blockspin::flows {

KernelGeometry make_kernel_geometry(int64_t dims, int64_t kernel_size, bool tie_symmetry) {
  if (dims < 1 || kernel_size < 1)
    throw std::invalid_argument("make_kernel_geometry: need dims >= 1, kernel_size >= 1");
  KernelGeometry g;
  g.dims = dims;
  g.kernel_size = kernel_size;
  const int64_t r = kernel_size - 1, w = 2 * r + 1;
  int64_t T = 1;
  for (int64_t d = 0; d < dims; ++d) T *= w;
  auto offset_index = [&](const std::vector<int64_t>& delta) {
    int64_t i = 0;
    for (int64_t d = 0; d < dims; ++d) i = i * w + (delta[d] + r);
    return i;
  };
  for (int64_t i = 0; i < T; ++i) {
    std::vector<int64_t> delta(dims);
    int64_t rest = i;
    for (int64_t d = dims - 1; d >= 0; --d) {
      delta[d] = rest % w - r;
      rest /= w;
    }
    g.offsets.push_back(delta);
  }
  g.zero_offset = offset_index(std::vector<int64_t>(dims, 0));
  const int64_t P = int64_t(1) << dims;

  // Canonical representative of (p, δ): the smallest flat index p * T + t over the group orbit.
  std::vector<int64_t> canon(P * T);
  std::iota(canon.begin(), canon.end(), 0);
  if (tie_symmetry) {
    std::vector<int64_t> perm(dims);
    std::iota(perm.begin(), perm.end(), 0);
    do {
      for (int64_t signs = 0; signs < P; ++signs) {
        for (int64_t p = 0; p < P; ++p) {
          for (int64_t t = 0; t < T; ++t) {
            int64_t p2 = 0;
            std::vector<int64_t> d2(dims);
            for (int64_t mu = 0; mu < dims; ++mu) {
              const bool flip = (signs >> mu) & 1;
              const int64_t pm = (p >> mu) & 1;
              p2 |= (flip ? 1 - pm : pm) << perm[mu];
              d2[perm[mu]] = flip ? -g.offsets[t][mu] : g.offsets[t][mu];
            }
            const int64_t j = p2 * T + offset_index(d2);
            canon[p * T + t] = std::min(canon[p * T + t], j);
          }
        }
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
  // Relabel canonical representatives to contiguous orbit ids.
  std::vector<int64_t> id(P * T, -1), orbit(P * T);
  int64_t n = 0;
  for (int64_t i = 0; i < P * T; ++i) {
    if (id[canon[i]] < 0) id[canon[i]] = n++;
    orbit[i] = id[canon[i]];
  }
  g.orbit = torch::tensor(orbit, torch::TensorOptions().dtype(torch::kLong)).view({P, T});
  g.n_orbits = n;
  return g;
}

torch::Tensor block_position_index(const std::vector<int64_t>& extents, const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  torch::Tensor idx = torch::zeros(extents, opts);
  const int64_t D = int64_t(extents.size());
  for (int64_t mu = 0; mu < D; ++mu) {
    std::vector<int64_t> view(D, 1);
    view[mu] = extents[mu];
    idx = idx + (torch::arange(extents[mu], opts).remainder(2) * (int64_t(1) << mu)).view(view);
  }
  return idx;
}

}  // namespace blockspin::flows
