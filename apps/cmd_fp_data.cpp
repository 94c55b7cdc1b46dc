// `blockspin fp-data`: fixed-point-action training data. For coarse configurations V (Wilson-action ensembles at
// β_wil, read from `blockspin generate` files or generated inline, plus optional discretised BPST instantons) it
// solves A_FP[V] = min_U {A[U] + T[U, V]} on the fine lattice (2x the coarse extents) with the batched L-BFGS
// minimiser of lattice/fp_minimise.h and stores A_FP, D^FP and convergence diagnostics in DIR/fp_data.h5, with a
// summary in DIR/summary.json.
//
// Normalisation: every action here is β-free (β = 1, the FP-equation normalisation of blocking.h): the fine action
// is GaugeAction::from_name(name, 1.0), `wilson_action` is the Wilson action of V at β = 1, and the continuum
// instanton action is 4π²/N (multiply by β for the Boltzmann weight).
//
// While running, DIR holds coarse.h5 (all coarse configurations with their metadata and the resolved config, written
// once before the first minimisation) and chunks/batch_NNNNNN.h5 (the results of each minimised batch, written
// atomically). --resume continues after the last complete batch; the minimiser is deterministic and batches are
// fixed by index, so the final fp_data.h5 is bitwise identical to an uninterrupted run. At the end the chunks are
// assembled into fp_data.h5 and removed together with coarse.h5.
#include "apps/command.h"
#include "apps/config.h"
#include "apps/ensemble_file.h"
#include "apps/h5io.h"
#include "apps/lattice_config.h"
#include "apps/output.h"
#include "apps/progress.h"
#include "apps/version.h"

#include "lattice/blocking.h"
#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"
#include "lattice/instanton.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lattice/su_n_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

constexpr int64_t kKindMonteCarlo = 0;
constexpr int64_t kKindInstanton = 1;
constexpr const char* kKindLegend = "0: Wilson-action Monte Carlo configuration at beta_wil, 1: BPST instanton of radius rho";
constexpr const char* kNormalisation =
    "all actions beta-free (beta = 1): action = A_FP[V] = min_U {A[U] + T[U, V]}, wilson_action = Wilson action of V "
    "at beta = 1, instanton continuum action 4 pi^2 / N; multiply by beta for the Boltzmann weight";

struct InputSpec {
  std::string path;
  int64_t n_configs = 0;  // 0: all
  double beta = 0.0;      // from the file's config, or the `beta` key
};

struct GenerateSpec {
  std::vector<double> betas;
  int64_t n_chains = 1, n_configs = 1, n_therm = 0, save_every = 1;
  std::string start;
  McAlgorithm alg;
};

struct Setup {
  std::vector<int64_t> shape;  // coarse extents
  int64_t N = 3;
  std::vector<InputSpec> inputs;
  bool generate = false;
  GenerateSpec gen;
  bool instantons = false;
  std::vector<double> rho;
  int64_t integration_points = 8;
  std::string instanton_start = "both";  ///< "both": unblocked and fine-instanton starts, keep the lower; or one
  std::string fine_name;
  double fine_c1 = 0.0;
  L::FpMinimiserOptions minimiser;
  int64_t batch_size = 4, seed = 1;
  bool require_converged = true;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kDouble;
  L::GaugeAction fine_action() const { return L::GaugeAction::from_name(fine_name, 1.0, fine_c1); }
};

void check_coarse_extents(const std::vector<int64_t>& shape, const std::string& key) {
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 2)
      throw ConfigError(fmt::format("config key '{}': coarse extent {} in direction {} is < 2 (the coarse lattice "
                                    "needs extents >= 2; the fine lattice has twice the extents)",
                                    key, shape[d], d));
}

