// Super-resolving RG flow runs: config, checkpoints, evaluation (see flow_app.h).
#include "apps/readers/flow_run.h"

#include "io/gamma_json.h"
#include "io/h5io.h"
#include "apps/readers/lattice_config.h"
#include "run/distributed.h"
#include "support/atomic_file.h"
#include "support/version.h"

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

L::ScalarHmcOptions read_hmc(Config c, const L::ScalarHmcOptions& fallback) {
  L::ScalarHmcOptions h = fallback;
  h.trajectory_length = c.get<double>("trajectory_length", fallback.trajectory_length, Check::positive());
  h.steps = c.get<int64_t>("steps", fallback.steps, Check::positive());
  h.integrator = L::integrator_from_name(
      c.get<std::string>("integrator", L::integrator_name(fallback.integrator), Check::one_of(L::integrator_names())));
  return h;
}

json deviation(const json& a, const json& b) {
  if (!a.contains("mean") || !b.contains("mean")) return nullptr;
  const double ea = a["error"].get<double>(), eb = b["error"].get<double>();
  const double s = std::sqrt(ea * ea + eb * eb);
  if (!(s > 0)) return nullptr;
  return (a["mean"].get<double>() - b["mean"].get<double>()) / s;
}

json estimate_json(const F::Estimate& e) { return e.value ? gamma_json(*e.value) : json{{"error", e.error}}; }

json observables_json(const F::PhiObservables& o) {
  return {{"abs_m", estimate_json(o.abs_m)},
          {"chi", estimate_json(o.chi)},
          {"binder", estimate_json(o.binder)},
          {"xi2", estimate_json(o.xi2)}};
}

}  // namespace

