// Hybrid Monte Carlo for φ⁴ (see scalar_hmc.h).
#include "lattice/scalar_hmc.h"

#include <stdexcept>
#include <vector>

namespace blockspin::lattice {

torch::Tensor scalar_hamiltonian(const torch::Tensor& phi, const torch::Tensor& pi, const ScalarCouplings& c) {
  return kinetic_energy(pi) + scalar_action(phi, c).to(torch::kDouble);
}

std::pair<torch::Tensor, torch::Tensor> scalar_md_evolve(const torch::Tensor& phi0, const torch::Tensor& pi0,
                                                         const ScalarCouplings& c0, const ScalarHmcOptions& o) {
  if (o.steps < 1) throw std::invalid_argument("scalar HMC needs steps >= 1");
  if (!(o.trajectory_length > 0)) throw std::invalid_argument("scalar HMC needs trajectory_length > 0");
  check_scalar_field(phi0, "scalar_md_evolve");
  if (!pi0.sizes().equals(phi0.sizes()))
    throw std::invalid_argument("scalar_md_evolve: momenta and field differ in shape");
  torch::NoGradGuard no_grad;
  const ScalarCouplings c = c0.detached();
  const double eps = o.trajectory_length / static_cast<double>(o.steps);
  torch::Tensor phi = phi0, pi = pi0;
  integrate(
      splitting_scheme(o.integrator, o.omelyan_lambda), o.steps, eps,
      [&](double h) { pi = pi - h * scalar_action_derivative(phi, c); }, [&](double h) { phi = phi + h * pi; });
  return {phi, pi};
}

ScalarHmcStep scalar_hmc_trajectory(const torch::Tensor& phi, const ScalarCouplings& c0, const ScalarHmcOptions& o,
                                    at::Generator& gen, bool metropolis) {
  torch::NoGradGuard no_grad;
  check_scalar_field(phi, "scalar_hmc_trajectory");
  const ScalarCouplings c = c0.detached();
  auto pi = torch::randn(phi.sizes(), gen, phi.options());
  auto H0 = scalar_hamiltonian(phi, pi, c);
  auto [phi1, pi1] = scalar_md_evolve(phi, pi, c, o);
  auto dH = scalar_hamiltonian(phi1, pi1, c) - H0;
  auto u = torch::rand({phi.size(0)}, gen, torch::TensorOptions().dtype(torch::kDouble).device(phi.device()));
  // Accept if u < exp(−ΔH); NaN ΔH (a blown-up trajectory) compares false and is rejected.
  auto accepted = metropolis ? torch::log(u) < -dH : torch::isfinite(dH);
  std::vector<int64_t> view(phi.dim(), 1);
  view[0] = phi.size(0);
  return {torch::where(accepted.view(view), phi1, phi), dH, accepted};
}

}  // namespace blockspin::lattice