/// Reads the `inputs` list: file names, optional per-input limits and β (from the ensemble's config).
std::vector<InputSpec> read_inputs(Config& cfg, std::vector<int64_t>& shape, int64_t& N) {
  std::vector<InputSpec> inputs;
  auto list = cfg.children("inputs");
  if (list.empty()) throw ConfigError("config key 'inputs': expected a non-empty list of {\"ensemble\": FILE}");
  for (size_t i = 0; i < list.size(); ++i) {
    auto& in = list[i];
    InputSpec s;
    s.path = in.require<std::string>("ensemble");
    const std::string key = in.key_path("ensemble");
    s.n_configs = in.get<int64_t>("n_configs", 0, Check::non_negative());
    std::vector<int64_t> dims;
    json file_config;
    try {
      H5::H5File f = open_h5(s.path, "ensemble");
      dims = dataset_shape(f, "links");
      if (has_attribute(f, "config")) {
        const auto text = read_string_attribute(f, "config");
        if (!text.empty()) file_config = json::parse(text);
      }
    } catch (const std::exception& e) {
      throw ConfigError("config key '" + key + "': " + e.what());
    }
    if (dims.size() < 6 || dims[dims.size() - 1] != dims[dims.size() - 2])
      throw ConfigError(fmt::format("config key '{}': '{}' has links of shape [{}], expected [n, D, x.., N, N]", key,
                                    s.path, fmt::join(dims, ", ")));
    const std::vector<int64_t> file_shape(dims.begin() + 2, dims.end() - 2);
    if (static_cast<int64_t>(file_shape.size()) != dims[1])
      throw ConfigError(fmt::format("config key '{}': '{}' has links of shape [{}], expected [n, D, x.., N, N]", key,
                                    s.path, fmt::join(dims, ", ")));
    check_coarse_extents(file_shape, key);
    if (i == 0) {
      shape = file_shape;
      N = dims.back();
    } else if (file_shape != shape || dims.back() != N) {
      throw ConfigError(fmt::format("config key '{}': '{}' holds SU({}) on {}, but inputs[0] holds SU({}) on {}", key,
                                    s.path, dims.back(), fmt::join(file_shape, "x"), N, fmt::join(shape, "x")));
    }
    if (s.n_configs > dims[0])
      throw ConfigError(fmt::format("config key '{}': {} configurations requested, '{}' has {}",
                                    in.key_path("n_configs"), s.n_configs, s.path, dims[0]));
    if (s.n_configs == 0) s.n_configs = dims[0];
    // β_wil: from the generating run's config; files without one (e.g. converted NERSC files) need the `beta` key.
    const bool file_has_beta = file_config.contains("action") && file_config["action"].contains("beta") &&
                               file_config["action"]["beta"].is_number();
    if (file_has_beta && !in.has("beta")) {
      s.beta = file_config["action"]["beta"].get<double>();
      const auto name = file_config["action"].value("name", std::string("wilson"));
      if (name != "wilson")
        spdlog::warn("{} '{}': generated with the {} action, not Wilson; its β = {} is stored as beta_wil", key,
                     s.path, name, s.beta);
    } else if (in.has("beta")) {
      s.beta = in.require<double>("beta", Check::positive());
    } else {
      throw ConfigError(fmt::format("config key '{}': '{}' records no action.beta (imported file?): give it as '{}'",
                                    key, s.path, in.key_path("beta")));
    }
    inputs.push_back(s);
  }
  return inputs;
}

GenerateSpec read_generate(Config& g, const std::vector<int64_t>& shape) {
  GenerateSpec s;
  s.betas = g.require<std::vector<double>>("betas", Check::positive());
  if (s.betas.empty()) throw ConfigError("config key 'generate.betas': expected a non-empty list of β_wil values");
  auto alg = g.child("algorithm");
  s.alg = read_mc_algorithm(alg, shape, L::GaugeAction::wilson(1.0), "lattice.shape", "heatbath");
  s.n_chains = g.get<int64_t>("n_chains", 1, Check::positive());
  s.n_configs = g.get<int64_t>("n_configs", 4, Check::positive());
  if (s.n_configs % s.n_chains != 0)
    throw ConfigError(fmt::format("config key 'generate.n_configs': {} is not a multiple of generate.n_chains = {}",
                                  s.n_configs, s.n_chains));
  s.n_therm = g.get<int64_t>("n_therm", 100, Check::non_negative());
  s.save_every = g.get<int64_t>("save_every", 10, Check::positive());
  s.start = g.get<std::string>("start", "cold", Check::one_of({"cold", "hot"}));
  s.alg.accept_all_therm = std::min(s.alg.accept_all_therm, s.n_therm);
  return s;
}