FlowRunSetup read_flow_setup(Config& cfg) {
  FlowRunSetup s;
  const FlowRunSetup d;  // run-only defaults; the library's are in s.trainer, s.cnf, s.eval as constructed
  auto& t = s.trainer;
  const auto seed = cfg.get<int64_t>("seed", static_cast<int64_t>(t.seed), Check::non_negative());
  t.seed = static_cast<uint64_t>(seed);
  t.device = read_device(cfg);
  t.dtype = read_dtype(cfg);

  auto tr = cfg.child("training");
  const auto matching = tr.get<std::string>("matching", "ir", Check::one_of({"ir", "uv"}));
  t.matching = matching == "ir" ? F::Matching::IR : F::Matching::UV;
  const bool ir = t.matching == F::Matching::IR;

  auto a = cfg.child("action");
  // The target couplings: the fine ones for IR matching, the coarse ones for UV matching.
  const double kappa = a.get<double>("kappa", ir ? t.kappa_fine : t.kappa_coarse);
  const double lambda = a.get<double>("lambda", ir ? t.lambda_fine : t.lambda_coarse, Check::non_negative());
  const double kappa_init = a.get<double>("kappa_init", kappa);
  const double lambda_init = a.get<double>("lambda_init", lambda, Check::non_negative());
  t.learn_kappa = a.get<bool>("learn_kappa", t.learn_kappa);
  t.learn_lambda = a.get<bool>("learn_lambda", t.learn_lambda);
  // IR: the fine couplings are the target, the coarse ones start at kappa_init; UV the other way round.
  t.kappa_fine = ir ? kappa : kappa_init;
  t.lambda_fine = ir ? lambda : lambda_init;
  t.kappa_coarse = ir ? kappa_init : kappa;
  t.lambda_coarse = ir ? lambda_init : lambda;

  auto f = cfg.child("flow");
  t.coarse_extents = f.get<std::vector<int64_t>>("coarse_shape", t.coarse_extents, Check::extents(0, true));
  if (t.coarse_extents.size() > 2)
    throw ConfigError(
        fmt::format("config key 'flow.coarse_shape': D = {}, expected 1 or 2 extents", t.coarse_extents.size()));
  s.levels = f.get<int64_t>("levels", d.levels, Check::positive() & Check::in_range(1, 8));
  auto& v = s.cnf.field();
  v.dims(static_cast<int64_t>(t.coarse_extents.size()));
  const int64_t smallest = *std::min_element(t.coarse_extents.begin(), t.coarse_extents.end());
  // Offsets |δ| <= K − 1 must stay within the coarsest fine lattice (2 × coarse extent), or they wrap onto themselves.
  v.kernel_size(f.get<int64_t>("kernel_size", v.kernel_size(), Check::positive() & Check::in_range(1, smallest)));
  v.features(f.get<int64_t>("features", v.features(), Check::positive()));
  v.time_kernels(f.get<int64_t>("time_kernels", v.time_kernels(), Check::positive()));
  v.feature_bond(f.get<int64_t>("feature_bond", v.feature_bond(), Check::positive()));
  v.time_bond(f.get<int64_t>("time_bond", v.time_bond(), Check::positive()));
  v.tie_symmetry(f.get<bool>("tie_symmetry", v.tie_symmetry()));
  v.mix_init_scale(f.get<double>("mix_init_scale", v.mix_init_scale(), Check::positive()));
  v.fused(f.get<bool>("fused_field", v.fused()));
  s.cnf.steps(f.get<int64_t>("cnf_steps", s.cnf.steps(), Check::positive()));
  s.cnf.adjoint(f.get<bool>("adjoint", s.cnf.adjoint()));
  s.cnf.rule(f.get<std::string>("solver", "rk4", Check::one_of({"rk4", "rk38"})) == "rk38"
                 ? F::RungeKutta::three_eighths
                 : F::RungeKutta::classic);
  t.init_noise_from_coarse = f.get<bool>("init_noise_from_coarse", t.init_noise_from_coarse);
  s.init_from = f.get<std::string>("init_from", "");

  t.batch = tr.get<int64_t>("batch_size", t.batch, Check::positive());
  s.steps = tr.get<int64_t>("steps", d.steps, Check::positive());
  t.lr = tr.get<double>("lr", t.lr, Check::positive());
  t.lr_decay = tr.get<double>("lr_decay", t.lr_decay, Check::positive());
  t.beta1 = tr.get<double>("beta1", t.beta1, Check::in_range(0, 0.999999));
  t.beta2 = tr.get<double>("beta2", t.beta2, Check::in_range(0, 0.999999));
  s.checkpoint_every = tr.get<int64_t>("checkpoint_every", d.checkpoint_every, Check::positive());
  auto oc = tr.child("ode_control");
  t.ode_control.tolerance = oc.get<double>("tolerance", t.ode_control.tolerance, Check::non_negative());
  t.ode_control.check_every = oc.get<int64_t>("check_every", t.ode_control.check_every, Check::positive());
  t.ode_control.max_steps = oc.get<int64_t>("max_steps", t.ode_control.max_steps, Check::positive());
  t.ode_control.predict = oc.get<std::string>("refine", "double", Check::one_of({"double", "h4"})) == "h4";
  t.ode_control.coarsen_below = oc.get<double>("coarsen_below", t.ode_control.coarsen_below, Check::in_range(0, 1));
  s.log_every = tr.get<int64_t>("log_every", d.log_every, Check::positive());
  auto lg = tr.child("langevin");
  t.langevin_step = lg.get<double>("step_size", t.langevin_step, Check::positive());
  t.langevin_therm = lg.get<int64_t>("therm", t.langevin_therm, Check::non_negative());
  t.langevin_steps = lg.get<int64_t>("steps", t.langevin_steps, Check::positive());
  auto hm = tr.child("hmc");
  t.hmc = read_hmc(hm, t.hmc);
  t.hmc_therm = hm.get<int64_t>("therm", t.hmc_therm, Check::non_negative());
  t.hmc_trajectories = hm.get<int64_t>("trajectories", t.hmc_trajectories, Check::positive());
  auto bk = tr.child("bank");
  t.bank.size = bk.get<int64_t>("size", t.bank.size, Check::positive());
  t.bank.chains = bk.get<int64_t>("chains", t.bank.chains, Check::positive());
  if (t.bank.size % t.bank.chains != 0)
    throw ConfigError(fmt::format("config key 'training.bank.size': {} must be a multiple of training.bank.chains = {}",
                                  t.bank.size, t.bank.chains));
  t.bank.therm_trajectories = bk.get<int64_t>("therm", t.bank.therm_trajectories, Check::non_negative());
  t.bank.stride = bk.get<int64_t>("stride", t.bank.stride, Check::positive());
  t.bank.resample_ess = bk.get<double>("resample_ess", t.bank.resample_ess, Check::in_range(0, 1));
  t.bank.hmc = t.hmc;
  // Random streams the batch and the bank are split into (flows/training.h); 0: one per process of this run.
  const int64_t shards = tr.get<int64_t>("shards", 0, Check::non_negative());
  t.shards = shards > 0 ? shards : communicator().world_size();
  if (t.shards > t.batch || t.shards > t.bank.chains)
    throw ConfigError(fmt::format(
        "config key 'training.shards': {} shards need training.batch_size ({}) and training.bank.chains ({}) >= {}",
        t.shards, t.batch, t.bank.chains, t.shards));
  auto uv = tr.child("uv");
  s.uv_extensions = uv.get<int64_t>("extensions", d.uv_extensions, Check::non_negative());
  s.uv_retrain_steps = uv.get<int64_t>("retrain_steps", d.uv_retrain_steps, Check::positive());
  s.uv_lr_factor = uv.get<double>("lr_factor", d.uv_lr_factor, Check::positive());
  s.eval_checkpoint = tr.get<std::string>("eval_checkpoint", d.eval_checkpoint, Check::one_of({"best", "final"}));
  if (ir && s.uv_extensions > 0)
    throw ConfigError("config key 'training.uv.extensions': extensions need training.matching = \"uv\"");

  auto e = cfg.child("eval");
  auto& o = s.eval;
  o.n = e.get<int64_t>("n", o.n, Check::positive());
  o.batch_size = e.get<int64_t>("batch_size", o.batch_size, Check::positive());
  auto& co = o.coarse;
  co.chains = e.get<int64_t>("coarse_chains", co.chains, Check::positive());
  co.therm = e.get<int64_t>("coarse_therm", co.therm, Check::non_negative());
  if (!e.has("coarse_stride") || e.raw("coarse_stride").is_string()) {
    e.get<std::string>("coarse_stride", "auto", Check::one_of({"auto"}));  // the one string value
    co.stride = 0;
  } else {
    co.stride = e.get<int64_t>("coarse_stride", 0, Check::positive());
  }
  co.pilot = e.get<int64_t>("coarse_pilot", co.pilot, Check::positive());
  co.stride_factor = e.get<double>("coarse_stride_factor", co.stride_factor, Check::positive());
  if (co.stride == 0 && co.pilot < 4)
    throw ConfigError("config key 'eval.coarse_pilot': the automatic stride needs at least 4 pilot trajectories");
  co.hmc = t.hmc;
  o.ode_steps = e.get<int64_t>("ode_steps", o.ode_steps, Check::non_negative());
  o.n_hmc = e.get<int64_t>("n_hmc", o.n_hmc, Check::non_negative());
  o.hmc_chains = e.get<int64_t>("hmc_chains", o.hmc_chains, Check::positive());
  o.hmc_therm = e.get<int64_t>("hmc_therm", o.hmc_therm, Check::non_negative());
  o.hmc = read_hmc(e.child("hmc"), t.hmc);
  o.seed = static_cast<uint64_t>(e.get<int64_t>("seed", seed + 1, Check::non_negative()));
  return s;
}

