// Batched (differentiable) Langevin updates for φ⁴ (see langevin.h).
#include "lattice/langevin.h"

#include <cmath>
#include <optional>
#include <stdexcept>

namespace blockspin::lattice {

torch::Tensor langevin_step(const torch::Tensor& phi, const ScalarCouplings& c, double step_size,
                            const torch::Tensor& noise) {
  if (!(step_size > 0)) throw std::invalid_argument("langevin_step: step size must be > 0");
  if (!noise.sizes().equals(phi.sizes())) throw std::invalid_argument("langevin_step: noise and field differ in shape");
  return phi - step_size * scalar_action_derivative(phi, c) + std::sqrt(2.0 * step_size) * noise;
}

torch::Tensor langevin_evolve(const torch::Tensor& phi0, const ScalarCouplings& c0, const LangevinOptions& o,
                              at::Generator& gen) {
  if (o.steps < 0) throw std::invalid_argument("langevin_evolve: steps must be >= 0");
  if (!(o.step_size > 0)) throw std::invalid_argument("langevin_evolve: step size must be > 0");
  check_scalar_field(phi0, "langevin_evolve");
  std::optional<torch::NoGradGuard> no_grad;
  if (o.detach) no_grad.emplace();
  const ScalarCouplings c = o.detach ? c0.detached() : c0;
  torch::Tensor phi = o.detach ? phi0.detach() : phi0;
  for (int64_t s = 0; s < o.steps; ++s) {
    auto eta = torch::randn(phi.sizes(), gen, phi.options());
    phi = langevin_step(phi, c, o.step_size, eta);
  }
  return phi;
}

}  // namespace blockspin::lattice
