// `blockspin train`: supervised training tasks. Task "wilson_loops": the L-CNN Wilson-loop regression of
// Favoni et al., PRL 128 (2022) 032003 — train on small lattices, test on larger ones with the same weights, against a
// plain CNN baseline. Writes DIR/data.h5, DIR/{lcnn,baseline}/checkpoint.h5, DIR/metrics.json and plots.
#include "apps/command.h"
#include "apps/train_tasks.h"
#include "support/config.h"
#include "apps/readers/lattice_config.h"
#include "support/atomic_file.h"
#include "io/plot.h"
#include "run/distributed.h"
#include "run/run_directory.h"
#include "run/trainer.h"
#include "support/version.h"
#include "apps/readers/trainer_config.h"
#include "apps/readers/wilson_loop_data.h"

#include "lattice/gauge_field.h"
#include "lattice/heatbath.h"
#include "lattice/layout.h"
#include "lcnn/baseline_cnn.h"
#include "lcnn/factory.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

/// The default L-CNN: two fused L-Conv+L-Bilin layers reach every loop up to 2x2 exactly (PRL's loop-building
/// argument); a per-site linear map combines the traces into the targets.
json default_model(int64_t n_targets) {
  return json{{"layers",
               {{{"type", "plaq"}},
                {{"type", "lconvbilin"}, {"out", 8}, {"kernel_size", 2}},
                {{"type", "lconvbilin"}, {"out", 8}, {"kernel_size", 2}},
                {{"type", "trace"}},
                {{"type", "linear"}, {"out", n_targets}}}}};
}

struct Setup {
  WilsonLoopDataOptions data;
  json data_config, model_spec;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kDouble;
  bool baseline = true;
  std::vector<int64_t> baseline_hidden;
  int64_t baseline_kernel = 3;
  TrainerOptions training;
  std::vector<std::string> target_names;
};

Setup read_setup(Config& cfg) {
  Setup s;
  cfg.require<std::string>("task", Check::one_of({"wilson_loops", "fp_action"}));
  s.data.N = read_group(cfg);
  s.device = s.data.device = read_device(cfg);
  apply_kernels(cfg);
  s.dtype = read_dtype(cfg);
  const auto seed = cfg.get<int64_t>("seed", 1, Check::non_negative());

  auto d = cfg.child("data");
  s.data.betas = d.require<std::vector<double>>("betas", Check::positive());
  if (s.data.betas.empty()) throw ConfigError("config key 'data.betas': expected a non-empty list of β values");
  s.data.loops = read_wilson_loops(d, "loops");
  s.data.train_shape = read_shape(d, "train_shape");
  s.data.n_train = d.get<int64_t>("n_train", 100, Check::positive());
  s.data.n_val = d.get<int64_t>("n_val", 10, Check::positive());
  s.data.n_test = d.get<int64_t>("n_test", 8, Check::positive());
  s.data.n_therm = d.get<int64_t>("n_therm", 50, Check::positive());
  s.data.or_steps = d.get<int64_t>("or_steps", 1, Check::non_negative());
  s.data.seed = d.get<int64_t>("seed", seed, Check::non_negative());
  const auto tests = d.get<json>("test_shapes", json::parse("[[16, 16], [32, 32], [64, 64]]"));
  if (!tests.is_array()) throw ConfigError("config key 'data.test_shapes': expected a list of lattice shapes");
  const auto D = static_cast<int64_t>(s.data.train_shape.size());
  auto check_geometry = [&](const std::vector<int64_t>& shape, const std::string& key) {
    try {
      L::check_heatbath_geometry(shape, L::GaugeAction::wilson(1.0));
    } catch (const std::invalid_argument& e) {
      throw ConfigError("config key '" + key + "': " + e.what());
    }
  };
  check_geometry(s.data.train_shape, "data.train_shape");
  for (size_t i = 0; i < tests.size(); ++i) {
    const std::string key = fmt::format("data.test_shapes[{}]", i);
    std::vector<int64_t> shape;
    try {
      shape = tests[i].get<std::vector<int64_t>>();
    } catch (const json::exception&) {
      throw ConfigError("config key '" + key + "': expected a list of extents, got " + tests[i].dump());
    }
    if (static_cast<int64_t>(shape.size()) != D)
      throw ConfigError(
          fmt::format("config key '{}': {} extents, but data.train_shape has D = {}", key, shape.size(), D));
    Check::extents()(tests[i], key);
    check_geometry(shape, key);
    s.data.test_shapes.push_back(shape);
  }
  s.data_config = cfg.resolved().at("data");
  s.data_config["group"] = s.data.N;  // the data depend on the group too

  for (auto [m, n] : s.data.loops) s.target_names.push_back(fmt::format("W{}x{}", m, n));
  s.model_spec = cfg.get<json>("model", default_model(static_cast<int64_t>(s.data.loops.size())));

  auto b = cfg.child("baseline");
  s.baseline = b.get<bool>("enabled", true);
  s.baseline_hidden = b.get<std::vector<int64_t>>("hidden", {32, 32}, Check::positive());
  s.baseline_kernel = b.get<int64_t>("kernel_size", 3, Check::positive());
  if (s.baseline && s.baseline_kernel % 2 == 0) throw ConfigError("config key 'baseline.kernel_size': must be odd");
  if (s.baseline && D != 2 && D != 3)
    throw ConfigError("config key 'baseline.enabled': the CNN baseline supports D = 2 and 3 only (set it to false)");

  run::TrainerOptions defaults;
  defaults.eval_batch_size = 4;
  s.training = read_trainer_options(cfg.child("training"), defaults, seed);
  return s;
}

