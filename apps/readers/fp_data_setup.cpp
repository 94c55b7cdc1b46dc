// `blockspin fp-data` config and coarse configurations (see fp_data_setup.h).
#include "apps/readers/fp_data_setup.h"

#include "apps/readers/lattice_config.h"
#include "io/ensemble_file.h"
#include "io/fp_data_file.h"
#include "io/gauge_files.h"
#include "io/h5io.h"
#include "support/progress.h"

#include "lattice/blocking.h"
#include "lattice/gauge_field.h"
#include "lattice/instanton.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lattice/smearing.h"
#include "lattice/su_n_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace blockspin::apps {

namespace L = blockspin::lattice;
using nlohmann::json;

namespace {

void check_coarse_extents(const std::vector<int64_t>& shape, const std::string& key) {
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 2)
      throw ConfigError(
          fmt::format("config key '{}': coarse extent {} in direction {} is < 2 (the coarse lattice "
                      "needs extents >= 2; the fine lattice has twice the extents)",
                      key, shape[d], d));
}

/// The first input fixes the coarse shape and group; every later one must agree.
void agree_with_first(size_t i, const std::string& key, const std::string& path, const std::vector<int64_t>& file_shape,
                      int64_t file_N, std::vector<int64_t>& shape, int64_t& N) {
  if (i == 0) {
    shape = file_shape;
    N = file_N;
  } else if (file_shape != shape || file_N != N) {
    throw ConfigError(fmt::format("config key '{}': '{}' holds SU({}) on {}, but inputs[0] holds SU({}) on {}", key,
                                  path, file_N, fmt::join(file_shape, "x"), N, fmt::join(shape, "x")));
  }
}

/// An `{"fp_data": FILE, "betas": [...], "n_configs": n, "instantons": bool}` input: the coarse configurations of an
/// earlier fp-data run, to be minimised again with another fine action (the inception iteration).
FpInputSpec read_fp_data_input(Config& in, size_t i, std::vector<int64_t>& shape, int64_t& N) {
  FpInputSpec s;
  s.fp_data = true;
  s.path = in.require<std::string>("fp_data");
  const std::string key = in.key_path("fp_data");
  s.n_configs = in.get<int64_t>("n_configs", 0, Check::non_negative());
  s.betas = in.get<std::vector<double>>("betas", {}, Check::positive());
  s.instantons = in.get<bool>("instantons", true);
  std::vector<int64_t> dims;
  torch::Tensor beta_wil;
  try {
    H5::H5File f = io::open_h5(s.path, "fp_data");
    dims = io::dataset_shape(f, "coarse_links");
    beta_wil = io::read_tensor(f, "beta_wil");
  } catch (const std::exception& e) {
    throw ConfigError("config key '" + key + "': " + e.what());
  }
  if (dims.size() < 6 || dims[dims.size() - 1] != dims[dims.size() - 2] ||
      static_cast<int64_t>(dims.size()) - 4 != dims[1])
    throw ConfigError(fmt::format("config key '{}': '{}' has coarse_links of shape [{}], expected [n, D, x.., N, N]",
                                  key, s.path, fmt::join(dims, ", ")));
  const std::vector<int64_t> file_shape(dims.begin() + 2, dims.end() - 2);
  check_coarse_extents(file_shape, key);
  agree_with_first(i, key, s.path, file_shape, dims.back(), shape, N);
  for (double b : s.betas)
    if (!(beta_wil == b).any().item<bool>())
      throw ConfigError(
          fmt::format("config key '{}': '{}' has no configurations at β_wil = {}", in.key_path("betas"), s.path, b));
  return s;
}