Setup read_setup(Config& cfg) {
  Setup s;
  const bool has_inputs = cfg.has("inputs"), has_generate = cfg.has("generate");
  if (has_inputs && has_generate)
    throw ConfigError("config keys 'inputs' and 'generate': give one source of coarse configurations, not both");
  if (has_inputs) {
    s.inputs = read_inputs(cfg, s.shape, s.N);
    // The coarse shape and group come from the files; if given in the config they must agree.
    if (cfg.has("lattice.shape")) {
      if (read_shape(cfg) != s.shape)
        throw ConfigError(fmt::format("config key 'lattice.shape': the input ensembles are {}", fmt::join(s.shape, "x")));
    } else {
      cfg.get<std::vector<int64_t>>("lattice.shape", s.shape);
    }
    if (cfg.has("group")) {
      if (read_group(cfg) != s.N)
        throw ConfigError(fmt::format("config key 'group': the input ensembles are SU({})", s.N));
    } else {
      cfg.get<std::string>("group", fmt::format("SU{}", s.N));
    }
  } else {
    s.shape = read_shape(cfg);
    check_coarse_extents(s.shape, "lattice.shape");
    s.N = read_group(cfg);
  }
  if (has_generate) {
    auto g = cfg.child("generate");
    s.gen = read_generate(g, s.shape);
    s.generate = true;
  }

  auto inst = cfg.child("instantons");
  s.instantons = inst.get<bool>("enabled", false);
  s.rho = inst.get<std::vector<double>>("rho", {1.0, 1.5, 2.0}, Check::positive());
  s.integration_points = inst.get<int64_t>("integration_points", 8, Check::positive());
  s.instanton_start = inst.get<std::string>("start", "both", Check::one_of({"both", "unblocked", "fine"}));
  if (s.instantons && s.shape.size() != 4)
    throw ConfigError(fmt::format("config key 'instantons.enabled': BPST instantons need a 4D lattice, got {}D",
                                  s.shape.size()));
  if (s.instantons && s.rho.empty()) throw ConfigError("config key 'instantons.rho': expected a non-empty list of radii");
  if (!has_inputs && !has_generate && !s.instantons)
    throw ConfigError("config key 'inputs': no coarse configurations (give 'inputs', 'generate' or enable 'instantons')");

  auto b = cfg.child("blocking");
  const L::BlockingOptions defaults;
  auto& bo = s.minimiser.blocking;
  bo.kappa = b.get<double>("kappa", defaults.kappa, Check::positive());
  auto sm = b.child("smearing");
  bo.smearing.s_pl = sm.get<double>("s_pl", defaults.smearing.s_pl);
  bo.smearing.s_d = sm.get<double>("s_d", defaults.smearing.s_d);
  bo.smearing.s_hd = sm.get<double>("s_hd", defaults.smearing.s_hd);

  auto f = cfg.child("fine_action");
  s.fine_name = f.get<std::string>("name", "wilson", Check::one_of(L::GaugeAction::names()));
  if (s.fine_name == "rectangle") s.fine_c1 = f.require<double>("c1");

  s.device = read_device(cfg);
  s.dtype = read_dtype(cfg);
  auto m = cfg.child("minimiser");
  const L::FpMinimiserOptions mdef;
  s.minimiser.grad_tol = m.get<double>("grad_tol", s.dtype == torch::kFloat ? 1e-3 : mdef.grad_tol, Check::positive());
  s.minimiser.max_iterations = m.get<int64_t>("max_iterations", mdef.max_iterations, Check::non_negative());
  s.minimiser.history = m.get<int64_t>("history", mdef.history, Check::positive());
  s.minimiser.restarts = m.get<int64_t>("restarts", mdef.restarts, Check::non_negative());

  s.batch_size = cfg.get<int64_t>("batch_size", 4, Check::positive());
  s.seed = cfg.get<int64_t>("seed", 1, Check::non_negative());
  s.require_converged = cfg.get<bool>("require_converged", true);
  return s;
}

/// All coarse configurations with their metadata (CPU; links complex128).
struct Coarse {
  torch::Tensor links, beta_wil, kind, rho, source, source_index, wilson_action;
  double generation_seconds = 0;
  int64_t size() const { return links.size(0); }
};

Coarse concat(std::vector<Coarse> parts) {
  Coarse c;
  auto cat = [&](torch::Tensor Coarse::*field) {
    std::vector<torch::Tensor> v;
    for (auto& p : parts) v.push_back(p.*field);
    c.*field = torch::cat(v);
  };
  for (auto field : {&Coarse::links, &Coarse::beta_wil, &Coarse::kind, &Coarse::rho, &Coarse::source,
                     &Coarse::source_index})  // wilson_action: computed after concatenation
    cat(field);
  for (auto& p : parts) c.generation_seconds += p.generation_seconds;
  return c;
}

/// Metadata for `n` configurations of one kind; wilson_action is filled in later.
Coarse make_part(torch::Tensor links, int64_t kind, double beta, torch::Tensor rho, int64_t source) {
  Coarse c;
  const int64_t n = links.size(0);
  c.links = links.to(torch::kCPU, torch::kComplexDouble).contiguous();
  c.beta_wil = torch::full({n}, beta, torch::kDouble);
  c.kind = torch::full({n}, kind, torch::kLong);
  c.rho = rho.defined() ? rho : torch::full({n}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
  c.source = torch::full({n}, source, torch::kLong);
  c.source_index = torch::arange(n, torch::kLong);
  return c;
}

/// Reads the input ensembles, checking every link of every used configuration for SU(N).
std::vector<Coarse> load_inputs(const Setup& s) {
  std::vector<Coarse> parts;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const auto& in = s.inputs[i];
    const auto e = read_ensemble(in.path);
    auto links = e.links.slice(0, 0, in.n_configs);
    for (int64_t k = 0; k < links.size(0); ++k) {
      try {
        L::check_su_n(links.slice(0, k, k + 1));
      } catch (const std::invalid_argument& err) {
        std::string msg = err.what();
        const std::string prefix = "gauge field: link not in SU(" + std::to_string(s.N) + ") at batch 0, ";
        if (msg.rfind(prefix, 0) == 0) msg = "link not in SU(" + std::to_string(s.N) + ") at " + msg.substr(prefix.size());
        throw std::runtime_error(fmt::format("inputs[{}] '{}': configuration {}: {}", i, in.path, k, msg));
      }
    }
    spdlog::info("inputs[{}]: {} configurations from '{}' at β_wil = {}", i, links.size(0), in.path, in.beta);
    parts.push_back(make_part(links, kKindMonteCarlo, in.beta, {}, static_cast<int64_t>(i)));
  }
  return parts;
}

