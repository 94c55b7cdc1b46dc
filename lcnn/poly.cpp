// Poly: Polyakov loops at every site as W objects.
#include "lcnn/poly.h"

#include "lattice/layout.h"
#include "lattice/paths.h"

#include <sstream>
#include <stdexcept>

namespace blockspin::lcnn {

PolyImpl::PolyImpl(const PolyOptions& options) : options(options) {}

int64_t PolyImpl::out_channels(int64_t dims) const {
  return options.axes().empty() ? dims : static_cast<int64_t>(options.axes().size());
}

torch::Tensor PolyImpl::forward(const torch::Tensor& U) {
  lattice::check_gauge_field(U, "Poly input");
  const int64_t D = lattice::n_dims(U);
  std::vector<int64_t> axes = options.axes();
  if (axes.empty())
    for (int64_t mu = 0; mu < D; ++mu) axes.push_back(mu);
  std::vector<torch::Tensor> loops;
  for (int64_t mu : axes) {
    if (mu < 0 || mu >= D) {
      std::ostringstream msg;
      msg << "Poly: axis " << mu << " out of range for D = " << D;
      throw std::invalid_argument(msg.str());
    }
    loops.push_back(lattice::line_product(U, mu, U.size(lattice::kSiteDim0 + mu)));
  }
  return torch::cat(loops, 1);
}

}  // namespace blockspin::lcnn
