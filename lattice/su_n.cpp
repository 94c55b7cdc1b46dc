// SU(N) generators, algebra maps, exponential, projection and random elements (see su_n.h).
#include "lattice/su_n.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <cmath>
#include <complex>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

/// Generalised Gell-Mann matrices / 2 in the order S_01, A_01, H_1, S_02, A_02, S_12, A_12, H_2, ...
torch::Tensor build_generators(int64_t n) {
  using c = c10::complex<double>;
  auto t = torch::zeros({n * n - 1, n, n}, torch::kComplexDouble);
  auto acc = t.accessor<c, 3>();
  int64_t a = 0;
  for (int64_t k = 1; k < n; ++k) {
    for (int64_t j = 0; j < k; ++j) {
      acc[a][j][k] = c(0.5, 0.0);  // symmetric
      acc[a][k][j] = c(0.5, 0.0);
      ++a;
      acc[a][j][k] = c(0.0, -0.5);  // antisymmetric
      acc[a][k][j] = c(0.0, 0.5);
      ++a;
    }
    const double norm = 0.5 * std::sqrt(2.0 / static_cast<double>(k * (k + 1)));  // diagonal H_k
    for (int64_t j = 0; j < k; ++j) acc[a][j][j] = c(norm, 0.0);
    acc[a][k][k] = c(-norm * static_cast<double>(k), 0.0);
    ++a;
  }
  return t;
}

void check_colors(int64_t n) {
  if (n < 2) throw std::invalid_argument("SU(N) needs N >= 2, got N = " + std::to_string(n));
}

}  // namespace

torch::Tensor generators(int64_t n_colors, const torch::TensorOptions& options) {
  check_colors(n_colors);
  return build_generators(n_colors).to(options.dtype(complex_dtype(options.dtype().toScalarType())));
}

torch::Tensor algebra_to_matrix(const torch::Tensor& components, int64_t n_colors) {
  if (components.size(-1) != n_generators(n_colors))
    throw std::invalid_argument("algebra_to_matrix: last dimension must be N^2-1 = " +
                                std::to_string(n_generators(n_colors)));
  auto t = generators(n_colors, components.options().dtype(complex_dtype(components.scalar_type())));
  auto it = t * c10::complex<double>(0.0, 1.0);
  return torch::tensordot(components.to(it.scalar_type()), it, {-1}, {0});
}

torch::Tensor matrix_to_algebra(const torch::Tensor& M) {
  const int64_t n = M.size(-1);
  auto t = generators(n, M.options());
  // Tr(t^a M) = Σ_ij t^a_ij M_ji
  auto tr = torch::tensordot(M.transpose(-2, -1), t, {-2, -1}, {1, 2});
  return 2.0 * torch::imag(tr);
}

torch::Tensor project_traceless_antihermitian(const torch::Tensor& M) {
  const int64_t n = M.size(-1);
  auto A = 0.5 * (M - dag(M));
  auto tr = color_trace(A) / static_cast<double>(n);
  return A - tr.unsqueeze(-1).unsqueeze(-1) * identity_like(M);
}

torch::Tensor su_exp(const torch::Tensor& X) {
  // Scaling and squaring with a degree-12 Taylor polynomial: after scaling ||X / 2^s||_F <= 1/4, so the truncation
  // error is below 0.25^13 / 13! ~ 2e-18 and the result is unitary to rounding. (torch::matrix_exp of LibTorch 1.13
  // loses unitarity at the 1e-12 level for norms ~0.01-0.05 in complex128.) Only matmuls: autograd and double
  // backward work, and the whole batch shares one s.
  if (X.numel() == 0) return X.clone();
  const double norm = X.detach().abs().pow(2).sum({-2, -1}).sqrt().max().item<double>();
  const int s = norm > 0.25 ? static_cast<int>(std::ceil(std::log2(norm / 0.25))) : 0;
  const auto Y = X / std::ldexp(1.0, s);
  const auto eye = identity_like(X);
  torch::Tensor E = eye + Y / 12.0;
  for (int k = 11; k >= 1; --k) E = eye + mat_mul(Y, E) / static_cast<double>(k);
  for (int i = 0; i < s; ++i) E = mat_mul(E, E);
  return E;
}

torch::Tensor project_su_n(const torch::Tensor& M) {
  const int64_t n = M.size(-1);
  auto svd = torch::linalg_svd(M, /*full_matrices=*/false);
  auto W = mat_mul(std::get<0>(svd), std::get<2>(svd));
  auto phase = torch::angle(torch::linalg_det(W)) / static_cast<double>(n);
  auto fix = torch::polar(torch::ones_like(phase), -phase);
  return W * fix.unsqueeze(-1).unsqueeze(-1);
}

torch::Tensor random_su_n(const std::vector<int64_t>& prefix, int64_t n_colors, at::Generator& gen,
                          const torch::TensorOptions& options) {
  check_colors(n_colors);
  std::vector<int64_t> shape(prefix);
  shape.push_back(n_colors);
  shape.push_back(n_colors);
  auto Z = torch::randn(shape, gen, options);  // complex Ginibre
  auto qr = torch::linalg_qr(Z);
  auto Q = std::get<0>(qr);
  auto d = std::get<1>(qr).diagonal(0, -2, -1);
  Q = Q * (d / d.abs()).unsqueeze(-2);  // Haar on U(N) (Mezzadri)
  auto phase = torch::angle(torch::linalg_det(Q)) / static_cast<double>(n_colors);
  return Q * torch::polar(torch::ones_like(phase), -phase).unsqueeze(-1).unsqueeze(-1);
}

torch::Tensor random_algebra(const std::vector<int64_t>& prefix, int64_t n_colors, at::Generator& gen,
                             const torch::TensorOptions& real_options) {
  check_colors(n_colors);
  std::vector<int64_t> shape(prefix);
  shape.push_back(n_generators(n_colors));
  return torch::randn(shape, gen, real_options);
}

torch::Tensor random_su_n_near_identity(const std::vector<int64_t>& prefix, int64_t n_colors, double epsilon,
                                        at::Generator& gen, const torch::TensorOptions& options) {
  auto real = options.dtype(real_dtype(options.dtype().toScalarType()));
  auto eta = random_algebra(prefix, n_colors, gen, real);
  return su_exp(algebra_to_matrix(epsilon * eta, n_colors));
}

torch::Tensor su_n_violation(const torch::Tensor& U) {
  auto unit = (dag_mat_mul(U, U) - identity_like(U)).abs().amax({-2, -1});
  auto det = (torch::linalg_det(U) - 1.0).abs();
  return torch::maximum(unit, det);
}

}  // namespace blockspin::lattice
