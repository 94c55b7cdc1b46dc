// Config readers shared by subcommands: lattice shape, gauge group, device, precision, gauge actions.
#pragma once

#include "apps/app.h"

#include "support/config.h"

#include <torch/torch.h>

#include "lattice/gauge_action.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"
#include "lattice/monte_carlo.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::apps {

/// `key` (default "lattice.shape"): list of D >= 2 positive extents; `even` demands even extents.
std::vector<int64_t> read_shape(Config& cfg, const std::string& key = "lattice.shape", bool even = false);
/// `key` (default "group"): "SU2", "SU3", "SU(4)", ... -> N >= 2.
int64_t read_group(Config& cfg, const std::string& key = "group");
/// "device": "cpu" (default), "cuda" or "cuda:K"; a CUDA device that is not available is a ConfigError. Under
/// torchrun (WORLD_SIZE > 1) "cuda" is cuda:(LOCAL_RANK mod the visible GPUs).
torch::Device read_device(Config& cfg);
/// "kernels": "fused" (default: the fused CPU kernels where they apply) or "torch" (the reference path); sets the
/// process-wide lattice::kernels mode.
void apply_kernels(Config& cfg);
/// "dtype": "float64" (default) or "float32" -> the real dtype (gauge fields use the matching complex dtype).
torch::Dtype read_dtype(Config& cfg);
/// ConfigError naming `key` when `batch` SU(N) gauge fields on `shape` (the links alone, `dtype` precision) need more
/// than half of this machine's memory: says how much was asked for and how much there is.
void check_memory(const Config& cfg, const std::string& key, int64_t batch, const std::vector<int64_t>& shape,
                  int64_t N, torch::Dtype dtype);
/// `key` (default "wilson_loops"): list of [m, n] loop extents, default [[1,1],[1,2],[2,2]].
std::vector<std::pair<int64_t, int64_t>> read_wilson_loops(Config& cfg, const std::string& key = "wilson_loops");
/// A gauge action object {name, beta, c1 (rectangle only)}.
lattice::GaugeAction read_gauge_action(Config& action_cfg);

/// Reads a gauge Monte Carlo `algorithm` block: `name` = "hmc" (trajectory_length, steps, integrator, reunitarise,
/// accept_all_therm) or "heatbath" (or_steps); its `name` is required unless `default_name` is given). The heatbath's
/// colouring must fit `shape` for `action`, otherwise a ConfigError names `shape_key`.
lattice::McAlgorithm read_mc_algorithm(Config& alg, const std::vector<int64_t>& shape,
                                       const lattice::GaugeAction& action, const std::string& shape_key,
                                       const std::optional<std::string>& default_name = {});

}  // namespace blockspin::apps
