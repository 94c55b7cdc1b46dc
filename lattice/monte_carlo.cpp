// One gauge Monte Carlo update (see monte_carlo.h).
#include "lattice/monte_carlo.h"

namespace blockspin::lattice {

HmcStep McAlgorithm::update(const torch::Tensor& U, const GaugeAction& action, const MdAction& md, int64_t index,
                            at::Generator& gen) const {
  if (kind == McKind::hmc) return hmc_trajectory(U, md, hmc, gen, /*metropolis=*/index >= accept_all_therm);
  const int64_t n = U.size(0);
  return {heatbath_update(U, action, heatbath, gen), torch::zeros({n}, torch::kDouble),
          torch::ones({n}, torch::TensorOptions().dtype(torch::kBool))};
}

}  // namespace blockspin::lattice
