// Gauge-field constructors and gauge transformations (see gauge_field.h).
#include "lattice/gauge_field.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

void check_lattice_geometry(const std::vector<int64_t>& extents, int64_t n_colors) {
  if (extents.size() < 2) throw std::invalid_argument("lattice needs D >= 2 dimensions");
  for (size_t d = 0; d < extents.size(); ++d)
    if (extents[d] < 1)
      throw std::invalid_argument("lattice extent in direction " + std::to_string(d) + " must be positive, got " +
                                  std::to_string(extents[d]));
  if (n_colors < 2) throw std::invalid_argument("SU(N) needs N >= 2, got N = " + std::to_string(n_colors));
}

namespace {

std::vector<int64_t> link_prefix(int64_t batch, const std::vector<int64_t>& extents) {
  std::vector<int64_t> p{batch, static_cast<int64_t>(extents.size())};
  p.insert(p.end(), extents.begin(), extents.end());
  return p;
}

}  // namespace

torch::Tensor cold_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                               const torch::TensorOptions& options) {
  check_lattice_geometry(extents, n_colors);
  auto eye = torch::eye(n_colors, options);
  return eye.expand(gauge_shape(batch, extents, n_colors)).clone();
}

torch::Tensor hot_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors, at::Generator& gen,
                              const torch::TensorOptions& options) {
  check_lattice_geometry(extents, n_colors);
  return random_su_n(link_prefix(batch, extents), n_colors, gen, options);
}

torch::Tensor near_identity_gauge_field(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                        double epsilon, at::Generator& gen, const torch::TensorOptions& options) {
  check_lattice_geometry(extents, n_colors);
  return random_su_n_near_identity(link_prefix(batch, extents), n_colors, epsilon, gen, options);
}

torch::Tensor random_gauge_transformation(int64_t batch, const std::vector<int64_t>& extents, int64_t n_colors,
                                          at::Generator& gen, const torch::TensorOptions& options) {
  check_lattice_geometry(extents, n_colors);
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
