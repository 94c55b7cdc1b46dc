// Cabibbo–Marinari heatbath and overrelaxation (see heatbath.h).
#include "lattice/heatbath.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

/// Unit quaternion (q0, q1, q2, q3) <-> SU(2) matrix q0 + i q⃗·σ; tensors [M] each.
struct Quaternion {
  torch::Tensor q0, q1, q2, q3;
};

Quaternion multiply(const Quaternion& p, const Quaternion& q) {
  // (p0 + i p·σ)(q0 + i q·σ) = p0 q0 - p·q + i (p0 q + q0 p - p × q)·σ
  return {
      p.q0 * q.q0 - p.q1 * q.q1 - p.q2 * q.q2 - p.q3 * q.q3, p.q0 * q.q1 + q.q0 * p.q1 - (p.q2 * q.q3 - p.q3 * q.q2),
      p.q0 * q.q2 + q.q0 * p.q2 - (p.q3 * q.q1 - p.q1 * q.q3), p.q0 * q.q3 + q.q0 * p.q3 - (p.q1 * q.q2 - p.q2 * q.q1)};
}

/// M <- R M where R is the quaternion r embedded in rows/columns (i, j) of the identity.
torch::Tensor apply_subgroup(const Quaternion& r, int64_t i, int64_t j, const torch::Tensor& M) {
  auto c = [&](const torch::Tensor& re, const torch::Tensor& im) {
    return torch::complex(re, im).to(M.scalar_type()).unsqueeze(-1);
  };
  auto Mi = M.select(-2, i), Mj = M.select(-2, j);
  auto new_i = c(r.q0, r.q3) * Mi + c(r.q2, r.q1) * Mj;
  auto new_j = c(-r.q2, r.q1) * Mi + c(r.q0, -r.q3) * Mj;
  auto out = M.clone();
  out.select(-2, i).copy_(new_i);
  out.select(-2, j).copy_(new_j);
  return out;
}

/// The SU(2) part of the (i, j) block of W: W_ij-block ≈ k v with v ∈ SU(2) (quaternion a/k); returns (a, k).
std::pair<Quaternion, torch::Tensor> su2_projection(const torch::Tensor& W, int64_t i, int64_t j) {
  auto w00 = W.select(-2, i).select(-1, i), w01 = W.select(-2, i).select(-1, j);
  auto w10 = W.select(-2, j).select(-1, i), w11 = W.select(-2, j).select(-1, j);
  Quaternion a{0.5 * torch::real(w00 + w11), 0.5 * torch::imag(w01 + w10), 0.5 * torch::real(w01 - w10),
               0.5 * torch::imag(w00 - w11)};
  auto k = torch::sqrt(a.q0 * a.q0 + a.q1 * a.q1 + a.q2 * a.q2 + a.q3 * a.q3);
  return {a, k};
}

/// v† = conj(a)/k for k > 0, the identity where the staple vanishes.
Quaternion unit_conjugate(const Quaternion& a, const torch::Tensor& k) {
  auto ok = k > 1e-300;
  auto inv = torch::where(ok, 1.0 / k, torch::zeros_like(k));
  return {torch::where(ok, a.q0 * inv, torch::ones_like(k)), -a.q1 * inv, -a.q2 * inv, -a.q3 * inv};
}

torch::Tensor uniform_open(int64_t n, at::Generator& gen, const torch::TensorOptions& o) {
  return 1.0 - torch::rand({n}, gen, o);  // (0, 1]
}

/// One pass over all links with heatbath (gen != nullptr) or overrelaxation (gen == nullptr) subgroup updates.
torch::Tensor sweep(const torch::Tensor& U_in, const GaugeAction& action, at::Generator* gen) {
  check_gauge_field(U_in, "heatbath");
  const auto ext = extents(U_in);
  check_heatbath_geometry(ext, action);
  torch::NoGradGuard no_grad;
  const int64_t N = n_colors(U_in), B = batch_size(U_in);
  const bool rect = action.c1() != 0.0;
  auto U = U_in.clone();
  std::vector<int64_t> mask_shape{B, 1};
  mask_shape.insert(mask_shape.end(), ext.begin(), ext.end());
  for (int64_t mu = 0; mu < n_dims(U); ++mu) {
    for (const auto& colour : link_colouring(ext, mu, rect, U.device())) {
      auto A = action.staples(U, mu);
      auto U_mu = link(U, mu);
      auto mask = colour.expand(mask_shape);
      auto Usel = U_mu.index({mask}), W = mat_mul(Usel, A.index({mask}));
      for (int64_t i = 0; i < N; ++i) {
        for (int64_t j = i + 1; j < N; ++j) {
          auto [a, k] = su2_projection(W, i, j);
          auto vdag = unit_conjugate(a, k);
          Quaternion r;
          if (gen != nullptr) {
            // weight exp((β/N) Re Tr(R W)) = exp((2βk/N) x0) for x = r v: sample x, then r = x v†.
            auto k64 = k.to(torch::kDouble);
            auto x0 = sample_su2_a0(2.0 * action.beta() / static_cast<double>(N) * k64, *gen);
            const auto n = x0.size(0);
            auto o64 = x0.options();
            auto cos_t = 2.0 * torch::rand({n}, *gen, o64) - 1.0;
            auto phi = 2.0 * M_PI * torch::rand({n}, *gen, o64);
            auto rho = torch::sqrt((1.0 - x0 * x0).clamp_min(0.0));
            auto sin_t = torch::sqrt((1.0 - cos_t * cos_t).clamp_min(0.0));
            const auto dt = k.scalar_type();
            Quaternion x{x0.to(dt), (rho * sin_t * torch::cos(phi)).to(dt), (rho * sin_t * torch::sin(phi)).to(dt),
                         (rho * cos_t).to(dt)};
            r = multiply(x, vdag);
          } else {
            r = multiply(vdag, vdag);  // reflection: Re Tr(R W) unchanged
          }
          Usel = apply_subgroup(r, i, j, Usel);
          W = apply_subgroup(r, i, j, W);
        }
      }
      U_mu.index_put_({mask}, Usel);
    }
  }
  return U;
}

}  // namespace

