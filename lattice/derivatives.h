// Link derivatives of any differentiable action by autograd, in the left-derivative convention of gauge_action.h.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <utility>

namespace blockspin::lattice {

/// A differentiable action functional: gauge field [batch, D, x.., N, N] -> [batch] (real).
using ActionFunctional = std::function<torch::Tensor(const torch::Tensor&)>;

/// D_{x,μ,a} = d/dε S[U_μ(x) -> exp(iε t^a) U_μ(x)] at ε = 0 for every link and generator, by autograd:
/// with G = ∂S/∂Re U + i ∂S/∂Im U (torch's gradient for real S), D_a = Re Tr(i t^a U G†).
/// Returns components [batch, D, x.., N²-1]. With `create_graph` the result stays differentiable (double backward,
/// e.g. to train a model on its link derivatives); if `U` already requires grad it is differentiated as is.
torch::Tensor autograd_derivative(const ActionFunctional& action, const torch::Tensor& U, bool create_graph = false);

/// The action and its derivative from one evaluation of the action: {S [batch], D [batch, D, x.., N²-1]} — what
/// training on values and derivatives needs (the two calls above would evaluate the action twice). With
/// `create_graph` both stay differentiable (S with the graph the derivative was taken through).
std::pair<torch::Tensor, torch::Tensor> action_and_derivative(const ActionFunctional& action, const torch::Tensor& U,
                                                              bool create_graph = false);

/// The same derivative as traceless anti-hermitian matrices Σ_a D_a (i t^a): [batch, D, x.., N, N].
torch::Tensor autograd_derivative_matrix(const ActionFunctional& action, const torch::Tensor& U,
                                         bool create_graph = false);

/// Symmetric finite difference (S[exp(iε t^a) U_μ(x)] - S[exp(-iε t^a) U_μ(x)]) / 2ε for one link and generator
/// of configuration `b`; `site` lists the D coordinates. For tests and for users checking their own actions.
double finite_difference_derivative(const ActionFunctional& action, const torch::Tensor& U, int64_t b, int64_t mu,
                                    const std::vector<int64_t>& site, int64_t a, double epsilon = 1e-4);

}  // namespace blockspin::lattice
