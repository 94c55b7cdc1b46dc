// Naive upsampling, block averaging and the Eq. (18) log-density term (see upsample.h).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
#include "flows/upsample.h"

#include "flows/common.h"
#include "lattice/scalar_action.h"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace blockspin::flows {

torch::Tensor upsample(const torch::Tensor& phi) {
  lattice::check_scalar_field(phi, "upsample");
  torch::Tensor out = phi;
  for (int64_t d = 1; d < phi.dim(); ++d) out = out.repeat_interleave(kBlockFactor, d);
  return out;
}

torch::Tensor block_average(const torch::Tensor& psi) {
  lattice::check_scalar_field(psi, "block_average");
  const int64_t D = psi.dim() - 1;
  std::vector<int64_t> shape{psi.size(0)}, mean_dims;
  for (int64_t d = 1; d <= D; ++d) {
    if (psi.size(d) % kBlockFactor != 0) throw std::invalid_argument("block_average: every extent must be even");
    shape.push_back(psi.size(d) / kBlockFactor);
    shape.push_back(kBlockFactor);
    mean_dims.push_back(2 * d);
  }
  return psi.reshape(shape).mean(mean_dims);
}

torch::Tensor block_zero_sum_part(const torch::Tensor& psi) { return psi - upsample(block_average(psi)); }

double upsample_log_density_term(int64_t coarse_volume, int64_t dims) {
  return -0.5 * double(coarse_volume) * double(dims) * std::log(double(kBlockFactor));
}

}  // namespace blockspin::flows