/// Reads the `inputs` list: file names, optional per-input limits and β (from the ensemble's config).
std::vector<FpInputSpec> read_inputs(Config& cfg, std::vector<int64_t>& shape, int64_t& N) {
  std::vector<FpInputSpec> inputs;
  auto list = cfg.children("inputs");
  if (list.empty()) throw ConfigError("config key 'inputs': expected a non-empty list of {\"ensemble\": FILE}");
  for (size_t i = 0; i < list.size(); ++i) {
    auto& in = list[i];
    if (in.has("fp_data")) {
      if (in.has("ensemble"))
        throw ConfigError(fmt::format("config key '{}': give either 'ensemble' or 'fp_data'", in.key_path("fp_data")));
      inputs.push_back(read_fp_data_input(in, i, shape, N));
      continue;
    }
    FpInputSpec s;
    s.path = in.require<std::string>("ensemble");
    const std::string key = in.key_path("ensemble");
    s.n_configs = in.get<int64_t>("n_configs", 0, Check::non_negative());
    std::vector<int64_t> dims;
    json file_config;
    try {
      if (std::filesystem::is_regular_file(s.path) && detect_gauge_format(s.path) == GaugeFormat::hdf5) {
        H5::H5File f = open_h5(s.path, "ensemble");
        dims = dataset_shape(f, "links");
        if (has_attribute(f, "config")) {
          const auto text = read_string_attribute(f, "config");
          if (!text.empty()) file_config = json::parse(text);
        }
      } else {  // NERSC, ILDG or openQCD files (a file or a directory): read and checked here, β from the config
        dims = read_any_ensemble(s.path).links.sizes().vec();
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
    agree_with_first(i, key, s.path, file_shape, dims.back(), shape, N);
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
        spdlog::warn("{} '{}': generated with the {} action, not Wilson; its β = {} is stored as beta_wil", key, s.path,
                     name, s.beta);
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

FpGenerateSpec read_generate(Config& g, const std::vector<int64_t>& shape) {
  FpGenerateSpec s;
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

}  // namespace

FpDataSetup read_fp_data_setup(Config& cfg) {
  FpDataSetup s;
  const bool has_inputs = cfg.has("inputs"), has_generate = cfg.has("generate");
  if (has_inputs && has_generate)
    throw ConfigError("config keys 'inputs' and 'generate': give one source of coarse configurations, not both");
  if (has_inputs) {
    s.inputs = read_inputs(cfg, s.shape, s.N);
    // The coarse shape and group come from the files; if given in the config they must agree.
    if (cfg.has("lattice.shape")) {
      if (read_shape(cfg) != s.shape)
        throw ConfigError(
            fmt::format("config key 'lattice.shape': the input ensembles are {}", fmt::join(s.shape, "x")));
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
  const auto start = inst.get<std::string>("start", "both", Check::one_of({"both", "unblocked", "fine"}));
  s.instanton_start = start == "both"        ? L::FpStartPolicy::both
                      : start == "unblocked" ? L::FpStartPolicy::unblocked
                                             : L::FpStartPolicy::alternative;
  if (s.instantons && s.shape.size() != 4)
    throw ConfigError(
        fmt::format("config key 'instantons.enabled': BPST instantons need a 4D lattice, got {}D", s.shape.size()));
  if (s.instantons && s.rho.empty())
    throw ConfigError("config key 'instantons.rho': expected a non-empty list of radii");
  if (!has_inputs && !has_generate && !s.instantons)
    throw ConfigError(
        "config key 'inputs': no coarse configurations (give 'inputs', 'generate' or enable 'instantons')");

  auto b = cfg.child("blocking");
  const L::BlockingOptions defaults;
  auto& bo = s.minimiser.blocking;
  // κ: any value > 0 defines an RGT, but κ far above ~100 makes T a hard constraint the minimiser cannot resolve.
  bo.kappa = b.get<double>("kappa", defaults.kappa, Check::positive() & Check::in_range(0, 1000));
  auto sm = b.child("smearing");
  bo.smearing.s_pl = sm.get<double>("s_pl", defaults.smearing.s_pl, Check::in_range(0, 1));
  bo.smearing.s_d = sm.get<double>("s_d", defaults.smearing.s_d, Check::in_range(0, 1));
  bo.smearing.s_hd = sm.get<double>("s_hd", defaults.smearing.s_hd, Check::in_range(0, 1));
  if (const double s0 = L::smearing_s0(bo.smearing, static_cast<int64_t>(s.shape.size())); !(s0 > 0))
    throw ConfigError(
        fmt::format("config key 'blocking.smearing': the weights leave s0 = {:g} for the link itself; it "
                    "must stay positive (lower s_pl, s_d, s_hd)",
                    s0));

  auto f = cfg.child("fine_action");
  std::string fine_model;
  if (f.has("model")) {  // the inception iteration: a trained FP action on the right-hand side
    if (f.has("name")) throw ConfigError("config key 'fine_action.name': give either fine_action.name or .model");
    fine_model = f.require<std::string>("model");
    s.fine_name = "model";
  } else {
    s.fine_name = f.get<std::string>("name", "wilson", Check::one_of(L::GaugeAction::names()));
    if (s.fine_name == "rectangle") s.fine_c1 = f.require<double>("c1");
  }

  s.device = read_device(cfg);
  apply_kernels(cfg);
  s.dtype = read_dtype(cfg);
  if (!fine_model.empty()) {
    auto fine_shape = s.shape;
    for (auto& x : fine_shape) x *= 2;
    s.fine_model = load_learned_action(fine_model, fine_shape, s.N, s.dtype, s.device);
  }
  auto m = cfg.child("minimiser");
  const L::FpMinimiserOptions mdef;
  s.minimiser.grad_tol = m.get<double>("grad_tol", s.dtype == torch::kFloat ? 1e-3 : mdef.grad_tol, Check::positive());
  // Rounding floor of the gradient norm: ~1e-10 in double, ~1e-4 in float (fp_minimise.h).
  const double reachable = s.dtype == torch::kFloat ? 1e-5 : 1e-13;
  if (s.minimiser.grad_tol < reachable)
    throw ConfigError(fmt::format("config key 'minimiser.grad_tol': {:g} is below what {} can reach (>= {:g})",
                                  s.minimiser.grad_tol, s.dtype == torch::kFloat ? "float32" : "float64", reachable));
  s.minimiser.max_iterations = m.get<int64_t>("max_iterations", mdef.max_iterations, Check::non_negative());
  s.minimiser.history = m.get<int64_t>("history", mdef.history, Check::positive());
  s.minimiser.restarts = m.get<int64_t>("restarts", mdef.restarts, Check::non_negative());
  s.minimiser.stall_iterations = m.get<int64_t>("stall_iterations", mdef.stall_iterations, Check::non_negative());
  s.second_start_noise = m.get<double>("second_start_noise", 0.0, Check::in_range(0, 10));
  if (s.second_start_noise > 0 && s.instanton_start == L::FpStartPolicy::alternative &&
      (s.instantons || std::any_of(s.inputs.begin(), s.inputs.end(), [](const FpInputSpec& in) { return in.fp_data; })))
    throw ConfigError(
        "config key 'minimiser.second_start_noise': a second start minimises from both starts, which instanton rows "
        "with instantons.start = 'fine' (the fine start only) cannot; use instantons.start = 'both'");

  s.batch_size = cfg.get<int64_t>("batch_size", 4, Check::positive());
  s.seed = cfg.get<int64_t>("seed", 1, Check::non_negative());
  s.require_converged = cfg.get<bool>("require_converged", true);
  s.store_minimisers = cfg.get<bool>("store_minimisers", false);
  return s;
}

L::ActionFunctional FpDataSetup::fine_action() const {
  if (fine_model) return fine_model->action;
  const auto action = L::GaugeAction::from_name(fine_name, 1.0, fine_c1);
  return [action](const torch::Tensor& U) { return action(U); };
}

std::string FpDataSetup::fine_label() const {
  return fine_model ? fmt::format("learned FP action '{}' ({})", fine_model->source, fine_model->kind) : fine_name;
}

}  // namespace blockspin::apps
