// `blockspin generate`: gauge ensembles by HMC or heatbath, with checkpoints, bitwise-reproducible --resume,
// progress, DIR/ensemble.h5 and DIR/summary.json.
//
// While running, DIR holds checkpoint.h5 (chains, RNG state, history; rewritten atomically at every save) and
// chunks/event_NNNNNN.h5 (the configurations saved at each save event). A kill loses at most the updates since the
// last save; --resume continues from the checkpoint with the same random numbers, so the final ensemble is bitwise
// identical to an uninterrupted run. At the end the chunks are assembled into ensemble.h5 and removed.
#include "apps/command.h"
#include "apps/readers/lattice_config.h"
#include "apps/readers/learned_action.h"
#include "io/ensemble_file.h"
#include "io/gauge_files.h"
#include "io/gamma_json.h"
#include "io/h5io.h"
#include "run/checkpoint.h"
#include "run/chunk_store.h"
#include "run/distributed.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"
#include "support/config.h"
#include "support/format.h"
#include "support/progress.h"
#include "support/version.h"

#include "lattice/gamma_method.h"
#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/monte_carlo.h"
#include "lattice/observables.h"
#include "lattice/rng.h"
#include "lattice/su_n_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

constexpr const char* kCheckpoint = "checkpoint.h5";
constexpr const char* kEnsemble = "ensemble.h5";

struct Setup {
  std::vector<int64_t> shape;
  int64_t N = 3, n_chains = 1, n_therm = 0, n_configs = 1, save_every = 1, seed = 0;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kDouble;
  std::string start;
  torch::Tensor start_links;  ///< start = a file: the last n_chains configurations in it
  L::GaugeAction action = L::GaugeAction::wilson(1.0);
  std::optional<LearnedAction> learned;  ///< action.model: β·A_model instead of `action`
  double learned_beta = 0;
  L::McAlgorithm alg;
  std::string action_label() const {
    return learned ? fmt::format("learned FP action '{}' ({}), β = {}", learned->source, learned->kind, learned_beta)
                   : fmt::format("{} β = {}", action.name(), action.beta());
  }
  /// The molecular-dynamics action: analytic forces for the classical actions, autograd forces of β·A_model (no graph
  /// kept between MD steps).
  L::MdAction md() const {
    if (!learned) return L::md_action(action);
    const auto A = learned->action;
    const double beta = learned_beta;
    return L::md_action([A, beta](const torch::Tensor& U) { return beta * A(U); });
  }
  int64_t updates_per_chain() const { return n_therm + save_every * (n_configs / n_chains); }
  /// Save events written after `update` updates per chain.
  int64_t events_after(int64_t update) const { return update > n_therm ? (update - n_therm) / save_every : 0; }
};

