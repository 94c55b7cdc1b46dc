// Hybrid Monte Carlo (see hmc.h).
#include "lattice/hmc.h"

#include "lattice/kernels/mode.h"
#include "lattice/kernels/wilson_kernels.h"

#include "lattice/derivatives.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <stdexcept>

namespace blockspin::lattice {

MdAction md_action(const GaugeAction& action) {
  return {[action](const torch::Tensor& U) { return action(U); },
          [action](const torch::Tensor& U) { return action.derivative(U); }};
}

MdAction md_action(std::function<torch::Tensor(const torch::Tensor&)> action) {
  return {action, [action](const torch::Tensor& U) { return autograd_derivative(action, U); }};
}

torch::Tensor kinetic_energy(const torch::Tensor& p) { return 0.5 * p.to(torch::kDouble).pow(2).flatten(1).sum(1); }

torch::Tensor update_links(const torch::Tensor& U, const torch::Tensor& p, double eps) {
  if (kernels::mode() == kernels::Mode::fused && kernels::fused_available(U) &&
      !(torch::GradMode::is_enabled() && (U.requires_grad() || p.requires_grad())))
    return kernels::link_update(U, p, eps);
  return mat_mul(su_exp(algebra_to_matrix(eps * p, n_colors(U))), U);
}

std::pair<torch::Tensor, torch::Tensor> md_evolve(const torch::Tensor& U0, const torch::Tensor& p0,
                                                  const MdAction& action, const HmcOptions& o) {
  if (o.steps < 1) throw std::invalid_argument("HMC needs steps >= 1");
  if (!(o.trajectory_length > 0)) throw std::invalid_argument("HMC needs trajectory_length > 0");
  torch::NoGradGuard no_grad;
  const double eps = o.trajectory_length / static_cast<double>(o.steps);
  torch::Tensor U = U0, p = p0;
  integrate(
      splitting_scheme(o.integrator, o.omelyan_lambda), o.steps, eps,
      [&](double h) { p = p - h * action.derivative(U); }, [&](double h) { U = update_links(U, p, h); });
  return {U, p};
}

HmcStep hmc_trajectory(const torch::Tensor& U, const MdAction& action, const HmcOptions& o, at::Generator& gen,
                       bool metropolis) {
  torch::NoGradGuard no_grad;
  check_gauge_field(U, "hmc_trajectory");
  const int64_t N = n_colors(U);
  std::vector<int64_t> prefix(U.sizes().begin(), U.sizes().end() - 2);
  auto p = random_algebra(prefix, N, gen, U.options().dtype(real_dtype(U.scalar_type())));
  auto H0 = kinetic_energy(p) + action.value(U).to(torch::kDouble);
  auto [U1, p1] = md_evolve(U, p, action, o);
  auto H1 = kinetic_energy(p1) + action.value(U1).to(torch::kDouble);
  auto dH = H1 - H0;
  auto u = torch::rand({U.size(0)}, gen, torch::TensorOptions().dtype(torch::kDouble).device(U.device()));
  // Accept if u < exp(-ΔH); NaN ΔH (a blown-up trajectory) is always rejected.
  auto accepted = torch::log(u) < -dH;
  if (!metropolis) accepted = torch::isfinite(dH);
  if (o.reunitarise) U1 = project_su_n(U1);
  std::vector<int64_t> view(U.dim(), 1);
  view[0] = U.size(0);
  auto Unew = torch::where(accepted.view(view), U1, U);
  return {Unew, dH, accepted};
}

}  // namespace blockspin::lattice
