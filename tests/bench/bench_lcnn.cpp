// Time per configuration of the FP-paper L-CNN (Plaq; 3 L-ConvBilin layers, 12/24/24 channels, kernel sizes 2, 2, 1;
// Trace; linear; sum over sites; 204,853 parameters) on 4^4 and 8^4 SU(3): forward, and forward + backward of the
// FP training loss (action and link derivatives, i.e. double backward), float and double, batch 1.
//   ./build/bin/bench_lcnn --benchmark_counters_tabular=true
// Also one float training step of the shipped FP-action architectures (batch 4, as the training recipe runs it).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "lattice/derivatives.h"
#include "lattice/gauge_field.h"
#include "lattice/kernels/channel_products.h"
#include "lattice/kernels/mode.h"
#include "lattice/rng.h"
#include "lcnn/factory.h"
#include "lcnn/fp_action_model.h"
#include "lcnn/lbilin.h"

#include <fstream>
#include <string>

#include "fp_paper_model.h"

namespace L = blockspin::lattice;

namespace {

blockspin::lcnn::LcnnModel fp_model(bool dbl) {
  return blockspin::bench::fp_paper_model(dbl ? torch::kDouble : torch::kFloat);
}

torch::Tensor field(int64_t L_, bool dbl) {
  auto gen = L::make_generator(3);
  return L::near_identity_gauge_field(1, {L_, L_, L_, L_}, 3, 0.4, gen,
                                      torch::TensorOptions().dtype(dbl ? torch::kComplexDouble : torch::kComplexFloat));
}

blockspin::lattice::kernels::Mode kernels(const benchmark::State& state) {
  return state.range(2) != 0 ? blockspin::lattice::kernels::Mode::fused : blockspin::lattice::kernels::Mode::torch;
}

void BM_LcnnForward(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  blockspin::lattice::kernels::ModeGuard mode(kernels(state));
  auto model = fp_model(dbl);
  auto U = field(state.range(0), dbl);
  torch::NoGradGuard no_grad;
  model->forward(U);  // warm-up: first-touch page faults and lazy symbol binding are not the model's cost
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(U).sum().item<double>());
  state.counters["configs/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LcnnTrainingStep(benchmark::State& state) {
  // loss = A(U)² + Σ D(U)², backpropagated to the weights (needs the graph of the link derivatives).
  const bool dbl = state.range(1) != 0;
  blockspin::lattice::kernels::ModeGuard mode(kernels(state));
  auto model = fp_model(dbl);
  auto U = field(state.range(0), dbl);
  auto step = [&] { return blockspin::bench::fp_training_step(model, U); };
  step();  // warm-up: first-touch page faults and lazy symbol binding are not the model's cost
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["configs/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

// The bilinear layer's channel-product kernel alone at the FP paper's third layer (O = 24 outputs, K = 48 products
// each, 4^4 sites, batch 1): pattern 0 the forward Σ_k A_k C_ok, 1 its sum over o (a backward), 2 the outer product
// (the other backward); GFLOP/s counts 8 N³ real flops per N × N complex product.
void BM_ChannelProducts(benchmark::State& state) {
  namespace K = blockspin::lattice::kernels;
  const bool dbl = state.range(1) != 0;
  K::ChannelPattern p;
  p.O = 24;
  p.K = 48;
  using C = K::ChannelIndex;
  const C cls[3][3] = {{C::k, C::ok, C::o}, {C::o, C::ok, C::k}, {C::k, C::o, C::ok}};
  p.x = cls[state.range(0)][0];
  p.y = cls[state.range(0)][1];
  p.r = cls[state.range(0)][2];
  auto gen = L::make_generator(5);
  const auto opts = torch::TensorOptions().dtype(dbl ? torch::kComplexDouble : torch::kComplexFloat);
  auto X = K::to_planes(torch::randn({1, p.channels(p.x), 4, 4, 4, 4, 3, 3}, gen, opts));
  auto Y = K::to_planes(torch::randn({1, p.channels(p.y), 4, 4, 4, 4, 3, 3}, gen, opts));
  torch::NoGradGuard no_grad;
  K::channel_products(X, Y, p, false, false);
  for (auto _ : state) benchmark::DoNotOptimize(K::channel_products(X, Y, p, false, false));
  state.counters["GFLOP/s"] =
      benchmark::Counter(256.0 * p.O * p.K * 8 * 27 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// One training step (values and link derivatives, double backward) of a shipped FP-action architecture at batch 4,
// float32, 4^4 SU(3) — the recipe's step: range(0) 0 = models/architectures/fp_action_shipped_lact.json, 1 =
// fp_action_reflection_characters.json; range(1) 1 = the character body's block-by-block contraction, 0 = its dense
// GEMM over the projected weights (the previous code path; the shipped body has no blocks).
void BM_FpArchitectureTrainingStep(benchmark::State& state) {
  const char* names[] = {"fp_action_shipped_lact.json", "fp_action_reflection_characters.json"};
  std::ifstream file(std::string(BLOCKSPIN_SOURCE_DIR) + "/models/architectures/" + names[state.range(0)]);
  auto model = blockspin::lcnn::make_fp_action_model(nlohmann::json::parse(file, nullptr, true, true));
  model->to(torch::kFloat);
  for (auto& m : model->modules())
    if (auto* bilin = dynamic_cast<blockspin::lcnn::LBilinImpl*>(m.get())) bilin->options.block_sparse(state.range(1));
  auto gen = L::make_generator(3);
  auto U =
      L::near_identity_gauge_field(4, {4, 4, 4, 4}, 3, 0.4, gen, torch::TensorOptions().dtype(torch::kComplexFloat));
  blockspin::bench::fp_training_step(model, U);
  for (auto _ : state) benchmark::DoNotOptimize(blockspin::bench::fp_training_step(model, U));
  state.counters["configs/s"] = benchmark::Counter(4, benchmark::Counter::kIsIterationInvariantRate);
}

// fused 1: real weights contracted as real GEMMs into lane planes, the channel-product and transport lane kernels;
// 0: the reference path (weights cast to complex, broadcast batched N × N products, transports by torch matmul).
const std::vector<std::vector<int64_t>> kArgs{{4, 8}, {1, 0}, {1, 0}};

}  // namespace

BENCHMARK(BM_LcnnForward)->ArgsProduct(kArgs)->ArgNames({"L", "double", "fused"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChannelProducts)
    ->ArgsProduct({{0, 1, 2}, {1, 0}})
    ->ArgNames({"pattern", "double"})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LcnnTrainingStep)
    ->ArgsProduct(kArgs)
    ->ArgNames({"L", "double", "fused"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(4);
BENCHMARK(BM_FpArchitectureTrainingStep)
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 0})
    ->ArgNames({"characters", "blocks"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(4);
BENCHMARK_MAIN();
