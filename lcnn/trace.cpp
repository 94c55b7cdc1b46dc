// Trace: W objects -> real gauge-invariant scalars.
#include "lcnn/trace.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <stdexcept>

namespace blockspin::lcnn {

TraceImpl::TraceImpl(const TraceOptions& options) : options(options) {
  if (!options.real_part() && !options.imag_part())
    throw std::invalid_argument("Trace: at least one of real_part / imag_part must be true");
}

int64_t TraceImpl::out_channels(int64_t in_channels) const {
  return in_channels * ((options.real_part() ? 1 : 0) + (options.imag_part() ? 1 : 0));
}

torch::Tensor TraceImpl::forward(const torch::Tensor& W) {
  lattice::check_matrix_field(W, "Trace input");
  const auto tr = lattice::color_trace(W);
  if (options.real_part() && options.imag_part()) return torch::cat({torch::real(tr), torch::imag(tr)}, 1);
  return options.real_part() ? torch::real(tr) : torch::imag(tr);
}

}  // namespace blockspin::lcnn