json read_flow_run_config(const fs::path& dir) {
  if (!fs::exists(dir / "config.json") || !fs::exists(dir / "checkpoint.h5"))
    throw InputError("'" + dir.string() + "' is not a train-flow output (needs config.json and checkpoint.h5)");
  try {
    return json::parse(read_file(dir / "config.json"));
  } catch (const json::exception& e) {
    throw InputError("'" + (dir / "config.json").string() + "': " + abbreviate(e.what(), 200));
  }
}

fs::path flow_model_checkpoint(const fs::path& dir, const FlowRunSetup& s) {
  return dir / (s.eval_checkpoint == "best" && fs::exists(dir / "best.h5") ? "best.h5" : "checkpoint.h5");
}

std::unique_ptr<F::FlowTrainer> load_flow_model(const fs::path& dir, const FlowRunSetup& s,
                                                const F::TrainerOptions& options, fs::path* checkpoint) {
  auto trainer = std::make_unique<F::FlowTrainer>(make_flow(s), options);
  const fs::path file = flow_model_checkpoint(dir, s);
  read_flow_checkpoint(file, *trainer, total_flow_steps(s));
  if (checkpoint != nullptr) *checkpoint = file;
  return trainer;
}

std::string warm_start_flow(const FlowRunSetup& s, F::FlowTrainer& trainer) {
  const fs::path src_dir = s.init_from;
  auto refuse = [&](const std::string& why) {
    return ConfigError(fmt::format("config key 'flow.init_from': '{}' {}", src_dir.string(), why));
  };
  FlowRunSetup src;
  try {
    Config c = Config::from_json(read_flow_run_config(src_dir), {}, (src_dir / "config.json").string());
    src = read_flow_setup(c);
  } catch (const InputError& e) {
    throw ConfigError(std::string("config key 'flow.init_from': ") + e.what());
  } catch (const std::exception& e) {
    throw refuse(std::string("has an unreadable config: ") + abbreviate(e.what(), 200));
  }
  if (src.trainer.matching != s.trainer.matching) throw refuse("was trained with the other matching (IR vs UV)");
  F::TrainerOptions so = src.trainer;
  so.shards = 1;  // only the model is read
  so.first_shard = 0;
  so.last_shard = -1;
  fs::path file;
  const auto loaded = load_flow_model(src_dir, src, so, &file);
  const F::FlowTrainer& source = *loaded;
  try {
    F::warm_start_levels(*trainer.flow, *source.flow);
  } catch (const std::invalid_argument& e) {
    throw refuse(std::string("has another architecture: ") + e.what());
  }
  {
    torch::NoGradGuard no_grad;
    trainer.kappa.copy_(source.kappa);
    trainer.lambda.copy_(source.lambda);
  }
  trainer.flow->set_ode_steps(std::max(trainer.flow->ode_steps(), source.flow->ode_steps()));
  trainer.options.init_noise_from_coarse = false;
  return fmt::format("warm start from {} (step {}, {} level(s) -> {}; κ {:.6f}, RK4 steps {})", file.string(),
                     source.steps_done, source.flow->levels(), trainer.flow->levels(), trainer.kappa.item<double>(),
                     trainer.flow->ode_steps());
}

