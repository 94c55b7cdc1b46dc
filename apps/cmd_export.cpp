// `blockspin export`: a trained model (its resolved config read from the run's checkpoint) (`train` task fp_action or
// wilson_loops) as TorchScript files, one per lattice shape (io/torchscript_export.h), each checked after writing:
// loaded back, its values and link derivatives compared with the C++ model on two random configurations (recorded in
// export.json; an export off by > 1e-10 relative in double is an error), and a reference file for users and the Python
// check (reference_<shape>.h5: links, the model's outputs, and the gradient of their sum with respect to the links,
// torch's complex convention). A train-flow run is exported by export_flow.cpp (flow.pt).
#include "apps/command.h"
#include "apps/export_flow.h"
#include "apps/readers/fp_training_data.h"
#include "io/fp_data_file.h"
#include "io/h5io.h"
#include "io/torchscript_export.h"
#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lcnn/factory.h"
#include "lcnn/fp_action_model.h"
#include "run/checkpoint.h"
#include "run/run_directory.h"
#include "run/trainer.h"
#include "support/atomic_file.h"
#include "support/version.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/script.h>

#include <filesystem>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

// What export needs of a trained model.
struct Trained {
  std::string task;
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::vector<int64_t> shape;  // the training lattice
  int64_t N = 3;
  json metadata;
};

Trained load_fp_action(const fs::path& dir, const json& stored, Config& ex) {
  Trained t;
  t.task = "fp_action";
  // The training run's own reading of its config: its data files, for runs made before model cards (below).
  Config training = Config::from_json(stored, {}, (dir / "model" / "checkpoint.h5").string());
  const FpSetup s = read_fp_setup(training);
  const json spec = trained_model_spec(dir);
  auto model = load_fp_action_model(spec, dir / "model" / "checkpoint.h5", dir.string());
  // The model averaged over a lattice symmetry group (lcnn/fp_action_model.h): traced like any other forward.
  model->options.symmetrise(ex.get<std::string>("symmetrise", spec.value("symmetrise", std::string("none")),
                                                support::Check::one_of(lcnn::symmetrise_choices())));
  t.module = model.ptr();
  t.forward = [model](const torch::Tensor& U) mutable { return model->forward(U); };
  // The lattice and group of the training data: the model card, else the first data file.
  const auto card = read_model_card(dir);
  if (card) {
    t.shape = card->shape;
    t.N = card->n_colors;
  } else if (!s.files.empty() && fs::exists(s.files.front())) {
    H5::H5File f = io::open_h5(s.files.front(), "fp_data");
    const auto c = io::read_fp_coarse(f);
    t.shape = L::extents(c.links);
    t.N = L::n_colors(c.links);
  }
  const int64_t N = ex.get<int64_t>("n_colors", t.N, support::Check::in_range(2, 16));
  if (card && N != t.N)
    throw ConfigError(fmt::format("config key 'n_colors': the model was trained on SU({}) data, not SU({})", t.N, N));
  t.N = N;
  t.metadata = {{"task", "fp_action"},
                {"spec", spec},
                {"symmetrise", model->options.symmetrise()},
                {"output", "A per configuration [B]"}};
  return t;
}

Trained load_wilson_loops(const fs::path& dir, const json& stored) {
  Trained t;
  t.task = "wilson_loops";
  const json data = stored.value("data", json::object());
  t.shape = data.value("train_shape", std::vector<int64_t>{});
  const std::string group = stored.value("group", "SU3");
  t.N = group == "SU2" ? 2 : 3;
  auto model = lcnn::make_model(stored.at("model"), static_cast<int64_t>(t.shape.size()));
  model->to(torch::kDouble);
  run::load_parameters(*model, dir / "lcnn" / "checkpoint.h5");
  t.module = model.ptr();
  t.forward = [model](const torch::Tensor& U) mutable { return model->forward(U); };
  t.metadata = {{"task", "wilson_loops"},
                {"loops", data.value("loops", json::array())},
                {"output", "the predicted Wilson loops per site [B, loops, x..]"}};
  return t;
}

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-300, b.abs().max().item<double>());
}

torch::Tensor link_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& U) {
  auto x = U.detach().requires_grad_(true);
  auto y = f(x);
  return torch::autograd::grad({y.sum()}, {x})[0];
}

