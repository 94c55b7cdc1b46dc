// Constant-flux abelian configurations and their exact observables (see abelian_flux.h).
#include "lattice/abelian_flux.h"

#include "lattice/gauge_field.h"
#include "lattice/layout.h"

#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

void check_plane(const Flux& f, int64_t D) {
  if (f.mu < 0 || f.nu < 0 || f.mu >= D || f.nu >= D || f.mu == f.nu)
    throw std::invalid_argument("flux plane (" + std::to_string(f.mu) + ", " + std::to_string(f.nu) +
                                ") is not a plane of a D = " + std::to_string(D) + " lattice");
}

std::vector<int64_t> charges(const Flux& f, int64_t n_colors) {
  std::vector<int64_t> q = f.charges;
  if (q.empty()) {
    q.assign(n_colors, 0);
    q[0] = 1;
    q[1] = -1;
  }
  if (static_cast<int64_t>(q.size()) != n_colors || std::accumulate(q.begin(), q.end(), int64_t{0}) != 0)
    throw std::invalid_argument("flux charges must be N = " + std::to_string(n_colors) + " integers summing to zero");
  return q;
}

double flux_angle(const Flux& f, const std::vector<int64_t>& extents) {
  return 2.0 * M_PI * static_cast<double>(f.n) / static_cast<double>(extents[f.mu] * extents[f.nu]);
}

/// Plaquette phases θ_j (plaquette = diag(exp(i θ_j))) of the plane (mu, nu), mu < nu, oriented mu -> nu.
std::vector<double> plane_phases(const std::vector<int64_t>& extents, int64_t n_colors, const std::vector<Flux>& fluxes,
                                 int64_t mu, int64_t nu) {
  check_lattice_geometry(extents, n_colors);
  std::vector<double> theta(n_colors, 0.0);
  for (const auto& f : fluxes) {
    check_plane(f, static_cast<int64_t>(extents.size()));
    const bool same = f.mu == mu && f.nu == nu, flipped = f.mu == nu && f.nu == mu;
    if (!same && !flipped) continue;
    const auto q = charges(f, n_colors);
    const double phi = (same ? 1.0 : -1.0) * flux_angle(f, extents);
    for (int64_t j = 0; j < n_colors; ++j) theta[j] += phi * static_cast<double>(q[j]);
  }
  return theta;
}

/// Traceless part of diag(g(θ_j)).
std::vector<double> traceless(std::vector<double> v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  for (auto& x : v) x -= mean;
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

/// Σ_{pairs} ε-signed Tr(G_μν G_ρσ) over the three pairings of a D = 4 lattice, G from the plane phases by `g`.
template <class G>
double epsilon_contraction(const std::vector<int64_t>& extents, int64_t n_colors, const std::vector<Flux>& fluxes,
                           G g) {
  if (extents.size() != 4) throw std::invalid_argument("topological charge is defined for D = 4");
  auto field = [&](int64_t mu, int64_t nu) {
    auto theta = plane_phases(extents, n_colors, fluxes, mu, nu);
    for (auto& t : theta) t = g(t);
    return traceless(theta);
  };
  return dot(field(0, 1), field(2, 3)) - dot(field(0, 2), field(1, 3)) + dot(field(0, 3), field(1, 2));
}

double lattice_volume(const std::vector<int64_t>& extents) {
  return std::accumulate(extents.begin(), extents.end(), 1.0, [](double a, int64_t b) { return a * b; });
}

}  // namespace

torch::Tensor abelian_flux_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes, const torch::TensorOptions& options) {
  check_lattice_geometry(extents, n_colors);
  const auto D = static_cast<int64_t>(extents.size());
  auto real = options.dtype(real_dtype(options.dtype().toScalarType()));
  // Phases θ[mu, x.., colour]: links are diag(exp(i θ)).
  std::vector<int64_t> shape{D};
  shape.insert(shape.end(), extents.begin(), extents.end());
  shape.push_back(n_colors);
  auto theta = torch::zeros(shape, real);
  auto coordinate = [&](int64_t d) {  // x_d broadcast over [x.., 1]
    std::vector<int64_t> view(D + 1, 1);
    view[d] = extents[d];
    return torch::arange(extents[d], real).view(view);
  };
  for (const auto& f : fluxes) {
    check_plane(f, D);
    auto H = torch::tensor(charges(f, n_colors), real);
    const double phi = flux_angle(f, extents);
    // U_nu(x) = exp(i φ x_mu H); U_mu(x) = exp(-i φ L_mu x_nu H) on the last slice x_mu = L_mu - 1.
    theta[f.nu] += phi * coordinate(f.mu) * H;
    auto last = (coordinate(f.mu) == static_cast<double>(extents[f.mu] - 1)).to(real.dtype());
    theta[f.mu] += -phi * static_cast<double>(extents[f.mu]) * coordinate(f.nu) * last * H;
  }
  auto diag = torch::polar(torch::ones_like(theta), theta).to(options.dtype());
  auto U = torch::diag_embed(diag);
  return U.unsqueeze(0).expand(gauge_shape(batch, extents, n_colors)).clone();
}

double abelian_flux_wilson_loop(const std::vector<int64_t>& extents, int64_t n_colors, const std::vector<Flux>& fluxes,
                                int64_t mu, int64_t nu, int64_t m, int64_t n) {
  const auto theta = plane_phases(extents, n_colors, fluxes, std::min(mu, nu), std::max(mu, nu));
  double s = 0;
  for (double t : theta) s += std::cos(static_cast<double>(m * n) * t);  // Re Tr is blind to the orientation
  return s / static_cast<double>(n_colors);
}

std::vector<double> abelian_flux_plaquette_per_plane(const std::vector<int64_t>& extents, int64_t n_colors,
                                                     const std::vector<Flux>& fluxes) {
  std::vector<double> p;
  for (auto [mu, nu] : planes(static_cast<int64_t>(extents.size())))
    p.push_back(abelian_flux_wilson_loop(extents, n_colors, fluxes, mu, nu, 1, 1));
  return p;
}

double abelian_flux_energy_density(const std::vector<int64_t>& extents, int64_t n_colors,
                                   const std::vector<Flux>& fluxes) {
  double e = 0;
  for (auto [mu, nu] : planes(static_cast<int64_t>(extents.size()))) {
    auto f = plane_phases(extents, n_colors, fluxes, mu, nu);
    for (auto& t : f) t = std::sin(t);  // clover F = sin(θ H), all four leaves being equal
    f = traceless(f);
    e += dot(f, f);
  }
  return e;
}

double abelian_flux_topological_charge(const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes) {
  const double c = epsilon_contraction(extents, n_colors, fluxes, [](double t) { return std::sin(t); });
  return lattice_volume(extents) * c / (4.0 * M_PI * M_PI);
}

double abelian_flux_continuum_charge(const std::vector<int64_t>& extents, int64_t n_colors,
                                     const std::vector<Flux>& fluxes) {
  const double c = epsilon_contraction(extents, n_colors, fluxes, [](double t) { return t; });
  return lattice_volume(extents) * c / (4.0 * M_PI * M_PI);
}

}  // namespace blockspin::lattice
