// Second-derivative locality profile and exponential fit (see locality.h).
#include "lattice/locality.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace blockspin::lattice {

LocalityProfile second_derivative_locality(const ActionFunctional& action, const torch::Tensor& U_in, int64_t mu0) {
  check_gauge_field(U_in, "second_derivative_locality");
  if (U_in.size(0) != 1) throw std::invalid_argument("second_derivative_locality: one configuration, batch 1");
  const int64_t D = n_dims(U_in), N = n_colors(U_in), G = N * N - 1;
  if (mu0 < 0 || mu0 >= D) throw std::invalid_argument("second_derivative_locality: mu0 out of range");
  const auto U = U_in.detach();
  torch::AutoGradMode grad_mode(true);
  auto shape = U.sizes().vec();
  shape.pop_back();
  shape.back() = G;
  auto omega = torch::zeros(shape, U.options().dtype(real_dtype(U.scalar_type()))).requires_grad_(true);
  const auto X = algebra_to_matrix(omega, N);
  const auto Up = mat_mul(identity_like(U) + X + 0.5 * mat_mul(X, X), U);  // exact to second order at ω = 0
  const auto A = action(Up).sum();
  const auto g = torch::autograd::grad({A}, {omega}, {}, true, true)[0];
  auto source = g.select(0, 0).select(0, mu0);
  for (int64_t d = 0; d < D; ++d) source = source.select(0, 0);      // site 0: [G]
  auto sum_sq = torch::zeros(shape, omega.options()).select(-1, 0);  // [1, D, x..]
  for (int64_t a = 0; a < G; ++a) {
    const auto h = torch::autograd::grad({source[a]}, {omega}, {}, true, false, true)[0];
    if (h.defined()) sum_sq = sum_sq + h.detach().pow(2).sum(-1);
  }
  const auto norm = sum_sq.sqrt().select(0, 0).contiguous().to(torch::kDouble);  // [D, x..]
  const auto ext = extents(U);
  LocalityProfile p;
  const auto* nd = norm.data_ptr<double>();
  const int64_t V = volume(U);
  for (int64_t nu = 0; nu < D; ++nu)
    for (int64_t s = 0; s < V; ++s) {
      double r2 = 0;
      int64_t rest = s;
      for (int64_t d = D - 1; d >= 0; --d) {
        const int64_t x = rest % ext[d];
        rest /= ext[d];
        double delta = static_cast<double>(x) + (d == nu ? 0.5 : 0.0) - (d == mu0 ? 0.5 : 0.0);
        const double L = static_cast<double>(ext[d]);
        delta -= L * std::round(delta / L);
        r2 += delta * delta;
      }
      p.distance.push_back(std::sqrt(r2));
      p.norm.push_back(nd[nu * V + s]);
    }
  return p;
}

ExponentialFit fit_exponential_decay(const std::vector<double>& r, const std::vector<double>& y, double r_min) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  std::vector<std::pair<double, double>> pts;
  for (size_t i = 0; i < r.size() && i < y.size(); ++i)
    if (r[i] >= r_min && y[i] > 0) pts.emplace_back(r[i], std::log(y[i]));
  ExponentialFit f;
  f.n = static_cast<int64_t>(pts.size());
  if (f.n < 3) {
    f.rate = f.rate_error = f.amplitude = std::numeric_limits<double>::quiet_NaN();
    return f;
  }
  for (const auto& [x, v] : pts) {
    sx += x;
    sy += v;
    sxx += x * x;
    sxy += x * v;
  }
  const double n = static_cast<double>(f.n), det = n * sxx - sx * sx;
  const double slope = (n * sxy - sx * sy) / det, intercept = (sy - slope * sx) / n;
  double ss = 0;
  for (const auto& [x, v] : pts) ss += (v - intercept - slope * x) * (v - intercept - slope * x);
  f.rate = -slope;
  f.rate_error = std::sqrt(ss / (n - 2) * n / det);
  f.amplitude = std::exp(intercept);
  return f;
}

}  // namespace blockspin::lattice
