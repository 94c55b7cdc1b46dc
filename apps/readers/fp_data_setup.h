// `blockspin fp-data` config: the keys (inputs | generate, instantons, blocking, fine_action, minimiser, batch_size,
// seed, require_converged, device, dtype) read into library options, and the coarse configurations they describe
// (input ensembles checked for SU(N), inline Wilson-action Monte Carlo, BPST instantons).
#pragma once

#include "apps/app.h"
#include "apps/readers/learned_action.h"
#include "support/config.h"
#include "io/fp_data_file.h"

#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/monte_carlo.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blockspin::apps {

struct FpInputSpec {
  std::string path;
  int64_t n_configs = 0;  // 0: all (fp_data inputs: per β_wil)
  double beta = 0.0;      // ensemble inputs: from the file's config, or the `beta` key
  /// An fp_data.h5 of an earlier run (`{"fp_data": FILE}`): its converged coarse configurations are minimised again,
  /// keeping their β_wil, kind and ρ, with source_index = the row in FILE (the inception iteration).
  bool fp_data = false;
  std::vector<double> betas;  // fp_data inputs: the β_wil values taken (empty: all)
  bool instantons = true;     // fp_data inputs: its instanton rows too
};

struct FpGenerateSpec {
  std::vector<double> betas;
  int64_t n_chains = 1, n_configs = 1, n_therm = 0, save_every = 1;
  std::string start;
  lattice::McAlgorithm alg;
};

struct FpDataSetup {
  std::vector<int64_t> shape;  // coarse extents
  int64_t N = 3;
  std::vector<FpInputSpec> inputs;
  bool generate = false;
  FpGenerateSpec gen;
  bool instantons = false;
  std::vector<double> rho;
  int64_t integration_points = 8;
  lattice::FpStartPolicy instanton_start = lattice::FpStartPolicy::both;  ///< instantons.start (see fp_minimise.h)
  std::string fine_name;
  double fine_c1 = 0.0;
  lattice::FpMinimiserOptions minimiser;
  /// minimiser.second_start_noise ε > 0: Monte Carlo rows are minimised from a second start too, the unblocked start
  /// with every fine link multiplied by exp(i ε η_a t^a) (η_a ~ N(0, 1), a stream per row), keeping the lower
  /// converged minimum: a probe for local minima (fp_minimise.h). 0: off.
  double second_start_noise = 0.0;
  int64_t batch_size = 4, seed = 1;
  bool require_converged = true;
  bool store_minimisers = false;  ///< fine_links: the minimisers U* in fp_data.h5
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kDouble;
  /// fine_action.model: a trained FP action on the right-hand side (the inception iteration), instead of fine_name.
  std::optional<LearnedAction> fine_model;
  /// The fine action A[U] (β-free) of the minimisation.
  lattice::ActionFunctional fine_action() const;
  /// "wilson", "learned FP action 'models/...'", for messages.
  std::string fine_label() const;
};

/// Reads every key of an fp-data config (input files are opened to read their shape, group and β).
FpDataSetup read_fp_data_setup(Config& cfg);

/// The configurations of the input ensembles, every link of every used configuration checked for SU(N) (InputError
/// naming the file and configuration).
std::vector<io::FpCoarse> load_fp_inputs(const FpDataSetup& s);

/// All coarse configurations: the loaded inputs, then inline generation and instantons, with wilson_action filled
/// in; `generation_seconds` receives the Monte Carlo time.
io::FpCoarse make_coarse_configurations(const FpDataSetup& s, std::vector<io::FpCoarse> inputs,
                                        double& generation_seconds);

/// The discretised fine instanton that V's instanton of radius ρ comes from: radius 2ρ, at the fine lattice's default
/// centre (half a fine spacing from 2c, so no fine link passes through the singular point).
torch::Tensor fine_instanton(const FpDataSetup& s, double rho, const torch::TensorOptions& options);

/// "instanton ρ = …" or "β_wil = …" for configuration i, for messages.
std::string describe(const io::FpCoarse& c, int64_t i);

/// The minimiser options for batch b (configurations first.. of V): instanton starts as instantons.start says, and a
/// progress line at most every 30 s.
lattice::FpMinimiserOptions batch_minimiser_options(const FpDataSetup& s, const io::FpCoarse& coarse, int64_t first,
                                                    const torch::Tensor& V, int64_t b, int64_t n_batches,
                                                    std::chrono::steady_clock::time_point started);

}  // namespace blockspin::apps
