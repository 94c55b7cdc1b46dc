// Gauge ensembles on disk (`ensemble.h5`): the layout users and later tools (measure, convert, fp-data) rely on.
//
//   /links       [n_configs, D, x_0..x_{D-1}, N, N] complex, compound {r, i} of doubles (h5py: complex128)
//   /plaquette   [n_configs]   /chain [n_configs]   /trajectory [n_configs] (update index after which it was saved)
//   /history/{plaquette, delta_H, accepted}  [n_updates, n_chains]  per-update observables of every chain
//   root attributes: blockspin_format = "ensemble", blockspin_version, config (resolved JSON), seed
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace blockspin::io {

struct Ensemble {
  torch::Tensor links;                                                 ///< [n, D, x.., N, N] complex128 (CPU)
  torch::Tensor plaquette;                                             ///< [n] double
  torch::Tensor chain;                                                 ///< [n] int64
  torch::Tensor trajectory;                                            ///< [n] int64
  torch::Tensor history_plaquette, history_delta_H, history_accepted;  ///< [n_updates, n_chains]
  nlohmann::json config;  ///< the resolved config of the run that made it (empty for imported files)
  int64_t seed = -1;
};

/// Write an ensemble file atomically.
void write_ensemble(const std::filesystem::path& path, const Ensemble& e);
/// Read an ensemble file (format-checked; history datasets may be absent in imported files -> undefined tensors).
Ensemble read_ensemble(const std::filesystem::path& path);

}  // namespace blockspin::io
