// Exact free φ⁴ (λ = 0) propagators on finite periodic lattices (see free_scalar.h).
#include "lattice/free_scalar.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

torch::Tensor free_inverse_propagator_momentum(const std::vector<int64_t>& extents, double kappa) {
  if (extents.empty()) throw std::invalid_argument("free scalar theory: need D >= 1 extents");
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  const auto D = static_cast<int64_t>(extents.size());
  torch::Tensor cos_sum = torch::zeros(extents, o);
  for (int64_t mu = 0; mu < D; ++mu) {
    if (extents[mu] < 1) throw std::invalid_argument("free scalar theory: extents must be >= 1");
    auto p = torch::arange(extents[mu], o) * (2.0 * M_PI / static_cast<double>(extents[mu]));
    std::vector<int64_t> view(D, 1);
    view[mu] = extents[mu];
    cos_sum = cos_sum + torch::cos(p).view(view);
  }
  auto M = 2.0 * (1.0 - 2.0 * kappa * cos_sum);
  if (M.min().item<double>() <= 0) {
    throw std::domain_error("free scalar theory: M(p) <= 0 for some momentum (kappa = " + std::to_string(kappa) +
                            " outside the stable range)");
  }
  return M;
}

torch::Tensor free_propagator_momentum(const std::vector<int64_t>& extents, double kappa) {
  return 1.0 / free_inverse_propagator_momentum(extents, kappa);
}

torch::Tensor free_propagator(const std::vector<int64_t>& extents, double kappa) {
  // G(x) = (1/V) Σ_p G̃(p) e^{ipx}: the inverse DFT (G̃ is real and even, so G is real).
  return torch::real(torch::fft::ifftn(free_propagator_momentum(extents, kappa)));
}

torch::Tensor free_timeslice_correlator(const std::vector<int64_t>& extents, double kappa) {
  auto G = free_propagator(extents, kappa);
  return extents.size() == 1 ? G : G.flatten(1).sum(1);
}

double free_phi2(const std::vector<int64_t>& extents, double kappa) {
  return free_propagator_momentum(extents, kappa).mean().item<double>();
}

double free_susceptibility(int64_t n_dims, double kappa) {
  const double m = 2.0 * (1.0 - 2.0 * static_cast<double>(n_dims) * kappa);
  if (!(m > 0)) throw std::domain_error("free_susceptibility: 1 - 2 D kappa <= 0");
  return 1.0 / m;
}

double free_xi2_second_moment(int64_t n_dims, double kappa) {
  const double d = 1.0 - 2.0 * static_cast<double>(n_dims) * kappa;
  if (!(d > 0)) throw std::domain_error("free_xi2_second_moment: 1 - 2 D kappa <= 0");
  return kappa / d;
}

double free_langevin_phi2(const std::vector<int64_t>& extents, double kappa, double step_size) {
  auto M = free_inverse_propagator_momentum(extents, kappa);
  auto tm = step_size * M;
  if (!(tm.min().item<double>() > 0) || !(tm.max().item<double>() < 2)) {
    throw std::domain_error("free_langevin_phi2: need 0 < tau M(p) < 2 for every momentum");
  }
  return (1.0 / (M * (1.0 - 0.5 * tm))).mean().item<double>();
}

}  // namespace blockspin::lattice
