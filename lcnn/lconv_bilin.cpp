// LConvBilin: fused L-Conv + L-Bilin (transport stack, then one bilinear layer).
#include "lcnn/lconv_bilin.h"

#include "lcnn/common.h"
#include "lcnn/reflection_characters.h"
#include "lattice/layout.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

LConvBilinImpl::LConvBilinImpl(const LConvBilinOptions& options) : options(options) { reset(); }

void LConvBilinImpl::reset() {
  const auto& o = options;
  if (o.in() < 1 || o.out() < 1 || o.kernel_size() < 1 || o.dims() < 2 || o.dilation() < 1) {
    std::ostringstream msg;
    msg << "LConvBilin: need in, out, kernel_size, dilation >= 1 and dims >= 2; got in=" << o.in() << " out=" << o.out()
        << " kernel_size=" << o.kernel_size() << " dims=" << o.dims() << " dilation=" << o.dilation();
    throw std::invalid_argument(msg.str());
  }
  if (o.conv_channels() < 0) throw std::invalid_argument("LConvBilin: conv_channels must be >= 0");
  const int64_t T = n_offsets(o.dims(), o.kernel_size());
  if (o.conv_channels() > 0)
    conv = register_module("conv", LConv(LConvOptions(o.in(), o.conv_channels(), o.kernel_size(), o.dims())
                                             .dilation(o.dilation())
                                             .complex_weights(o.complex_weights())));
  const int64_t in2 = o.conv_channels() > 0 ? o.conv_channels() : o.in() * T;
  bilin = register_module("bilin", LBilin(LBilinOptions(o.in(), in2, o.out())
                                              .add_conjugate(o.add_conjugate())
                                              .add_unit(o.add_unit())
                                              .complex_weights(o.complex_weights())));
  if (!o.in_characters().empty() || !o.out_characters().empty()) {
    if (static_cast<int64_t>(o.in_characters().size()) != o.in() ||
        static_cast<int64_t>(o.out_characters().size()) != o.out())
      throw std::invalid_argument("LConvBilin: in_characters/out_characters need one character per channel");
    if (o.conv_channels() > 0 || o.complex_weights())
      throw std::invalid_argument("LConvBilin: reflection characters need the fused form with real weights");
    const auto p = conv_bilin_projection(o.in_characters(), o.out_characters(), o.dims(), o.kernel_size(),
                                         o.add_conjugate(), o.add_unit());
    bilin->set_projection(p.C, p.S, p.swap, p.blocks);
  }
}

torch::Tensor LConvBilinImpl::forward(const torch::Tensor& U, const torch::Tensor& W) {
  lattice::check_gauge_field(U, "LConvBilin links");
  check_channels(W, options.in(), "LConvBilin");
  if (lattice::n_dims(U) != options.dims())
    throw std::invalid_argument("LConvBilin: the gauge field's D differs from the dims option");
  if (conv) return bilin->forward(W, conv->forward(U, W));
  return bilin->forward(W, transported_stack(U, W, options.kernel_size(), options.dilation()));
}

}  // namespace blockspin::lcnn
