// One gauge Monte Carlo update of every chain of a batch: an HMC trajectory or a Cabibbo–Marinari heatbath sweep
// with overrelaxation — the dispatch that `generate` and `fp-data` share.
#pragma once

#include "lattice/gauge_action.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace blockspin::lattice {

enum class McKind { hmc, heatbath };

struct McAlgorithm {
  McKind kind = McKind::hmc;
  HmcOptions hmc;                ///< kind == hmc
  int64_t accept_all_therm = 0;  ///< the first this-many HMC trajectories skip the Metropolis test (thermalisation)
  HeatbathOptions heatbath;      ///< kind == heatbath

  /// "hmc" or "heatbath".
  std::string name() const { return kind == McKind::hmc ? "hmc" : "heatbath"; }

  /// Update `index` (counted from 0) of every chain of U: one HMC trajectory (delta_H, accepted as returned; the
  /// Metropolis test is skipped while index < accept_all_therm) or one heatbath update (delta_H = 0, accepted = true).
  HmcStep update(const torch::Tensor& U, const GaugeAction& action, const MdAction& md, int64_t index,
                 at::Generator& gen) const;
};

}  // namespace blockspin::lattice
