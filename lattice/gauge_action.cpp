// Plaquette + rectangle gauge actions and their analytic derivatives (see gauge_action.h).
#include "lattice/gauge_action.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/wilson_fused.h"
#include "lattice/kernels/wilson_kernels.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"
#include "lattice/su_n.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

GaugeAction::GaugeAction(double beta, double c1, std::string name) : beta_(beta), c1_(c1), name_(std::move(name)) {
  if (!std::isfinite(beta) || !std::isfinite(c1))
    throw std::invalid_argument("GaugeAction: beta and c1 must be finite");
}

const std::vector<std::string>& GaugeAction::names() {
  static const std::vector<std::string> n{"wilson", "symanzik", "iwasaki", "dbw2", "rectangle"};
  return n;
}

GaugeAction GaugeAction::from_name(const std::string& name, double beta, double c1) {
  if (name == "wilson") return wilson(beta);
  if (name == "symanzik") return symanzik(beta);
  if (name == "iwasaki") return iwasaki(beta);
  if (name == "dbw2") return dbw2(beta);
  if (name == "rectangle") return {beta, c1, "rectangle"};
  throw std::invalid_argument("unknown gauge action '" + name +
                              "' (expected wilson, symanzik, iwasaki, dbw2 or rectangle)");
}

torch::Tensor GaugeAction::density(const torch::Tensor& U) const {
  check_gauge_field(U, "GaugeAction");
  const int64_t D = n_dims(U);
  const double inv_n = 1.0 / static_cast<double>(n_colors(U));
  torch::Tensor s = torch::zeros_like(re_trace(link(U, 0)).squeeze(1));
  if (c0() != 0.0) {
    for (auto [mu, nu] : planes(D)) s = s + c0() * (1.0 - inv_n * re_trace(plaquette_field(U, mu, nu)).squeeze(1));
  }
  if (c1_ != 0.0) {
    for (int64_t mu = 0; mu < D; ++mu)
      for (int64_t nu = 0; nu < D; ++nu)
        if (mu != nu) s = s + c1_ * (1.0 - inv_n * re_trace(path_product(U, rectangle(mu, nu, 2, 1))).squeeze(1));
  }
  return beta_ * s;
}

namespace {
// The fused kernels cover the plaquette-only (Wilson) action on CPU complex fields.
bool use_fused(const GaugeAction& a, const torch::Tensor& U) {
  return kernels::mode() == kernels::Mode::fused && a.c1() == 0.0 && kernels::fused_available(U);
}
}  // namespace

torch::Tensor GaugeAction::operator()(const torch::Tensor& U) const {
  if (!use_fused(*this, U)) return density(U).flatten(1).sum(1);
  check_gauge_field(U, "GaugeAction");
  // S = β c0 Σ_x Σ_{μ<ν} (1 − Re Tr P / N) = (β c0 / N) Σ (N − Re Tr P)
  return (beta_ * c0() / static_cast<double>(n_colors(U))) * kernels::plaquette_deficit_differentiable(U);
}

torch::Tensor GaugeAction::staples(const torch::Tensor& U, int64_t mu) const {
  if (use_fused(*this, U) && !(torch::GradMode::is_enabled() && U.requires_grad()))
    return c0() * kernels::wilson_staples(U, mu);
  const int64_t D = n_dims(U);
  torch::Tensor A = torch::zeros_like(link(U, mu));
  for (int64_t nu = 0; nu < D; ++nu) {
    if (nu == mu) continue;
    if (c0() != 0.0) {
      // Plaquettes of the (mu, nu) plane, each counted once: the loop with the smaller direction first.
      const Path plaq = mu < nu ? rectangle(mu, nu, 1, 1) : rectangle(nu, mu, 1, 1);
      A = A + c0() * loop_staples(U, mu, plaq);
    }
    if (c1_ != 0.0) {
      // Both rectangle orientations of the plane: long side along mu and long side along nu.
      A = A + c1_ * (loop_staples(U, mu, rectangle(mu, nu, 2, 1)) + loop_staples(U, mu, rectangle(nu, mu, 2, 1)));
    }
  }
  return A;
}

torch::Tensor GaugeAction::derivative_matrix(const torch::Tensor& U) const {
  check_gauge_field(U, "GaugeAction");
  const double factor = beta_ / (2.0 * static_cast<double>(n_colors(U)));
  if (use_fused(*this, U) && !(torch::GradMode::is_enabled() && U.requires_grad()))
    return factor * c0() * project_traceless_antihermitian(mat_mul(U, kernels::wilson_staples(U)));
  std::vector<torch::Tensor> per_mu;
  for (int64_t mu = 0; mu < n_dims(U); ++mu)
    per_mu.push_back(factor * project_traceless_antihermitian(mat_mul(link(U, mu), staples(U, mu))));
  return torch::cat(per_mu, 1);
}

torch::Tensor GaugeAction::derivative(const torch::Tensor& U) const {
  if (use_fused(*this, U) && !(torch::GradMode::is_enabled() && U.requires_grad())) {
    check_gauge_field(U, "GaugeAction");
    return kernels::wilson_force(U, beta_ * c0() / static_cast<double>(n_colors(U)));
  }
  return matrix_to_algebra(derivative_matrix(U));
}

}  // namespace blockspin::lattice
