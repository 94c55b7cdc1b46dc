// Symmetry-tied local CNF vector field with exact divergence (see vector_field.h).
#include "flows/vector_field.h"

#include "lattice/scalar_action.h"

#include <algorithm>
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
  // The fused evaluation: the block shifts Δ (Δ_μ = floor((p_μ + δ_μ) / 2) ∈ [−⌊K/2⌋, ⌊K/2⌋], Δ_0 the slowest) and
  // the gather table of the GEMM weights, rows (p, Δ), columns (f, q).
  const int64_t D = o.dims(), K = o.kernel_size(), P = int64_t(1) << D, T = int64_t(geometry.offsets.size());
  block_shifts_ = {{}};
  for (int64_t mu = 0; mu < D; ++mu) {
    std::vector<std::vector<int64_t>> longer;
    for (const auto& prefix : block_shifts_)
      for (int64_t big = -(K / 2); big <= K / 2; ++big) {
        longer.push_back(prefix);
        longer.back().push_back(big);
      }
    block_shifts_ = std::move(longer);
  }
  std::vector<int64_t> table;
  for (int64_t p = 0; p < P; ++p)
    for (const auto& big : block_shifts_)
      for (int64_t q = 0; q < P; ++q) {
        std::vector<int64_t> delta(D);
        for (int64_t mu = 0; mu < D; ++mu) delta[mu] = 2 * big[mu] + ((q >> mu) & 1) - ((p >> mu) & 1);
        const auto it = std::find(geometry.offsets.begin(), geometry.offsets.end(), delta);
        table.push_back(p * (T + 1) + (it - geometry.offsets.begin()));  // T (the zero row) when not an offset
      }
  block_gather_ = torch::tensor(table, torch::kLong);
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

torch::Tensor VectorFieldImpl::block_weights(const torch::Tensor& A) const {
  const int64_t P = A.size(0), F = A.size(2), n_delta = int64_t(block_shifts_.size());
  auto padded = torch::cat({A, torch::zeros({P, 1, F}, A.options())}, 1).view({-1, F});     // row T of each p is 0
  auto C = padded.index_select(0, block_gather_.to(A.device())).view({P * n_delta, P, F});  // [(p, Δ), q, f]
  return C.transpose(1, 2).reshape({P * n_delta, F * P});                                   // [(p, Δ), (f, q)]
}

