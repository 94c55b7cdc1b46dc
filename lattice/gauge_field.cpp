// Gauge-field constructors and gauge transformations (see gauge_field.h).
#include "lattice/gauge_field.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <numeric>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

void check_extents(const std::vector<int64_t>& extents, int64_t n_colors) {
  if (extents.size() < 2) throw std::invalid_argument("lattice needs D >= 2 dimensions");
  for (size_t d = 0; d < extents.size(); ++d)
    if (extents[d] < 1)
      throw std::invalid_argument("lattice extent in direction " + std::to_string(d) + " must be positive, got " +
                                  std::to_string(extents[d]));
  if (n_colors < 2) throw std::invalid_argument("SU(N) needs N >= 2, got N = " + std::to_string(n_colors));
}

std::vector<int64_t> link_prefix(int64_t batch, const std::vector<int64_t>& extents) {
  std::vector<int64_t> p{batch, static_cast<int64_t>(extents.size())};
  p.insert(p.end(), extents.begin(), extents.end());
  return p;
}

}  // namespace

torch::Tensor cold_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                               const torch::TensorOptions& options) {
  check_extents(extents, n_colors);
  auto eye = torch::eye(n_colors, options);
  return eye.expand(gauge_shape(batch, extents, n_colors)).clone();
}

torch::Tensor hot_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                              at::Generator& gen, const torch::TensorOptions& options) {
  check_extents(extents, n_colors);
  return random_su_n(link_prefix(batch, extents), n_colors, gen, options);
}

torch::Tensor near_identity_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                        double epsilon, at::Generator& gen, const torch::TensorOptions& options) {
  check_extents(extents, n_colors);
  return random_su_n_near_identity(link_prefix(batch, extents), n_colors, epsilon, gen, options);
}

torch::Tensor abelian_flux_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                       const std::vector<Flux>& fluxes, const torch::TensorOptions& options) {
  check_extents(extents, n_colors);
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
    if (f.mu < 0 || f.nu < 0 || f.mu >= D || f.nu >= D || f.mu == f.nu)
      throw std::invalid_argument("abelian_flux_gauge_field: invalid plane (" + std::to_string(f.mu) + ", " +
                                  std::to_string(f.nu) + ")");
    std::vector<int64_t> q = f.charges;
    if (q.empty()) {
      q.assign(n_colors, 0);
      q[0] = 1;
      q[1] = -1;
    }
    if (static_cast<int64_t>(q.size()) != n_colors || std::accumulate(q.begin(), q.end(), int64_t{0}) != 0)
      throw std::invalid_argument("abelian_flux_gauge_field: charges must be N integers summing to zero");
    auto H = torch::tensor(q, real);
    const double phi = 2.0 * M_PI * static_cast<double>(f.n) / static_cast<double>(extents[f.mu] * extents[f.nu]);
    // U_nu(x) = exp(i φ x_mu H); U_mu(x) = exp(-i φ L_mu x_nu H) on the last slice x_mu = L_mu - 1.
    theta[f.nu] += phi * coordinate(f.mu) * H;
    auto last = (coordinate(f.mu) == static_cast<double>(extents[f.mu] - 1)).to(real.dtype());
    theta[f.mu] += -phi * static_cast<double>(extents[f.mu]) * coordinate(f.nu) * last * H;
  }
  auto diag = torch::polar(torch::ones_like(theta), theta).to(options.dtype());
  auto U = torch::diag_embed(diag);
  return U.unsqueeze(0).expand(gauge_shape(batch, extents, n_colors)).clone();
}

torch::Tensor random_gauge_transformation(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                          at::Generator& gen, const torch::TensorOptions& options) {
  check_extents(extents, n_colors);
  std::vector<int64_t> prefix{batch};
  prefix.insert(prefix.end(), extents.begin(), extents.end());
  return random_su_n(prefix, n_colors, gen, options);
}

torch::Tensor gauge_transform(const torch::Tensor& U, const torch::Tensor& omega) {
  check_gauge_field(U, "gauge_transform");
  auto om = omega.unsqueeze(1);  // one-channel matrix field
  std::vector<torch::Tensor> out;
  for (int64_t mu = 0; mu < n_dims(U); ++mu) out.push_back(mat_mul_dag(mat_mul(om, link(U, mu)), shift(om, mu, 1)));
  return torch::cat(out, 1);
}

torch::Tensor gauge_transform_covariant(const torch::Tensor& W, const torch::Tensor& omega) {
  auto om = omega.unsqueeze(1);
  return mat_mul_dag(mat_mul(om, W), om);
}

torch::Tensor translate(const torch::Tensor& U, const std::vector<int64_t>& d) {
  torch::Tensor out = U;
  for (size_t mu = 0; mu < d.size(); ++mu) out = shift(out, static_cast<int64_t>(mu), d[mu]);
  return out;
}

torch::Tensor max_su_n_violation(const torch::Tensor& U) { return su_n_violation(U).flatten(1).amax(1); }

}  // namespace blockspin::lattice
