// torch::autograd::Function wrapping the FP minimiser (see fp_action.h).
#include "lattice/fp_action.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lattice {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class FpActionFunction : public torch::autograd::Function<FpActionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& V, const ActionFunctional& fine_action,
                               const FpMinimiserOptions& options, FpResult* result) {
    FpResult r = fp_minimise(V.detach(), fine_action, options);
    if (result == nullptr && !r.converged.all().item<bool>()) {
      std::ostringstream msg;
      msg << "fp_action: the minimiser did not converge (grad_tol " << options.grad_tol << ") for configuration(s)";
      auto conv = r.converged.cpu();
      auto gn = r.grad_norm.cpu().to(torch::kDouble);
      for (int64_t i = 0; i < conv.size(0); ++i)
        if (!conv[i].item<bool>()) msg << " " << i << " (grad norm " << gn[i].item<double>() << ")";
      throw std::runtime_error(msg.str());
    }
    auto G = 2.0 * mat_mul(algebra_to_matrix(r.derivative, n_colors(V)), V.detach());
    ctx->save_for_backward({G});
    auto action = r.action;
    if (result != nullptr) *result = std::move(r);
    return action;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto G = ctx->get_saved_variables()[0];
    std::vector<int64_t> shape(G.dim(), 1);
    shape[0] = G.size(0);
    auto go = grad_output[0].reshape(shape).to(G.scalar_type());
    return {go * G, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fp_action(const torch::Tensor& V, const ActionFunctional& fine_action, const FpMinimiserOptions& options,
                        FpResult* result) {
  return FpActionFunction::apply(V, fine_action, options, result);
}

}  // namespace blockspin::lattice