void check_heatbath_geometry(const std::vector<int64_t>& ext, const GaugeAction& action) {
  const bool rect = action.c1() != 0.0;
  for (size_t d = 0; d < ext.size(); ++d) {
    const int64_t modulus = rect ? 4 : 2;
    if (ext[d] % modulus != 0)
      throw std::invalid_argument("parallel heatbath for the " + action.name() + " action needs every extent to be a " +
                                  (rect ? "multiple of 4" : "multiple of 2") + "; extent " + std::to_string(ext[d]) +
                                  " in direction " + std::to_string(d) + " is not (use HMC instead)");
  }
}

std::vector<torch::Tensor> link_colouring(const std::vector<int64_t>& ext, int64_t mu, bool rectangles,
                                          const torch::Device& device) {
  const auto D = static_cast<int64_t>(ext.size());
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto transverse = torch::zeros(ext, opts);
  torch::Tensor along;
  for (int64_t d = 0; d < D; ++d) {
    std::vector<int64_t> view(D, 1);
    view[d] = ext[d];
    auto coord = torch::arange(ext[d], opts).view(view);
    if (d == mu)
      along = coord.expand(ext);
    else
      transverse = transverse + coord;
  }
  torch::Tensor colour =
      rectangles ? torch::remainder(along, 2) + 2 * torch::remainder(transverse, 4) : torch::remainder(transverse, 2);
  const int64_t n = rectangles ? 8 : 2;
  std::vector<torch::Tensor> masks;
  for (int64_t c = 0; c < n; ++c) masks.push_back(colour == c);
  return masks;
}

torch::Tensor sample_su2_a0(const torch::Tensor& alpha_in, at::Generator& gen) {
  auto alpha = alpha_in.to(torch::kDouble).clamp_min(1e-12);
  const int64_t M = alpha.size(0);
  auto o = alpha.options();
  auto result = torch::zeros({M}, o);
  auto pending = torch::arange(M, o.dtype(torch::kLong));
  for (int iteration = 0; pending.size(0) > 0; ++iteration) {
    if (iteration > 10000) throw std::runtime_error("sample_su2_a0: rejection sampling did not terminate");
    const int64_t n = pending.size(0);
    auto a = alpha.index({pending});
    // Kennedy–Pendleton: a0 = 1 - 2λ², λ² = -(ln r1 + cos²(2π r2) ln r3) / (2α), accept if r4² <= 1 - λ².
    auto c = torch::cos(2.0 * M_PI * torch::rand({n}, gen, o));
    auto lam2 = -(torch::log(uniform_open(n, gen, o)) + c * c * torch::log(uniform_open(n, gen, o))) / (2.0 * a);
    auto r4 = torch::rand({n}, gen, o);
    auto kp_ok = r4 * r4 <= 1.0 - lam2;
    auto kp_a0 = 1.0 - 2.0 * lam2;
    // Creutz: a0 from exp(α a0) on [-1, 1] by inversion, accept with probability sqrt(1 - a0²).
    auto u = uniform_open(n, gen, o);
    auto cr_a0 = (1.0 + torch::log1p((1.0 - u) * torch::expm1(-2.0 * a)) / a).clamp(-1.0, 1.0);
    auto cr_ok = torch::rand({n}, gen, o) <= torch::sqrt((1.0 - cr_a0 * cr_a0).clamp_min(0.0));
    auto use_kp = a > 1.0;
    auto ok = torch::where(use_kp, kp_ok, cr_ok);
    auto a0 = torch::where(use_kp, kp_a0, cr_a0);
    auto done = pending.index({ok});
    result.index_put_({done}, a0.index({ok}));
    pending = pending.index({ok.logical_not()});
  }
  return result;
}

torch::Tensor heatbath_sweep(const torch::Tensor& U, const GaugeAction& action, at::Generator& gen) {
  return sweep(U, action, &gen);
}

torch::Tensor overrelaxation_sweep(const torch::Tensor& U, const GaugeAction& action) {
  return sweep(U, action, nullptr);
}

torch::Tensor heatbath_update(const torch::Tensor& U, const GaugeAction& action, const HeatbathOptions& options,
                              at::Generator& gen) {
  auto V = heatbath_sweep(U, action, gen);
  for (int64_t s = 0; s < options.or_steps; ++s) V = overrelaxation_sweep(V, action);
  return V;
}

}  // namespace blockspin::lattice