F::RGFlow make_flow(const FlowRunSetup& s) { return F::RGFlow(F::RGFlowOptions(s.levels, s.cnf)); }

int64_t total_flow_steps(const FlowRunSetup& s) { return s.steps + s.uv_extensions * s.uv_retrain_steps; }

int64_t flow_levels_before_step(const FlowRunSetup& s, int64_t done) {
  if (done < s.steps) return s.levels;
  return s.levels + std::min(s.uv_extensions, 1 + (done - s.steps) / s.uv_retrain_steps);
}

void write_flow_checkpoint(const RunDirectory& run, const std::string& name, const F::FlowTrainer& trainer,
                           const FlowRunState& state) {
  torch::serialize::OutputArchive archive;
  trainer.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  write_checkpoint(run, name, "flow_checkpoint", [&](H5::H5File& f) {
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
  });
}

ResumeRules flow_resume_rules() {
  ResumeRules rules;
  // training.shards: the checkpoint's own count is checked when it is loaded (FlowTrainer::load).
  rules.free_keys = {
      "flow.adjoint", "flow.fused_field", "training.log_every", "training.checkpoint_every", "training.shards", "eval"};
  rules.resolve = [](const json& stored) {
    Config c = Config::from_json(stored);
    read_flow_setup(c);
    return c.resolved();
  };
  return rules;
}

namespace {
FlowRunState load_flow_state(const H5::H5File& f, const fs::path& path, F::FlowTrainer& trainer, int64_t max_steps,
                             bool shard_state) {
  try {
    torch::serialize::InputArchive archive;
    std::istringstream is(read_blob(f, "trainer"));
    archive.load_from(is);
    trainer.load(archive, shard_state);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("'{}': the trainer state is damaged or from another model ({})", path.string(),
                                 abbreviate(e.what_without_backtrace(), 160)));
  } catch (const std::invalid_argument& e) {
    throw InputError(
        fmt::format("'{}': {}: resume with as many processes as it was written with, or set "
                    "training.shards to its count",
                    path.string(), e.what()));
  }
  if (trainer.steps_done < 0 || trainer.steps_done > max_steps)
    throw InputError(fmt::format("'{}': stored step {} is outside [0, {}] (damaged file?)", path.string(),
                                 trainer.steps_done, max_steps));
  FlowRunState st;
  st.seconds = read_double_attribute(f, "seconds");
  st.ess_ema = read_double_attribute(f, "ess_ema");
  st.best_ess_ema = read_double_attribute(f, "best_ess_ema");
  st.best_step = read_int_attribute(f, "best_step");
  return st;
}
}  // namespace

FlowRunState read_flow_checkpoint(const fs::path& path, F::FlowTrainer& trainer, int64_t max_steps) {
  return load_flow_state(open_h5(path, "flow_checkpoint"), path, trainer, max_steps, false);
}

FlowRunState resume_flow_checkpoint(const RunDirectory& run, const std::string& name, F::FlowTrainer& trainer,
                                    int64_t max_steps) {
  return load_flow_state(open_checkpoint(run, name, "flow_checkpoint"), run / name, trainer, max_steps, true);
}