Setup read_setup(Config& cfg) {
  Setup s;
  s.shape = read_shape(cfg);
  s.N = read_group(cfg);
  auto a = cfg.child("action");
  std::string model_path;
  if (a.has("model")) {  // a learned action: action.model + action.beta, HMC only
    if (a.has("name")) throw ConfigError("config key 'action.name': give either action.name or action.model");
    model_path = a.require<std::string>("model");
    s.learned_beta = a.require<double>("beta", Check::positive());
  } else {
    s.action = read_gauge_action(a);
  }
  auto alg = cfg.child("algorithm");
  s.alg = read_mc_algorithm(alg, s.shape, s.action, "lattice.shape");
  if (!model_path.empty() && s.alg.kind != L::McKind::hmc)
    throw ConfigError("config key 'algorithm.name': a learned action (action.model) needs \"hmc\"");
  s.n_chains = cfg.get<int64_t>("n_chains", 1, Check::positive());
  s.n_therm = cfg.get<int64_t>("n_therm", 100, Check::non_negative());
  s.n_configs = cfg.get<int64_t>("n_configs", 100, Check::positive());
  if (s.n_configs % s.n_chains != 0)
    throw ConfigError(
        fmt::format("config key 'n_configs': {} is not a multiple of n_chains = {}", s.n_configs, s.n_chains));
  s.save_every = cfg.get<int64_t>("save_every", 10, Check::positive());
  s.seed = cfg.get<int64_t>("seed", 1, Check::non_negative());
  s.device = read_device(cfg);
  apply_kernels(cfg);
  s.dtype = read_dtype(cfg);
  s.start = cfg.get<std::string>("start", "cold");
  if (s.start != "cold" && s.start != "hot") {  // a file: an ensemble.h5, or a NERSC/ILDG/openQCD file or directory
    if (!fs::exists(s.start))
      throw ConfigError("config key 'start': expected \"cold\", \"hot\" or a gauge file, got '" + s.start +
                        "' (no such file)");
    const auto e = io::read_any_ensemble(s.start);
    std::vector<int64_t> expected{L::batch_size(e.links), static_cast<int64_t>(s.shape.size())};
    expected.insert(expected.end(), s.shape.begin(), s.shape.end());
    expected.insert(expected.end(), {s.N, s.N});
    if (e.links.sizes().vec() != expected)
      throw InputError(fmt::format("start '{}': links of shape [{}], this run needs [n, {}, {}, {}, {}]", s.start,
                                   fmt::join(e.links.sizes(), ", "), s.shape.size(), fmt::join(s.shape, ", "), s.N,
                                   s.N));
    if (e.links.size(0) < s.n_chains)
      throw InputError(fmt::format("start '{}': {} configurations, n_chains = {} needs one per chain", s.start,
                                   e.links.size(0), s.n_chains));
    s.start_links = e.links.narrow(0, e.links.size(0) - s.n_chains, s.n_chains);  // the last ones
  }
  s.alg.accept_all_therm = std::min(s.alg.accept_all_therm, s.n_therm);
  check_memory(cfg, "lattice.shape", s.n_chains, s.shape, s.N, s.dtype);
  if (!model_path.empty()) s.learned = load_learned_action(model_path, s.shape, s.N, s.dtype, s.device);
  return s;
}

/// Everything needed to continue a run exactly.
struct State {
  torch::Tensor U;
  int64_t update = 0;                                       // updates done per chain
  int64_t events = 0;                                       // save events written as chunks
  double seconds = 0;                                       // wall time of earlier runs
  std::vector<torch::Tensor> plaquette, delta_H, accepted;  // per update, each [n_chains]
};

torch::Tensor stack_or_empty(const std::vector<torch::Tensor>& v, int64_t chains) {
  return v.empty() ? torch::zeros({0, chains}, torch::kDouble) : torch::stack(v).to(torch::kDouble);
}

/// Links read back from a checkpoint or chunk: the expected shape, finite, in SU(N) — a damaged file is an
/// InputError naming it, never a silently wrong ensemble.
void validate_links(const torch::Tensor& U, const std::vector<int64_t>& expected, const fs::path& file,
                    torch::Dtype dtype) {
  if (U.sizes().vec() != expected)
    throw InputError(fmt::format("'{}': links of shape [{}], expected [{}]", file.string(), fmt::join(U.sizes(), ", "),
                                 fmt::join(expected, ", ")));
  try {
    L::check_su_n(U, L::default_su_n_tolerance(L::complex_dtype(dtype)));
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("'{}': {} (damaged file?)", file.string(), e.what()));
  }
}

/// Writes the checkpoint: every rank's chains (`U_all`: all chains, gathered on rank 0) and random-number state
/// ("rng_state" of rank 0, "rng_state_rank<r>" of rank r > 0 in a distributed run). Collective.
void save_checkpoint(const RunDirectory& run, const State& st, const torch::Tensor& U_all, const at::Generator& gen) {
  const Communicator& comm = communicator();
  const auto states = comm.gather_cat(L::generator_state(gen).unsqueeze(0), 0, "the random-number states");
  if (!run.writes()) return;
  const auto chains = U_all.size(0);
  write_checkpoint(run, kCheckpoint, "checkpoint", [&](H5::H5File& f) {
    write_tensor(f, "links", U_all);
    write_bytes(f, "rng_state", states[0]);
    for (int64_t r = 1; r < states.size(0); ++r) write_bytes(f, fmt::format("rng_state_rank{}", r), states[r]);
    write_tensor(f, "history_plaquette", stack_or_empty(st.plaquette, chains));
    write_tensor(f, "history_delta_H", stack_or_empty(st.delta_H, chains));
    write_tensor(f, "history_accepted", stack_or_empty(st.accepted, chains));
    write_attribute(f, "update", st.update);
    write_attribute(f, "events", st.events);
    write_attribute(f, "seconds", st.seconds);
  });
}

