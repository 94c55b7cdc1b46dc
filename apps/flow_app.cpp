// Super-resolving RG flow runs: config, checkpoints, evaluation (see flow_app.h).
#include "apps/flow_app.h"

#include "apps/gamma_json.h"
#include "apps/h5io.h"
#include "apps/lattice_config.h"
#include "apps/version.h"

#include "flows/coarse_proposals.h"
#include "flows/sampler.h"
#include "lattice/rng.h"
#include "lattice/scalar_observables.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <limits>
#include <sstream>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
namespace F = blockspin::flows;
using nlohmann::json;

/// Config keys that may change at --resume: they change how gradients are computed (memory), logging, or the final
/// evaluation, not the trained state (JSON pointers).
const std::vector<const char*> kResumeFreeKeys{"/flow/adjoint", "/training/log_every", "/training/checkpoint_every",
                                               "/eval"};

L::ScalarHmcOptions read_hmc(Config c, const L::ScalarHmcOptions& fallback) {
  L::ScalarHmcOptions h = fallback;
  h.trajectory_length = c.get<double>("trajectory_length", fallback.trajectory_length, Check::positive());
  h.steps = c.get<int64_t>("steps", fallback.steps, Check::positive());
  const auto integ = c.get<std::string>("integrator", "leapfrog", Check::one_of({"leapfrog", "omelyan"}));
  h.integrator = integ == "omelyan" ? L::Integrator::Omelyan : L::Integrator::Leapfrog;
  return h;
}

/// Γ-method result as JSON, or {"error": why} when the analysis is impossible (e.g. a constant chain).
template <class Fn>
json gamma_or_error(Fn&& fn) {
  try {
    return gamma_json(fn());
  } catch (const std::exception& e) {
    return json{{"error", e.what()}};
  }
}

json deviation(const json& a, const json& b) {
  if (!a.contains("mean") || !b.contains("mean")) return nullptr;
  const double ea = a["error"].get<double>(), eb = b["error"].get<double>();
  const double s = std::sqrt(ea * ea + eb * eb);
  if (!(s > 0)) return nullptr;
  return (a["mean"].get<double>() - b["mean"].get<double>()) / s;
}

/// Observables of a series of configurations' measurements: m [T, chains], second-moment inputs [T, chains, 2].
json observables(const torch::Tensor& m, const torch::Tensor& inputs, int64_t volume, int64_t extent) {
  json j;
  j["abs_m"] = gamma_or_error([&] { return L::gamma_mean(m.abs()); });
  j["chi"] = gamma_or_error([&] { return L::gamma_susceptibility(m, volume); });
  j["binder"] = gamma_or_error([&] { return L::gamma_binder_cumulant(m); });
  j["xi2"] = gamma_or_error([&] { return L::gamma_xi2_second_moment(inputs, extent); });
  return j;
}

}  // namespace

