// `blockspin train` task "fp_action": the learned FP action (lcnn/fp_action_model.h) trained on A_FP values and link
// derivatives D^FP from fp_data.h5 files, with the loss of the FP L-CNN proceedings (arXiv:2311.17816, Sec. 3):
//   L1 = (1/V) (1/n) Σ_i |A_FP[V_i] − A[V_i]|,   L2 = 1/(2D(N²−1)V) (1/n) Σ_{i,x,μ,a} (D^FP − D)²
// (2D(N²−1)V = 8(N²−1)L⁴ in D = 4), loss = w_value L1 + w_derivative L2, D the model's left Lie derivative by autograd
// with create_graph (double backprop). Writes DIR/metrics.json, DIR/model/checkpoint.h5, DIR/model/metrics.jsonl (per
// curve point, with the validation L1, L2 and relative action error) and the training curve.
#include "apps/train_tasks.h"

#include "apps/app.h"

#include "apps/readers/fp_augment.h"
#include "apps/readers/fp_scores.h"
#include "apps/readers/fp_training_data.h"
#include "apps/readers/lattice_config.h"
#include "apps/readers/trainer_config.h"
#include "io/fp_data_file.h"
#include "io/h5io.h"
#include "io/plot.h"
#include "lattice/derivatives.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lcnn/fp_action_model.h"
#include "run/distributed.h"
#include "run/run_directory.h"
#include "run/trainer.h"
#include "support/atomic_file.h"
#include "support/version.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <sstream>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

struct LossParts {
  torch::Tensor l1, l2;  // per configuration (before the mean)
  torch::Tensor action;
};

// The loss terms of rows `idx`; with `augment_step` >= 0 (training with data.augment = "hypercubic") the model sees
// every row through its element of that step (apps/readers/fp_augment.h).
LossParts loss_parts(lcnn::FpActionModel& model, const FpRows& rows, const torch::Tensor& idx, const FpSetup& s,
                     bool create_graph, int64_t augment_step = -1) {
  const auto cdt = L::complex_dtype(s.dtype);
  const auto U = rows.coarse.links.index_select(0, idx).to(s.device, cdt);
  L::ActionFunctional action = [&](const torch::Tensor& V) { return model->forward(V); };
  if (augment_step >= 0)
    action = augmented_action(action, augmentation_elements(s.training.seed, augment_step, idx, L::n_dims(U)));
  auto [A, D] = L::action_and_derivative(action, U, create_graph);
  const auto A_fp = rows.results.action.index_select(0, idx).to(s.device, A.scalar_type());
  const auto D_fp = rows.results.derivatives.index_select(0, idx).to(s.device, D.scalar_type());
  const double V = static_cast<double>(L::volume(U)), N = static_cast<double>(L::n_colors(U));
  const double dims = static_cast<double>(L::n_dims(U));
  return {(A_fp - A).abs() / V, (D_fp - D).pow(2).flatten(1).sum(1) / (2 * dims * (N * N - 1) * V), A.detach()};
}

// Mean loss terms and relative action errors of a split, per β_wil and overall (no parameter gradients). With
// `shared`, in a distributed run every rank evaluates its share of the rows and the per-row results are allgathered
// (every rank returns the same); otherwise this process evaluates all rows.
json evaluate_split(lcnn::FpActionModel& model, const FpRows& rows, const torch::Tensor& idx, const FpSetup& s,
                    bool shared = false) {
  const Communicator& comm = communicator();
  const auto [first, last] = shared ? comm.shard(idx.numel()) : std::pair<int64_t, int64_t>(0, idx.numel());
  std::vector<torch::Tensor> l1{torch::empty({0}, torch::kDouble)}, l2{l1[0]}, a{l1[0]};
  for (int64_t k = first; k < last; k += s.training.eval_batch_size) {
    const auto b = idx.slice(0, k, std::min(k + s.training.eval_batch_size, last));
    auto p = loss_parts(model, rows, b, s, false);
    l1.push_back(p.l1.detach().to(torch::kCPU, torch::kDouble));
    l2.push_back(p.l2.detach().to(torch::kCPU, torch::kDouble));
    a.push_back(p.action.to(torch::kCPU, torch::kDouble));
  }
  auto L1 = torch::cat(l1), L2 = torch::cat(l2), A = torch::cat(a);
  if (shared && comm.distributed()) {
    const auto all = comm.allgather_cat(torch::stack({L1, L2, A}), 1, "the validation rows");
    L1 = all[0];
    L2 = all[1];
    A = all[2];
  }
  const auto A_fp = rows.results.action.index_select(0, idx).to(torch::kDouble);
  const auto beta = rows.coarse.beta_wil.index_select(0, idx).to(torch::kDouble);
  json j = score_json({(A_fp - A).abs() / A_fp.abs(), L2, beta});
  j["L1"] = L1.mean().item<double>();
  return j;
}

}  // namespace

