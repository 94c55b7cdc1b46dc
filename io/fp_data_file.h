// Fixed-point-action data on disk (`fp_data.h5`, written by `blockspin fp-data`): the coarse configurations with
// their metadata and the minimisation results, one row per configuration.
//
//   coarse_links  [n, D, x_B.., N, N] complex (compound {r, i}; h5py: complex128)
//   beta_wil [n], kind [n] (0: Monte Carlo at beta_wil, 1: BPST instanton of radius rho), rho [n] (NaN for Monte
//   Carlo), source [n] (input/β index, -1 for instantons), source_index [n], wilson_action [n] (β = 1)
//   action, fine_action, kernel [n]: A_FP = A[U*] + T[U*, V];  derivatives [n, D, x_B.., N²-1]: D^FP
//   grad_norm [n], iterations [n], converged [n] (0/1)
//   fine_links [n, D, 2 x_B.., N, N] complex: the minimisers U* (optional: fp-data's store_minimisers)
//   root attributes: blockspin_format = "fp_data", config, kind_legend, normalisation
// The same coarse datasets make up the run's coarse.h5 (format "fp_data_coarse"), the same result datasets each
// chunk (format "fp_data_chunk").
#pragma once

#include <H5Cpp.h>
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace blockspin::io {

inline constexpr int64_t kFpKindMonteCarlo = 0;
inline constexpr int64_t kFpKindInstanton = 1;

/// The coarse configurations with their metadata (CPU; links complex128).
struct FpCoarse {
  torch::Tensor links, beta_wil, kind, rho, source, source_index, wilson_action;
  int64_t size() const { return links.size(0); }
};

/// Minimisation results for a range of configurations (CPU).
struct FpResults {
  torch::Tensor action, fine_action, kernel, derivatives, grad_norm, iterations, converged;
  torch::Tensor fine_links;  ///< the minimisers U* (optional; undefined unless stored)
  /// Optional [n, 3] double, where a second start ran (fp-data's minimiser.second_start, instantons): A_FP from the
  /// first start, from the second start (NaN: no second start for that row), and the mean squared difference per
  /// component of D^FP between the two minima. `action` holds the lower converged one.
  torch::Tensor second_start;
};

/// The per-configuration datasets of each part: (name, member); the optional FpResults::fine_links and
/// second_start are not listed.
const std::vector<std::pair<const char*, torch::Tensor FpCoarse::*>>& fp_coarse_fields();
const std::vector<std::pair<const char*, torch::Tensor FpResults::*>>& fp_result_fields();

void write_fp_coarse(H5::Group& g, const FpCoarse& c);
FpCoarse read_fp_coarse(const H5::Group& g);
void write_fp_results(H5::Group& g, const FpResults& r);
/// Reads the result datasets (and fine_links where present, if asked: 2^D N² complex numbers per coarse link;
/// second_start where present); every one must have `count` rows (InputError naming the file otherwise).
FpResults read_fp_results(const H5::Group& g, int64_t count, bool fine_links = false);

/// Row-wise concatenation of several parts.
FpCoarse concat(const std::vector<FpCoarse>& parts);
FpResults concat(const std::vector<FpResults>& parts);

}  // namespace blockspin::io