FlowRunSetup read_flow_setup(Config& cfg) {
  FlowRunSetup s;
  auto& t = s.trainer;
  const auto seed = cfg.get<int64_t>("seed", 1, Check::non_negative());
  t.seed = static_cast<uint64_t>(seed);
  t.device = read_device(cfg);
  t.dtype = read_dtype(cfg);

  auto tr = cfg.child("training");
  const auto matching = tr.get<std::string>("matching", "ir", Check::one_of({"ir", "uv"}));
  t.matching = matching == "ir" ? F::Matching::IR : F::Matching::UV;
  const bool ir = t.matching == F::Matching::IR;

  auto a = cfg.child("action");
  const double kappa = a.get<double>("kappa", 0.25);
  const double lambda = a.get<double>("lambda", 0.01, Check::non_negative());
  const double kappa_init = a.get<double>("kappa_init", kappa);
  const double lambda_init = a.get<double>("lambda_init", lambda, Check::non_negative());
  t.learn_kappa = a.get<bool>("learn_kappa", true);
  t.learn_lambda = a.get<bool>("learn_lambda", false);
  // IR: the fine couplings are the target, the coarse ones start at kappa_init; UV the other way round.
  t.kappa_fine = ir ? kappa : kappa_init;
  t.lambda_fine = ir ? lambda : lambda_init;
  t.kappa_coarse = ir ? kappa_init : kappa;
  t.lambda_coarse = ir ? lambda_init : lambda;

  auto f = cfg.child("flow");
  t.coarse_extents = f.get<std::vector<int64_t>>("coarse_shape", {4, 4}, Check::extents(0, true));
  if (t.coarse_extents.size() > 2)
    throw ConfigError(fmt::format("config key 'flow.coarse_shape': D = {}, expected 1 or 2 extents", t.coarse_extents.size()));
  s.levels = f.get<int64_t>("levels", 1, Check::positive() & Check::in_range(1, 8));
  s.kernel_size = f.get<int64_t>("kernel_size", 2, Check::positive());
  s.features = f.get<int64_t>("features", 11, Check::positive());
  s.time_kernels = f.get<int64_t>("time_kernels", 10, Check::positive());
  s.feature_bond = f.get<int64_t>("feature_bond", 20, Check::positive());
  s.time_bond = f.get<int64_t>("time_bond", 20, Check::positive());
  s.tie_symmetry = f.get<bool>("tie_symmetry", true);
  s.mix_init_scale = f.get<double>("mix_init_scale", 1.0, Check::positive());
  s.cnf_steps = f.get<int64_t>("cnf_steps", 10, Check::positive());
  s.adjoint = f.get<bool>("adjoint", false);
  t.init_noise_from_coarse = f.get<bool>("init_noise_from_coarse", true);

  t.batch = tr.get<int64_t>("batch_size", 64, Check::positive());
  s.steps = tr.get<int64_t>("steps", 300, Check::positive());
  t.lr = tr.get<double>("lr", 0.01, Check::positive());
  t.lr_decay = tr.get<double>("lr_decay", 0.997, Check::positive());
  t.beta1 = tr.get<double>("beta1", 0.8, Check::in_range(0, 0.999999));
  t.beta2 = tr.get<double>("beta2", 0.9, Check::in_range(0, 0.999999));
  s.checkpoint_every = tr.get<int64_t>("checkpoint_every", 50, Check::positive());
  auto oc = tr.child("ode_control");
  t.ode_control.tolerance = oc.get<double>("tolerance", t.ode_control.tolerance, Check::non_negative());
  t.ode_control.check_every = oc.get<int64_t>("check_every", t.ode_control.check_every, Check::positive());
  t.ode_control.max_steps = oc.get<int64_t>("max_steps", t.ode_control.max_steps, Check::positive());
  s.log_every = tr.get<int64_t>("log_every", 10, Check::positive());
  auto lg = tr.child("langevin");
  t.langevin_step = lg.get<double>("step_size", 0.01, Check::positive());
  t.langevin_therm = lg.get<int64_t>("therm", 50000, Check::non_negative());
  t.langevin_steps = lg.get<int64_t>("steps", 500, Check::positive());
  auto hm = tr.child("hmc");
  t.hmc = read_hmc(hm, L::ScalarHmcOptions{});
  t.hmc_therm = hm.get<int64_t>("therm", 200, Check::non_negative());
  t.hmc_trajectories = hm.get<int64_t>("trajectories", 1, Check::positive());
  auto bk = tr.child("bank");
  t.bank.size = bk.get<int64_t>("size", 3000, Check::positive());
  t.bank.chains = bk.get<int64_t>("chains", 100, Check::positive());
  if (t.bank.size % t.bank.chains != 0)
    throw ConfigError(fmt::format("config key 'training.bank.size': {} must be a multiple of training.bank.chains = {}",
                                  t.bank.size, t.bank.chains));
  t.bank.therm_trajectories = bk.get<int64_t>("therm", 200, Check::non_negative());
  t.bank.stride = bk.get<int64_t>("stride", 1, Check::positive());
  t.bank.resample_ess = bk.get<double>("resample_ess", 0.85, Check::in_range(0, 1));
  t.bank.hmc = t.hmc;
  auto uv = tr.child("uv");
  s.uv_extensions = uv.get<int64_t>("extensions", 0, Check::non_negative());
  s.uv_retrain_steps = uv.get<int64_t>("retrain_steps", 50, Check::positive());
  s.uv_lr_factor = uv.get<double>("lr_factor", 0.2, Check::positive());
  s.eval_checkpoint = tr.get<std::string>("eval_checkpoint", "best", Check::one_of({"best", "final"}));
  if (ir && s.uv_extensions > 0)
    throw ConfigError("config key 'training.uv.extensions': extensions need training.matching = \"uv\"");

  auto e = cfg.child("eval");
  auto& o = s.eval;
  o.n = e.get<int64_t>("n", 2000, Check::positive());
  o.batch_size = e.get<int64_t>("batch_size", 250, Check::positive());
  auto& co = o.coarse;
  co.chains = e.get<int64_t>("coarse_chains", 50, Check::positive());
  co.therm = e.get<int64_t>("coarse_therm", 200, Check::non_negative());
  if (!e.has("coarse_stride") || e.raw("coarse_stride").is_string()) {
    e.get<std::string>("coarse_stride", "auto", Check::one_of({"auto"}));  // the one string value
    co.stride = 0;
  } else {
    co.stride = e.get<int64_t>("coarse_stride", 0, Check::positive());
  }
  co.pilot = e.get<int64_t>("coarse_pilot", 200, Check::positive());
  co.stride_factor = e.get<double>("coarse_stride_factor", 4.0, Check::positive());
  if (co.stride == 0 && co.pilot < 4)
    throw ConfigError("config key 'eval.coarse_pilot': the automatic stride needs at least 4 pilot trajectories");
  co.hmc = t.hmc;
  o.ode_steps = e.get<int64_t>("ode_steps", 0, Check::non_negative());
  o.n_hmc = e.get<int64_t>("n_hmc", 2000, Check::non_negative());
  o.hmc_chains = e.get<int64_t>("hmc_chains", 8, Check::positive());
  o.hmc_therm = e.get<int64_t>("hmc_therm", 200, Check::non_negative());
  o.hmc = read_hmc(e.child("hmc"), t.hmc);
  o.seed = static_cast<uint64_t>(e.get<int64_t>("seed", seed + 1, Check::non_negative()));
  return s;
}

