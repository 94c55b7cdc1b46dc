// Path products, straight lines, plaquettes and loop staples (see paths.h).
#include "lattice/paths.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <stdexcept>

namespace blockspin::lattice {

Path reversed(const Path& path) {
  Path r;
  r.reserve(path.size());
  for (auto it = path.rbegin(); it != path.rend(); ++it) r.push_back({it->mu, -it->sign});
  return r;
}

Path rectangle(int64_t mu, int64_t nu, int64_t m, int64_t n) {
  Path p;
  for (int64_t i = 0; i < m; ++i) p.push_back(fwd(mu));
  for (int64_t i = 0; i < n; ++i) p.push_back(fwd(nu));
  for (int64_t i = 0; i < m; ++i) p.push_back(bwd(mu));
  for (int64_t i = 0; i < n; ++i) p.push_back(bwd(nu));
  return p;
}

namespace {

/// Prepends one step to a path product: returns x -> link_step(x) · Q(x + step).
torch::Tensor prepend_step(const torch::Tensor& U, const Step& s, const torch::Tensor& Q) {
  auto U_mu = link(U, s.mu);
  if (s.sign > 0) return mat_mul(U_mu, shift(Q, s.mu, 1));
  // U_mu(x - mu)† Q(x - mu): evaluate at y = x - mu, then shift.
  return shift(dag_mat_mul(U_mu, Q), s.mu, -1);
}

torch::Tensor single_step(const torch::Tensor& U, const Step& s) {
  auto U_mu = link(U, s.mu);
  return s.sign > 0 ? U_mu : shift(dag(U_mu), s.mu, -1);
}

}  // namespace

torch::Tensor path_product(const torch::Tensor& U, const Path& path) {
  if (path.empty()) throw std::invalid_argument("path_product: empty path");
  for (const auto& s : path)
    if (s.mu < 0 || s.mu >= n_dims(U) || (s.sign != 1 && s.sign != -1))
      throw std::invalid_argument("path_product: invalid step (mu = " + std::to_string(s.mu) + ")");
  // Build right to left: Q_k(x) = link_k(x) · Q_{k+1}(x + step_k).
  auto Q = single_step(U, path.back());
  for (auto k = static_cast<int64_t>(path.size()) - 2; k >= 0; --k) Q = prepend_step(U, path[k], Q);
  return Q;
}

torch::Tensor line_product(const torch::Tensor& U, int64_t mu, int64_t k) {
  if (k < 1) throw std::invalid_argument("line_product: length must be >= 1, got " + std::to_string(k));
  auto U_mu = link(U, mu);
  auto L = U_mu;
  for (int64_t i = 1; i < k; ++i) L = mat_mul(U_mu, shift(L, mu, 1));
  return L;
}

torch::Tensor plaquette_field(const torch::Tensor& U, int64_t mu, int64_t nu) {
  auto U_mu = link(U, mu);
  auto U_nu = link(U, nu);
  return mat_mul_dag(mat_mul(U_mu, shift(U_nu, mu, 1)), mat_mul(U_nu, shift(U_mu, nu, 1)));
}

torch::Tensor loop_staples(const torch::Tensor& U, int64_t mu, const Path& loop) {
  torch::Tensor total;
  const auto n = static_cast<int64_t>(loop.size());
  for (int64_t k = 0; k < n; ++k) {
    if (loop[k].mu != mu) continue;
    // Orient the loop so that this occurrence is a forward step, then rotate it to the front.
    const Path oriented = loop[k].sign > 0 ? loop : reversed(loop);
    const int64_t pos = loop[k].sign > 0 ? k : n - 1 - k;
    Path rest;
    for (int64_t i = 1; i < n; ++i) rest.push_back(oriented[(pos + i) % n]);
    // The staple starts where the link ends, at x + mu^.
    auto staple = shift(path_product(U, rest), mu, 1);
    total = total.defined() ? total + staple : staple;
  }
  if (!total.defined()) total = torch::zeros_like(link(U, mu));
  return total;
}

}  // namespace blockspin::lattice
