// Config readers shared by subcommands: lattice shape, gauge group, device, precision, gauge actions.
#pragma once

#include "apps/config.h"

#include <torch/torch.h>

#include "lattice/gauge_action.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::apps {

/// `key` (default "lattice.shape"): list of D >= 2 positive extents; `even` demands even extents.
std::vector<int64_t> read_shape(Config& cfg, const std::string& key = "lattice.shape", bool even = false);
/// `key` (default "group"): "SU2", "SU3", "SU(4)", ... -> N >= 2.
int64_t read_group(Config& cfg, const std::string& key = "group");
/// "device": "cpu" (default), "cuda" or "cuda:K"; a CUDA device that is not available is a ConfigError.
torch::Device read_device(Config& cfg);
/// "dtype": "float64" (default) or "float32" -> the real dtype (gauge fields use the matching complex dtype).
torch::Dtype read_dtype(Config& cfg);
/// `key` (default "wilson_loops"): list of [m, n] loop extents, default [[1,1],[1,2],[2,2]].
std::vector<std::pair<int64_t, int64_t>> read_wilson_loops(Config& cfg, const std::string& key = "wilson_loops");
/// A gauge action object {name, beta, c1 (rectangle only)}.
lattice::GaugeAction read_gauge_action(Config& action_cfg);

/// A gauge Monte Carlo update read from an `algorithm` block: `name` = "hmc" (trajectory_length, steps, integrator,
/// reunitarise, accept_all_therm) or "heatbath" (or_steps).
struct McAlgorithm {
  std::string name;
  lattice::HmcOptions hmc;
  int64_t accept_all_therm = 0;  ///< the first this-many HMC trajectories skip the Metropolis test
  lattice::HeatbathOptions heatbath;

  /// Update `index` (counted from 0) of every chain of U: one HMC trajectory (delta_H, accepted as returned) or one
  /// heatbath update (delta_H = 0, accepted = true).
  lattice::HmcStep update(const torch::Tensor& U, const lattice::GaugeAction& action, const lattice::MdAction& md,
                          int64_t index, at::Generator& gen) const;
};

/// Reads `alg` (its `name` is required unless `default_name` is given). The heatbath's colouring must fit `shape`
/// for `action`, otherwise a ConfigError names `shape_key`.
McAlgorithm read_mc_algorithm(Config& alg, const std::vector<int64_t>& shape, const lattice::GaugeAction& action,
                              const std::string& shape_key, const std::optional<std::string>& default_name = {});

}  // namespace blockspin::apps
