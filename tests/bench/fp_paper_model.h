// The FP papers' L-CNN for the benchmarks (Plaq; 3 L-ConvBilin layers, 12/24/24 channels, kernel sizes 2, 2, 1;
// Trace; linear; sum over sites; 204,853 parameters) and one step of its training loss (action and link derivatives,
// double backward).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "lattice/derivatives.h"
#include "lcnn/factory.h"

namespace blockspin::bench {

inline lcnn::LcnnModel fp_paper_model(torch::Dtype dtype, const torch::Device& device = torch::kCPU) {
  torch::manual_seed(1);
  auto model = lcnn::make_model(nlohmann::json::parse(R"({
    "layers": [{"type": "plaq"},
               {"type": "lconvbilin", "out": 12, "kernel_size": 2},
               {"type": "lconvbilin", "out": 24, "kernel_size": 2},
               {"type": "lconvbilin", "out": 24, "kernel_size": 1},
               {"type": "trace"}, {"type": "linear", "out": 1}],
    "sum_sites": true})"),
                                4);
  model->to(device, dtype);
  return model;
}

/// loss = A(U)² + Σ D(U)², backpropagated to the weights (needs the graph of the link derivatives); returns the loss.
/// Any module holder whose forward maps links to the action per configuration (LcnnModel, FpActionModel).
template <class Model>
double fp_training_step(Model& model, const torch::Tensor& U) {
  lattice::ActionFunctional action = [&](const torch::Tensor& V) { return model->forward(V); };
  model->zero_grad();
  auto [A, D] = lattice::action_and_derivative(action, U, /*create_graph=*/true);
  auto loss = A.pow(2).sum() + D.pow(2).sum();
  loss.backward();
  return loss.item<double>();
}

}  // namespace blockspin::bench
