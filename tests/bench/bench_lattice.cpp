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
#include "lattice/matrix_ops.h"
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

// The parallel transport of a 12-channel adjoint field by one link (an L-Conv offset, 4^4 SU(3), batch 1, double):
// range(0) 1 = fused, 0 = torch path; range(1) 0 = forward only, 1 = forward + backward, 2 = + double backward (the
// L-CNN's training through D = dA/dU). GFLOP/s of the forward: 2 products of 198 flops per channel and site.
void BM_KernelTransport(benchmark::State& state) {
  L::kernels::ModeGuard mode(state.range(0) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(2);
  auto U =
      L::near_identity_gauge_field(1, {4, 4, 4, 4}, 3, 0.5, gen, torch::TensorOptions().dtype(torch::kComplexDouble));
  auto W = torch::randn({1, 12, 4, 4, 4, 4, 3, 3}, gen, U.options());
  auto G = torch::randn(W.sizes(), gen, U.options());
  const int64_t order = state.range(1);
  for (auto _ : state) {
    auto u = U.detach().requires_grad_(order > 0), w = W.detach().requires_grad_(order > 0);
    auto T = L::transport(L::link(u, 2), w, 2, 1);
    if (order == 0) {
      benchmark::DoNotOptimize(T.data_ptr());
      continue;
    }
    auto g = torch::autograd::grad({torch::real(G.conj() * T).sum()}, {u, w}, {}, order > 1, order > 1);
    if (order > 1)
      g = torch::autograd::grad({torch::real(g[0].conj() * g[0]).sum() + torch::real(g[1].conj() * T).sum()}, {u, w});
    benchmark::DoNotOptimize(g[0].data_ptr());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2 * 198.0 * 12 * 256 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Plaquette)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WilsonForce)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SymanzikForce)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KernelWilsonAction)->Arg(1)->Arg(0)->ArgName("fused")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KernelWilsonForce)->Arg(1)->Arg(0)->ArgName("fused")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KernelTransport)
    ->ArgsProduct({{1, 0}, {0, 1, 2}})
    ->ArgNames({"fused", "order"})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
