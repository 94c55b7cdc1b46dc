// The fused Wilson-plaquette sum as a differentiable op (see wilson_fused.h).
#include "lattice/kernels/wilson_fused.h"

#include "lattice/kernels/wilson_kernels.h"
#include "lattice/layout.h"
#include "lattice/paths.h"

namespace blockspin::lattice::kernels {

namespace {

// A_μ(x) for all μ on the torch path (differentiable): the plaquette staples of lattice/paths.h.
torch::Tensor torch_staples(const torch::Tensor& U) {
  std::vector<torch::Tensor> per_mu;
  for (int64_t mu = 0; mu < n_dims(U); ++mu) {
    torch::Tensor A = torch::zeros_like(link(U, mu));
    for (int64_t nu = 0; nu < n_dims(U); ++nu) {
      if (nu == mu) continue;
      A = A + loop_staples(U, mu, mu < nu ? rectangle(mu, nu, 1, 1) : rectangle(nu, mu, 1, 1));
    }
    per_mu.push_back(A);
  }
  return torch::cat(per_mu, 1);
}

struct PlaquetteDeficitFn : public torch::autograd::Function<PlaquetteDeficitFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& U) {
    ctx->save_for_backward({U});
    return plaquette_deficit_sum(U.detach());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto U = ctx->get_saved_variables()[0];
    // Differentiable backward (double backward requested): the torch path; otherwise the fused kernel.
    const torch::Tensor A = torch::GradMode::is_enabled() ? torch_staples(U) : wilson_staples(U.detach());
    std::vector<int64_t> shape(U.dim(), 1);
    shape[0] = U.size(0);
    return {-grad[0].view(shape) * A.transpose(-2, -1).conj()};
  }
};

}  // namespace

torch::Tensor plaquette_deficit_differentiable(const torch::Tensor& U) { return PlaquetteDeficitFn::apply(U); }

}  // namespace blockspin::lattice::kernels