void run_train_fp_action(const CommonOptions& opt, Config& cfg) {
  FpSetup s = read_fp_setup(cfg);
  torch::manual_seed(static_cast<uint64_t>(s.training.seed));
  lcnn::FpActionModel model{nullptr};
  try {
    model = lcnn::make_fp_action_model(s.model_spec);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("config key 'model': " + std::string(e.what()));
  }
  cfg.check_unused();
  const json config = cfg.resolved();
  FpRows rows = load_rows(s);  // bad data fails before anything is written
  const FpRows extra = load_train_only_rows(s, rows);
  if (L::n_dims(rows.coarse.links) != model->options.dims())
    throw InputError(
        fmt::format("the data has D = {}, the model D = {}", L::n_dims(rows.coarse.links), model->options.dims()));
  if (!s.init_from.empty()) run::load_parameters(*model, s.init_from);
  model->to(s.device, s.dtype);
  if (config_checked(opt, cfg)) return;
  const ResumeRules rules = training_resume_rules([](Config& c) { read_fp_setup(c); });
  const RunDirectory run("train", {opt.out, opt.force, opt.resume}, config, rules);
  if (run.writes()) {
    fs::create_directories(run.dir() / "model");
    write_model_card(run.dir(), rows, s.model_spec);
  }
  auto splits = split_rows(rows, s);
  add_train_only_rows(rows, splits, extra);
  const int64_t n_extra = extra.coarse.links.defined() ? extra.coarse.size() : 0;
  spdlog::info(
      "fp_action: {} train ({} of them from data.train_only_files), {} val, {} test configurations; {} "
      "parameters",
      splits.at("train").numel(), n_extra, splits.at("val").numel(), splits.at("test").numel(),
      lcnn::count_parameters(*model));

  const auto& train_idx = splits.at("train");
  const bool augment = s.augment == "hypercubic";
  const BatchLossFn loss = [&](const torch::Tensor& i, int64_t step) {
    auto p = loss_parts(model, rows, train_idx.index_select(0, i), s, true, augment ? step : -1);
    return s.w_value * p.l1.mean() + s.w_derivative * p.l2.mean();
  };
  const ValidationFn validation = [&] {
    const auto j = evaluate_split(model, rows, splits.at("val"), s, /*shared=*/true);
    const double L1 = j["L1"].get<double>(), L2 = j["L2"].get<double>();
    return Validation(s.w_value * L1 + s.w_derivative * L2,
                      {{"val_L1", L1}, {"val_L2", L2}, {"val_relative_action_error", j["relative_action_error"]}});
  };
  const Curve curve = run::train(*model, loss, train_idx.numel(), validation, s.training, run, "model", "fp_action");
  if (!run.writes()) return;  // rank 0 of a distributed run evaluates and writes

  json metrics{{"task", "fp_action"},
               {"n_parameters", lcnn::count_parameters(*model)},
               {"n_rows",
                {{"train", splits.at("train").numel()},
                 {"train_only", n_extra},
                 {"val", splits.at("val").numel()},
                 {"test", splits.at("test").numel()}}},
               {"loss", "w_value L1 + w_derivative L2 (arXiv:2311.17816 Sec. 3)"},
               {"curve", {{"step", curve.step}, {"loss", curve.loss}, {"val_loss", curve.val_loss}, {"lr", curve.lr}}},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  for (const char* name : {"val", "test"})
    if (splits.at(name).numel() > 0) metrics[name] = evaluate_split(model, rows, splits.at(name), s);
  metrics["distributed"] = communicator().describe();
  metrics["distributed"]["bytes_sent_by_rank_0"] = communicator().bytes_communicated();
  metrics["config"] = config;
  write_json_atomic(run.dir() / "metrics.json", metrics);
  const std::vector<double> steps(curve.step.begin(), curve.step.end());
  plot(run.dir() / "training_curve", {"FP action: training curve", "step", "loss", true, false, ""},
       {{"train", steps, curve.loss}, {"validation", steps, curve.val_loss}});
  if (metrics.contains("test"))
    fmt::print("fp_action test: relative action error {:.3e}, L2 {:.3e} ({} configurations)\n",
               metrics["test"]["relative_action_error"].get<double>(), metrics["test"]["L2"].get<double>(),
               metrics["test"]["n"].get<int64_t>());
  fmt::print("results written to {}\n", (run.dir() / "metrics.json").string());
}

}  // namespace blockspin::apps