void run_export(const CommonOptions& opt) {
  const fs::path model_dir = opt.extra.at("model");
  if (is_flow_run(model_dir)) return run_export_flow(opt, model_dir);
  // The training run's resolved config travels in its checkpoint (attribute "config").
  fs::path checkpoint;
  for (const char* sub : {"model", "lcnn"})
    if (fs::exists(model_dir / sub / "checkpoint.h5")) checkpoint = model_dir / sub / "checkpoint.h5";
  if (checkpoint.empty())
    throw InputError("'" + model_dir.string() +
                     "' is not a finished `blockspin train` run (no model/checkpoint.h5 or lcnn/checkpoint.h5)");
  const json stored = run::read_checkpoint_config(checkpoint, "training_checkpoint");
  const std::string task = stored.value("task", "wilson_loops");
  if (task != "fp_action" && task != "wilson_loops")
    throw InputError("'" + model_dir.string() + "': task '" + task + "' cannot be exported (fp_action, wilson_loops)");

  Config cfg = opt.config.empty() ? Config::from_json(json::object(), opt.overrides, "--set")
                                  : Config::load(opt.config, opt.overrides);
  Trained t = task == "fp_action" ? load_fp_action(model_dir, stored, cfg) : load_wilson_loops(model_dir, stored);
  const auto shapes_json = cfg.get<json>("shapes", t.shape.empty() ? json::array() : json::array({t.shape}));
  std::vector<std::vector<int64_t>> shapes;
  try {
    shapes = shapes_json.get<std::vector<std::vector<int64_t>>>();
  } catch (const json::exception&) {
    throw ConfigError("config key 'shapes': expected a list of lattice shapes, e.g. [[4, 4, 4, 4]]");
  }
  if (shapes.empty())
    throw ConfigError("config key 'shapes': give the lattice shapes to export (the training data is not readable)");
  for (const auto& s : shapes) {
    if (t.task == "fp_action" && s.size() != 4)
      throw ConfigError(fmt::format("config key 'shapes': [{}] is not a 4D lattice", fmt::join(s, ", ")));
    for (auto e : s)
      if (e < 2) throw ConfigError(fmt::format("config key 'shapes': extent {} < 2", e));
  }
  const uint64_t seed = static_cast<uint64_t>(cfg.get<int64_t>("seed", 1, support::Check::non_negative()));
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const run::RunDirectory run("export", {opt.out, opt.force, false}, cfg.resolved());

  json files = json::array();
  torch::jit::GraphOptimizerEnabledGuard no_optimizer(false);  // complex gradients: see torchscript_export.h
  auto gen = L::make_generator(seed);
  for (const auto& shape : shapes) {
    const std::string label = fmt::format("{}", fmt::join(shape, "x"));
    const auto opts = torch::TensorOptions().dtype(torch::kComplexDouble);
    io::TorchScriptExportOptions o;
    o.class_name = t.task == "fp_action" ? "FpAction" : "WilsonLoops";
    o.input_shape = {static_cast<int64_t>(shape.size())};
    o.input_shape.insert(o.input_shape.end(), shape.begin(), shape.end());
    o.input_shape.insert(o.input_shape.end(), {t.N, t.N});
    o.metadata = t.metadata;
    o.metadata["lattice"] = shape;
    o.metadata["n_colors"] = t.N;
    o.metadata["blockspin_version"] = BLOCKSPIN_VERSION;
    o.metadata["input"] = "links [B, D, x.., N, N] complex128 (lattice/layout.h)";
    o.example = L::near_identity_gauge_field(1, shape, t.N, 0.5, gen, opts);
    const fs::path file = run.dir() / ("model_" + label + ".pt");
    io::export_torchscript(*t.module, t.forward, o, file);

    // The check: the file as a user loads it against the C++ model.
    auto loaded = torch::jit::load(file.string());
    auto jit = [&](const torch::Tensor& U) { return loaded.forward({U}).toTensor(); };
    const auto U = L::near_identity_gauge_field(2, shape, t.N, 0.7, gen, opts);
    const auto y = t.forward(U).detach(), g = link_gradient(t.forward, U);
    double value_dev = 0, grad_dev = 0;
    for (int call = 0; call < 2; ++call) {
      value_dev = std::max(value_dev, rel_diff(jit(U).detach(), y));
      grad_dev = std::max(grad_dev, rel_diff(link_gradient(jit, U), g));
    }
    if (!(value_dev <= 1e-10 && grad_dev <= 1e-10))
      throw NumericalStop(fmt::format("export check failed for {}: values differ by {:.3g}, derivatives by {:.3g}",
                                      file.string(), value_dev, grad_dev));
    io::write_h5_atomic(run.dir() / ("reference_" + label + ".h5"), "export_reference", BLOCKSPIN_VERSION,
                        [&](H5::H5File& f) {
                          io::write_tensor(f, "links", U);
                          io::write_tensor(f, "outputs", y);
                          io::write_tensor(f, "link_gradient", g);
                        });
    spdlog::info("{}: values within {:.2g}, link derivatives within {:.2g} of the C++ model", file.string(), value_dev,
                 grad_dev);
    files.push_back({{"file", file.filename().string()},
                     {"reference", "reference_" + label + ".h5"},
                     {"lattice", shape},
                     {"max_rel_value_deviation", value_dev},
                     {"max_rel_derivative_deviation", grad_dev}});
  }
  support::write_json_atomic(run.dir() / "export.json", {{"task", t.task},
                                                         {"model", model_dir.string()},
                                                         {"files", files},
                                                         {"load",
                                                          "torch.jit.load(file); for gradients first "
                                                          "torch._C._set_graph_executor_optimize(False)"}});
}

const CommandRegistrar export_registrar(
    {"export",
     "a trained model as TorchScript, checked against the C++ model: train task fp_action or wilson_loops (one file "
     "per lattice shape; config keys: shapes, n_colors, seed) or a train-flow run (flow.pt; keys: ode_steps, seed)",
     false,
     run_export,
     {{"model", "directory of a `blockspin train` or `train-flow` run"}},
     /*config_required=*/false,
     "output directory (model_<shape>.pt or flow.pt, reference_<shape>.h5 or reference_flow.h5, export.json)"});

}  // namespace
}  // namespace blockspin::apps
