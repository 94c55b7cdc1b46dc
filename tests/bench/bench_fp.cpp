// FP minimiser cost: fp_minimise on coarse 4^4 (fine 8^4) SU(3) configurations, Wilson fine action (β-free
// normalisation), default RG transformation, batch 1, double and float.
//   ./build/bin/bench_fp --benchmark_counters_tabular=true
// Counters: s/config = seconds per configuration; iterations = L-BFGS iterations of the last run; converged = 1/0.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>

#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/kernels/mode.h"
#include "lattice/rng.h"

namespace L = blockspin::lattice;

namespace {

void BM_FpMinimise(benchmark::State& state) {
  const bool dbl = state.range(0) != 0;
  // range(1): 1 = fused kernels (the fine Wilson action and its autograd backward), 0 = the torch path
  L::kernels::ModeGuard mode(state.range(1) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(11);
  auto dtype = dbl ? torch::kComplexDouble : torch::kComplexFloat;
  auto V = L::near_identity_gauge_field(1, {4, 4, 4, 4}, 3, 0.3, gen, torch::TensorOptions().dtype(dtype));
  const auto wilson = L::GaugeAction::wilson(1.0);
  L::ActionFunctional action = [&](const torch::Tensor& U) { return wilson(U); };
  L::FpMinimiserOptions o;
  o.grad_tol = dbl ? 1e-9 : 1e-3;
  double seconds = 0.0, iterations = 0.0, converged = 0.0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = L::fp_minimise(V, action, o);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    iterations = static_cast<double>(r.iterations[0].item<int64_t>());
    converged = r.converged.all().item<bool>() ? 1.0 : 0.0;
  }
  state.counters["s/config"] = seconds;
  state.counters["iterations"] = iterations;
  state.counters["converged"] = converged;
}

}  // namespace

BENCHMARK(BM_FpMinimise)
    ->ArgsProduct({{1, 0}, {1, 0}})
    ->ArgNames({"double", "fused"})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK_MAIN();
