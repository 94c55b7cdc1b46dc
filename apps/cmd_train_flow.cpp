// `blockspin train-flow`: trains a super-resolving RG flow for φ⁴ (coarse L -> fine L·2^levels; IR matching with
// learnable coarse couplings or UV matching with learnable fine couplings and optional iterated extension), with
// atomic checkpoints, bitwise-reproducible --resume and a NaN/Inf stop; then evaluates it (flow + independence
// Metropolis vs direct HMC). Writes DIR/config.json, DIR/checkpoint.h5, DIR/metrics.jsonl (one JSON line per step),
// DIR/ess.png and DIR/couplings.png (with .dat/.gp), DIR/metrics.json. Under torchrun the batch's shards
// (training.shards) are shared over the ranks (flows/training.h) and so are the evaluation's proposals.
#include "apps/command.h"
#include "support/config.h"
#include "apps/readers/flow_run.h"
#include "support/atomic_file.h"
#include "io/plot.h"
#include "support/progress.h"
#include "run/distributed.h"
#include "run/divergence.h"
#include "run/metrics_log.h"
#include "run/run_directory.h"
#include "support/version.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <tuple>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace F = blockspin::flows;
using nlohmann::json;
using run::MetricsLog;
using run::read_metrics;

constexpr const char* kCheckpoint = "checkpoint.h5";
constexpr const char* kBest = "best.h5";

void make_plots(const fs::path& dir, const std::vector<json>& lines, bool ir) {
  PlotSeries ess{"ESS/N (batch)", {}, {}}, bank{"bank reweighting ESS/N", {}, {}},
      kappa{ir ? "κ coarse" : "κ fine", {}, {}}, lambda{ir ? "λ coarse" : "λ fine", {}, {}};
  for (const auto& l : lines) {
    const double s = l["step"].get<double>();
    ess.x.push_back(s);
    ess.y.push_back(l["ess_per_n"].get<double>());
    bank.x.push_back(s);
    bank.y.push_back(l["bank_ess"].get<double>());
    kappa.x.push_back(s);
    kappa.y.push_back(l["kappa"].get<double>());
    lambda.x.push_back(s);
    lambda.y.push_back(l["lambda"].get<double>());
  }
  plot(dir / "ess", {"RG flow training: effective sample size", "step", "ESS/N", false, false, "set yrange [0:1.05]"},
       {ess, bank});
  plot(dir / "couplings",
       {ir ? "IR matching: learned coarse couplings" : "UV matching: learned fine couplings", "step", "coupling", false,
        false, "set key right center"},
       {kappa, lambda});
}

json metric_line(const F::TrainMetrics& m, int64_t levels) {
  json j{{"step", m.step},           {"loss", m.loss},
         {"ess_per_n", m.ess_per_n}, {"kappa", m.kappa},
         {"lambda", m.lambda},       {"lr", m.lr},
         {"bank_ess", m.bank_ess},   {"bank_resampled", m.bank_resampled},
         {"levels", levels},         {"ode_steps", m.ode_steps}};
  if (m.ode_checked) j["ode_error"] = m.ode_error;  // estimated max |error of log p̃| over the batch (ode_control.h)
  return j;
}

