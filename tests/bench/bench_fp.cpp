// FP minimiser cost: fp_minimise on coarse 4^4 (fine 8^4) SU(3) configurations, Wilson fine action (β-free
// normalisation), default RG transformation, batch 1, double and float.
//   ./build/bin/bench_fp --benchmark_counters_tabular=true
// Counters: s/config = seconds per configuration after a 2-iteration warm-up minimisation (the steady state of a run
// over many configurations; the first minimisation of a process pays ~0.5 s of first-touch page faults on this VM);
// iterations = L-BFGS iterations of the last run; converged = 1/0.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>

#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/kernels/mode.h"
#include "lattice/rng.h"
#include "lattice/smearing.h"
#include "lattice/su_n_maximiser.h"
#include "lattice/matrix_ops.h"

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
  {  // warm-up (first-touch page faults, thread pool, tables: once per process in a production run)
    auto w = o;
    w.max_iterations = 2;
    L::fp_minimise(V, action, w);
  }
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

/// The pieces of one objective evaluation on a fine 8^4 SU(3) field near the minimiser's typical distance from 1:
/// range(0) = 0 Wilson value, 1 Wilson value+gradient, 2 smear_links, 3 block_links, 4 su_n_maximiser of Q,
/// 5 blocking kernel value+gradient (autograd through smearing), 6 the whole objective value+gradient, 7 smear_links
/// value+gradient.
void BM_FpObjectivePart(benchmark::State& state) {
  const int part = static_cast<int>(state.range(0));
  L::kernels::ModeGuard mode(state.range(1) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(12);
  const auto opt = torch::TensorOptions().dtype(torch::kComplexDouble);
  auto U = L::near_identity_gauge_field(1, {8, 8, 8, 8}, 3, 0.3, gen, opt);
  auto V = L::near_identity_gauge_field(1, {4, 4, 4, 4}, 3, 0.3, gen, opt);
  const auto wilson = L::GaugeAction::wilson(1.0);
  const L::BlockingOptions bo;
  auto Q = L::block_links(U, bo.smearing);
  for (auto _ : state) {
    torch::Tensor r;
    if (part == 0) {
      torch::NoGradGuard ng;
      r = wilson(U);
    } else if (part == 2) {
      torch::NoGradGuard ng;
      r = L::smear_links(U, bo.smearing);
    } else if (part == 3) {
      torch::NoGradGuard ng;
      r = L::block_links(U, bo.smearing);
    } else if (part == 4) {
      r = L::su_n_maximiser(Q);
    } else {
      auto x = U.detach().requires_grad_(true);
      torch::Tensor F;
      if (part == 1) F = wilson(x);
      if (part == 5) F = L::blocking_kernel_from_blocked(L::block_links(x, bo.smearing), V, bo.kappa);
      if (part == 6) F = wilson(x) + L::blocking_kernel_from_blocked(L::block_links(x, bo.smearing), V, bo.kappa);
      if (part == 7) F = torch::real(L::smear_links(x, bo.smearing)).sum();
      r = torch::autograd::grad({F.sum()}, {x})[0];
    }
    benchmark::DoNotOptimize(r.data_ptr());
  }
}

}  // namespace

BENCHMARK(BM_FpObjectivePart)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {1}})
    ->ArgNames({"part", "fused"})
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_FpMinimise)
    ->ArgsProduct({{1, 0}, {1, 0}})
    ->ArgNames({"double", "fused"})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK_MAIN();
