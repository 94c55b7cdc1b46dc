// Cabibbo–Marinari heatbath and overrelaxation (see heatbath.h).
#include "lattice/heatbath.h"

#include "lattice/kernels/heatbath_fused.h"
#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

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
            const auto xs = sample_su2_elements(k, action.beta(), N, *gen);
            r = multiply(Quaternion{xs[0], xs[1], xs[2], xs[3]}, vdag);
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

namespace {

/// The sampler as batched tensor operations (the torch path; any device).
torch::Tensor sample_su2_a0_torch(const torch::Tensor& alpha_in, at::Generator& gen) {
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
    // (each draw its own statement: the order of the draws is part of the stream, not left to the compiler)
    auto c = torch::cos(2.0 * M_PI * torch::rand({n}, gen, o));
    const auto r1 = uniform_open(n, gen, o);
    const auto r3 = uniform_open(n, gen, o);
    auto lam2 = -(torch::log(r1) + c * c * torch::log(r3)) / (2.0 * a);
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

/// The same draws (the same torch::rand calls, sizes and order) with the arithmetic per element in a loop (CPU,
/// kernels "fused"): the same samples up to the last-ulp differences of the elementary functions.
torch::Tensor sample_su2_a0_cpu(const torch::Tensor& alpha_in, at::Generator& gen) {
  const auto alpha = alpha_in.to(torch::kDouble).contiguous();
  const int64_t M = alpha.size(0);
  auto o = alpha.options();
  auto result = torch::zeros({M}, o);
  double* out = result.data_ptr<double>();
  const double* al = alpha.data_ptr<double>();
  std::vector<int64_t> pending(static_cast<size_t>(M)), next;
  for (int64_t i = 0; i < M; ++i) pending[static_cast<size_t>(i)] = i;
  for (int iteration = 0; !pending.empty(); ++iteration) {
    if (iteration > 10000) throw std::runtime_error("sample_su2_a0: rejection sampling did not terminate");
    const auto n = static_cast<int64_t>(pending.size());
    const auto r_c = torch::rand({n}, gen, o), r_1 = torch::rand({n}, gen, o), r_3 = torch::rand({n}, gen, o);
    const auto r_4 = torch::rand({n}, gen, o), r_u = torch::rand({n}, gen, o), r_cr = torch::rand({n}, gen, o);
    const double *c = r_c.data_ptr<double>(), *u1 = r_1.data_ptr<double>(), *u3 = r_3.data_ptr<double>();
    const double *u4 = r_4.data_ptr<double>(), *uu = r_u.data_ptr<double>(), *ucr = r_cr.data_ptr<double>();
    next.clear();
    for (int64_t e = 0; e < n; ++e) {
      const int64_t idx = pending[static_cast<size_t>(e)];
      const double a = std::max(al[idx], 1e-12);
      double a0;
      bool ok;
      if (a > 1.0) {  // Kennedy–Pendleton
        const double cc = std::cos(2.0 * M_PI * c[e]);
        const double lam2 = -(std::log(1.0 - u1[e]) + cc * cc * std::log(1.0 - u3[e])) / (2.0 * a);
        ok = u4[e] * u4[e] <= 1.0 - lam2;
        a0 = 1.0 - 2.0 * lam2;
      } else {  // Creutz
        a0 = std::min(1.0, std::max(-1.0, 1.0 + std::log1p((1.0 - (1.0 - uu[e])) * std::expm1(-2.0 * a)) / a));
        ok = ucr[e] <= std::sqrt(std::max(1.0 - a0 * a0, 0.0));
      }
      if (ok)
        out[idx] = a0;
      else
        next.push_back(idx);
    }
    pending.swap(next);
  }
  return result;
}

}  // namespace

torch::Tensor sample_su2_a0(const torch::Tensor& alpha, at::Generator& gen) {
  if (alpha.device().is_cpu() && kernels::mode() == kernels::Mode::fused) return sample_su2_a0_cpu(alpha, gen);
  return sample_su2_a0_torch(alpha, gen);
}

std::array<torch::Tensor, 4> sample_su2_elements(const torch::Tensor& k, double beta, int64_t n_colors,
                                                 at::Generator& gen) {
  auto x0 = sample_su2_a0(2.0 * beta / static_cast<double>(n_colors) * k.to(torch::kDouble), gen);
  const auto n = x0.size(0);
  auto o64 = x0.options();
  auto cos_t = 2.0 * torch::rand({n}, gen, o64) - 1.0;
  auto phi = 2.0 * M_PI * torch::rand({n}, gen, o64);
  auto rho = torch::sqrt((1.0 - x0 * x0).clamp_min(0.0));
  auto sin_t = torch::sqrt((1.0 - cos_t * cos_t).clamp_min(0.0));
  const auto dt = k.scalar_type();
  return {x0.to(dt), (rho * sin_t * torch::cos(phi)).to(dt), (rho * sin_t * torch::sin(phi)).to(dt),
          (rho * cos_t).to(dt)};
}

torch::Tensor heatbath_sweep(const torch::Tensor& U, const GaugeAction& action, at::Generator& gen) {
  if (kernels::mode() == kernels::Mode::fused && kernels::heatbath_fused_available(U, action))
    return kernels::heatbath_sweep_fused(U, action, gen);
  return sweep(U, action, &gen);
}

torch::Tensor overrelaxation_sweep(const torch::Tensor& U, const GaugeAction& action) {
  if (kernels::mode() == kernels::Mode::fused && kernels::heatbath_fused_available(U, action))
    return kernels::overrelaxation_sweep_fused(U, action);
  return sweep(U, action, nullptr);
}

torch::Tensor heatbath_update(const torch::Tensor& U, const GaugeAction& action, const HeatbathOptions& options,
                              at::Generator& gen) {
  auto V = heatbath_sweep(U, action, gen);
  for (int64_t s = 0; s < options.or_steps; ++s) V = overrelaxation_sweep(V, action);
  return V;
}

}  // namespace blockspin::lattice