const LoopSet& split(const std::vector<LoopSet>& sets, const std::string& name) {
  for (const auto& s : sets)
    if (s.name == name) return s;
  throw std::runtime_error("data split '" + name + "' missing");
}

/// Trains one model and evaluates it on every split; returns its metrics block.
json train_and_evaluate(const std::string& label, torch::nn::Module& model, const ForwardFn& forward, const Setup& s,
                        const std::vector<LoopSet>& sets, const RunDirectory& run,
                        std::map<std::string, torch::Tensor>& predictions) {
  const auto& train = split(sets, "train");
  const auto& val = split(sets, "val");
  const auto input_dtype = L::complex_dtype(s.dtype);
  const TrainerOptions& o = s.training;
  const auto started = std::chrono::steady_clock::now();
  const Curve curve = train_regression(model, forward, train.links, train.targets, val.links, val.targets, o, s.device,
                                       input_dtype, run, label, label);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json j{{"n_parameters", lcnn::count_parameters(model)},
         {"seconds_this_process", seconds},
         {"curve", {{"step", curve.step}, {"loss", curve.loss}, {"val_loss", curve.val_loss}, {"lr", curve.lr}}}};
  if (!run.writes()) return j;  // rank 0 of a distributed run evaluates and writes
  for (const auto& set : sets) {
    if (set.name == "train") continue;
    auto p = predict(forward, set.links, o.eval_batch_size, s.device, input_dtype);
    auto m = regression_metrics(p, set.targets, s.target_names);
    if (set.name == "val") {
      j["val"] = m;
    } else {
      j["test"][set.name.substr(5)] = m;
      predictions[set.name] = p;
    }
  }
  return j;
}

void make_plots(const fs::path& dir, const json& metrics, const Setup& s, const std::vector<LoopSet>& sets,
                const std::map<std::string, std::map<std::string, torch::Tensor>>& predictions) {
  std::vector<PlotSeries> curves;
  for (const char* model : {"lcnn", "baseline"}) {
    if (!metrics.contains(model)) continue;
    const auto& c = metrics[model]["curve"];
    const auto steps = c["step"].get<std::vector<double>>();
    curves.push_back({std::string(model) + " train", steps, c["loss"].get<std::vector<double>>()});
    curves.push_back({std::string(model) + " validation", steps, c["val_loss"].get<std::vector<double>>()});
  }
  plot(dir / "training_curves", {"Wilson-loop regression: training curves", "step", "MSE", true, false, ""}, curves);
  // Predicted vs true values of the largest loop on the largest test lattice: the L-CNN sits on the diagonal.
  if (s.data.test_shapes.empty()) return;
  const std::string test = "test_" + shape_label(s.data.test_shapes.back());
  const auto& target = split(sets, test).targets.select(1, static_cast<int64_t>(s.data.loops.size()) - 1).flatten();
  const int64_t stride = std::max<int64_t>(1, target.numel() / 4000);
  std::vector<PlotSeries> scatter;
  for (const auto& [model, preds] : predictions) {
    auto p = preds.at(test).select(1, static_cast<int64_t>(s.data.loops.size()) - 1).flatten();
    auto idx = torch::arange(0, target.numel(), stride);
    auto x = target.index_select(0, idx).contiguous(), y = p.index_select(0, idx).contiguous();
    scatter.push_back({model,
                       {x.data_ptr<double>(), x.data_ptr<double>() + x.numel()},
                       {y.data_ptr<double>(), y.data_ptr<double>() + y.numel()}});
  }
  plot(dir / "predictions",
       {fmt::format("{} on {}: prediction vs truth", s.target_names.back(), shape_label(s.data.test_shapes.back())),
        "true (1/N) Re Tr W", "predicted", false, true, "set key left top\nset size square"},
       scatter);
}

