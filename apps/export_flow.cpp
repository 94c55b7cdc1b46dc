// `blockspin export` of a trained super-resolving flow (see export_flow.h).
//
// The file's class RGFlow has
//   forward(coarse [B, L..], noise: List[Tensor]) -> (fine [B, 2^n L..], log_q [B])
//     noise[i] standard normal of the fine shape of level i (attribute noise_shapes); level i's block noise is
//     ζ_i = σ_i (η_i − block mean η_i), exactly what `sample` draws, and log_q = −S_L(φ; κ_L, λ_L) − log det of the map
//     (log Z_L dropped), the log-density `sample` uses in its Metropolis weights;
//   sample(coarse) -> (fine, log_q) with torch.randn noise;
// attributes coarse_shape, fine_shape, noise_shapes, ode_steps, blockspin_metadata (JSON). Coarse configurations come
// from the user (e.g. HMC of the coarse action at the couplings in the metadata).
#include "apps/export_flow.h"

#include "apps/readers/flow_run.h"
#include "io/h5io.h"
#include "io/torchscript_export.h"
#include "lattice/rng.h"
#include "lattice/scalar_action.h"
#include "run/run_directory.h"
#include "support/atomic_file.h"
#include "support/errors.h"
#include "support/version.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/script.h>

namespace blockspin::apps {

namespace fs = std::filesystem;
namespace F = blockspin::flows;
namespace L = blockspin::lattice;
using nlohmann::json;

namespace {

std::string entry_script(int64_t levels) {
  std::string noise_args;
  for (int64_t k = 0; k < levels; ++k) noise_args += fmt::format(", noise[{}][i:i + 1]", k);
  return fmt::format(R"JIT(
def forward(self, coarse, noise: List[Tensor]) -> Tuple[Tensor, Tensor]:
    ok = coarse.dim() == len(self.coarse_shape) + 1
    if ok:
        ok = coarse.shape[1:] == self.coarse_shape
    assert ok, "blockspin flow: expected coarse fields of shape [B] + coarse_shape"
    assert len(noise) == len(self.noise_shapes), "blockspin flow: one noise tensor per level (see noise_shapes)"
    for k in range(len(noise)):
        assert noise[k].shape[1:] == self.noise_shapes[k] and noise[k].size(0) == coarse.size(0), "blockspin flow: noise[k] must be [B] + noise_shapes[k]"
    fields = []
    log_q = []
    for i in range(coarse.size(0)):
        out = self.forward_one(coarse[i:i + 1]{})
        fields.append(out[:, :-1].reshape([1] + self.fine_shape))
        log_q.append(out[:, -1])
    return torch.cat(fields), torch.cat(log_q)

def sample(self, coarse) -> Tuple[Tensor, Tensor]:
    noise = [torch.randn([coarse.size(0)] + s, dtype=coarse.dtype) for s in self.noise_shapes]
    return self.forward(coarse, noise)
)JIT",
                     noise_args);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

bool is_flow_run(const fs::path& dir) {
  return fs::exists(dir / "config.json") && fs::exists(dir / "checkpoint.h5") && !fs::exists(dir / "model") &&
         !fs::exists(dir / "lcnn");
}

void run_export_flow(const CommonOptions& opt, const fs::path& model_dir) {
  json stored = read_flow_run_config(model_dir);
  Config model_cfg = Config::from_json(stored, {}, (model_dir / "config.json").string());
  const FlowRunSetup s = read_flow_setup(model_cfg);
  Config cfg = opt.config.empty() ? Config::from_json(json::object(), opt.overrides, "--set")
                                  : Config::load(opt.config, opt.overrides);
  const int64_t ode_steps = cfg.get<int64_t>("ode_steps", 0, support::Check::non_negative());
  const uint64_t seed = static_cast<uint64_t>(cfg.get<int64_t>("seed", 1, support::Check::non_negative()));
  cfg.check_unused();
  if (config_checked(opt, cfg)) return;
  const run::RunDirectory run("export", {opt.out, opt.force, false}, cfg.resolved());

  torch::manual_seed(s.trainer.seed);
  fs::path checkpoint;
  const auto model = load_flow_model(model_dir, s, s.trainer, &checkpoint);
  F::FlowTrainer& trainer = *model;
  auto flow = trainer.flow;
  flow->to(torch::kDouble);
  // The exported map: the step count `sample` evaluates (the trained one unless eval.ode_steps or the key ode_steps),
  // backprop RK4 (the same values as the adjoint solver, which only changes the backward pass).
  const int64_t steps = ode_steps > 0 ? ode_steps : (s.eval.ode_steps > 0 ? s.eval.ode_steps : flow->ode_steps());
  flow->set_ode_steps(steps);
  for (int64_t i = 0; i < flow->levels(); ++i) flow->level(i)->cnf->options.adjoint(false);
  const auto coarse_c = trainer.coarse_couplings().detached();
  const auto dbl = torch::TensorOptions().dtype(torch::kDouble);

  const std::vector<int64_t> coarse_shape = s.trainer.coarse_extents;
  std::vector<std::vector<int64_t>> noise_shapes;
  std::vector<int64_t> level_shape = coarse_shape;
  for (int64_t i = 0; i < flow->levels(); ++i) {
    for (auto& e : level_shape) e *= 2;
    noise_shapes.push_back(level_shape);
  }
  const std::vector<int64_t> fine_shape = level_shape;
  auto with_batch = [](int64_t b, const std::vector<int64_t>& shape) {
    std::vector<int64_t> out{b};
    out.insert(out.end(), shape.begin(), shape.end());
    return out;
  };
  // The map as C++ computes it, batched: [B, V + 1] = (fine field flattened, log q̃).
  auto map = [&](const std::vector<torch::Tensor>& in) {
    const auto& coarse = in.at(0);
    std::vector<torch::Tensor> zeta;
    for (int64_t i = 0; i < flow->levels(); ++i)
      zeta.push_back(flow->level(i)->noise->from_standard_normal(in.at(1 + i)));
    auto out = flow->forward(F::FlowState{coarse, -L::scalar_action(coarse, coarse_c)}, zeta);
    return torch::cat({out.phi.flatten(1), out.log_prob.unsqueeze(1)}, 1);
  };

  auto gen = L::make_generator(seed);
  const double coarse_width = flow->level(0)->noise->sigma().item<double>();  // σ² = the coarse variance
  io::TracedExport spec;
  spec.class_name = "RGFlow";
  spec.input_names = {"coarse"};
  spec.examples = {coarse_width * torch::randn(with_batch(1, coarse_shape), gen, dbl)};
  for (int64_t i = 0; i < flow->levels(); ++i) {
    spec.input_names.push_back("noise" + std::to_string(i));
    spec.examples.push_back(torch::randn(with_batch(1, noise_shapes[i]), gen, dbl));
  }
  c10::List<c10::List<int64_t>> noise_list;
  for (const auto& n : noise_shapes) noise_list.push_back(c10::List<int64_t>(n));
  const json metadata = {{"task", "flow"},
                         {"coarse_shape", coarse_shape},
                         {"fine_shape", fine_shape},
                         {"levels", flow->levels()},
                         {"ode_steps", steps},
                         {"coarse_kappa", coarse_c.kappa.item<double>()},
                         {"coarse_lambda", coarse_c.lambda.item<double>()},
                         {"fine_kappa", trainer.fine_couplings().kappa.item<double>()},
                         {"fine_lambda", trainer.fine_couplings().lambda.item<double>()},
                         {"model", model_dir.string()},
                         {"checkpoint", checkpoint.filename().string()},
                         {"blockspin_version", BLOCKSPIN_VERSION},
                         {"output", "(fine field [B, fine_shape], log q [B]) with log q = -S_L(coarse) - log det"}};
  spec.attributes = {{"coarse_shape", c10::IValue(coarse_shape)},
                     {"fine_shape", c10::IValue(fine_shape)},
                     {"noise_shapes", c10::IValue(noise_list)},
                     {"ode_steps", c10::IValue(steps)},
                     {"blockspin_metadata", c10::IValue(metadata.dump())}};
  spec.script = entry_script(flow->levels());
  const fs::path file = run.dir() / "flow.pt";
  {
    torch::NoGradGuard no_grad;
    io::export_traced(*flow, map, spec, file);
  }

  // The check: the loaded file against the C++ map, and the C++ map against the sampling path (RGFlow::forward with
  // a generator, as `sample` draws its proposals) on the same draws.
  torch::NoGradGuard no_grad;
  const int64_t B = 3;
  auto coarse = coarse_width * torch::randn(with_batch(B, coarse_shape), gen, dbl);
  auto replay = gen.clone();
  std::vector<torch::Tensor> inputs{coarse};
  c10::List<torch::Tensor> noise;
  for (int64_t i = 0; i < flow->levels(); ++i) {
    inputs.push_back(torch::randn(with_batch(B, noise_shapes[i]), gen, dbl));
    noise.push_back(inputs.back());
  }
  const auto expected = map(inputs);
  const auto fields = expected.slice(1, 0, -1).reshape(with_batch(B, fine_shape));
  const auto log_q = expected.select(1, expected.size(1) - 1);
  const auto sampled = flow->forward(F::FlowState{coarse, -L::scalar_action(coarse, coarse_c)}, replay);
  const double sample_dev = std::max(max_diff(sampled.phi, fields), max_diff(sampled.log_prob, log_q));
  auto loaded = torch::jit::load(file.string());
  double field_dev = 0, log_q_dev = 0;
  for (int call = 0; call < 2; ++call) {
    auto out = loaded.forward({coarse, noise}).toTuple();
    field_dev = std::max(field_dev, max_diff(out->elements()[0].toTensor(), fields));
    log_q_dev = std::max(log_q_dev, max_diff(out->elements()[1].toTensor(), log_q));
  }
  const double log_q_scale = std::max(1.0, log_q.abs().max().item<double>());
  if (!(field_dev <= 1e-12 && log_q_dev <= 1e-12 * log_q_scale && sample_dev <= 1e-12 * log_q_scale))
    throw support::NumericalStop(fmt::format(
        "export check failed for {}: fields differ by {:.3g}, log q by {:.3g} (C++ map vs sampling path: {:.3g})",
        file.string(), field_dev, log_q_dev, sample_dev));
  io::write_h5_atomic(run.dir() / "reference_flow.h5", "export_reference", BLOCKSPIN_VERSION, [&](H5::H5File& f) {
    io::write_tensor(f, "coarse", coarse);
    for (int64_t i = 0; i < flow->levels(); ++i) io::write_tensor(f, "noise" + std::to_string(i), inputs[1 + i]);
    io::write_tensor(f, "fields", fields);
    io::write_tensor(f, "log_q", log_q);
  });
  spdlog::info("{}: {} levels, {} RK4 steps; fields within {:.2g}, log q within {:.2g} of the C++ flow", file.string(),
               flow->levels(), steps, field_dev, log_q_dev);
  support::write_json_atomic(
      run.dir() / "export.json",
      {{"task", "flow"},
       {"model", model_dir.string()},
       {"files", json::array({{{"file", "flow.pt"},
                               {"reference", "reference_flow.h5"},
                               {"coarse_shape", coarse_shape},
                               {"fine_shape", fine_shape},
                               {"ode_steps", steps},
                               {"max_abs_field_deviation", field_dev},
                               {"max_abs_log_q_deviation", log_q_dev},
                               {"max_abs_deviation_from_sampling_path", sample_dev}}})},
       {"load", "m = torch.jit.load('flow.pt'); fine, log_q = m(coarse, noise) or m.sample(coarse)"}});
}

}  // namespace blockspin::apps
