// LAct: gauge-equivariant activation by a function of the gauge-invariant Re Tr W.
#include "lcnn/lact.h"

#include "lcnn/common.h"
#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <stdexcept>

namespace blockspin::lcnn {

LActImpl::LActImpl(const LActOptions& options) : options(options) { reset(); }

void LActImpl::reset() {
  if (options.channels() < 1) throw std::invalid_argument("LAct: channels must be >= 1");
  if (options.mode() == "polynomial") {
    auto a = torch::zeros({options.channels(), 3}, torch::kDouble);
    a.select(1, 0).fill_(1.0);
    coefficients = register_parameter("coefficients", a);
  } else if (options.mode() != "relu") {
    throw std::invalid_argument("LAct: unknown mode '" + options.mode() + "' (expected relu or polynomial)");
  }
  const auto& chars = options.characters();
  if (!chars.empty()) {
    if (static_cast<int64_t>(chars.size()) != options.channels())
      throw std::invalid_argument("LAct: characters needs one character per channel");
    auto mask = torch::ones({options.channels()}, torch::kDouble);
    for (size_t i = 0; i < chars.size(); ++i)
      if (chars[i] != 0) {
        if (options.mode() == "relu")
          throw std::invalid_argument("LAct: relu mode on a channel with a non-trivial reflection character");
        mask[static_cast<int64_t>(i)] = 0.0;
      }
    odd_mask = register_buffer("odd_mask", mask);
  }
}

torch::Tensor LActImpl::forward(const torch::Tensor& W) {
  check_channels(W, options.channels(), "LAct");
  const auto s = lattice::re_trace(W);  // [B, C, x..]
  torch::Tensor g;
  if (options.mode() == "relu") {
    g = (s > 0).to(s.scalar_type());
  } else {
    std::vector<int64_t> shape(s.dim(), 1);
    shape[1] = options.channels();
    const auto a = coefficients.to(s.scalar_type());
    auto a1 = a.select(1, 1);
    if (odd_mask.defined()) a1 = a1 * odd_mask.to(a1.scalar_type());
    g = a.select(1, 0).reshape(shape) + s * (a1.reshape(shape) + s * a.select(1, 2).reshape(shape));
  }
  return W * g.unsqueeze(-1).unsqueeze(-1);
}

}  // namespace blockspin::lcnn
