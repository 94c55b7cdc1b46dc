// `blockspin sample`: draws samples from a flow trained by `train-flow` (DIR/config.json + DIR/checkpoint.h5) with the
// exact independence-Metropolis correction. Writes DIR2/samples.h5 and DIR2/metrics.json (ESS/N, acceptance,
// observables with Γ-method errors; `--set eval.n_hmc=0` skips the HMC comparison). Uses DIR/best.h5 unless
// training.eval_checkpoint = "final" (`--set training.eval_checkpoint=final`).
#include "apps/command.h"
#include "run/distributed.h"
#include "support/config.h"
#include "apps/readers/flow_run.h"
#include "io/h5io.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"
#include "support/version.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace F = blockspin::flows;
using nlohmann::json;

void run_sample(const CommonOptions& opt) {
  const fs::path model = opt.extra.at("model");
  json stored = read_flow_run_config(model);
  // --config FILE: keys that replace the model's (e.g. a longer evaluation: {"eval": {"n": 20000}}), then --set.
  if (!opt.config.empty()) stored.merge_patch(Config::load(opt.config).resolved());
  std::vector<std::string> overrides = opt.overrides;
  if (const auto& n = opt.extra.at("n"); !n.empty()) overrides.push_back("eval.n=" + n);
  Config cfg = Config::from_json(stored, overrides, (model / "config.json").string());
  const FlowRunSetup s = read_flow_setup(cfg);
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const RunDirectory run("sample", {opt.out, opt.force, false}, cfg.resolved());
  const fs::path dir = run.dir();

  torch::manual_seed(s.trainer.seed);
  fs::path checkpoint;
  const auto loaded = load_flow_model(model, s, s.trainer, &checkpoint);
  F::FlowTrainer& trainer = *loaded;
  const bool use_best = checkpoint.filename() == "best.h5";
  if (!use_best && trainer.steps_done < total_flow_steps(s))
    spdlog::warn("the model in '{}' is at step {} of {} (training unfinished)", model.string(), trainer.steps_done,
                 total_flow_steps(s));
  spdlog::info("sampling {} proposals on {} with {}", s.eval.n, fmt::join(trainer.fine_extents(), "x"), model.string());
  // Distributed: rank r draws its share of the proposals with the evaluation seed rank_seed(eval.seed, r); rank 0
  // gathers them in rank order and runs the Metropolis chain, the observables and the direct HMC.
  const Communicator& comm = communicator();
  const auto evaluated = evaluate_flow_sharded(trainer, s.eval, true);
  if (!run.writes()) return;  // rank 0 evaluates and writes
  const auto& ev = *evaluated;
  log_evaluation_warnings(ev, s.eval);
  write_h5_atomic(dir / "samples.h5", "flow_samples", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    write_tensor(f, "fields", ev.fields, 4);
    write_tensor(f, "accepted", ev.accepted);
    write_tensor(f, "chain", ev.chain);
    write_tensor(f, "log_weights", ev.log_weights);
    write_tensor(f, "log_q", ev.log_q);
    write_tensor(f, "log_p", ev.log_p);
    write_attribute(f, "model", fs::absolute(model).string());
    write_attribute(f, "step", trainer.steps_done);
    write_attribute(f, "kappa_fine", ev.kappa_fine);
    write_attribute(f, "lambda_fine", ev.lambda_fine);
    write_attribute(f, "description",
                    "fields[i]: proposal i of the flow; chain[i]: index of the configuration held by the independence "
                    "Metropolis chain after step i (fields[chain] is the exact Markov chain); accepted[i]: step i "
                    "accepted its proposal; log_weights = log_p - log_q = -S_fine - log q_flow (up to constants)");
  });
  json metrics = evaluation_json(ev, s.eval);
  metrics["model"] = fs::absolute(model).string();
  metrics["step"] = trainer.steps_done;
  metrics["evaluated_checkpoint"] = use_best ? "best" : "final";
  metrics["distributed"] = comm.describe();
  metrics["blockspin_version"] = BLOCKSPIN_VERSION;
  metrics["config"] = cfg.resolved();
  write_json_atomic(dir / "metrics.json", metrics);
  fmt::print("{} samples on {}: ESS/N {:.4f}, acceptance {:.4f}, τ_int {:.3f}\n", s.eval.n,
             fmt::join(trainer.fine_extents(), "x"), metrics["ess"].get<double>(), metrics["acceptance"].get<double>(),
             metrics["tau_int"]["tau_int"].get<double>());
  fmt::print("results written to {} and {}\n", (dir / "samples.h5").string(), (dir / "metrics.json").string());
}

const CommandRegistrar sample_registrar{
    distributed(CommandSpec{"sample",
                            "draw exact samples from a flow trained by train-flow (independence Metropolis); writes "
                            "DIR/samples.h5 and DIR/metrics.json",
                            false,
                            run_sample,
                            {{"model", "train-flow output directory (config.json + checkpoint.h5)", true},
                             {"n", "number of flow proposals (default: the model's eval.n)", false}},
                            false})};

}  // namespace
}  // namespace blockspin::apps