State load_checkpoint(const RunDirectory& run, const Setup& s, at::Generator& gen, const torch::TensorOptions& o) {
  H5::H5File f = open_checkpoint(run, kCheckpoint, "checkpoint");
  const fs::path file = run / kCheckpoint;
  State st;
  st.update = read_int_attribute(f, "update");
  st.events = read_int_attribute(f, "events");
  if (st.update < 0 || st.update > s.updates_per_chain() || st.events != s.events_after(st.update))
    throw InputError(
        fmt::format("'{}': stored counters (update {}, events {}) do not fit the run ({} updates per "
                    "chain; damaged file?)",
                    file.string(), st.update, st.events, s.updates_per_chain()));
  std::vector<int64_t> shape{s.n_chains, static_cast<int64_t>(s.shape.size())};
  shape.insert(shape.end(), s.shape.begin(), s.shape.end());
  shape.insert(shape.end(), {s.N, s.N});
  st.U = read_tensor(f, "links");
  validate_links(st.U, shape, file, s.dtype);
  const Communicator& comm = communicator();
  if (stored_world_size(f) != comm.world_size())
    throw InputError(
        fmt::format("'{}' was written by a run of {} process(es); generate resumes with the same number "
                    "({} now): every rank continues its own random-number stream",
                    file.string(), stored_world_size(f), comm.world_size()));
  const auto [c0, c1] = comm.shard(s.n_chains);
  st.U = st.U.slice(0, c0, c1).to(o);
  L::set_generator_state(
      gen, read_bytes(f, comm.rank() == 0 ? std::string("rng_state") : fmt::format("rng_state_rank{}", comm.rank())));
  st.seconds = read_double_attribute(f, "seconds");
  auto unpack = [&](const char* name, std::vector<torch::Tensor>& out) {
    auto t = read_tensor(f, name);
    if (t.dim() != 2 || t.size(0) != st.update || t.size(1) != s.n_chains)
      throw InputError(fmt::format("'{}': dataset '{}' has shape [{}], expected [{}, {}]", file.string(), name,
                                   fmt::join(t.sizes(), ", "), st.update, s.n_chains));
    for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t[i]);
  };
  unpack("history_plaquette", st.plaquette);
  unpack("history_delta_H", st.delta_H);
  unpack("history_accepted", st.accepted);
  return st;
}

/// Production part of a per-update history as one series per chain.
std::vector<std::vector<double>> production(const std::vector<torch::Tensor>& h, int64_t from, int64_t chains,
                                            const std::function<double(double)>& f = nullptr) {
  std::vector<std::vector<double>> out(chains);
  for (size_t u = from; u < h.size(); ++u) {
    auto row = h[u].to(torch::kCPU, torch::kDouble);
    for (int64_t c = 0; c < chains; ++c) out[c].push_back(f ? f(row[c].item<double>()) : row[c].item<double>());
  }
  return out;
}

json stats(const std::vector<std::vector<double>>& per_chain) {
  try {
    auto r = L::gamma_method(per_chain);
    auto j = gamma_json(r);
    j["window"] = r.window;
    j["window_found"] = r.window_found;
    return j;
  } catch (const std::exception& e) {
    return json{{"mean", nullptr}, {"error", nullptr}, {"reason", e.what()}};
  }
}

std::string format_stat(const json& p) {
  if (!p["mean"].is_number()) return "n/a (" + p.value("reason", std::string("?")) + ")";
  return fmt::format("{} (τ_int {:.2f} ± {:.2f})", with_error(p["mean"].get<double>(), p["error"].get<double>()),
                     p["tau_int"].get<double>(), p["tau_int_error"].get<double>());
}