/// Wilson-action ensembles at every β of `generate`, by the lattice module's heatbath or HMC (one generator, seeded
/// once, used for the β values in order).
std::vector<Coarse> generate_configs(const Setup& s) {
  const auto& g = s.gen;
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
  auto gen = L::make_generator(static_cast<uint64_t>(s.seed), s.device);
  const int64_t per_chain = g.n_therm + g.save_every * (g.n_configs / g.n_chains);
  Progress progress("generate", g.alg.name == "hmc" ? "trajectories" : "sweeps",
                    per_chain * static_cast<int64_t>(g.betas.size()));
  std::vector<Coarse> parts;
  for (size_t bi = 0; bi < g.betas.size(); ++bi) {
    const auto started = std::chrono::steady_clock::now();
    const auto action = L::GaugeAction::wilson(g.betas[bi]);
    const auto md = L::md_action(action);
    auto U = g.start == "hot" ? L::hot_gauge_field(g.n_chains, s.shape, s.N, gen, options)
                              : L::cold_gauge_field(g.n_chains, s.shape, s.N, options);
    std::vector<torch::Tensor> saved;
    double acc_sum = 0;
    int64_t acc_n = 0;
    for (int64_t u = 1; u <= per_chain; ++u) {
      auto step = g.alg.update(U, action, md, u - 1, gen);
      U = step.U;
      if (g.alg.name == "hmc" && u > g.n_therm) {
        acc_sum += step.accepted.to(torch::kDouble).mean().item<double>();
        ++acc_n;
      }
      if (u > g.n_therm && (u - g.n_therm) % g.save_every == 0) saved.push_back(U.to(torch::kCPU));
      progress.update(static_cast<int64_t>(bi) * per_chain + u, fmt::format("β_wil = {}", g.betas[bi]));
    }
    // Configurations ordered by save event, chains within an event.
    auto links = torch::cat(saved);
    const auto plaq = L::GaugeAction::wilson(1.0)(links).mean().item<double>();
    spdlog::info("β_wil = {}: {} configurations, mean Wilson action per site (β = 1) {:.6f}{}", g.betas[bi],
                 links.size(0), plaq / static_cast<double>(L::volume(links)),
                 acc_n > 0 ? fmt::format(", HMC acceptance {:.3f}", acc_sum / static_cast<double>(acc_n)) : "");
    parts.push_back(make_part(links, kKindMonteCarlo, g.betas[bi], {}, static_cast<int64_t>(bi)));
    parts.back().generation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  return parts;
}

Coarse make_instantons(const Setup& s) {
  std::vector<torch::Tensor> fields;
  for (double rho : s.rho) {
    L::InstantonOptions o;
    o.rho = rho;
    o.integration_points = s.integration_points;
    fields.push_back(L::bpst_instanton(s.shape, s.N, o, torch::TensorOptions().dtype(torch::kComplexDouble)));
  }
  auto rho = torch::tensor(s.rho, torch::kDouble);
  return make_part(torch::cat(fields), kKindInstanton, std::numeric_limits<double>::quiet_NaN(), rho, -1);
}

/// The discretised fine instanton that V's instanton of radius ρ comes from: radius 2ρ, at the fine lattice's default
/// centre (half a fine spacing from 2c, so no fine link passes through the singular point).
torch::Tensor fine_instanton(const Setup& s, double rho, const torch::TensorOptions& options) {
  std::vector<int64_t> fine_shape = s.shape;
  for (auto& x : fine_shape) x *= 2;
  L::InstantonOptions io;
  io.rho = 2 * rho;
  io.integration_points = s.integration_points;
  return L::bpst_instanton(fine_shape, s.N, io, options);
}

/// Starting configurations for `instantons.start = "fine"`: the fine instanton for instantons, the unblocked V for the
/// rest of the batch; undefined if the batch has no instanton.
torch::Tensor batch_start(const Setup& s, const Coarse& coarse, int64_t first, const torch::Tensor& V) {
  std::vector<torch::Tensor> starts;
  bool any = false;
  for (int64_t k = 0; k < V.size(0); ++k) {
    if (coarse.kind[first + k].item<int64_t>() == kKindInstanton) {
      starts.push_back(fine_instanton(s, coarse.rho[first + k].item<double>(), V.options()));
      any = true;
    } else {
      starts.push_back(L::unblock_start(V.narrow(0, k, 1)));
    }
  }
  return any ? torch::cat(starts) : torch::Tensor();
}

/// A_FP is a global minimum, but L-BFGS from the unblocked start can stop in a higher local minimum for instantons
/// (SU(2), ρ = 1.25 on 6⁴: A_FP/continuum 1.358 from the unblocked start, 1.063 from the fine instanton). With
/// `instantons.start = "both"` each instanton is minimised again from the fine instanton and the lower minimum kept.
void second_instanton_start(const Setup& s, const Coarse& coarse, int64_t first, const torch::Tensor& V,
                            const L::ActionFunctional& fine_fn, const L::FpMinimiserOptions& minimiser, L::FpResult& fp) {
  for (int64_t k = 0; k < V.size(0); ++k) {
    if (coarse.kind[first + k].item<int64_t>() != kKindInstanton) continue;
    const double rho = coarse.rho[first + k].item<double>();
    auto o = minimiser;
    o.initial_guess = fine_instanton(s, rho, V.options());
    auto alt = L::fp_minimise(V.narrow(0, k, 1), fine_fn, o);
    const double a0 = fp.action[k].item<double>(), a1 = alt.action[0].item<double>();
    const bool better = a1 < a0 && alt.converged[0].item<bool>();
    spdlog::info("instanton ρ = {}: A_FP from the unblocked start {:.6f}, from the fine instanton {:.6f} ({} kept)", rho,
                 a0, a1, better ? "fine-instanton start" : "unblocked start");
    if (!better) continue;
    fp.action[k].copy_(alt.action[0]);
    fp.fine_action[k].copy_(alt.fine_action[0]);
    fp.kernel[k].copy_(alt.kernel[0]);
    fp.grad_norm[k].copy_(alt.grad_norm[0]);
    fp.derivative[k].copy_(alt.derivative[0]);
    fp.U[k].copy_(alt.U[0]);
    fp.converged[k].copy_(alt.converged[0]);
    fp.iterations[k].add_(alt.iterations[0]);  // the work of both starts
  }
}

const char* kCoarseFile = "coarse.h5";

/// The per-configuration coarse datasets (name, field), shared by coarse.h5 and fp_data.h5.
const std::vector<std::pair<const char*, torch::Tensor Coarse::*>>& coarse_fields() {
  static const std::vector<std::pair<const char*, torch::Tensor Coarse::*>> f{
      {"coarse_links", &Coarse::links}, {"beta_wil", &Coarse::beta_wil},         {"kind", &Coarse::kind},
      {"rho", &Coarse::rho},            {"source", &Coarse::source},             {"source_index", &Coarse::source_index},
      {"wilson_action", &Coarse::wilson_action}};
  return f;
}

void write_coarse_datasets(H5::Group& f, const Coarse& c) {
  for (const auto& [name, field] : coarse_fields()) write_tensor(f, name, c.*field);
}

void write_coarse(const fs::path& path, const Coarse& c, const json& config) {
  write_h5_atomic(path, "fp_data_coarse", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_coarse_datasets(f, c);
    write_attribute(f, "generation_seconds", c.generation_seconds);
    write_attribute(f, "config", config.dump());
  });
}

