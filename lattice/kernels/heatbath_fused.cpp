// Fused heatbath and overrelaxation sweeps: colour classes as site lists, the lane passes, the torch sampler in
// between (see heatbath_fused.h).
#include "lattice/kernels/heatbath_fused.h"

#include "lattice/heatbath.h"
#include "lattice/kernels/heatbath_lanes.h"
#include "lattice/kernels/lane_support.h"
#include "lattice/layout.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

namespace blockspin::lattice::kernels {

namespace {

// Sites of the colour classes of links along μ (heatbath.h: colour = (Σ_{ν≠μ} x_ν) mod 2), ascending.
std::vector<std::vector<int64_t>> colour_sites(const std::vector<int64_t>& ext, int64_t mu) {
  const auto D = static_cast<int64_t>(ext.size());
  int64_t V = 1;
  for (auto e : ext) V *= e;
  std::vector<int64_t> stride(D, 1);
  for (int64_t d = D - 2; d >= 0; --d) stride[d] = stride[d + 1] * ext[d + 1];
  std::vector<std::vector<int64_t>> classes(2);
  for (int64_t x = 0; x < V; ++x) {
    int64_t sum = 0;
    for (int64_t d = 0; d < D; ++d)
      if (d != mu) sum += (x / stride[d]) % ext[d];
    classes[static_cast<size_t>(sum % 2)].push_back(x);
  }
  return classes;
}

// One sweep; gen == nullptr: overrelaxation.
torch::Tensor sweep(const torch::Tensor& U_in, const GaugeAction& action, at::Generator* gen) {
  check_gauge_field(U_in, "heatbath");
  const auto ext = extents(U_in);
  check_heatbath_geometry(ext, action);
  torch::NoGradGuard no_grad;
  const auto U = dense(U_in);
  const int64_t B = batch_size(U), D = n_dims(U), N = n_colors(U);
  auto planes = lane_planes(U);
  const Neighbours nb(ext);
  const lanes::Geometry g{nb.V, nb.D, nb.fwd.data(), nb.bwd.data()};
  const auto real_opt = planes.options();
  dispatch_lanes(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    constexpr int64_t W = lanes::lane_width<T>();
    T* p = planes.data_ptr<T>();
    for (int64_t mu = 0; mu < D; ++mu) {
      for (const auto& sites : colour_sites(ext, mu)) {
        const lanes::LinkList list{sites.data(), static_cast<int64_t>(sites.size()), mu};
        const int64_t n = list.n, tasks = B * ((n + W - 1) / W);
        if (gen == nullptr) {
          at::parallel_for(0, tasks, kLaneGrain,
                           [&](int64_t t0, int64_t t1) { lanes::overrelax_range<T, NC>(p, g, list, t0, t1); });
          continue;
        }
        auto Wp = torch::empty({B, 2 * N * N, n}, real_opt);
        at::parallel_for(0, tasks, kLaneGrain, [&](int64_t t0, int64_t t1) {
          lanes::staple_product_range<T, NC>(p, g, list, static_cast<T>(action.c0()), Wp.data_ptr<T>(), t0, t1);
        });
        for (int i = 0; i < NC; ++i)
          for (int j = i + 1; j < NC; ++j) {
            auto k = torch::empty({B * n}, real_opt);
            at::parallel_for(0, tasks, kLaneGrain, [&](int64_t t0, int64_t t1) {
              lanes::subgroup_norm_range<T, NC>(Wp.data_ptr<T>(), list, i, j, k.data_ptr<T>(), t0, t1);
            });
            // The torch path's draws, in its order (heatbath.h).
            const auto xs = sample_su2_elements(k, action.beta(), N, *gen);
            const auto q0 = xs[0].contiguous(), q1 = xs[1].contiguous(), q2 = xs[2].contiguous(),
                       q3 = xs[3].contiguous();
            at::parallel_for(0, tasks, kLaneGrain, [&](int64_t t0, int64_t t1) {
              lanes::subgroup_heatbath_range<T, NC>(p, g, list, Wp.data_ptr<T>(), i, j, q0.data_ptr<T>(),
                                                    q1.data_ptr<T>(), q2.data_ptr<T>(), q3.data_ptr<T>(), t0, t1);
            });
          }
      }
    }
  });
  return from_lane_planes(planes, U);
}

}  // namespace

bool heatbath_fused_available(const torch::Tensor& U, const GaugeAction& action) {
  return U.defined() && U.device().is_cpu() && U.dim() >= 6 && action.c1() == 0.0 &&
         (U.scalar_type() == torch::kComplexDouble || U.scalar_type() == torch::kComplexFloat) &&
         (n_colors(U) == 2 || n_colors(U) == 3);
}

torch::Tensor heatbath_sweep_fused(const torch::Tensor& U, const GaugeAction& action, at::Generator& gen) {
  return sweep(U, action, &gen);
}

torch::Tensor overrelaxation_sweep_fused(const torch::Tensor& U, const GaugeAction& action) {
  return sweep(U, action, nullptr);
}

}  // namespace blockspin::lattice::kernels
