// Torch-side helpers of the lane kernels (not for the native units): neighbour tables, the planes layout
// (lane_kernels.h) to and from complex fields, the parallel grain.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "lattice/layout.h"

namespace blockspin::lattice::kernels {

// Neighbour tables of a periodic lattice: fwd[mu * V + s] = s + mu^, bwd[mu * V + s] = s - mu^ (row-major sites,
// x_{D-1} fastest, as torch lays out [.., x_0, .., x_{D-1}, ..]).
struct Neighbours {
  int64_t V = 1, D = 0;
  std::vector<int64_t> fwd, bwd;
  explicit Neighbours(const std::vector<int64_t>& extents) : D(static_cast<int64_t>(extents.size())) {
    for (auto e : extents) V *= e;
    fwd.resize(D * V);
    bwd.resize(D * V);
    std::vector<int64_t> stride(D, 1);
    for (int64_t mu = D - 2; mu >= 0; --mu) stride[mu] = stride[mu + 1] * extents[mu + 1];
    for (int64_t s = 0; s < V; ++s)
      for (int64_t mu = 0; mu < D; ++mu) {
        const int64_t x = (s / stride[mu]) % extents[mu];
        const int64_t up = x + 1 == extents[mu] ? -x : 1, down = x == 0 ? extents[mu] - 1 : -1;
        fwd[mu * V + s] = s + up * stride[mu];
        bwd[mu * V + s] = s + down * stride[mu];
      }
  }
};

// The memory a kernel reads through data_ptr: detached, lazy conjugate/negative views resolved (data_ptr ignores the
// bits — a gradient arriving through T.conj() is such a view; view_as_real refuses one), contiguous.
inline torch::Tensor dense(const torch::Tensor& t) { return t.detach().resolve_conj().resolve_neg().contiguous(); }

// The real link data as lane planes [B*D, 2N², V] (lane_kernels.h).
inline torch::Tensor lane_planes(const torch::Tensor& U) {
  const int64_t BD = U.size(0) * U.size(1), N = n_colors(U);
  return torch::view_as_real(dense(U)).reshape({BD, -1, 2 * N * N}).transpose(1, 2).contiguous();
}

// Planes [B*D, 2N², V] back to a complex field of U's shape (the inverse of lane_planes).
inline torch::Tensor from_lane_planes(const torch::Tensor& planes, const torch::Tensor& like) {
  const int64_t BD = like.size(0) * like.size(1), N = n_colors(like);
  return torch::view_as_complex(planes.view({BD, 2 * N * N, -1}).transpose(1, 2).contiguous().view({-1, N, N, 2}))
      .view(like.sizes());
}

// f(real, NC) with real = double{} or float{} and NC = std::integral_constant<int, 3 or 2> for U's dtype and N (the
// lane kernels' instantiations; callers check smear/heatbath availability first).
template <class F>
void dispatch_lanes(const torch::Tensor& U, F&& f) {
  auto by_n = [&](auto real) {
    if (n_colors(U) == 3) return f(real, std::integral_constant<int, 3>{});
    return f(real, std::integral_constant<int, 2>{});
  };
  if (U.scalar_type() == torch::kComplexDouble) return by_n(double{});
  return by_n(float{});
}

// Lane blocks per parallel_for task: enough work to amortise a task, fine enough to balance two threads.
constexpr int64_t kLaneGrain = 4;

}  // namespace blockspin::lattice::kernels