Coarse read_coarse(const fs::path& path, const json& config) {
  H5::H5File f = open_h5(path, "fp_data_coarse");
  if (json::parse(read_string_attribute(f, "config")) != config)
    throw ConfigError("the config differs from the one of the run in '" + path.parent_path().string() +
                      "' (resume needs the same config; use --force to start over)");
  Coarse c;
  for (const auto& [name, field] : coarse_fields()) c.*field = read_tensor(f, name);
  c.generation_seconds = read_double_attribute(f, "generation_seconds");
  return c;
}

/// Results of the minimisation for a range of configurations (CPU).
struct Results {
  torch::Tensor action, fine_action, kernel, derivatives, grad_norm, iterations, converged;
  double seconds = 0;
};

const std::vector<std::pair<const char*, torch::Tensor Results::*>>& result_fields() {
  static const std::vector<std::pair<const char*, torch::Tensor Results::*>> f{
      {"action", &Results::action},         {"fine_action", &Results::fine_action},
      {"kernel", &Results::kernel},         {"derivatives", &Results::derivatives},
      {"grad_norm", &Results::grad_norm},   {"iterations", &Results::iterations},
      {"converged", &Results::converged}};
  return f;
}

fs::path chunk_path(const fs::path& dir, int64_t batch) {
  return dir / "chunks" / fmt::format("batch_{:06d}.h5", batch);
}

