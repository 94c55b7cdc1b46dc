// Plaquettes, Wilson loops and Polyakov loops (see observables.h).
#include "lattice/observables.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"

#include <stdexcept>
#include <utility>

namespace blockspin::lattice {

namespace {
torch::Tensor site_mean(const torch::Tensor& f) { return f.flatten(1).mean(1); }
}  // namespace

torch::Tensor plaquette_per_plane(const torch::Tensor& U) {
  check_gauge_field(U, "plaquette");
  const double inv_n = 1.0 / static_cast<double>(n_colors(U));
  std::vector<torch::Tensor> per_plane;
  for (auto [mu, nu] : planes(n_dims(U))) per_plane.push_back(site_mean(inv_n * re_trace(plaquette_field(U, mu, nu))));
  return torch::stack(per_plane, 1);
}

torch::Tensor average_plaquette(const torch::Tensor& U) { return plaquette_per_plane(U).mean(1); }

torch::Tensor wilson_loop_field(const torch::Tensor& U, int64_t mu, int64_t nu, int64_t m, int64_t n) {
  check_gauge_field(U, "wilson_loop");
  if (m < 1 || n < 1) throw std::invalid_argument("wilson_loop: loop extents must be >= 1");
  if (mu == nu || mu < 0 || nu < 0 || mu >= n_dims(U) || nu >= n_dims(U))
    throw std::invalid_argument("wilson_loop: invalid plane");
  // L_mu^m(x) L_nu^n(x + m mu^) [L_nu^n(x) L_mu^m(x + n nu^)]†
  auto a = line_product(U, mu, m);
  auto b = line_product(U, nu, n);
  auto loop = mat_mul_dag(mat_mul(a, shift(b, mu, m)), mat_mul(b, shift(a, nu, n)));
  return re_trace(loop).squeeze(1) / static_cast<double>(n_colors(U));
}

torch::Tensor wilson_loop_per_plane(const torch::Tensor& U, int64_t m, int64_t n) {
  std::vector<torch::Tensor> per_plane;
  for (auto [mu, nu] : planes(n_dims(U))) {
    auto w = site_mean(wilson_loop_field(U, mu, nu, m, n));
    if (m != n) w = 0.5 * (w + site_mean(wilson_loop_field(U, mu, nu, n, m)));
    per_plane.push_back(w);
  }
  return torch::stack(per_plane, 1);
}

torch::Tensor wilson_loop_site_field(const torch::Tensor& U, int64_t m, int64_t n) {
  torch::Tensor sum;
  int64_t terms = 0;
  for (auto [mu, nu] : planes(n_dims(U))) {
    for (auto [a, b] : {std::pair{m, n}, std::pair{n, m}}) {
      auto w = wilson_loop_field(U, mu, nu, a, b);
      sum = sum.defined() ? sum + w : w;
      ++terms;
      if (m == n) break;
    }
  }
  return sum / static_cast<double>(terms);
}

torch::Tensor wilson_loop(const torch::Tensor& U, int64_t m, int64_t n) {
  return wilson_loop_per_plane(U, m, n).mean(1);
}

torch::Tensor polyakov_loop_field(const torch::Tensor& U, int64_t mu) {
  check_gauge_field(U, "polyakov_loop");
  if (mu < 0 || mu >= n_dims(U)) throw std::invalid_argument("polyakov_loop: invalid direction");
  const int64_t dim = kSiteDim0 + mu;
  auto U_mu = link(U, mu).squeeze(1);  // [batch, x.., N, N]
  const int64_t sdim = dim - 1;
  auto P = U_mu.select(sdim, 0);
  for (int64_t t = 1; t < U_mu.size(sdim); ++t) P = mat_mul(P, U_mu.select(sdim, t));
  return color_trace(P) / static_cast<double>(n_colors(U));
}

torch::Tensor polyakov_loop(const torch::Tensor& U, int64_t mu) {
  return polyakov_loop_field(U, mu).flatten(1).mean(1);
}

}  // namespace blockspin::lattice
