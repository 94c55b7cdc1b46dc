// Exact SU(N) maximiser of Re Tr(W Q†): SU(2) closed form, SU(N) by SVD and a constrained phase problem.
#include "lattice/su_n_maximiser.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

torch::Tensor maximiser_su2(const torch::Tensor& Q) {
  using torch::indexing::Slice;
  auto a = Q.select(-2, 0).select(-1, 0), b = Q.select(-2, 0).select(-1, 1);
  auto c = Q.select(-2, 1).select(-1, 0), d = Q.select(-2, 1).select(-1, 1);
  // Q_s = [[p, q], [-q*, p*]] with p = (a + d*)/2, q = (b - c*)/2; det Q_s = |p|² + |q|².
  auto p = 0.5 * (a + d.conj()), q = 0.5 * (b - c.conj());
  auto norm = (p.abs().pow(2) + q.abs().pow(2)).sqrt();
  auto zero = norm == 0;
  auto inv = torch::where(zero, torch::zeros_like(norm), 1.0 / torch::where(zero, torch::ones_like(norm), norm));
  p = torch::where(zero, torch::ones_like(p), p * inv);
  q = q * inv;
  auto row0 = torch::stack({p, q}, -1);
  auto row1 = torch::stack({-q.conj(), p.conj()}, -1);
  return torch::stack({row0, row1}, -2);
}

/// Maximises f(α) = Σ σ_i cos α_i subject to Σ α_i = φ, per row; sigma [M, N], phi [M] -> α [M, N] (real).
torch::Tensor maximise_phases(const torch::Tensor& sigma, const torch::Tensor& phi) {
  const int64_t M = sigma.size(0), N = sigma.size(1);
  const auto opt = sigma.options();
  const double eps = sigma.scalar_type() == torch::kFloat ? 1.2e-7 : 2.3e-16;
  // Starts m = 0..N-1: α = (φ + 2πm)/N for all i. Shape [M, N_starts, N].
  auto m = torch::arange(N, opt);
  auto alpha = ((phi.unsqueeze(1) + 2.0 * M_PI * m.unsqueeze(0)) / static_cast<double>(N))
                   .unsqueeze(2)
                   .expand({M, N, N})
                   .clone();
  auto s = sigma.unsqueeze(1).expand({M, N, N});
  auto smax = sigma.amax(1).view({M, 1, 1}).clamp_min(std::numeric_limits<double>::min());
  const double tol = 16.0 * eps;
  auto f_of = [&](const torch::Tensor& a) { return (s * torch::cos(a)).sum(-1); };
  // Reduced coordinates: δα = B δβ with B = [I_{N-1}; -1...-1].
  auto to_full = [&](const torch::Tensor& db) { return torch::cat({db, -db.sum(-1, true)}, -1); };
  auto f = f_of(alpha);
  for (int iter = 0; iter < 200; ++iter) {
    auto g = -s * torch::sin(alpha);  // ∂f/∂α
    auto h = -s * torch::cos(alpha);  // ∂²f/∂α² (diagonal)
    auto r = g.narrow(-1, 0, N - 1) - g.narrow(-1, N - 1, 1);
    if ((r.abs() / smax).max().item<double>() < tol) break;
    // -R = -(diag(h_k) + h_{N-1}) in the reduced coordinates; Newton where it is positive definite.
    auto negR = -(torch::diag_embed(h.narrow(-1, 0, N - 1)) + h.narrow(-1, N - 1, 1).unsqueeze(-1));
    auto chol = torch::linalg_cholesky_ex(negR);
    auto ok = (std::get<1>(chol) == 0);
    auto L = std::get<0>(chol);
    auto eye = torch::eye(N - 1, opt).expand_as(negR);
    auto safeL = torch::where(ok.unsqueeze(-1).unsqueeze(-1), L, eye);
    auto newton = torch::cholesky_solve(r.unsqueeze(-1), safeL).squeeze(-1);
    auto gradient = r / (static_cast<double>(N) * smax);
    auto step = to_full(torch::where(ok.unsqueeze(-1), newton, gradient));
    // Backtracking: halve the step where f does not increase.
    auto t = torch::ones_like(f);
    auto accepted = torch::zeros_like(f, torch::kBool);
    auto best = alpha;
    auto f_best = f;
    for (int k = 0; k < 30; ++k) {
      auto cand = alpha + t.unsqueeze(-1) * step;
      auto fc = f_of(cand);
      auto good = (fc >= f - 4.0 * eps * smax.squeeze(-1) * static_cast<double>(N)) & ~accepted;
      best = torch::where(good.unsqueeze(-1), cand, best);
      f_best = torch::where(good, fc, f_best);
      accepted = accepted | good;
      if (accepted.all().item<bool>()) break;
      t = torch::where(accepted, t, 0.5 * t);
    }
    alpha = best;
    f = f_best;
  }
  auto pick = f.argmax(1);  // best start per matrix
  alpha = alpha.gather(1, pick.view({M, 1, 1}).expand({M, 1, N})).squeeze(1);
  // Remove the rounding drift of Σ α from its target φ + 2πm (so that det W = 1 to rounding).
  auto total = alpha.sum(-1);
  auto m_branch = torch::round((total - phi) / (2.0 * M_PI));
  auto drift = total - phi - 2.0 * M_PI * m_branch;
  return alpha - (drift / static_cast<double>(N)).unsqueeze(-1);
}

torch::Tensor maximiser_su_n(const torch::Tensor& Q) {
  const int64_t N = Q.size(-1);
  auto shape = Q.sizes().vec();
  auto flat = Q.reshape({-1, N, N});
  auto svd = torch::linalg_svd(flat, /*full_matrices=*/false);
  auto X = std::get<0>(svd), sigma = std::get<1>(svd), Yh = std::get<2>(svd);
  auto phi = -torch::angle(torch::linalg_det(X) * torch::linalg_det(Yh));
  auto alpha = maximise_phases(sigma, phi);
  auto phases = torch::polar(torch::ones_like(alpha), alpha);  // complex [M, N]
  auto W = mat_mul(X * phases.unsqueeze(-2), Yh);
  return W.reshape(shape);
}

}  // namespace

torch::Tensor su_n_maximiser(const torch::Tensor& Q) {
  if (!Q.is_complex() || Q.dim() < 2 || Q.size(-1) != Q.size(-2) || Q.size(-1) < 2)
    throw std::invalid_argument("su_n_maximiser: expected complex [..., N, N] matrices with N >= 2");
  torch::NoGradGuard no_grad;
  auto q = Q.detach();
  if (q.numel() == 0) return q.clone();
  return q.size(-1) == 2 ? maximiser_su2(q) : maximiser_su_n(q);
}

torch::Tensor maximiser_gradient(const torch::Tensor& W, const torch::Tensor& Q) {
  // Re Tr(i t^a M) = -c_a/2 with c = matrix_to_algebra(M).
  return -0.5 * matrix_to_algebra(mat_mul_dag(W, Q));
}

}  // namespace blockspin::lattice
