// Exact SU(N) maximiser of Re Tr(W Q†): SU(2) closed form, SU(N) by SVD and a constrained phase problem.
#include "lattice/su_n_maximiser.h"

#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
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

/// Maximises f(α) = Σ σ_i cos α_i subject to Σ α_i = φ, per row; sigma [M, N], phi [M] -> α [M, N] (real). The
/// torch path (kernels "torch", other devices): all rows and starts as batched tensor operations.
torch::Tensor maximise_phases_torch(const torch::Tensor& sigma, const torch::Tensor& phi) {
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

/// The same problem row by row in plain loops (CPU, kernels "fused"): the iteration of maximise_phases_torch for one
/// row and start, stopping per row instead of when every row has converged (a converged row's Newton step is zero
/// to rounding, so the end points agree to rounding).
template <class T>
void maximise_phases_row(const T* sigma, T phi, int64_t N, T* out) {
  constexpr int kMax = 16;
  const T eps = sizeof(T) == 4 ? T(1.2e-7) : T(2.3e-16);
  T smax = std::numeric_limits<T>::min();
  for (int64_t i = 0; i < N; ++i) smax = std::max(smax, sigma[i]);
  const T tol = T(16) * eps, slack = T(4) * eps * smax * static_cast<T>(N);
  auto f_of = [&](const T* a) {
    T f = 0;
    for (int64_t i = 0; i < N; ++i) f += sigma[i] * std::cos(a[i]);
    return f;
  };
  T best_f = -std::numeric_limits<T>::infinity();
  T alpha[kMax], cand[kMax], step[kMax], r[kMax], h[kMax], L[kMax * kMax], y[kMax];
  for (int64_t m = 0; m < N; ++m) {
    for (int64_t i = 0; i < N; ++i) alpha[i] = (phi + T(2 * M_PI) * static_cast<T>(m)) / static_cast<T>(N);
    T f = f_of(alpha);
    for (int iter = 0; iter < 200; ++iter) {
      const int64_t n = N - 1;
      const T g_last = -sigma[n] * std::sin(alpha[n]);
      T rmax = 0;
      for (int64_t k = 0; k < N; ++k) h[k] = -sigma[k] * std::cos(alpha[k]);
      for (int64_t k = 0; k < n; ++k) {
        r[k] = -sigma[k] * std::sin(alpha[k]) - g_last;
        rmax = std::max(rmax, std::abs(r[k]));
      }
      if (rmax / smax < tol) break;
      // Newton on -R = -(diag(h_k) + h_{N-1}) where its Cholesky factorisation exists, a gradient step otherwise.
      bool ok = true;
      for (int64_t i = 0; i < n && ok; ++i)
        for (int64_t j = 0; j <= i; ++j) {
          T v = -(i == j ? h[i] : T(0)) - h[n];
          for (int64_t k = 0; k < j; ++k) v -= L[i * kMax + k] * L[j * kMax + k];
          if (i == j) {
            if (!(v > 0)) {
              ok = false;
              break;
            }
            L[i * kMax + i] = std::sqrt(v);
          } else {
            L[i * kMax + j] = v / L[j * kMax + j];
          }
        }
      T total = 0;
      if (ok) {
        for (int64_t i = 0; i < n; ++i) {  // L y = r, then L^T step = y
          T v = r[i];
          for (int64_t k = 0; k < i; ++k) v -= L[i * kMax + k] * y[k];
          y[i] = v / L[i * kMax + i];
        }
        for (int64_t i = n - 1; i >= 0; --i) {
          T v = y[i];
          for (int64_t k = i + 1; k < n; ++k) v -= L[k * kMax + i] * step[k];
          step[i] = v / L[i * kMax + i];
        }
      } else {
        for (int64_t i = 0; i < n; ++i) step[i] = r[i] / (static_cast<T>(N) * smax);
      }
      for (int64_t i = 0; i < n; ++i) total += step[i];
      step[n] = -total;
      // Backtracking: halve the step until f does not decrease (beyond rounding).
      T t = 1;
      for (int k = 0; k < 30; ++k, t *= T(0.5)) {
        for (int64_t i = 0; i < N; ++i) cand[i] = alpha[i] + t * step[i];
        const T fc = f_of(cand);
        if (fc >= f - slack) {
          std::copy(cand, cand + N, alpha);
          f = fc;
          break;
        }
      }
    }
    if (f > best_f) {
      best_f = f;
      std::copy(alpha, alpha + N, out);
    }
  }
  // Remove the rounding drift of Σ α from its target φ + 2πm (so that det W = 1 to rounding).
  T total = 0;
  for (int64_t i = 0; i < N; ++i) total += out[i];
  const T branch = std::round((total - phi) / T(2 * M_PI));
  const T drift = (total - phi - T(2 * M_PI) * branch) / static_cast<T>(N);
  for (int64_t i = 0; i < N; ++i) out[i] -= drift;
}

torch::Tensor maximise_phases(const torch::Tensor& sigma_in, const torch::Tensor& phi_in) {
  if (!sigma_in.device().is_cpu() || kernels::mode() != kernels::Mode::fused || sigma_in.size(1) > 16)
    return maximise_phases_torch(sigma_in, phi_in);
  const auto sigma = sigma_in.contiguous(), phi = phi_in.contiguous();
  const int64_t M = sigma.size(0), N = sigma.size(1);
  auto alpha = torch::empty_like(sigma);
  AT_DISPATCH_FLOATING_TYPES(sigma.scalar_type(), "maximise_phases", [&] {
    const auto* s = sigma.data_ptr<scalar_t>();
    const auto* p = phi.data_ptr<scalar_t>();
    auto* a = alpha.data_ptr<scalar_t>();
    at::parallel_for(0, M, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) maximise_phases_row<scalar_t>(s + i * N, p[i], N, a + i * N);
    });
  });
  return alpha;
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
