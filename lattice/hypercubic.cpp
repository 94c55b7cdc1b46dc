// The hypercubic symmetry group acting on gauge fields (lattice/hypercubic.h).
#include "lattice/hypercubic.h"

#include "lattice/layout.h"
#include "lattice/matrix_ops.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace blockspin::lattice {

std::string HypercubicElement::describe() const {
  std::string out = "perm (";
  for (size_t k = 0; k < permutation.size(); ++k) out += (k ? " " : "") + std::to_string(permutation[k]);
  out += ")";
  std::string refl;
  for (size_t mu = 0; mu < reflected.size(); ++mu)
    if (reflected[mu]) refl += " " + std::to_string(mu);
  return refl.empty() ? out : out + ", reflect" + refl;
}

int64_t hypercubic_group_size(int64_t dims) {
  if (dims < 1 || dims > 8) throw std::invalid_argument("hypercubic_group_size: dims must be in 1..8");
  int64_t n = int64_t{1} << dims;
  for (int64_t k = 2; k <= dims; ++k) n *= k;
  return n;
}

HypercubicElement hypercubic_element(int64_t dims, int64_t index) {
  if (index < 0 || index >= hypercubic_group_size(dims))
    throw std::invalid_argument("hypercubic_element: index " + std::to_string(index) +
                                " out of range for D = " + std::to_string(dims));
  HypercubicElement g;
  g.permutation.resize(static_cast<size_t>(dims));
  std::iota(g.permutation.begin(), g.permutation.end(), 0);
  for (int64_t k = index >> dims; k > 0; --k) std::next_permutation(g.permutation.begin(), g.permutation.end());
  for (int64_t mu = 0; mu < dims; ++mu) g.reflected.push_back(((index >> mu) & 1) != 0);
  return g;
}

torch::Tensor permute_axes(const torch::Tensor& U, const std::vector<int64_t>& permutation) {
  const int64_t D = n_dims(U);
  std::vector<int64_t> sorted = permutation;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(static_cast<size_t>(D));
  std::iota(identity.begin(), identity.end(), 0);
  if (sorted != identity) throw std::invalid_argument("permute_axes: not a permutation of the D axes");
  std::vector<int64_t> dims{0, 1};
  for (int64_t nu = 0; nu < D; ++nu) {
    const int64_t from = permutation[static_cast<size_t>(nu)];
    if (U.size(kSiteDim0 + nu) != U.size(kSiteDim0 + from))
      throw std::invalid_argument("permute_axes: axes " + std::to_string(nu) + " and " + std::to_string(from) +
                                  " have different extents");
    dims.push_back(kSiteDim0 + from);
  }
  dims.push_back(U.dim() - 2);
  dims.push_back(U.dim() - 1);
  return U.index_select(1, torch::tensor(permutation, torch::kLong).to(U.device())).permute(dims);
}

torch::Tensor reflect_axis(const torch::Tensor& U, int64_t mu) {
  const int64_t D = n_dims(U);
  if (mu < 0 || mu >= D) throw std::invalid_argument("reflect_axis: axis out of range");
  const int64_t dim = kSiteDim0 + mu;
  const auto flipped = U.flip({dim});                    // flipped(x) = U(-x - μ̂)
  const auto rolled = torch::roll(flipped, {1}, {dim});  // rolled(x) = U(-x)
  std::vector<torch::Tensor> links;
  for (int64_t nu = 0; nu < D; ++nu)
    links.push_back(nu == mu ? dag(flipped.select(1, nu)).resolve_conj() : rolled.select(1, nu));
  return torch::stack(links, 1);
}

torch::Tensor hypercubic_transform(const torch::Tensor& U, const HypercubicElement& g) {
  if (static_cast<int64_t>(g.permutation.size()) != n_dims(U) || static_cast<int64_t>(g.reflected.size()) != n_dims(U))
    throw std::invalid_argument("hypercubic_transform: the element is for another number of dimensions");
  torch::Tensor out = permute_axes(U, g.permutation);
  for (int64_t mu = 0; mu < n_dims(U); ++mu)
    if (g.reflected[static_cast<size_t>(mu)]) out = reflect_axis(out, mu);
  return out.contiguous();
}

torch::Tensor hypercubic_transform_batch(const torch::Tensor& U, const std::vector<HypercubicElement>& elements) {
  const int64_t B = U.size(0), D = n_dims(U);
  if (static_cast<int64_t>(elements.size()) != B)
    throw std::invalid_argument("hypercubic_transform_batch: " + std::to_string(B) + " configurations, " +
                                std::to_string(elements.size()) + " elements");
  // Where every link of U^g comes from: the transform applied to a field of link numbers (1×1 real "matrices", for
  // which the dagger is the identity), exact in double up to 2^53 links.
  std::vector<int64_t> shape(U.sizes().begin(), U.sizes().end() - 2);
  shape[0] = 1;
  const int64_t per_config = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  std::vector<int64_t> id_shape = shape;
  id_shape.push_back(1);
  id_shape.push_back(1);
  const auto link_ids = torch::arange(per_config, torch::kDouble).reshape(id_shape);
  // One map per distinct element (a symmetrised model repeats each element for every configuration of its batch).
  std::map<std::pair<std::vector<int64_t>, std::vector<bool>>, std::pair<torch::Tensor, torch::Tensor>> maps;
  std::vector<torch::Tensor> sources, daggered;
  for (int64_t b = 0; b < B; ++b) {
    const auto& g = elements[static_cast<size_t>(b)];
    auto [it, is_new] = maps.try_emplace({g.permutation, g.reflected});
    if (is_new) {
      std::vector<int64_t> along(g.reflected.begin(), g.reflected.end());  // direction ν of U^g is daggered iff r_ν
      it->second = {hypercubic_transform(link_ids, g).reshape({per_config}).to(torch::kLong),
                    torch::tensor(along).to(torch::kBool).repeat_interleave(per_config / D)};
    }
    sources.push_back(it->second.first + b * per_config);
    daggered.push_back(it->second.second);
  }
  const auto source = torch::cat(sources).to(U.device());
  const auto dagger = torch::cat(daggered).to(U.device()).view({-1, 1, 1});
  const auto links = U.reshape({B * per_config, U.size(-2), U.size(-1)}).index_select(0, source);
  return torch::where(dagger, dag(links), links).reshape(U.sizes());
}

}  // namespace blockspin::lattice
