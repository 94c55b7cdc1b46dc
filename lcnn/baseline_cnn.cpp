// BaselineCnn: plain periodic CNN on link components.
#include "lcnn/baseline_cnn.h"

#include "lattice/layout.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

torch::Tensor links_as_channels(const torch::Tensor& U) {
  lattice::check_gauge_field(U, "links_as_channels");
  const int64_t D = lattice::n_dims(U);
  const int64_t N = U.size(-1);
  // [B, D, x.., N, N] -> [B, D, N, N, x..] -> real view [B, D, N, N, x.., 2] -> [B, 2, D, N, N, x..]
  auto Um = U.movedim(-2, 2).movedim(-1, 3);
  auto parts = torch::view_as_real(Um.contiguous()).movedim(-1, 1);
  std::vector<int64_t> shape{U.size(0), 2 * D * N * N};
  for (int64_t d = 0; d < D; ++d) shape.push_back(U.size(2 + d));
  return parts.reshape(shape);
}

BaselineCnnImpl::BaselineCnnImpl(const BaselineCnnOptions& options) : options(options) { reset(); }

void BaselineCnnImpl::reset() {
  const auto& o = options;
  if (o.dims() != 2 && o.dims() != 3) {
    throw std::invalid_argument("BaselineCnn: only D = 2 or 3 are supported (torch has Conv2d and Conv3d), got D = " +
                                std::to_string(o.dims()));
  }
  if (o.kernel_size() < 1 || o.kernel_size() % 2 == 0 || o.group_n() < 2 || o.out() < 1) {
    std::ostringstream msg;
    msg << "BaselineCnn: need an odd kernel_size >= 1, group_n >= 2 and out >= 1; got kernel_size=" << o.kernel_size()
        << " group_n=" << o.group_n() << " out=" << o.out();
    throw std::invalid_argument(msg.str());
  }
  convs_.clear();
  std::vector<int64_t> channels{2 * o.dims() * o.group_n() * o.group_n()};
  for (auto h : o.hidden()) {
    if (h < 1) throw std::invalid_argument("BaselineCnn: hidden channel counts must be >= 1");
    channels.push_back(h);
  }
  channels.push_back(o.out());
  const int64_t pad = o.kernel_size() / 2;
  for (size_t i = 0; i + 1 < channels.size(); ++i) {
    const std::string name = "conv" + std::to_string(i);
    if (o.dims() == 2) {
      auto c = register_module(name,
                               torch::nn::Conv2d(torch::nn::Conv2dOptions(channels[i], channels[i + 1], o.kernel_size())
                                                     .padding(pad)
                                                     .padding_mode(torch::kCircular)));
      c->to(torch::kDouble);
      convs_.emplace_back(c);
    } else {
      auto c = register_module(name,
                               torch::nn::Conv3d(torch::nn::Conv3dOptions(channels[i], channels[i + 1], o.kernel_size())
                                                     .padding(pad)
                                                     .padding_mode(torch::kCircular)));
      c->to(torch::kDouble);
      convs_.emplace_back(c);
    }
  }
}

torch::Tensor BaselineCnnImpl::forward(const torch::Tensor& U) {
  if (lattice::n_dims(U) != options.dims() || U.size(-1) != options.group_n()) {
    throw std::invalid_argument("BaselineCnn: the gauge field's D or N differs from the options");
  }
  const auto out_dtype = c10::toRealValueType(U.scalar_type());
  // Computed in the precision the parameters are held in (double unless the module was moved with to()).
  auto x = links_as_channels(U).to(parameters().front().scalar_type());
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = convs_[i].forward(x);
    if (i + 1 < convs_.size()) x = torch::tanh(x);
  }
  x = x.to(out_dtype);
  return x;
}

}  // namespace blockspin::lcnn
