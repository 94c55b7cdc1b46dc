// Symmetry-tied local CNF vector field with exact divergence (see vector_field.h).
#include "flows/vector_field.h"

#include "lattice/scalar_action.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace blockspin::flows {

VectorFieldImpl::VectorFieldImpl(const VectorFieldOptions& options) : options(options) { reset(); }

void VectorFieldImpl::reset() {
  const auto& o = options;
  if (o.dims() < 1 || o.kernel_size() < 1 || o.features() < 1 || o.time_kernels() < 1 || o.feature_bond() < 1 ||
      o.time_bond() < 1 || !(o.mix_init_scale() > 0)) {
    std::ostringstream msg;
    msg << "VectorField: dims, kernel_size, features, time_kernels and bond dimensions must be >= 1, mix_init_scale > "
           "0";
    throw std::invalid_argument(msg.str());
  }
  geometry = make_kernel_geometry(o.dims(), o.kernel_size(), o.tie_symmetry());
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  omega = register_parameter("omega", torch::arange(1, o.features(), dbl));
  weight = register_parameter("weight", torch::zeros({geometry.n_orbits, o.time_bond(), o.feature_bond()}, dbl));
  time_mix = register_parameter("time_mix", o.mix_init_scale() * torch::randn({o.time_bond(), o.time_kernels()}, dbl) /
                                                std::sqrt(double(o.time_kernels())));
  feature_mix =
      register_parameter("feature_mix", o.mix_init_scale() * torch::randn({o.feature_bond(), o.features()}, dbl) /
                                            std::sqrt(double(o.features())));
}

torch::Tensor VectorFieldImpl::time_kernel(double t, const torch::TensorOptions& opts) const {
  std::vector<double> k(options.time_kernels());
  for (int64_t d = 0; d < options.time_kernels(); ++d) {
    const int64_t j = (d + 1) / 2;
    k[d] = d == 0 ? 1.0 : (d % 2 == 1 ? std::cos(2 * M_PI * j * t) : std::sin(2 * M_PI * j * t));
  }
  return torch::tensor(k, torch::TensorOptions().dtype(torch::kDouble)).to(opts);
}

torch::Tensor VectorFieldImpl::features(const torch::Tensor& psi) const {
  auto w = omega.to(psi.options());
  std::vector<int64_t> view(psi.dim() + 1, 1);
  view[1] = w.size(0);
  auto x = psi.unsqueeze(1);
  return torch::cat({x, torch::sin(w.view(view) * x)}, 1);
}

torch::Tensor VectorFieldImpl::feature_derivatives(const torch::Tensor& psi) const {
  auto w = omega.to(psi.options());
  std::vector<int64_t> view(psi.dim() + 1, 1);
  view[1] = w.size(0);
  auto x = psi.unsqueeze(1);
  auto wv = w.view(view);
  return torch::cat({torch::ones_like(x), wv * torch::cos(wv * x)}, 1);
}

torch::Tensor VectorFieldImpl::bond_weights(double t, const torch::Tensor& like) const {
  auto opts = like.options();
  auto kt = torch::matmul(time_mix.to(opts), time_kernel(t, opts));                     // [D']
  auto a = torch::einsum("odg,d,gf->of", {weight.to(opts), kt, feature_mix.to(opts)});  // [n_orbits, F]
  auto orb = geometry.orbit.to(like.device());
  return a.index_select(0, orb.flatten()).view({orb.size(0), orb.size(1), a.size(1)});  // [P, T, F]
}

namespace {
void check_field(const torch::Tensor& psi, int64_t dims) {
  lattice::check_scalar_field(psi, "VectorField");
  if (psi.dim() - 1 != dims) throw std::invalid_argument("VectorField: the field's D differs from the dims option");
  for (int64_t d = 1; d < psi.dim(); ++d)
    if (psi.size(d) % 2 != 0) throw std::invalid_argument("VectorField: every extent must be even");
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> VectorFieldImpl::forward_and_divergence(const torch::Tensor& psi, double t) {
  check_field(psi, options.dims());
  const int64_t D = options.dims();
  std::vector<int64_t> extents(psi.sizes().begin() + 1, psi.sizes().end()), site_dims;
  for (int64_t d = 0; d < D; ++d) site_dims.push_back(2 + d);
  auto A = bond_weights(t, psi);                            // [P, T, F]
  auto pidx = block_position_index(extents, psi.device());  // [x..]
  auto site_w = A.index_select(0, pidx.flatten());          // [V, T, F]
  std::vector<int64_t> shape(extents);
  shape.push_back(A.size(1));
  shape.push_back(A.size(2));
  site_w = site_w.view(shape).movedim(-1, 0).movedim(-1, 0);  // [T, F, x..]
  auto h = features(psi);                                     // [B, F, x..]
  torch::Tensor G = torch::zeros_like(psi);
  torch::Tensor self = torch::zeros_like(site_w[0]);  // [F, x..]: Σ of the δ ≡ 0 bonds
  for (size_t t_i = 0; t_i < geometry.offsets.size(); ++t_i) {
    const auto& delta = geometry.offsets[t_i];
    std::vector<int64_t> shifts(D);
    bool on_site = true;
    for (int64_t d = 0; d < D; ++d) {
      shifts[d] = -delta[d];
      on_site = on_site && (delta[d] % extents[d] == 0);
    }
    auto hs = on_site ? h : torch::roll(h, shifts, site_dims);  // H(Ψ_{x+δ})
    G = G + (site_w[t_i].unsqueeze(0) * hs).sum(1);
    if (on_site) self = self + site_w[t_i];
  }
  auto div = (self.unsqueeze(0) * feature_derivatives(psi)).flatten(1).sum(1);
  return {G, div};
}

torch::Tensor VectorFieldImpl::forward(const torch::Tensor& psi, double t) {
  return forward_and_divergence(psi, t).first;
}

torch::Tensor VectorFieldImpl::divergence(const torch::Tensor& psi, double t) {
  return forward_and_divergence(psi, t).second;
}

}  // namespace blockspin::flows
