// Throughput of the lattice core hot paths: plaquette and gauge forces on 8^4 SU(3), batch 1 and 16, double/float.
//   ./build/bin/bench_lattice --benchmark_counters_tabular=true
// Counters: sites/s = batch * volume processed per second (one plaquette average or one full force evaluation
// per site); links/s = D * sites/s for the forces.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/observables.h"
#include "lattice/rng.h"

namespace L = blockspin::lattice;

namespace {

torch::Tensor field(int64_t batch, bool dbl) {
  auto gen = L::make_generator(1);
  auto dtype = dbl ? torch::kComplexDouble : torch::kComplexFloat;
  return L::near_identity_gauge_field(batch, {8, 8, 8, 8}, 3, 0.5, gen, torch::TensorOptions().dtype(dtype));
}

void set_counters(benchmark::State& state, const torch::Tensor& U) {
  const double sites = static_cast<double>(L::batch_size(U) * L::volume(U));
  state.counters["sites/s"] = benchmark::Counter(sites, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["links/s"] = benchmark::Counter(sites * L::n_dims(U), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Plaquette(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  auto U = field(state.range(0), state.range(1) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(L::average_plaquette(U).sum().item<double>());
  set_counters(state, U);
}

void BM_WilsonForce(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  auto U = field(state.range(0), state.range(1) != 0);
  auto S = L::GaugeAction::wilson(6.0);
  for (auto _ : state) benchmark::DoNotOptimize(S.derivative_matrix(U).abs().sum().item<double>());
  set_counters(state, U);
}

void BM_SymanzikForce(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  auto U = field(state.range(0), state.range(1) != 0);
  auto S = L::GaugeAction::symanzik(4.2);
  for (auto _ : state) benchmark::DoNotOptimize(S.derivative_matrix(U).abs().sum().item<double>());
  set_counters(state, U);
}

// The fused kernels against the torch path, in one run: range(0) 1 = fused, 0 = torch path; batch 1, double.
// GFLOP/s with the standard counts: a 3×3 complex product is 198 flops; the Wilson action 12 products per site
// (6 planes × 2), the force 52 (13 per link: six staples of 2 products each and U·A).
void BM_KernelWilsonAction(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  L::kernels::ModeGuard mode(state.range(0) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto U = field(1, true);
  auto S = L::GaugeAction::wilson(6.0);
  for (auto _ : state) benchmark::DoNotOptimize(S(U).item<double>());
  set_counters(state, U);
  state.counters["GFLOP/s"] =
      benchmark::Counter(12 * 198.0 * L::volume(U) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_KernelWilsonForce(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  L::kernels::ModeGuard mode(state.range(0) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto U = field(1, true);
  auto S = L::GaugeAction::wilson(6.0);
  for (auto _ : state) benchmark::DoNotOptimize(S.derivative(U).sum().item<double>());
  set_counters(state, U);
  state.counters["GFLOP/s"] =
      benchmark::Counter(52 * 198.0 * L::volume(U) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// range(0): batch, range(1): 1 = double, 0 = float
const std::vector<std::vector<int64_t>> kArgs{{1, 16}, {1, 0}};

}  // namespace

BENCHMARK(BM_Plaquette)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WilsonForce)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SymanzikForce)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KernelWilsonAction)->Arg(1)->Arg(0)->ArgName("fused")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KernelWilsonForce)->Arg(1)->Arg(0)->ArgName("fused")->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