void write_chunk(const fs::path& path, const Results& r, int64_t first) {
  write_h5_atomic(path, "fp_data_chunk", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    for (const auto& [name, field] : result_fields()) write_tensor(f, name, r.*field);
    write_attribute(f, "first", first);
    write_attribute(f, "seconds", r.seconds);
  });
}

Results read_chunk(const fs::path& path, int64_t first, int64_t count) {
  H5::H5File f = open_h5(path, "fp_data_chunk");
  if (read_int_attribute(f, "first") != first)
    throw H5Error(fmt::format("'{}': starts at configuration {}, expected {}", path.string(),
                              read_int_attribute(f, "first"), first));
  Results r;
  for (const auto& [name, field] : result_fields()) r.*field = read_tensor(f, name);
  if (r.action.size(0) != count)
    throw H5Error(fmt::format("'{}': {} configurations, expected {}", path.string(), r.action.size(0), count));
  r.seconds = read_double_attribute(f, "seconds");
  return r;
}

void finish(const fs::path& dir, const Setup& s, const Coarse& c, const std::vector<Results>& chunks,
            const json& config) {
  Results r;
  for (const auto& [name, field] : result_fields()) {
    std::vector<torch::Tensor> v;
    for (const auto& ch : chunks) v.push_back(ch.*field);
    r.*field = torch::cat(v);
  }
  for (const auto& ch : chunks) r.seconds += ch.seconds;
  const int64_t n = c.size();

  write_h5_atomic(dir / "fp_data.h5", "fp_data", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_coarse_datasets(f, c);
    for (const auto& [name, field] : result_fields()) write_tensor(f, name, r.*field);
    write_attribute(f, "config", config.dump());
    write_attribute(f, "kind_legend", kKindLegend);
    write_attribute(f, "normalisation", kNormalisation);
  });

  // Summary.
  const double volume = static_cast<double>(L::volume(c.links));
  const auto conv = r.converged.to(torch::kBool);
  const int64_t n_conv = conv.sum().item<int64_t>();
  json failed = json::array();
  for (int64_t i = 0; i < n; ++i)
    if (!conv[i].item<bool>())
      failed.push_back({{"index", i},
                        {"kind", c.kind[i].item<int64_t>() == kKindInstanton ? "instanton" : "monte_carlo"},
                        {"grad_norm", r.grad_norm[i].item<double>()},
                        {"iterations", r.iterations[i].item<int64_t>()}});
  json per_beta = json::array();
  std::vector<double> betas;
  for (int64_t i = 0; i < n; ++i)
    if (c.kind[i].item<int64_t>() == kKindMonteCarlo) {
      const double b = c.beta_wil[i].item<double>();
      if (std::find(betas.begin(), betas.end(), b) == betas.end()) betas.push_back(b);
    }
  auto mean_err = [](const torch::Tensor& x) {
    const double m = x.mean().item<double>();
    const double e = x.size(0) > 1 ? x.std().item<double>() / std::sqrt(static_cast<double>(x.size(0))) : 0.0;
    return std::make_pair(m, e);
  };
  for (double b : betas) {
    auto mask = (c.kind == kKindMonteCarlo) & (c.beta_wil == b);
    auto [a, ae] = mean_err(r.action.index({mask}) / volume);
    auto [w, we] = mean_err(c.wilson_action.index({mask}) / volume);
    per_beta.push_back({{"beta_wil", b},
                        {"n", mask.sum().item<int64_t>()},
                        {"n_converged", (mask & conv).sum().item<int64_t>()},
                        {"action_per_site", a},
                        {"action_per_site_error", ae},
                        {"wilson_action_per_site", w},
                        {"wilson_action_per_site_error", we},
                        {"mean_iterations", r.iterations.index({mask}).to(torch::kDouble).mean().item<double>()}});
  }
  const double continuum = L::bpst_continuum_action(1.0, s.N);
  json instantons = json::array();
  for (int64_t i = 0; i < n; ++i)
    if (c.kind[i].item<int64_t>() == kKindInstanton) {
      const double a = r.action[i].item<double>(), w = c.wilson_action[i].item<double>();
      instantons.push_back({{"rho", c.rho[i].item<double>()},
                            {"action", a},
                            {"wilson_action", w},
                            {"continuum_action", continuum},
                            {"action_over_continuum", a / continuum},
                            {"wilson_over_continuum", w / continuum},
                            {"converged", conv[i].item<bool>()},
                            {"grad_norm", r.grad_norm[i].item<double>()}});
    }
  json summary{{"n_configs", n},
               {"n_converged", n_conv},
               {"failed", failed},
               {"mean_iterations", r.iterations.to(torch::kDouble).mean().item<double>()},
               {"max_grad_norm", r.grad_norm.max().item<double>()},
               {"grad_tol", s.minimiser.grad_tol},
               {"seconds_minimisation", r.seconds},
               {"seconds_per_configuration", r.seconds / static_cast<double>(n)},
               {"seconds_generation", c.generation_seconds},
               {"coarse_shape", s.shape},
               {"fine_shape", [&] {
                  auto f = s.shape;
                  for (auto& x : f) x *= 2;
                  return f;
                }()},
               {"coarse_volume", volume},
               {"normalisation", kNormalisation},
               {"per_beta", per_beta},
               {"instantons", instantons},
               {"config", config},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  write_json_atomic(dir / "summary.json", summary);
  fs::remove_all(dir / "chunks");
  fs::remove(dir / kCoarseFile);

  fmt::print("{} configurations, {} converged, mean {:.1f} iterations, {:.3g} s per configuration\n", n, n_conv,
             summary["mean_iterations"].get<double>(), summary["seconds_per_configuration"].get<double>());
  if (!per_beta.empty()) fmt::print("{:>8} {:>4} {:>16} {:>16}\n", "beta_wil", "n", "A_FP/site", "A_W/site");
  for (const auto& p : per_beta)
    fmt::print("{:>8.3g} {:>4} {:>16.6f} {:>16.6f}\n", p["beta_wil"].get<double>(), p["n"].get<int64_t>(),
               p["action_per_site"].get<double>(), p["wilson_action_per_site"].get<double>());
  if (!instantons.empty())
    fmt::print("{:>6} {:>12} {:>12} {:>12}   (beta-free; continuum 4π²/N)\n", "rho", "A_FP", "A_Wilson",
               "continuum");
  for (const auto& p : instantons)
    fmt::print("{:>6.3g} {:>12.6f} {:>12.6f} {:>12.6f}{}\n", p["rho"].get<double>(), p["action"].get<double>(),
               p["wilson_action"].get<double>(), continuum, p["converged"].get<bool>() ? "" : "  (not converged)");
  fmt::print("results written to {} and {}\n", (dir / "fp_data.h5").string(), (dir / "summary.json").string());
  if (n_conv < n && s.require_converged)
    throw std::runtime_error(fmt::format(
        "{} of {} configurations did not converge (gradient norm > grad_tol = {:g}); they are stored with "
        "converged = false (set require_converged = false to accept this)",
        n - n_conv, n, s.minimiser.grad_tol));
}

