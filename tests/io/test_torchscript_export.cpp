// TorchScript export: the exported FP-action model loaded with torch::jit::load gives the C++ model's values and link
// derivatives (1e-12, double, on the first three calls with the graph optimiser off), for any batch size; wrong
// shapes raise; the metadata survives.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "io/torchscript_export.h"
#include "lattice/gauge_field.h"
#include "lattice/rng.h"
#include "lcnn/fp_action_model.h"

#include <filesystem>

namespace L = blockspin::lattice;
namespace fs = std::filesystem;

namespace {

blockspin::lcnn::FpActionModel tiny_model(const std::string& prefactor) {
  torch::manual_seed(3);
  auto spec = nlohmann::json::parse(R"({"network": {"layers": [{"type": "plaq"},
      {"type": "lconvbilin", "out": 3, "kernel_size": 2}, {"type": "trace"}, {"type": "linear", "out": 1}]},
      "dims": 4})");
  spec["prefactor"] = prefactor;
  auto model = blockspin::lcnn::make_fp_action_model(spec);
  model->to(torch::kDouble);
  return model;
}

// dA/dU (torch's complex gradient) of the summed action.
torch::Tensor gradient(const std::function<torch::Tensor(const torch::Tensor&)>& action, const torch::Tensor& U) {
  auto x = U.detach().requires_grad_(true);
  return torch::autograd::grad({action(x).sum()}, {x})[0];
}

}  // namespace

TEST(TorchScriptExport, FpActionModelRoundTrip) {
  for (const std::string prefactor : {"none", "wilson"}) {
    auto model = tiny_model(prefactor);
    const std::vector<int64_t> lattice{4, 2, 2, 2};
    auto gen = L::make_generator(7);
    const auto opt = torch::TensorOptions().dtype(torch::kComplexDouble);
    blockspin::io::TorchScriptExportOptions o;
    o.class_name = "FpAction";
    o.input_shape = {4, 4, 2, 2, 2, 3, 3};
    o.metadata = {{"task", "fp_action"}, {"lattice", lattice}};
    o.example = L::near_identity_gauge_field(1, lattice, 3, 0.7, gen, opt);
    const auto path = fs::temp_directory_path() / ("blockspin_export_test_" + prefactor + ".pt");
    blockspin::io::export_torchscript(
        *model, [&](const torch::Tensor& U) { return model->forward(U); }, o, path);

    auto loaded = torch::jit::load(path.string());
    loaded.eval();
    EXPECT_EQ(loaded.attr("blockspin_metadata").toStringRef(), o.metadata.dump());
    torch::jit::GraphOptimizerEnabledGuard no_optimizer(false);
    auto jit_action = [&](const torch::Tensor& U) { return loaded.forward({U}).toTensor(); };
    auto cpp_action = [&](const torch::Tensor& U) { return model->forward(U); };
    for (int64_t batch : {3, 1, 2}) {  // three calls: complex gradients break from the second one if optimised
      const auto U = L::near_identity_gauge_field(batch, lattice, 3, 0.7, gen, opt);
      const auto A = cpp_action(U).detach(), A_jit = jit_action(U).detach();
      ASSERT_EQ(A_jit.sizes(), A.sizes());
      EXPECT_LT((A_jit - A).abs().max().item<double>(), 1e-12 * std::max(1.0, A.abs().max().item<double>()));
      const auto G = gradient(cpp_action, U), G_jit = gradient(jit_action, U);
      EXPECT_LT((G_jit - G).abs().max().item<double>(), 1e-12 * std::max(1.0, G.abs().max().item<double>()))
          << prefactor << " batch " << batch;
    }
    // Another lattice shape is refused with a message, not silently mis-evaluated.
    EXPECT_THROW(jit_action(L::near_identity_gauge_field(1, {2, 2, 2, 2}, 3, 0.7, gen, opt)), std::exception);
    fs::remove(path);
  }
}