F::RGFlow make_flow(const FlowRunSetup& s) {
  const auto D = static_cast<int64_t>(s.trainer.coarse_extents.size());
  F::VectorFieldOptions field(D);
  field.kernel_size(s.kernel_size)
      .features(s.features)
      .time_kernels(s.time_kernels)
      .feature_bond(s.feature_bond)
      .time_bond(s.time_bond)
      .tie_symmetry(s.tie_symmetry)
      .mix_init_scale(s.mix_init_scale);
  return F::RGFlow(F::RGFlowOptions(s.levels, F::CNFOptions(field).steps(s.cnf_steps).adjoint(s.adjoint)));
}

int64_t total_flow_steps(const FlowRunSetup& s) { return s.steps + s.uv_extensions * s.uv_retrain_steps; }

int64_t flow_levels_before_step(const FlowRunSetup& s, int64_t done) {
  if (done < s.steps) return s.levels;
  return s.levels + std::min(s.uv_extensions, 1 + (done - s.steps) / s.uv_retrain_steps);
}

void write_flow_checkpoint(const fs::path& path, const F::FlowTrainer& trainer, const json& config,
                           const FlowRunState& state) {
  torch::serialize::OutputArchive archive;
  trainer.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  write_h5_atomic(path, "flow_checkpoint", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_blob(f, "trainer", os.str());
    H5::Group params = f.createGroup("parameters");
    for (const auto& p : trainer.flow->named_parameters(true)) write_tensor(params, p.key(), p.value().detach());
    params.close();
    write_attribute(f, "step", trainer.steps_done);
    write_attribute(f, "levels", trainer.flow->levels());
    write_attribute(f, "kappa", trainer.kappa.item<double>());
    write_attribute(f, "lambda", trainer.lambda.item<double>());
    write_attribute(f, "seconds", state.seconds);
    write_attribute(f, "ess_ema", state.ess_ema);
    write_attribute(f, "best_ess_ema", state.best_ess_ema);
    write_attribute(f, "best_step", state.best_step);
    write_attribute(f, "config", config.dump());
  });
}

