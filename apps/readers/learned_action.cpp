// Loading a trained FP action for simulation (see learned_action.h).
#include "apps/readers/learned_action.h"

#include "apps/app.h"

#include "apps/readers/fp_training_data.h"
#include "lattice/gauge_field.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lcnn/fp_action_model.h"
#include "lcnn/factory.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <memory>

namespace blockspin::apps {
namespace {

namespace fs = std::filesystem;
namespace L = blockspin::lattice;
using nlohmann::json;

LearnedAction from_run_directory(const fs::path& dir, const std::vector<int64_t>& shape, int64_t N, torch::Dtype dtype,
                                 const torch::Device& device) {
  const fs::path checkpoint = dir / "model" / "checkpoint.h5";
  if (!fs::exists(checkpoint))
    throw InputError("'" + dir.string() + "' is not a trained FP-action model (no model/checkpoint.h5)");
  const json spec = trained_model_spec(dir);
  const auto card = read_model_card(dir);
  const int64_t trained_N = card ? card->n_colors : 0;  // runs made before cards do not say
  if (trained_N != 0 && trained_N != N)
    throw InputError(
        fmt::format("'{}': the model was trained on SU({}), the lattice is SU({})", dir.string(), trained_N, N));
  auto model = load_fp_action_model(spec, checkpoint, dir.string());
  if (model->options.dims() != static_cast<int64_t>(shape.size()))
    throw InputError(fmt::format("'{}': a model for D = {}, the lattice has D = {}", dir.string(),
                                 model->options.dims(), shape.size()));
  model->to(device, dtype);
  model->eval();
  for (auto& p : model->parameters()) p.set_requires_grad(false);  // forces need link gradients only
  LearnedAction a;
  a.kind = "checkpoint";
  a.n_colors = trained_N != 0 ? trained_N : N;
  a.n_parameters = lcnn::count_parameters(*model);
  a.action = [model](const torch::Tensor& U) mutable { return model->forward(U); };
  return a;
}

LearnedAction from_torchscript(const fs::path& file, const std::vector<int64_t>& shape, int64_t N) {
  std::shared_ptr<torch::jit::Module> module;
  try {
    module = std::make_shared<torch::jit::Module>(torch::jit::load(file.string()));
  } catch (const c10::Error& e) {
    throw InputError("'" + file.string() + "' is not a TorchScript model (" +
                     abbreviate(e.what_without_backtrace(), 200) + ")");
  }
  std::vector<int64_t> expected{static_cast<int64_t>(shape.size())};
  expected.insert(expected.end(), shape.begin(), shape.end());
  expected.insert(expected.end(), {N, N});
  if (module->hasattr("input_shape")) {
    const auto input = module->attr("input_shape").toIntVector();
    if (input != expected)
      throw InputError(
          fmt::format("'{}' was exported for links [B, {}], this lattice needs [B, {}] (export it for "
                      "this lattice: blockspin export --set shapes=[[{}]])",
                      file.string(), fmt::join(input, ", "), fmt::join(expected, ", "), fmt::join(shape, ",")));
  }
  LearnedAction a;
  a.kind = "torchscript";
  a.n_colors = N;
  for (const auto& p : module->parameters()) a.n_parameters += p.numel();
  a.action = [module](const torch::Tensor& U) {
    // Gradients of complex inputs through an optimised graph are wrong from the second call (libtorch-pitfalls.md).
    torch::jit::GraphOptimizerEnabledGuard no_optimizer(false);
    const auto out = module->forward({U.to(torch::kCPU, torch::kComplexDouble)}).toTensor();
    if (out.is_complex()) return out;  // not cast to real (that would drop the imaginary part): the probe refuses it
    return out.to(U.device(), c10::toRealValueType(U.scalar_type()));
  };
  return a;
}

}  // namespace

LearnedAction load_learned_action(const fs::path& path, const std::vector<int64_t>& shape, int64_t N,
                                  torch::Dtype dtype, const torch::Device& device) {
  if (!fs::exists(path)) throw InputError("model '" + path.string() + "' does not exist");
  LearnedAction a =
      fs::is_directory(path) ? from_run_directory(path, shape, N, dtype, device) : from_torchscript(path, shape, N);
  a.source = path.string();
  // The probe: two configurations near the identity give one finite action each, and a link gradient.
  auto gen = L::make_generator(12345);
  const auto U = L::near_identity_gauge_field(2, shape, N, 0.3, gen,
                                              torch::TensorOptions().dtype(L::complex_dtype(dtype)).device(device))
                     .requires_grad_(true);
  torch::Tensor A;
  try {
    A = a.action(U);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("'{}' fails on SU({}) links of lattice {}: {}", path.string(), N,
                                 fmt::join(shape, "x"), abbreviate(e.what(), 300)));
  }
  if (A.dim() != 1 || A.size(0) != 2 || A.is_complex())
    throw InputError(
        fmt::format("'{}': forward returns {} [{}] for 2 configurations, expected one real action per "
                    "configuration [2]",
                    path.string(), std::string(c10::toString(A.scalar_type())), fmt::join(A.sizes(), ", ")));
  if (!torch::isfinite(A).all().item<bool>())
    throw InputError("'" + path.string() + "': the action of a configuration near the identity is not finite");
  return a;
}

}  // namespace blockspin::apps
