// Autograd and finite-difference link derivatives (see derivatives.h).
#include "lattice/derivatives.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <stdexcept>

namespace blockspin::lattice {

namespace {

// {S [batch], D as traceless anti-hermitian matrices} from one evaluation of the action.
std::pair<torch::Tensor, torch::Tensor> value_and_derivative_matrix(const ActionFunctional& action,
                                                                    const torch::Tensor& U, bool create_graph) {
  check_gauge_field(U, "autograd_derivative");
  torch::AutoGradMode grad_mode(true);  // callers such as molecular dynamics run under NoGradGuard
  torch::Tensor x = U;
  if (!U.requires_grad()) x = U.detach().requires_grad_(true);
  torch::Tensor S = action(x);
  auto G = torch::autograd::grad({S.sum()}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/create_graph,
                                 /*create_graph=*/create_graph, /*allow_unused=*/true)[0];
  if (!G.defined()) return {S, torch::zeros_like(U)};
  // D_a = Re Tr(i t^a Ω) with Ω = U G†; Re Tr(i t^a Ω) = -y_a / 2 where [Ω]_TA = Σ_b y_b (i t^b).
  return {S, -0.5 * project_traceless_antihermitian(mat_mul_dag(x, G))};
}

}  // namespace

torch::Tensor autograd_derivative_matrix(const ActionFunctional& action, const torch::Tensor& U, bool create_graph) {
  return value_and_derivative_matrix(action, U, create_graph).second;
}

torch::Tensor autograd_derivative(const ActionFunctional& action, const torch::Tensor& U, bool create_graph) {
  return matrix_to_algebra(autograd_derivative_matrix(action, U, create_graph));
}

std::pair<torch::Tensor, torch::Tensor> action_and_derivative(const ActionFunctional& action, const torch::Tensor& U,
                                                              bool create_graph) {
  auto [S, D] = value_and_derivative_matrix(action, U, create_graph);
  if (!create_graph) S = S.detach();
  return {S, matrix_to_algebra(D)};
}

double finite_difference_derivative(const ActionFunctional& action, const torch::Tensor& U, int64_t b, int64_t mu,
                                    const std::vector<int64_t>& site, int64_t a, double epsilon) {
  check_gauge_field(U, "finite_difference_derivative");
  if (static_cast<int64_t>(site.size()) != n_dims(U))
    throw std::invalid_argument("finite_difference_derivative: site needs D coordinates");
  const int64_t N = n_colors(U);
  torch::NoGradGuard no_grad;
  auto comp = torch::zeros({n_generators(N)}, U.options().dtype(real_dtype(U.scalar_type())));
  comp[a] = epsilon;
  auto step = su_exp(algebra_to_matrix(comp, N));
  std::vector<at::indexing::TensorIndex> idx{b, mu};
  for (auto x : site) idx.emplace_back(x);
  auto evaluate = [&](const torch::Tensor& g) {
    auto V = U.clone();
    V.index_put_(idx, mat_mul(g, U.index(idx)));
    return action(V)[b].item<double>();
  };
  return (evaluate(step) - evaluate(dag(step))) / (2.0 * epsilon);
}

}  // namespace blockspin::lattice
