// TorchScript export of trained networks, loadable with C++ torch::jit::load and Python torch.jit.load.
//
// A C++ torch::nn::Module cannot be scripted (see ../shared/notes/libtorch-pitfalls.md), so the module tree is mirrored
// into a torch::jit::Module that shares its parameter tensors, `forward` is traced on one configuration of the given
// shape (method `forward_one`; traced shapes are constants, so a file serves one lattice shape), and a scripted
// `forward` loops over the batch and checks the input shape. Tracing runs on the torch kernels path (custom autograd
// Functions lose their backward when traced). Attributes: `input_shape` (one configuration's shape) and
// `blockspin_metadata` (JSON string). Gradients through a loaded file: switch the graph optimiser off
// (C++ torch::jit::setGraphExecutorOptimize(false), Python torch._C._set_graph_executor_optimize(False)), or
// complex-input gradients are wrong from the second call on (LibTorch 1.13 and 2.x).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace blockspin::io {

struct TorchScriptExportOptions {
  std::string class_name;            ///< TorchScript class of the root module, e.g. "FpAction" (an identifier)
  std::vector<int64_t> input_shape;  ///< one configuration's input shape (no batch), e.g. [D, x.., N, N]
  torch::Dtype dtype = torch::kComplexDouble;
  nlohmann::json metadata = nlohmann::json::object();
  /// The configuration traced, [1] + input_shape (e.g. a random gauge field); undefined: standard normal entries.
  torch::Tensor example{};
};

/// Writes `module`'s computation `forward` (inputs [B] + input_shape of `dtype`) as a TorchScript file at `path`,
/// atomically. `forward` must use only `module`'s registered parameters and buffers (other tensors become constants).
void export_torchscript(torch::nn::Module& module, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                        const TorchScriptExportOptions& options, const std::filesystem::path& path);

/// The general form: `traced` (tensors in, one tensor out) is traced on `examples` as method `forward_one(names..)`;
/// then `attributes` are registered and `script` (TorchScript source defining the public methods, which call
/// self.forward_one) is compiled into the class. Written atomically at `path`.
struct TracedExport {
  std::string class_name;  ///< an identifier, e.g. "RGFlow"
  std::vector<torch::Tensor> examples;
  std::vector<std::string> input_names;
  std::vector<std::pair<std::string, c10::IValue>> attributes;
  std::string script;
};
void export_traced(torch::nn::Module& module,
                   const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& traced,
                   const TracedExport& spec, const std::filesystem::path& path);

}  // namespace blockspin::io
