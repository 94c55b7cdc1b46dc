// Clover field strength, energy densities and topological charge (see field_strength.h).
#include "lattice/field_strength.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"
#include "lattice/su_n.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

torch::Tensor clover(const torch::Tensor& U, int64_t mu, int64_t nu) {
  check_gauge_field(U, "clover");
  // The leaves at x are the plaquettes starting at x, x - mu, x - nu, x - mu - nu, parallel-transported to x.
  auto P = plaquette_field(U, mu, nu);
  auto U_mu = link(U, mu);
  auto U_nu = link(U, nu);
  auto from_minus_nu = transport(U_nu, P, nu, -1);
  return P + transport(U_mu, P, mu, -1) + from_minus_nu + transport(U_mu, from_minus_nu, mu, -1);
}

torch::Tensor field_strength(const torch::Tensor& U, int64_t mu, int64_t nu) {
  // (1/8i) [(Q - Q†) - Tr(Q - Q†)/N] = (1/4i) [Q]_TA
  return project_traceless_antihermitian(clover(U, mu, nu)) * c10::complex<double>(0.0, -0.25);
}

torch::Tensor energy_density_clover(const torch::Tensor& U) {
  torch::Tensor E;
  for (auto [mu, nu] : planes(n_dims(U))) {
    auto F = field_strength(U, mu, nu);
    auto e = re_trace_mm(F, F).squeeze(1);
    E = E.defined() ? E + e : e;
  }
  return E;
}

torch::Tensor energy_density_plaquette(const torch::Tensor& U) {
  check_gauge_field(U, "energy_density_plaquette");
  const auto N = static_cast<double>(n_colors(U));
  torch::Tensor E;
  for (auto [mu, nu] : planes(n_dims(U))) {
    auto e = 2.0 * (N - re_trace(plaquette_field(U, mu, nu)).squeeze(1));
    E = E.defined() ? E + e : e;
  }
  return E;
}

torch::Tensor topological_charge_density(const torch::Tensor& U) {
  check_gauge_field(U, "topological_charge");
  if (n_dims(U) != 4)
    throw std::invalid_argument("topological charge is defined for D = 4, got D = " + std::to_string(n_dims(U)));
  auto F = [&](int64_t mu, int64_t nu) { return field_strength(U, mu, nu); };
  // ε_μνρσ Tr F_μν F_ρσ = 8 Tr(F01 F23 - F02 F13 + F03 F12)
  auto q = re_trace_mm(F(0, 1), F(2, 3)) - re_trace_mm(F(0, 2), F(1, 3)) + re_trace_mm(F(0, 3), F(1, 2));
  return q.squeeze(1) / (4.0 * M_PI * M_PI);
}

torch::Tensor topological_charge(const torch::Tensor& U) { return topological_charge_density(U).flatten(1).sum(1); }

}  // namespace blockspin::lattice
