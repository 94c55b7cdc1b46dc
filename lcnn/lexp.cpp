// LExp: exponential link update from W objects.
#include "lcnn/lexp.h"

#include "lcnn/common.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/su_n.h"

#include <stdexcept>

namespace blockspin::lcnn {

LExpImpl::LExpImpl(const LExpOptions& options) : options(options) { reset(); }

void LExpImpl::reset() {
  if (options.channels() < 1 || options.dims() < 2) throw std::invalid_argument("LExp: need channels >= 1, dims >= 2");
  beta = register_parameter("beta", torch::zeros({options.dims(), options.channels()}, torch::kDouble));
}

torch::Tensor LExpImpl::forward(const torch::Tensor& U, const torch::Tensor& W) {
  lattice::check_gauge_field(U, "LExp links");
  check_channels(W, options.channels(), "LExp");
  if (lattice::n_dims(U) != options.dims())
    throw std::invalid_argument("LExp: the gauge field's D differs from the dims option");
  const auto X = lattice::project_traceless_antihermitian(W);            // [B, C, x.., N, N]
  const auto b = channel_weight(beta, false, X);                         // [D, C]
  return lattice::mat_mul(lattice::su_exp(contract_channels(b, X)), U);  // exponent [B, D, x.., N, N]
}

}  // namespace blockspin::lcnn
