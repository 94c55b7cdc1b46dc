// φ⁴ action in the hopping form and its derivatives (see scalar_action.h).
#include "lattice/scalar_action.h"

#include "lattice/layout.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

ScalarCouplings ScalarCouplings::constant(double kappa, double lambda) {
  auto o = torch::TensorOptions().dtype(torch::kDouble);
  return {torch::tensor(kappa, o), torch::tensor(lambda, o)};
}

ScalarCouplings ScalarCouplings::detached() const { return {kappa.detach(), lambda.detach()}; }

void check_scalar_field(const torch::Tensor& phi, const char* what) {
  std::ostringstream msg;
  if (!phi.defined()) {
    msg << what << ": undefined tensor";
  } else if (!phi.is_floating_point()) {
    msg << what << ": expected a real floating-point tensor, got " << phi.dtype();
  } else if (phi.dim() < 2) {
    msg << what << ": expected shape [batch, x_0..x_{D-1}] with D >= 1, got " << phi.sizes();
  } else {
    for (int64_t d = 0; d < phi.dim(); ++d) {
      if (phi.size(d) < 1) {
        msg << what << ": dimension " << d << " is empty in shape " << phi.sizes();
        break;
      }
    }
  }
  if (!msg.str().empty()) throw std::invalid_argument(msg.str());
}

int64_t scalar_volume(const torch::Tensor& phi) {
  int64_t v = 1;
  for (int64_t d = kScalarSiteDim0; d < phi.dim(); ++d) v *= phi.size(d);
  return v;
}

torch::Tensor broadcast_coupling(const torch::Tensor& c, const torch::Tensor& phi, const char* what) {
  if (!c.defined()) throw std::invalid_argument(std::string(what) + ": undefined coupling");
  auto t = c.to(phi.options().dtype(phi.scalar_type()));
  if (t.dim() == 0) return t;
  if (t.dim() == 1 && t.size(0) == phi.size(0)) {
    std::vector<int64_t> view(phi.dim(), 1);
    view[0] = phi.size(0);
    return t.view(view);
  }
  std::ostringstream msg;
  msg << what << ": expected a 0-dim tensor or one value per configuration [" << phi.size(0) << "], got shape "
      << c.sizes();
  throw std::invalid_argument(msg.str());
}

torch::Tensor hopping_density(const torch::Tensor& phi) {
  check_scalar_field(phi, "hopping_density");
  torch::Tensor h = torch::zeros_like(phi);
  for (int64_t mu = 0; mu < scalar_n_dims(phi); ++mu) h = h + phi * shift_scalar(phi, mu);
  return h;
}

torch::Tensor scalar_action_density(const torch::Tensor& phi, const ScalarCouplings& c) {
  check_scalar_field(phi, "scalar_action");
  auto kappa = broadcast_coupling(c.kappa, phi, "kappa");
  auto lambda = broadcast_coupling(c.lambda, phi, "lambda");
  auto phi2 = phi * phi;
  return (1 - 2 * lambda) * phi2 + lambda * phi2 * phi2 - 2 * kappa * hopping_density(phi);
}

torch::Tensor scalar_action(const torch::Tensor& phi, const ScalarCouplings& c) {
  return scalar_action_density(phi, c).flatten(1).sum(1);
}

torch::Tensor scalar_action_derivative(const torch::Tensor& phi, const ScalarCouplings& c) {
  check_scalar_field(phi, "scalar_action_derivative");
  auto kappa = broadcast_coupling(c.kappa, phi, "kappa");
  auto lambda = broadcast_coupling(c.lambda, phi, "lambda");
  torch::Tensor neighbours = torch::zeros_like(phi);
  for (int64_t mu = 0; mu < scalar_n_dims(phi); ++mu) {
    neighbours = neighbours + shift_scalar(phi, mu, 1) + shift_scalar(phi, mu, -1);
  }
  return 2 * (1 - 2 * lambda) * phi + 4 * lambda * phi * phi * phi - 2 * kappa * neighbours;
}

torch::Tensor scalar_action_dkappa(const torch::Tensor& phi) { return -2 * hopping_density(phi).flatten(1).sum(1); }

torch::Tensor scalar_action_dlambda(const torch::Tensor& phi) {
  check_scalar_field(phi, "scalar_action_dlambda");
  auto phi2 = phi * phi;
  return (phi2 * phi2 - 2 * phi2).flatten(1).sum(1);
}

}  // namespace blockspin::lattice