void run_fp_data(const CommonOptions& opt) {
  Config cfg = Config::load(opt.config, opt.overrides);
  const Setup s = read_setup(cfg);
  cfg.check_unused();
  const json config = cfg.resolved();
  const fs::path dir = opt.out;
  if (opt.resume && fs::exists(dir / "fp_data.h5") && !fs::exists(dir / kCoarseFile))
    throw OutputError("the run in '" + dir.string() + "' is already complete (fp_data.h5 exists)");
  const bool resuming = opt.resume && fs::exists(dir / kCoarseFile);

  // Input ensembles are read and checked before anything is written.
  std::vector<Coarse> parts;
  if (!resuming && !s.inputs.empty()) parts = load_inputs(s);
  prepare_output_dir(dir, opt.force, opt.resume);

  Coarse coarse;
  if (resuming) {
    coarse = read_coarse(dir / kCoarseFile, config);
    spdlog::info("resuming: {} coarse configurations in {}", coarse.size(), (dir / kCoarseFile).string());
  } else {
    if (opt.resume) spdlog::info("no {} in '{}': starting from the beginning", kCoarseFile, dir.string());
    fs::remove_all(dir / "chunks");
    fs::remove(dir / kCoarseFile);
    fs::remove(dir / "fp_data.h5");
    if (s.generate) {
      auto g = generate_configs(s);
      parts.insert(parts.end(), g.begin(), g.end());
    }
    if (s.instantons) parts.push_back(make_instantons(s));
    coarse = concat(parts);
    coarse.wilson_action = L::GaugeAction::wilson(1.0)(coarse.links).to(torch::kDouble);
    write_coarse(dir / kCoarseFile, coarse, config);
  }
  fs::create_directories(dir / "chunks");

  const int64_t n = coarse.size();
  const int64_t n_batches = (n + s.batch_size - 1) / s.batch_size;
  std::vector<Results> chunks;
  for (int64_t b = 0; b < n_batches && fs::exists(chunk_path(dir, b)); ++b) {
    const int64_t first = b * s.batch_size;
    chunks.push_back(read_chunk(chunk_path(dir, b), first, std::min(s.batch_size, n - first)));
  }
  if (!chunks.empty()) spdlog::info("resuming after batch {} of {}", chunks.size(), n_batches);

  const auto fine = s.fine_action();
  const L::ActionFunctional fine_fn = [fine](const torch::Tensor& U) { return fine(U); };
  const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
  auto fine_shape = s.shape;
  for (auto& x : fine_shape) x *= 2;
  spdlog::info("fp-data: SU({}) coarse {} -> fine {}, fine action {} (β-free), κ = {}, {} configurations in {} "
               "batches of <= {}, grad_tol {:g}",
               s.N, fmt::join(s.shape, "x"), fmt::join(fine_shape, "x"), s.fine_name, s.minimiser.blocking.kappa, n,
               n_batches, s.batch_size, s.minimiser.grad_tol);

  // Test hook: BLOCKSPIN_TEST_CRASH_AFTER=K makes the process die abruptly after batch K is written.
  const char* crash_env = std::getenv("BLOCKSPIN_TEST_CRASH_AFTER");
  const int64_t crash_after = crash_env != nullptr ? std::atoll(crash_env) : -1;
  Progress progress("fp-data", "configurations", n, std::min(n, static_cast<int64_t>(chunks.size()) * s.batch_size));
  int64_t n_conv_so_far = 0;
  for (const auto& ch : chunks) n_conv_so_far += ch.converged.sum().item<int64_t>();
  for (int64_t b = static_cast<int64_t>(chunks.size()); b < n_batches; ++b) {
    const int64_t first = b * s.batch_size, count = std::min(s.batch_size, n - first);
    const auto started = std::chrono::steady_clock::now();
    const auto V = coarse.links.slice(0, first, first + count).to(options);
    // Inside a batch: a log line at most every 30 s (iteration, largest gradient norm still iterating, converged).
    auto minimiser = s.minimiser;
    auto last_report = started;
    minimiser.on_iteration = [&](const L::FpProgress& p) {
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_report).count() < 30.0) return;
      last_report = now;
      spdlog::info("fp-data: batch {}/{}: L-BFGS iteration {}, max gradient norm {:.3e} (tol {:g}), converged {}/{}, "
                   "{:.0f} s",
                   b + 1, n_batches, p.iteration, p.max_grad_norm, s.minimiser.grad_tol, p.n_converged, p.batch,
                   std::chrono::duration<double>(now - started).count());
    };
    if (s.instantons && s.instanton_start == "fine") minimiser.initial_guess = batch_start(s, coarse, first, V);
    auto fp = L::fp_minimise(V, fine_fn, minimiser);
    if (s.instantons && s.instanton_start == "both") second_instanton_start(s, coarse, first, V, fine_fn, minimiser, fp);
    Results r;
    r.action = fp.action.to(torch::kCPU, torch::kDouble);
    r.fine_action = fp.fine_action.to(torch::kCPU, torch::kDouble);
    r.kernel = fp.kernel.to(torch::kCPU, torch::kDouble);
    r.derivatives = fp.derivative.to(torch::kCPU, torch::kDouble);
    r.grad_norm = fp.grad_norm.to(torch::kCPU, torch::kDouble);
    r.iterations = fp.iterations.to(torch::kCPU, torch::kLong);
    r.converged = fp.converged.to(torch::kCPU, torch::kLong);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (int64_t k = 0; k < count; ++k)
      if (r.converged[k].item<int64_t>() == 0)
        spdlog::warn("configuration {} ({}) did not converge: gradient norm {:.3e} > grad_tol {:g} after {} "
                     "iterations; stored with converged = false",
                     first + k,
                     coarse.kind[first + k].item<int64_t>() == kKindInstanton
                         ? fmt::format("instanton ρ = {}", coarse.rho[first + k].item<double>())
                         : fmt::format("β_wil = {}", coarse.beta_wil[first + k].item<double>()),
                     r.grad_norm[k].item<double>(), s.minimiser.grad_tol, r.iterations[k].item<int64_t>());
    write_chunk(chunk_path(dir, b), r, first);
    n_conv_so_far += r.converged.sum().item<int64_t>();
    chunks.push_back(r);
    if (b + 1 == crash_after) std::_Exit(86);
    progress.update(first + count,
                    fmt::format("converged {}/{}, last batch {:.0f} iterations (max), A_FP/site {:.5f}",
                                n_conv_so_far, first + count, r.iterations.max().item<double>(),
                                r.action.mean().item<double>() / static_cast<double>(L::volume(V))));
  }
  finish(dir, s, coarse, chunks, config);
}

const CommandRegistrar registrar{
    {"fp-data",
     "fixed-point-action data: A_FP[V] and its derivatives D^FP by minimisation over the 2x finer lattice, for "
     "Wilson ensembles (inputs or inline generation) and BPST instantons; DIR/fp_data.h5 and DIR/summary.json, "
     "with checkpoints and --resume",
     true, run_fp_data}};

}  // namespace
}  // namespace blockspin::apps