std::optional<F::FlowEvaluation> evaluate_flow_sharded(F::FlowTrainer& trainer, const F::FlowEvalOptions& eval,
                                                       bool keep_fields) {
  const Communicator& comm = communicator();
  if (eval.n < comm.world_size())
    throw ConfigError(
        fmt::format("config key 'eval.n': {} proposals cannot be shared by {} ranks", eval.n, comm.world_size()));
  const auto [first, last] = comm.shard(eval.n);
  F::FlowEvalOptions mine = eval;
  mine.n = last - first;
  mine.seed = rank_seed(eval.seed, comm.rank());
  F::FlowProposals p = F::draw_flow_proposals(trainer, mine, keep_fields);
  if (comm.distributed()) {
    p.log_q = comm.gather_cat(p.log_q, 0, "the proposals' log q");
    p.log_p = comm.gather_cat(p.log_p, 0, "the proposals' log p");
    p.m = comm.gather_cat(p.m, 0, "the proposals' magnetisations");
    p.second_moment = comm.gather_cat(p.second_moment, 0, "the proposals' second moments");
    if (keep_fields) p.fields = comm.gather_cat(p.fields, 0, "the proposals");
  }
  if (!comm.is_root()) return std::nullopt;
  return F::evaluate_flow_proposals(trainer, eval, std::move(p));
}

json evaluation_json(const F::FlowEvaluation& r, const F::FlowEvalOptions& o) {
  json j;
  j["n"] = o.n;
  j["fine_shape"] = r.fine_shape;
  j["coarse_shape"] = r.coarse_shape;
  j["ess"] = r.ess;
  j["ode_steps"] = r.ode_steps;  // RK4 steps per CNF of the evaluated map
  j["ode_steps_trained"] = r.ode_steps_trained;
  j["acceptance"] = r.acceptance;
  j["reverse_kl"] = r.reverse_kl;
  j["tau_int"] = gamma_json(r.tau);
  j["tau_int"]["observable"] = "|m| along the accepted chain";
  j["kappa_coarse"] = r.kappa_coarse;
  j["lambda_coarse"] = r.lambda_coarse;
  j["kappa_fine"] = r.kappa_fine;
  j["lambda_fine"] = r.lambda_fine;
  j["coarse_hmc_acceptance"] = r.coarse_hmc_acceptance;
  j["coarse_stride"] = r.coarse_stride;
  if (r.coarse_automatic) j["coarse_pilot_tau_int"] = gamma_json(r.coarse_pilot_tau);
  j["coarse_tau_int"] = estimate_json(r.coarse_round_tau);
  j["coarse_tau_int"]["observable"] = "coarse |m| per proposal round (1/2: independent proposals)";
  const json flow_obs = observables_json(r.flow);
  json hmc_obs;
  if (r.hmc) {
    hmc_obs = observables_json(*r.hmc);
    j["hmc"] = {{"measurements", r.hmc_measurements},
                {"chains", o.hmc_chains},
                {"acceptance", r.hmc_acceptance},
                {"trajectory_length", o.hmc.trajectory_length},
                {"md_steps", o.hmc.steps}};
  }
  for (const auto& [name, value] : flow_obs.items()) {
    j["observables"][name]["flow"] = value;
    if (r.hmc) {
      j["observables"][name]["hmc"] = hmc_obs[name];
      j["observables"][name]["deviation_sigma"] = deviation(value, hmc_obs[name]);
    }
  }
  return j;
}

void log_evaluation_warnings(const F::FlowEvaluation& r, const F::FlowEvalOptions& o) {
  if (r.coarse_automatic)
    spdlog::info("coarse proposals: τ_int of |m| {:.2f} ± {:.2f} trajectories (pilot) -> stride {}",
                 r.coarse_pilot_tau.tau_int, r.coarse_pilot_tau.tau_int_error, r.coarse_stride);
  if (r.coarse_automatic && !r.coarse_pilot_converged)
    spdlog::warn(
        "coarse proposals: the pilot ({} trajectories) was shorter than 50 τ_int or found no window; the "
        "stride {} may be too small (see coarse_tau_int in metrics.json)",
        r.coarse_pilot_tau.n / o.coarse.chains, r.coarse_stride);
  const auto& t = r.coarse_round_tau.value;
  if (t && t->tau_int - 2 * t->tau_int_error > 0.5)
    spdlog::warn(
        "coarse proposals are correlated (τ_int {:.2f} per round, stride {}): the flow's error bars are too "
        "small by up to sqrt(2 τ_int); raise eval.coarse_stride or use \"auto\"",
        t->tau_int, r.coarse_stride);
}

}  // namespace blockspin::apps
