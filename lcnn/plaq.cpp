// Plaq: plaquettes as W objects (input layer of an L-CNN).
#include "lcnn/plaq.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"
#include "lattice/paths.h"

#include <stdexcept>

namespace blockspin::lcnn {

PlaqImpl::PlaqImpl(const PlaqOptions& options) : options(options) {}

int64_t PlaqImpl::out_channels(int64_t dims) const {
  if (options.reflection_characters()) return 4 * dims * (dims - 1) / 2;
  return (options.both_orientations() ? 2 : 1) * (options.clover_leaves() ? 4 : 1) * dims * (dims - 1) / 2;
}

torch::Tensor PlaqImpl::forward(const torch::Tensor& U) {
  lattice::check_gauge_field(U, "Plaq input");
  const auto planes = lattice::planes(lattice::n_dims(U));
  std::vector<torch::Tensor> p;
  for (const auto& [mu, nu] : planes) p.push_back(lattice::plaquette_field(U, mu, nu));
  if (options.reflection_characters() && (options.clover_leaves() || options.both_orientations()))
    throw std::invalid_argument("Plaq: reflection_characters excludes clover_leaves and both_orientations");
  if (options.clover_leaves() || options.reflection_characters()) {
    // As lattice::clover: the leaves from x − μ̂, x − ν̂, x − μ̂ − ν̂ transported to x.
    std::vector<torch::Tensor> from_mu, from_nu, from_both;
    for (size_t k = 0; k < planes.size(); ++k) {
      const auto [mu, nu] = planes[k];
      const auto U_mu = lattice::link(U, mu);
      from_mu.push_back(lattice::transport(U_mu, p[k], mu, -1));
      from_nu.push_back(lattice::transport(lattice::link(U, nu), p[k], nu, -1));
      from_both.push_back(lattice::transport(U_mu, from_nu.back(), mu, -1));
    }
    if (options.reflection_characters()) {
      // The leaves as loops from x: L_{+μ,+ν} = P_μν(x); the plaquette from x − μ̂ transported to x runs +ν, −μ, −ν,
      // +μ, the reverse of L_{−μ,+ν}; likewise the one from x − ν̂ is L_{+μ,−ν}†; the one from x − μ̂ − ν̂ is L_{−μ,−ν}.
      std::vector<torch::Tensor> q[4];
      for (size_t k = 0; k < planes.size(); ++k) {
        const auto &pp = p[k], &mm = from_both[k];
        const auto mp = lattice::dag(from_mu[k]), pm = lattice::dag(from_nu[k]);
        q[0].push_back(0.25 * (pp + mp + pm + mm));  // a = 0, b = 0: the clover average
        q[1].push_back(0.25 * (pp - mp + pm - mm));  // a = 1: odd in μ
        q[2].push_back(0.25 * (pp + mp - pm - mm));  // b = 1: odd in ν
        q[3].push_back(0.25 * (pp - mp - pm + mm));
      }
      std::vector<torch::Tensor> all;
      for (auto& c : q) all.insert(all.end(), c.begin(), c.end());
      return torch::cat(all, 1);
    }
    for (auto* leaves : {&from_mu, &from_nu, &from_both}) p.insert(p.end(), leaves->begin(), leaves->end());
  }
  auto W = torch::cat(p, 1);
  if (options.both_orientations()) W = torch::cat({W, lattice::dag(W)}, 1);
  return W;
}

}  // namespace blockspin::lcnn