void finish(const RunDirectory& run, const ChunkStore& chunks, const Setup& s, const State& st) {
  Ensemble e;
  std::vector<torch::Tensor> links, plaq, chain, traj;
  std::vector<int64_t> shape{s.n_chains, static_cast<int64_t>(s.shape.size())};
  shape.insert(shape.end(), s.shape.begin(), s.shape.end());
  shape.insert(shape.end(), {s.N, s.N});
  for (int64_t ev = 0; ev < st.events; ++ev) {
    H5::H5File f = chunks.open(ev);
    links.push_back(read_tensor(f, "links"));
    validate_links(links.back(), shape, chunks.path(ev), s.dtype);
    plaq.push_back(read_tensor(f, "plaquette"));
    chain.push_back(read_tensor(f, "chain"));
    traj.push_back(read_tensor(f, "trajectory"));
  }
  e.links = torch::cat(links);
  e.plaquette = torch::cat(plaq);
  e.chain = torch::cat(chain);
  e.trajectory = torch::cat(traj);
  e.history_plaquette = stack_or_empty(st.plaquette, s.n_chains);
  e.history_delta_H = stack_or_empty(st.delta_H, s.n_chains);
  e.history_accepted = stack_or_empty(st.accepted, s.n_chains);
  e.config = run.config();
  e.seed = s.seed;
  write_ensemble(run / kEnsemble, e);

  const auto chains = s.n_chains;
  json summary{{"plaquette", stats(production(st.plaquette, s.n_therm, chains))},
               {"acceptance", e.history_accepted.slice(0, s.n_therm).mean().item<double>()},
               {"n_configs", e.links.size(0)},
               {"n_updates_per_chain", st.update},
               {"seconds", st.seconds},
               {"algorithm", s.alg.name()},
               {"tau_int_units", "updates (HMC trajectories or heatbath sweeps)"},
               {"distributed", communicator().describe()},
               {"config", run.config()},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  if (s.alg.kind == L::McKind::hmc) {
    summary["exp_minus_delta_H"] =
        stats(production(st.delta_H, s.n_therm, chains, [](double x) { return std::exp(-x); }));
  }
  write_json_atomic(run / "summary.json", summary);
  run.finish({ChunkStore::kDirectory, kCheckpoint});
  fmt::print("plaquette {}, acceptance {:.3f}, {} configurations\n", format_stat(summary["plaquette"]),
             summary["acceptance"].get<double>(), e.links.size(0));
  fmt::print("results written to {} and {}\n", (run / kEnsemble).string(), (run / "summary.json").string());
}

void run_generate(const CommonOptions& opt) {
  Config cfg = Config::load(opt.config, opt.overrides);
  const Setup s = read_setup(cfg);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const RunDirectory run("generate", {opt.out, opt.force, opt.resume}, cfg.resolved());
  run.refuse_if_complete(kEnsemble, kCheckpoint);

  const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
  // Distributed: rank r runs the chains [c0, c1) with its own random-number stream (seed run::rank_seed(seed, r)): a
  // W-rank ensemble's chains of rank r are those of a one-process run with that seed and c1 - c0 chains.
  const Communicator& comm = communicator();
  if (s.n_chains < comm.world_size())
    throw ConfigError(
        fmt::format("config key 'n_chains': {} chains cannot be shared by {} ranks", s.n_chains, comm.world_size()));
  const auto [c0, c1] = comm.shard(s.n_chains);
  auto gen = L::make_generator(rank_seed(static_cast<uint64_t>(s.seed), comm.rank()), s.device);
  State st;
  const auto started = std::chrono::steady_clock::now();
  if (run.resume_or_start(kCheckpoint, {ChunkStore::kDirectory, kCheckpoint})) {
    st = load_checkpoint(run, s, gen, options);
    spdlog::info("resuming at update {} ({} save events written)", st.update, st.events);
  } else {
    st.U = s.start_links.defined() ? s.start_links.slice(0, c0, c1).to(options)
           : s.start == "hot"      ? L::hot_gauge_field(c1 - c0, s.shape, s.N, gen, options)
                                   : L::cold_gauge_field(c1 - c0, s.shape, s.N, options);
  }
  const ChunkStore chunks(run, "event", "ensemble_chunk");
  if (const int64_t present = chunks.count_present(); present < st.events)
    throw InputError(fmt::format("'{}': {} save events recorded, but only {} chunk files are present in '{}'",
                                 (run / kCheckpoint).string(), st.events, present,
                                 (run / ChunkStore::kDirectory).string()));
  spdlog::info("generate: SU({}) {} on {}, {}, {} chains, {} thermalisation + {} x {} updates per chain", s.N,
               s.alg.name(), fmt::join(s.shape, "x"), s.action_label(), s.n_chains, s.n_therm, s.n_configs / s.n_chains,
               s.save_every);

  const auto md = s.md();
  const int64_t total = s.updates_per_chain();
  Progress progress("generate", s.alg.kind == L::McKind::hmc ? "trajectories" : "sweeps", total, st.update);
  while (st.update < total) {
    auto step = s.alg.update(st.U, s.action, md, st.update, gen);
    st.U = step.U;
    // Every rank's ΔH, acceptance and plaquette (one small message per update): the histories and the NaN stop are
    // the same on every rank.
    const auto local =
        torch::stack({step.delta_H.to(torch::kCPU, torch::kDouble), step.accepted.to(torch::kCPU, torch::kDouble),
                      L::average_plaquette(st.U).to(torch::kCPU, torch::kDouble)});
    const auto all = comm.allgather_cat(local, 1, "the update's ΔH and plaquette");
    const auto dH = all[0];
    // A NaN energy would only be rejected by the Metropolis test, silently: an action or force that is NaN (a learned
    // action outside its range, an overflow in the torch kernels) stops the run instead. ΔH = +inf is a proposal
    // with acceptance probability 0 (rejected, as it should be); -inf would accept anything and stops too.
    if ((torch::isnan(dH) | (dH == -std::numeric_limits<double>::infinity())).any().item<bool>())
      throw NumericalStop(
          fmt::format("non-finite ΔH at update {} ({}: the action or its force is NaN); the last "
                      "checkpoint is kept",
                      st.update + 1, s.action_label()));
    const auto acc = all[1];
    auto plaq = all[2];
    if (!torch::isfinite(plaq).all().item<bool>())
      throw NumericalStop(fmt::format("non-finite plaquette at update {}; the last checkpoint is kept", st.update));
    st.plaquette.push_back(plaq);
    st.delta_H.push_back(dH);
    st.accepted.push_back(acc);
    ++st.update;

    const bool save = st.update > s.n_therm && (st.update - s.n_therm) % s.save_every == 0;
    const bool checkpoint = save || (st.update <= s.n_therm && st.update % s.save_every == 0);
    // Every rank's chains on rank 0, once per update that writes them (the save event's chunk and the checkpoint).
    const auto U_all = checkpoint ? comm.gather_cat(st.U, 0, "the chains") : torch::Tensor();
    if (save) {
      const auto traj = torch::full({s.n_chains}, st.update, torch::kLong);
      chunks.write(st.events, [&](H5::H5File& f) {
        write_tensor(f, "links", U_all);
        write_tensor(f, "plaquette", plaq);
        write_tensor(f, "chain", torch::arange(s.n_chains, torch::kLong));
        write_tensor(f, "trajectory", traj);
      });
      ++st.events;
    }
    if (checkpoint) {
      State snapshot = st;
      snapshot.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      save_checkpoint(run, snapshot, U_all, gen);
    }
    run.crash_point(st.update);
    const auto window = std::min<int64_t>(static_cast<int64_t>(st.accepted.size()), 20);
    double acc_mean = 0;
    for (int64_t i = 0; i < window; ++i) acc_mean += st.accepted[st.accepted.size() - 1 - i].mean().item<double>();
    progress.update(st.update, fmt::format("plaquette {:.6f}, acceptance {:.3f}", plaq.mean().item<double>(),
                                           acc_mean / static_cast<double>(window)));
  }
  st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  comm.barrier("the end of the updates");
  if (run.writes()) finish(run, chunks, s, st);
}

const CommandRegistrar generate_registrar{
    distributed(CommandSpec{"generate",
                            "generate gauge ensembles (HMC or heatbath + overrelaxation) into DIR/ensemble.h5 "
                            "and DIR/summary.json, with checkpoints and --resume",
                            true, run_generate})};

}  // namespace
}  // namespace blockspin::apps