void run_train_flow(const CommonOptions& opt) {
  Config cfg = Config::load(opt.config, opt.overrides);
  const FlowRunSetup s = read_flow_setup(cfg);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const json config = cfg.resolved();
  const RunDirectory run("train-flow", {opt.out, opt.force, opt.resume}, config, flow_resume_rules());
  const fs::path dir = run.dir();
  const bool ir = s.trainer.matching == F::Matching::IR;

  // Distributed: the batch's shards (training.shards, default one per rank) in contiguous blocks over the ranks;
  // gradients summed and the shards' terms gathered through the process group; rank 0 writes.
  const Communicator& comm = communicator();
  F::TrainerOptions topt = s.trainer;
  if (topt.shards < comm.world_size())
    throw ConfigError(
        fmt::format("config key 'training.shards': {} shard(s) cannot be shared by {} ranks (0: one per "
                    "rank)",
                    topt.shards, comm.world_size()));
  std::tie(topt.first_shard, topt.last_shard) = comm.shard(topt.shards);
  torch::manual_seed(topt.seed);  // the flow's initial parameters (the same on every rank, broadcast to be sure)
  F::FlowTrainer trainer(make_flow(s), topt);
  if (comm.distributed()) {
    trainer.collectives.sum = [&comm](std::vector<torch::Tensor>& t) { comm.allreduce_sum(t, "the flow's gradients"); };
    trainer.collectives.gather = [&comm](const torch::Tensor& t) {
      return comm.allgather_cat(t, 0, "the training shards' results");
    };
    auto params = trainer.flow->parameters();
    comm.broadcast(params, "the flow parameters of rank 0");
  }
  const fs::path jsonl = dir / "metrics.jsonl";
  const int64_t total = total_flow_steps(s);
  FlowRunState state;
  // A fresh start removes the old run's state; metrics.json stays until the new one replaces it.
  const bool resumed = run.resume_or_start(kCheckpoint, {kCheckpoint, kBest, "metrics.jsonl"});
  if (resumed) {
    state = resume_flow_checkpoint(run, kCheckpoint, trainer, total);
    spdlog::info("resuming at step {} of {}", trainer.steps_done, total);
  } else if (!s.init_from.empty()) {
    spdlog::info("{}", warm_start_flow(s, trainer));  // every rank reads the same files: the same start
  }
  MetricsLog log(jsonl, resumed ? trainer.steps_done : -1);
  if (run.writes()) write_json_atomic(dir / "config.json", config);

  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  DivergenceGuard guard("train-flow", dir / kCheckpoint, fs::exists(dir / kCheckpoint) ? trainer.steps_done : -1,
                        "Lower training.lr.");
  Progress progress("train-flow", "steps", total, trainer.steps_done);
  if (trainer.steps_done < total)
    spdlog::info("training {} matching {} -> {} ({} levels), {} steps, batch {}", ir ? "IR" : "UV",
                 fmt::join(s.trainer.coarse_extents, "x"), fmt::join(trainer.fine_extents(), "x"),
                 trainer.flow->levels(), total, s.trainer.batch);
  const double seconds_before = state.seconds;
  const int64_t final_levels = s.levels + s.uv_extensions;
  while (trainer.steps_done < total) {
    while (trainer.flow->levels() < flow_levels_before_step(s, trainer.steps_done)) {
      // The paper retrains with the learning rate reduced by a factor of five: applied once (at the first extension),
      // not compounded per extension (FlowTrainer::extend_uv multiplies the current rate).
      trainer.extend_uv(trainer.flow->levels() == s.levels ? s.uv_lr_factor : 1.0);
      spdlog::info("UV extension: {} levels, fine lattice {}, lr {:.3e}", trainer.flow->levels(),
                   fmt::join(trainer.fine_extents(), "x"), trainer.lr);
    }
    F::TrainMetrics m;
    try {
      m = trainer.step();
    } catch (const DistributedError&) {
      throw;  // a rank stopped: not a failed step (exit 6, the checkpoint stays)
    } catch (const std::exception& e) {
      guard.stop(fmt::format("the training step failed ({})", abbreviate(e.what(), 300)), trainer.steps_done + 1);
    }
    if (!std::isfinite(m.loss) || !std::isfinite(m.kappa) || !std::isfinite(m.lambda))
      guard.stop(fmt::format("non-finite loss or coupling (loss {}, κ {}, λ {})", m.loss, m.kappa, m.lambda),
                 trainer.steps_done + 1);
    guard.require_finite(trainer.flow->parameters(), "flow parameters", trainer.steps_done + 1);
    if (m.ode_refined)
      spdlog::info(
          "step {}: RK4 error of log p̃ {:.3g} at {} steps {} tolerance {}: now {} steps per CNF (error {:.3g})", m.step,
          m.ode_error_before, m.ode_steps_before, m.ode_steps > m.ode_steps_before ? ">" : "far below the",
          s.trainer.ode_control.tolerance, m.ode_steps, m.ode_error);
    if (m.ode_at_limit)
      spdlog::warn(
          "step {}: RK4 error of log p̃ {:.3g} exceeds the tolerance {} at the step limit {} "
          "(training.ode_control.max_steps); the tracked density is inexact — lower training.lr",
          m.step, m.ode_error, s.trainer.ode_control.tolerance, m.ode_steps);
    log.append(metric_line(m, trainer.flow->levels()));
    state.ess_ema = trainer.steps_done == 1 ? m.ess_per_n : 0.9 * state.ess_ema + 0.1 * m.ess_per_n;
    if (trainer.steps_done % s.checkpoint_every == 0 || trainer.steps_done == total) {
      state.seconds = seconds_before + elapsed();
      if (trainer.flow->levels() == final_levels && state.ess_ema > state.best_ess_ema) {
        state.best_ess_ema = state.ess_ema;
        state.best_step = trainer.steps_done;
        write_flow_checkpoint(run, kBest, trainer, state);
      }
      write_flow_checkpoint(run, kCheckpoint, trainer, state);
      guard.checkpointed(trainer.steps_done);
      if (run.writes()) make_plots(dir, read_metrics(jsonl), ir);
    }
    run.crash_point(trainer.steps_done);
    if (trainer.steps_done % s.log_every == 0 || trainer.steps_done == total)
      progress.update(trainer.steps_done,
                      fmt::format("loss {:.4g}, ESS/N {:.3f} (avg {:.3f}), κ {:.5f}, bank ESS {:.3f}, RK4 steps {}",
                                  m.loss, m.ess_per_n, state.ess_ema, m.kappa, m.bank_ess, m.ode_steps));
  }
  const int64_t final_step = trainer.steps_done;
  const int64_t training_bytes = comm.bytes_communicated();
  const bool use_best = s.eval_checkpoint == "best" && state.best_step >= 0 && state.best_step != final_step;
  if (use_best) {
    resume_flow_checkpoint(run, kBest, trainer, total);
    spdlog::info("evaluating the best checkpoint (step {}, moving-average batch ESS/N {:.3f}; final step {}: {:.3f})",
                 state.best_step, state.best_ess_ema, final_step, state.ess_ema);
  }
  spdlog::info("evaluating: {} flow proposals, {} HMC measurements", s.eval.n, s.eval.n_hmc);
  const auto eval_started = std::chrono::steady_clock::now();
  const auto evaluated = evaluate_flow_sharded(trainer, s.eval, false);
  if (!run.writes()) return;  // rank 0 evaluates and writes
  const auto& ev = *evaluated;
  const auto lines = read_metrics(jsonl);
  make_plots(dir, lines, ir);
  log_evaluation_warnings(ev, s.eval);
  json metrics = evaluation_json(ev, s.eval);
  metrics["evaluated_checkpoint"] = use_best ? "best" : "final";
  metrics["evaluated_step"] = trainer.steps_done;
  metrics["best"] = {{"step", state.best_step}, {"batch_ess_moving_average", state.best_ess_ema}};
  metrics["matching"] = ir ? "ir" : "uv";
  metrics["shards"] = topt.shards;
  metrics["distributed"] = comm.describe();
  metrics["distributed"]["bytes_sent_by_rank_0_training"] = training_bytes;
  metrics["step"] = final_step;
  metrics["levels"] = trainer.flow->levels();
  metrics["n_parameters"] = [&] {
    int64_t n = 0;
    for (const auto& p : trainer.flow->parameters()) n += p.numel();
    return n;
  }();
  {
    // ESS/N of the last training batches (mean over the last 10% of steps, at least 1).
    const size_t k = std::max<size_t>(1, lines.size() / 10);
    double sum = 0;
    for (size_t i = lines.size() - k; i < lines.size(); ++i) sum += lines[i]["ess_per_n"].get<double>();
    metrics["training"] = {{"steps", total},
                           {"final_batch_ess_moving_average", state.ess_ema},
                           {"final_batch_ess_mean", sum / static_cast<double>(k)},
                           {"final_batch_ess_window", k},
                           {"final_loss", lines.back()["loss"]},
                           {"seconds", state.seconds}};
  }
  metrics["eval_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_started).count();
  metrics["blockspin_version"] = BLOCKSPIN_VERSION;
  metrics["config"] = config;
  write_json_atomic(dir / "metrics.json", metrics);

  fmt::print("{} matching {} -> {}: ESS/N {:.4f}, acceptance {:.4f}, κ_coarse {:.6f}, κ_fine {:.6f}, τ_int {:.3f}\n",
             ir ? "IR" : "UV", fmt::join(s.trainer.coarse_extents, "x"), fmt::join(trainer.fine_extents(), "x"),
             metrics["ess"].get<double>(), metrics["acceptance"].get<double>(), metrics["kappa_coarse"].get<double>(),
             metrics["kappa_fine"].get<double>(), metrics["tau_int"]["tau_int"].get<double>());
  for (const auto& [name, o] : metrics["observables"].items()) {
    auto fmt_r = [](const json& r) {
      return r.contains("mean") ? fmt::format("{:.6g} ± {:.2g}", r["mean"].get<double>(), r["error"].get<double>())
                                : std::string("n/a");
    };
    fmt::print("  {:<7} flow {:<24} hmc {:<24} {}\n", name, fmt_r(o["flow"]), o.contains("hmc") ? fmt_r(o["hmc"]) : "-",
               o.contains("deviation_sigma") && o["deviation_sigma"].is_number()
                   ? fmt::format("{:+.2f}σ", o["deviation_sigma"].get<double>())
                   : "");
  }
  fmt::print("results written to {}\n", (dir / "metrics.json").string());
}

const CommandRegistrar train_flow_registrar{
    distributed(CommandSpec{"train-flow",
                            "train a super-resolving RG flow for phi^4 (IR/UV matching, learnable couplings) with "
                            "checkpoints and --resume; evaluates ESS, acceptance and observables vs HMC",
                            true, run_train_flow})};

}  // namespace
}  // namespace blockspin::apps
