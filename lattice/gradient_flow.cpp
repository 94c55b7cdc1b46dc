// Wilson flow (see gradient_flow.h).
#include "lattice/gradient_flow.h"

#include "lattice/field_strength.h"
#include "lattice/gauge_action.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace blockspin::lattice {

namespace {
/// ε Z(V) = -ε Σ_a D_a[S_1](V) (i t^a) as traceless anti-hermitian matrices; S_1 = the Wilson action at β = 2N.
torch::Tensor flow_generator(const torch::Tensor& V, double eps) {
  return -eps * GaugeAction::wilson(2.0 * static_cast<double>(n_colors(V))).derivative_matrix(V);
}
}  // namespace

torch::Tensor wilson_flow_step(const torch::Tensor& V0, double eps) {
  torch::NoGradGuard no_grad;
  auto Z0 = flow_generator(V0, eps);
  auto V1 = mat_mul(su_exp(0.25 * Z0), V0);
  auto Z1 = flow_generator(V1, eps);
  auto V2 = mat_mul(su_exp((8.0 / 9.0) * Z1 - (17.0 / 36.0) * Z0), V1);
  auto Z2 = flow_generator(V2, eps);
  return mat_mul(su_exp(0.75 * Z2 - (8.0 / 9.0) * Z1 + (17.0 / 36.0) * Z0), V2);
}

FlowHistory wilson_flow(const torch::Tensor& U, double eps, double t_max, torch::Tensor* flowed) {
  check_gauge_field(U, "wilson_flow");
  if (!(eps > 0) || !(t_max >= 0)) throw std::invalid_argument("wilson_flow needs eps > 0 and t_max >= 0");
  torch::NoGradGuard no_grad;
  const auto steps = static_cast<int64_t>(std::llround(t_max / eps));
  const bool charge = n_dims(U) == 4;
  FlowHistory h;
  torch::Tensor V = U;
  for (int64_t s = 0; s <= steps; ++s) {
    if (s > 0) V = wilson_flow_step(V, eps);
    const double t = static_cast<double>(s) * eps;
    h.t.push_back(t);
    h.t2E.push_back(t * t * energy_density_clover(V).flatten(1).mean(1).to(torch::kDouble));
    if (charge) h.charge.push_back(topological_charge(V).to(torch::kDouble));
  }
  if (flowed != nullptr) *flowed = V;
  return h;
}

double flow_time_at(const std::vector<double>& t, const std::vector<double>& y, double target) {
  for (size_t i = 1; i < t.size() && i < y.size(); ++i) {
    if (y[i - 1] < target && y[i] >= target)
      return t[i - 1] + (target - y[i - 1]) * (t[i] - t[i - 1]) / (y[i] - y[i - 1]);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double w0_squared_at(const std::vector<double>& t, const std::vector<double>& y, double target) {
  std::vector<double> mid, w;
  for (size_t i = 1; i < t.size() && i < y.size(); ++i) {
    const double tm = 0.5 * (t[i - 1] + t[i]);
    mid.push_back(tm);
    w.push_back(tm * (y[i] - y[i - 1]) / (t[i] - t[i - 1]));
  }
  return flow_time_at(mid, w, target);
}

}  // namespace blockspin::lattice