namespace {
/// Throws ConfigError naming the changed keys unless all of them are in kResumeFreeKeys (then warns).
void check_resume_config(const json& stored_raw, const json& current, const fs::path& checkpoint) {
  if (stored_raw == current) return;
  // Resolve the stored config with this version's defaults: keys added since the run started compare equal when the
  // current config leaves them at their default.
  json stored = stored_raw;
  try {
    Config c = Config::from_json(stored_raw);
    read_flow_setup(c);
    stored = c.resolved();
  } catch (const std::exception&) {
    // not readable by this version: compare as stored
  }
  if (stored == current) return;
  std::vector<std::string> changed, forbidden;
  for (const auto& op : json::diff(stored, current)) {
    const std::string path = op["path"].get<std::string>();
    const bool free = std::any_of(kResumeFreeKeys.begin(), kResumeFreeKeys.end(), [&](const char* k) {
      const std::string key = k;
      return path == key || path.rfind(key + "/", 0) == 0;
    });
    (free ? changed : forbidden).push_back(path);
  }
  auto dotted = [](std::vector<std::string> ps) {
    std::string out;
    for (auto& p : ps) {
      std::replace(p.begin(), p.end(), '/', '.');
      out += (out.empty() ? "'" : ", '") + p.substr(1) + "'";
    }
    return out;
  };
  if (!forbidden.empty())
    throw ConfigError("the config differs from the one of the run in '" + checkpoint.parent_path().string() + "' at " +
                      dotted(forbidden) +
                      " (resume needs the same config except flow.adjoint, training.log_every, "
                      "training.checkpoint_every and eval.*; use --force to start over)");
  spdlog::warn("resuming with changed {}: the continuation is valid but not bitwise identical to an uninterrupted run",
               dotted(changed));
}
}  // namespace

FlowRunState read_flow_checkpoint(const fs::path& path, F::FlowTrainer& trainer, const json* config) {
  H5::H5File f = open_h5(path, "flow_checkpoint");
  if (config != nullptr) check_resume_config(json::parse(read_string_attribute(f, "config")), *config, path);
  torch::serialize::InputArchive archive;
  std::istringstream is(read_blob(f, "trainer"));
  archive.load_from(is);
  trainer.load(archive);
  FlowRunState st;
  st.seconds = read_double_attribute(f, "seconds");
  st.ess_ema = read_double_attribute(f, "ess_ema");
  st.best_ess_ema = read_double_attribute(f, "best_ess_ema");
  st.best_step = read_int_attribute(f, "best_step");
  return st;
}