namespace {
/// Whether the offset δ maps every site onto itself on the periodic lattice of these extents (δ ≡ 0): such bonds
/// make up the divergence.
bool on_site(const std::vector<int64_t>& delta, const std::vector<int64_t>& extents) {
  for (size_t mu = 0; mu < delta.size(); ++mu)
    if (delta[mu] % extents[mu] != 0) return false;
  return true;
}
void check_field(const torch::Tensor& psi, int64_t dims) {
  lattice::check_scalar_field(psi, "VectorField");
  if (psi.dim() - 1 != dims) throw std::invalid_argument("VectorField: the field's D differs from the dims option");
  for (int64_t d = 1; d < psi.dim(); ++d)
    if (psi.size(d) % 2 != 0) throw std::invalid_argument("VectorField: every extent must be even");
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> VectorFieldImpl::forward_and_divergence(const torch::Tensor& psi, double t) {
  check_field(psi, options.dims());
  return options.fused() && options.dims() <= 2 ? forward_fused(psi, t) : forward_per_offset(psi, t);
}

std::pair<torch::Tensor, torch::Tensor> VectorFieldImpl::forward_fused(const torch::Tensor& psi, double t) {
  const int64_t D = options.dims(), P = int64_t(1) << D, B = psi.size(0);
  std::vector<int64_t> blocked{B}, to_blocks{0}, from_blocks{0}, fine(psi.sizes().begin(), psi.sizes().end());
  for (int64_t mu = 0; mu < D; ++mu) {
    blocked.push_back(psi.size(1 + mu) / 2);
    blocked.push_back(2);
    to_blocks.push_back(2 + 2 * (D - 1 - mu));  // q_{D−1} .. q_0: the flat index Σ q_μ 2^μ
  }
  for (int64_t mu = 0; mu < D; ++mu) to_blocks.push_back(1 + 2 * mu);
  std::vector<int64_t> block_shape{B, P};
  for (int64_t mu = 0; mu < D; ++mu) block_shape.push_back(blocked[1 + 2 * mu]);
  auto psi_b = psi.reshape(blocked).permute(to_blocks).reshape(block_shape);  // [B, Q, X..]

  auto A = bond_weights(t, psi);  // [P, T, F]
  const int64_t F = A.size(2);
  auto h = features(psi_b);  // [B, F, Q, X..]
  std::vector<int64_t> channels{B, F * P};
  channels.insert(channels.end(), block_shape.begin() + 2, block_shape.end());
  h = h.reshape(channels);
  // One GEMM applies every (p, Δ) weight to the features, Z_{p,Δ}(X) = Σ_{f,q} C_{p,(f,q),Δ} H_{f,q}(X); then
  // G_p(X) = Σ_Δ Z_{p,Δ}(X + Δ): the shifts move P channels instead of F·2^D (no im2col, no padded copy).
  auto z = torch::matmul(block_weights(A), h.flatten(2));  // [B, P·n_Δ, X]
  const int64_t n_delta = int64_t(block_shifts_.size());
  std::vector<int64_t> z_shape{B, P, n_delta};
  z_shape.insert(z_shape.end(), block_shape.begin() + 2, block_shape.end());
  z = z.view(z_shape);
  std::vector<int64_t> site_dims;
  for (int64_t mu = 0; mu < D; ++mu) site_dims.push_back(2 + mu);
  torch::Tensor g_b;
  for (int64_t j = 0; j < n_delta; ++j) {
    std::vector<int64_t> shifts;
    for (auto big : block_shifts_[j]) shifts.push_back(-big);  // Z(X + Δ) = roll by −Δ
    const bool zero = std::all_of(shifts.begin(), shifts.end(), [](int64_t s) { return s == 0; });
    auto term = zero ? z.select(2, j) : torch::roll(z.select(2, j), shifts, site_dims);
    g_b = g_b.defined() ? g_b + term : term;
  }  // [B, P, X..]
  std::vector<int64_t> split{B};
  for (int64_t mu = 0; mu < D; ++mu) split.push_back(2);
  split.insert(split.end(), block_shape.begin() + 2, block_shape.end());
  for (int64_t mu = 0; mu < D; ++mu) {
    from_blocks.push_back(1 + D + mu);        // X_μ
    from_blocks.push_back(1 + (D - 1 - mu));  // p_μ
  }
  auto G = g_b.reshape(split).permute(from_blocks).reshape(fine);

  // ∇·G: the on-site bonds (δ ≡ 0 modulo the fine extents) with H'(Ψ_x), p = q.
  const std::vector<int64_t> extents(psi.sizes().begin() + 1, psi.sizes().end());
  std::vector<double> self_bonds;
  for (const auto& delta : geometry.offsets) self_bonds.push_back(on_site(delta, extents) ? 1.0 : 0.0);
  auto self = (A * torch::tensor(self_bonds, A.options()).view({1, -1, 1})).sum(1).t();  // [F, Q]
  auto hd = feature_derivatives(psi_b).flatten(3).sum(3);                                // [B, F, Q]
  auto div = (hd * self.unsqueeze(0)).flatten(1).sum(1);
  return {G, div};
}

std::pair<torch::Tensor, torch::Tensor> VectorFieldImpl::forward_per_offset(const torch::Tensor& psi, double t) {
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
    std::vector<int64_t> shifts;
    for (auto d : delta) shifts.push_back(-d);
    const bool self_bond = on_site(delta, extents);
    auto hs = self_bond ? h : torch::roll(h, shifts, site_dims);  // H(Ψ_{x+δ})
    G = G + (site_w[t_i].unsqueeze(0) * hs).sum(1);
    if (self_bond) self = self + site_w[t_i];
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
