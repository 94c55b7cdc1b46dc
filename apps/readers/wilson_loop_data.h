// Data of the Wilson-loop regression benchmark (PRL 128, 032003): heatbath ensembles at several β and per-site
// Wilson-loop targets, generated with the lattice module's Monte Carlo and stored in DIR/data.h5.
//
// data.h5 (format "wilson_loop_data"): one group per split — "train", "val", "test_<L0>x<L1>..." — each with
//   links [n, D, x.., N, N] (compound {r, i}),  beta [n],  targets [n, n_loops, x..] (float64)
// targets[:, l] = (1/N) Re Tr W(m_l x n_l) at the loop's starting site, averaged over planes and both orientations
// (lattice::wilson_loop_site_field). Root attribute "config" holds the data config the file was made from.
#pragma once

#include "apps/app.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace blockspin::apps {

struct WilsonLoopDataOptions {
  int64_t N = 2;
  std::vector<double> betas;
  std::vector<std::pair<int64_t, int64_t>> loops;
  std::vector<int64_t> train_shape;
  int64_t n_train = 100;  ///< configurations per β in the training split
  int64_t n_val = 10;     ///< configurations per β in the validation split (same shape as training)
  std::vector<std::vector<int64_t>> test_shapes;
  int64_t n_test = 8;    ///< configurations per β and test shape
  int64_t n_therm = 50;  ///< heatbath updates (each with or_steps overrelaxation sweeps) from a hot start
  int64_t or_steps = 1;
  int64_t seed = 1;
  torch::Device device = torch::kCPU;
};

/// One split: configurations, their β and the per-site targets.
struct LoopSet {
  std::string name;       ///< "train", "val", "test_16x16", ...
  torch::Tensor links;    ///< [n, D, x.., N, N] complex128
  torch::Tensor beta;     ///< [n] double
  torch::Tensor targets;  ///< [n, n_loops, x..] double
};

/// "16x16" for {16, 16}.
std::string shape_label(const std::vector<int64_t>& shape);

/// Per-site targets [n, n_loops, x..] of configurations U [n, D, x.., N, N].
torch::Tensor wilson_loop_targets(const torch::Tensor& U, const std::vector<std::pair<int64_t, int64_t>>& loops);

/// Generates train, val and one test split per test shape. Every configuration comes from its own heatbath chain
/// (hot start, n_therm updates), so configurations are independent. `progress(done, total)` is called after each
/// (split, β) block. Deterministic for a given seed and device. Returned tensors are on the CPU.
std::vector<LoopSet> generate_wilson_loop_data(const WilsonLoopDataOptions& options,
                                               const std::function<void(int64_t, int64_t)>& progress = nullptr);

/// Writes the splits atomically to `path` with `config` as the root attribute "config".
void write_wilson_loop_data(const std::filesystem::path& path, const std::vector<LoopSet>& sets,
                            const nlohmann::json& config);
/// Reads data.h5; throws H5Error if the file is not a wilson_loop_data file and std::runtime_error naming the
/// file when its stored config differs from `config` (the data would not match the run).
std::vector<LoopSet> read_wilson_loop_data(const std::filesystem::path& path, const nlohmann::json& config);

}  // namespace blockspin::apps
