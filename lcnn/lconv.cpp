// LConv: lattice gauge-equivariant convolution by repeated parallel transport.
#include "lcnn/lconv.h"

#include "lcnn/common.h"
#include "lattice/layout.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

LConvImpl::LConvImpl(const LConvOptions& options) : options(options) { reset(); }

void LConvImpl::reset() {
  const auto& o = options;
  if (o.in_channels() < 1 || o.out_channels() < 1 || o.kernel_size() < 1 || o.dims() < 2 || o.dilation() < 1) {
    std::ostringstream msg;
    msg << "LConv: need in, out, kernel_size, dilation >= 1 and dims >= 2; got in=" << o.in_channels()
        << " out=" << o.out_channels() << " kernel_size=" << o.kernel_size() << " dims=" << o.dims()
        << " dilation=" << o.dilation();
    throw std::invalid_argument(msg.str());
  }
  const int64_t T = n_offsets(o.dims(), o.kernel_size());
  weight = register_parameter("weight", make_weight({o.out_channels(), o.in_channels(), T},
                                                    1.0 / std::sqrt(double(o.in_channels() * T)), o.complex_weights()));
}

torch::Tensor LConvImpl::forward(const torch::Tensor& U, const torch::Tensor& W) {
  lattice::check_gauge_field(U, "LConv links");
  check_channels(W, options.in_channels(), "LConv");
  if (lattice::n_dims(U) != options.dims())
    throw std::invalid_argument("LConv: the gauge field's D differs from the dims option");
  const auto T = transported_stack(U, W, options.kernel_size(), options.dilation());  // channel t * in + j
  auto w = channel_weight(weight, options.complex_weights(), W);                      // [out, in, T]
  w = w.permute({0, 2, 1}).reshape({options.out_channels(), -1});                     // [out, T * in]
  return contract_channels(w, T);
}

}  // namespace blockspin::lcnn