void run_train(const CommonOptions& opt) {
  Config cfg = Config::load(opt.config, opt.overrides);
  if (cfg.require<std::string>("task", Check::one_of({"wilson_loops", "fp_action"})) == "fp_action")
    return run_train_fp_action(opt, cfg);
  const Setup s = read_setup(cfg);
  cfg.check_unused();
  const json config = cfg.resolved();
  const auto D = static_cast<int64_t>(s.data.train_shape.size());

  // The model is built and checked before anything is written, so a bad architecture fails fast.
  torch::manual_seed(static_cast<uint64_t>(s.training.seed));
  lcnn::LcnnModel model{nullptr};
  try {
    model = lcnn::make_model(s.model_spec, D);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("config key 'model': " + std::string(e.what()));
  }
  model->to(s.device);
  {
    // The model must map the links to one value per target and site.
    torch::NoGradGuard no_grad;
    const auto options = torch::TensorOptions().dtype(L::complex_dtype(s.dtype)).device(s.device);
    const auto out = model->forward(L::cold_gauge_field(1, s.data.train_shape, s.data.N, options));
    std::vector<int64_t> expected{1, static_cast<int64_t>(s.data.loops.size())};
    expected.insert(expected.end(), s.data.train_shape.begin(), s.data.train_shape.end());
    if (out.sizes().vec() != expected)
      throw ConfigError(
          fmt::format("config key 'model': the model outputs shape [{}] per configuration, the task needs "
                      "[{}] (one channel per Wilson loop: end with a linear layer of out = {})",
                      fmt::join(out.sizes(), ", "), fmt::join(expected, ", "), s.data.loops.size()));
  }

  if (config_checked(opt, cfg)) return;
  const ResumeRules rules = training_resume_rules([](Config& c) { read_setup(c); });
  const RunDirectory run("train", {opt.out, opt.force, opt.resume}, config, rules);
  const fs::path dir = run.dir();
  if (opt.resume && fs::exists(dir / "metrics.json") && fs::exists(dir / "lcnn" / "checkpoint.h5")) {
    spdlog::info(
        "the run in '{}' has metrics.json already: going on from its last checkpoints (trained on if "
        "training.steps grew, then evaluated again)",
        dir.string());
  }

  std::vector<LoopSet> sets;
  const fs::path data_path = dir / "data.h5";
  if (opt.resume && fs::exists(data_path)) {
    sets = read_wilson_loop_data(data_path, s.data_config);
    spdlog::info("using the data in {}", data_path.string());
  } else {
    spdlog::info("generating SU({}) heatbath data at {} β values: train {} x {} per β on {}, tests on {}", s.data.N,
                 s.data.betas.size(), s.data.n_train, s.data.n_val, shape_label(s.data.train_shape), [&] {
                   std::vector<std::string> labels;
                   for (const auto& t : s.data.test_shapes) labels.push_back(shape_label(t));
                   return fmt::format("{}", fmt::join(labels, ", "));
                 }());
    sets = generate_wilson_loop_data(
        s.data, [&](int64_t done, int64_t total) { spdlog::info("data: {}/{} (split, β) blocks", done, total); });
    if (run.writes()) write_wilson_loop_data(data_path, sets, s.data_config);
  }

  json metrics{{"task", "wilson_loops"},
               {"group", fmt::format("SU{}", s.data.N)},
               {"targets", s.target_names},
               {"target_definition", "(1/N) Re Tr W(m x n) per site, averaged over planes and both orientations"},
               {"blockspin_version", BLOCKSPIN_VERSION}};
  std::map<std::string, std::map<std::string, torch::Tensor>> predictions;
  metrics["lcnn"] = train_and_evaluate(
      "lcnn", *model, [&](const torch::Tensor& U) { return model->forward(U); }, s, sets, run, predictions["lcnn"]);
  if (s.baseline) {
    torch::manual_seed(static_cast<uint64_t>(s.training.seed) + 1);
    lcnn::BaselineCnn cnn(lcnn::BaselineCnnOptions(D, s.data.N, static_cast<int64_t>(s.data.loops.size()))
                              .hidden(s.baseline_hidden)
                              .kernel_size(s.baseline_kernel));
    cnn->to(s.device, s.dtype);
    metrics["baseline"] = train_and_evaluate(
        "baseline", *cnn, [&](const torch::Tensor& U) { return cnn->forward(U); }, s, sets, run,
        predictions["baseline"]);
  }
  if (!run.writes()) return;
  metrics["test"] = metrics["lcnn"]["test"];
  metrics["distributed"] = communicator().describe();
  metrics["distributed"]["bytes_sent_by_rank_0"] = communicator().bytes_communicated();
  metrics["config"] = config;
  write_json_atomic(dir / "metrics.json", metrics);
  make_plots(dir, metrics, s, sets, predictions);

  fmt::print("{:<10} {:>10} {:>12}", "model", "test size", "mse");
  for (const auto& t : s.target_names) fmt::print("  {:>13}", "r2 " + t);
  fmt::print("\n");
  for (const char* name : {"lcnn", "baseline"}) {
    if (!metrics.contains(name)) continue;
    for (const auto& [size, m] : metrics[name]["test"].items()) {
      std::string r2s;
      for (const auto& t : s.target_names) r2s += fmt::format("  {:>13.6f}", m["targets"][t]["r2"].get<double>());
      fmt::print("{:<10} {:>10} {:>12.4e}{}\n", name, size, m["mse"].get<double>(), r2s);
    }
  }
  fmt::print("results written to {}\n", (dir / "metrics.json").string());
}

const CommandRegistrar train_registrar{
    distributed(CommandSpec{"train",
                            "train a model (task \"wilson_loops\": L-CNN vs plain CNN on Wilson-loop regression) "
                            "with checkpoints and --resume; writes DIR/metrics.json and plots",
                            true, run_train})};

}  // namespace
}  // namespace blockspin::apps
