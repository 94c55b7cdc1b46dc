// Plaq: plaquettes as W objects (input layer of an L-CNN).
#include "lcnn/plaq.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"

namespace blockspin::lcnn {

PlaqImpl::PlaqImpl(const PlaqOptions& options) : options(options) {}

int64_t PlaqImpl::out_channels(int64_t dims) const {
  return (options.both_orientations() ? 2 : 1) * dims * (dims - 1) / 2;
}

torch::Tensor PlaqImpl::forward(const torch::Tensor& U) {
  lattice::check_gauge_field(U, "Plaq input");
  std::vector<torch::Tensor> p;
  for (const auto& [mu, nu] : lattice::planes(lattice::n_dims(U))) p.push_back(lattice::plaquette_field(U, mu, nu));
  auto W = torch::cat(p, 1);
  if (options.both_orientations()) W = torch::cat({W, lattice::dag(W)}, 1);
  return W;
}

}  // namespace blockspin::lcnn