FlowEvaluation evaluate_flow(F::FlowTrainer& trainer, const FlowEvalOptions& o, bool keep_fields) {
  torch::NoGradGuard no_grad;
  const auto& opt = trainer.options;
  const auto tensor_opts = torch::TensorOptions().dtype(opt.dtype).device(opt.device);
  const auto coarse_c = trainer.coarse_couplings().detached();
  const auto fine_c = trainer.fine_couplings().detached();
  const auto fine_shape = trainer.fine_extents();
  const int64_t volume = std::accumulate(fine_shape.begin(), fine_shape.end(), int64_t{1}, std::multiplies<>());
  const int64_t extent = fine_shape[0];
  auto gen = L::make_generator(o.seed, opt.device);
  auto cpu_gen = L::make_generator(o.seed + 7919, torch::kCPU);

  // Coarse lattice: exact HMC chains at the coarse couplings (the flow density uses log p_L = −S_L), spaced so that
  // the proposals of one chain are effectively independent (flows/coarse_proposals.h).
  F::CoarseProposals coarse(coarse_c, opt.coarse_extents, o.coarse, gen, tensor_opts);
  if (coarse.automatic())
    spdlog::info("coarse proposals: τ_int of |m| {:.2f} ± {:.2f} trajectories (pilot) -> stride {}",
                 coarse.pilot_tau().tau_int, coarse.pilot_tau().tau_int_error, coarse.stride());
  if (coarse.automatic() && !coarse.pilot_converged())
    spdlog::warn("coarse proposals: the pilot ({} trajectories) was shorter than 50 τ_int or found no window; the "
                 "stride {} may be too small (see coarse_tau_int in metrics.json)",
                 coarse.pilot_tau().n / o.coarse.chains, coarse.stride());
  // The evaluated map: the trained RK4 step count unless eval.ode_steps overrides it (restored on return).
  const int64_t trained_steps = trainer.flow->ode_steps();
  struct RestoreSteps {
    F::RGFlow flow;
    int64_t steps;
    ~RestoreSteps() { flow->set_ode_steps(steps); }
  } restore{trainer.flow, trained_steps};
  if (o.ode_steps > 0) trainer.flow->set_ode_steps(o.ode_steps);
  std::vector<torch::Tensor> pool;  // coarse configurations waiting to be pushed through the flow
  int64_t pooled = 0, drawn = 0;
  std::vector<torch::Tensor> log_q, log_p, m, inputs, fields;
  auto flush = [&](int64_t count) {
    auto batch = torch::cat(pool).slice(0, 0, count);
    auto rest = torch::cat(pool).slice(0, count);
    pool.clear();
    pooled = rest.size(0);
    if (pooled > 0) pool.push_back(rest);
    auto fine = trainer.flow->forward(F::FlowState{batch, -L::scalar_action(batch, coarse_c)}, gen);
    log_q.push_back(fine.log_prob.to(torch::kCPU, torch::kDouble));
    log_p.push_back((-L::scalar_action(fine.phi, fine_c)).to(torch::kCPU, torch::kDouble));
    m.push_back(L::magnetisation(fine.phi).to(torch::kCPU, torch::kDouble));
    inputs.push_back(L::second_moment_inputs(fine.phi).to(torch::kCPU, torch::kDouble));
    if (keep_fields) fields.push_back(fine.phi.to(torch::kCPU, torch::kDouble));
    drawn += count;
  };
  while (drawn < o.n) {
    pool.push_back(coarse.next());
    pooled += o.coarse.chains;
    while (pooled >= std::min(o.batch_size, o.n - drawn) && drawn < o.n) flush(std::min(o.batch_size, o.n - drawn));
  }
  FlowEvaluation r;
  r.log_q = torch::cat(log_q);
  r.log_p = torch::cat(log_p);
  r.log_weights = r.log_p - r.log_q;
  auto mags = torch::cat(m);
  auto sm = torch::cat(inputs);
  if (keep_fields) r.fields = torch::cat(fields);
  if (!torch::isfinite(r.log_weights).all().item<bool>())
    throw std::runtime_error("evaluation: non-finite flow log-densities or actions (a diverged model?)");
  const auto mh = F::metropolis_independence(r.log_q, r.log_p, cpu_gen, mags.abs());
  r.accepted = mh.accepted;
  r.chain = mh.chain;
  auto m_chain = mags.index_select(0, mh.chain).unsqueeze(1);
  auto sm_chain = sm.index_select(0, mh.chain).unsqueeze(1);

  json j;
  j["n"] = o.n;
  j["fine_shape"] = fine_shape;
  j["coarse_shape"] = opt.coarse_extents;
  j["ess"] = mh.ess_per_n;
  j["ode_steps"] = trainer.flow->ode_steps();  // RK4 steps per CNF of the evaluated map
  j["ode_steps_trained"] = trained_steps;
  j["acceptance"] = mh.acceptance;
  j["reverse_kl"] = mh.kl;
  j["tau_int"] = gamma_json(mh.tau);
  j["tau_int"]["observable"] = "|m| along the accepted chain";
  j["kappa_coarse"] = coarse_c.kappa.item<double>();
  j["lambda_coarse"] = coarse_c.lambda.item<double>();
  j["kappa_fine"] = fine_c.kappa.item<double>();
  j["lambda_fine"] = fine_c.lambda.item<double>();
  j["coarse_hmc_acceptance"] = coarse.acceptance();
  j["coarse_stride"] = coarse.stride();
  if (coarse.automatic()) j["coarse_pilot_tau_int"] = gamma_json(coarse.pilot_tau());
  j["coarse_tau_int"] = gamma_or_error([&] { return coarse.round_tau(); });
  j["coarse_tau_int"]["observable"] = "coarse |m| per proposal round (1/2: independent proposals)";
  if (j["coarse_tau_int"].contains("tau_int") &&
      j["coarse_tau_int"]["tau_int"].get<double>() - 2 * j["coarse_tau_int"]["tau_int_error"].get<double>() > 0.5)
    spdlog::warn("coarse proposals are correlated (τ_int {:.2f} per round, stride {}): the flow's error bars are too "
                 "small by up to sqrt(2 τ_int); raise eval.coarse_stride or use \"auto\"",
                 j["coarse_tau_int"]["tau_int"].get<double>(), coarse.stride());
  const json flow_obs = observables(m_chain, sm_chain, volume, extent);

  json hmc_obs;
  if (o.n_hmc > 0) {
    std::vector<int64_t> fshape{o.hmc_chains};
    fshape.insert(fshape.end(), fine_shape.begin(), fine_shape.end());
    auto phi = torch::randn(fshape, gen, tensor_opts);
    for (int64_t i = 0; i < o.hmc_therm; ++i) phi = L::scalar_hmc_trajectory(phi, fine_c, o.hmc, gen).phi;
    const int64_t T = std::max<int64_t>(2, (o.n_hmc + o.hmc_chains - 1) / o.hmc_chains);
    std::vector<torch::Tensor> hm, hs;
    double acc = 0;
    for (int64_t i = 0; i < T; ++i) {
      auto step = L::scalar_hmc_trajectory(phi, fine_c, o.hmc, gen);
      phi = step.phi;
      acc += step.accepted.to(torch::kDouble).mean().item<double>();
      hm.push_back(L::magnetisation(phi).to(torch::kCPU, torch::kDouble));
      hs.push_back(L::second_moment_inputs(phi).to(torch::kCPU, torch::kDouble));
    }
    hmc_obs = observables(torch::stack(hm), torch::stack(hs), volume, extent);
    j["hmc"] = {{"measurements", T * o.hmc_chains}, {"chains", o.hmc_chains}, {"acceptance", acc / static_cast<double>(T)},
                {"trajectory_length", o.hmc.trajectory_length}, {"md_steps", o.hmc.steps}};
  }
  for (const auto& [name, value] : flow_obs.items()) {
    j["observables"][name]["flow"] = value;
    if (o.n_hmc > 0) {
      j["observables"][name]["hmc"] = hmc_obs[name];
      j["observables"][name]["deviation_sigma"] = deviation(value, hmc_obs[name]);
    }
  }
  r.metrics = j;
  return r;
}

}  // namespace blockspin::apps
