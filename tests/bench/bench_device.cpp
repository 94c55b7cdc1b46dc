// The GPU check's benchmarks (benchmarks/gpu_check.sh), on the device BLOCKSPIN_BENCH_DEVICE (cpu, cuda, cuda:N;
// default cpu), float and double: HMC and heatbath on L^4 SU(3) (Wilson β = 6), the FP minimiser (coarse L^4 SU(3),
// fine (2L)^4), the FP L-CNN training step (values + link derivatives, double backprop) and the φ⁴ flow training step
// 4 -> 32 / 4 -> 64. BLOCKSPIN_BENCH_REDUCED=1 shrinks every size (the CPU run that keeps the script from rotting).
//   BLOCKSPIN_BENCH_DEVICE=cuda ./build/bin/bench_device --benchmark_format=json
// Counters: site-steps/s (HMC: sites × MD steps; heatbath: sites × sweeps), configs/s, steps/s, s/iteration.
#include <benchmark/benchmark.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "flows/rg_flow.h"
#include "flows/training.h"
#include "lattice/derivatives.h"
#include "lattice/fp_minimise.h"
#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lcnn/factory.h"

#include "fp_paper_model.h"

#include <cstdlib>
#include <string>

namespace F = blockspin::flows;
namespace L = blockspin::lattice;

namespace {

torch::Device device() {
  static const torch::Device d(std::getenv("BLOCKSPIN_BENCH_DEVICE") ? std::getenv("BLOCKSPIN_BENCH_DEVICE") : "cpu");
  return d;
}

bool reduced() {
  const char* r = std::getenv("BLOCKSPIN_BENCH_REDUCED");
  return r != nullptr && std::string(r) == "1";
}

// Waits for the device's queued work (CUDA launches are asynchronous).
void sync() {
  if (device().is_cuda()) torch::cuda::synchronize(device().index());
}

torch::TensorOptions complex_options(bool dbl) {
  return torch::TensorOptions().dtype(dbl ? torch::kComplexDouble : torch::kComplexFloat).device(device());
}

// Benchmark registration runs before main: the reduced mode is read from the environment there too.
double min_time() { return reduced() ? 0.01 : 1.0; }

int64_t extent(const benchmark::State& state) { return reduced() ? 4 : state.range(0); }

void BM_Hmc(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  const int64_t n = extent(state);
  auto gen = L::make_generator(1, device());
  auto U = L::near_identity_gauge_field(1, {n, n, n, n}, 3, 0.4, gen, complex_options(dbl));
  auto action = L::md_action(L::GaugeAction::wilson(6.0));
  L::HmcOptions o;
  o.steps = 10;
  U = L::hmc_trajectory(U, action, o, gen).U;  // warm-up (kernels, allocator)
  sync();
  for (auto _ : state) {
    U = L::hmc_trajectory(U, action, o, gen).U;
    sync();
  }
  state.counters["trajectories/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  // An Omelyan step evaluates the force twice.
  state.counters["site-force-evaluations/s"] =
      benchmark::Counter(static_cast<double>(L::volume(U)) * 2 * static_cast<double>(o.steps),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["sites"] = static_cast<double>(L::volume(U));
}

void BM_Heatbath(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  const int64_t n = extent(state);
  auto gen = L::make_generator(2, device());
  auto U = L::near_identity_gauge_field(1, {n, n, n, n}, 3, 0.4, gen, complex_options(dbl));
  auto action = L::GaugeAction::wilson(6.0);
  U = L::heatbath_update(U, action, L::HeatbathOptions{3}, gen);
  sync();
  for (auto _ : state) {
    U = L::heatbath_update(U, action, L::HeatbathOptions{3}, gen);
    sync();
  }
  state.counters["updates/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["site-sweeps/s"] =
      benchmark::Counter(static_cast<double>(L::volume(U)) * 4, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FpMinimise(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  const int64_t n = reduced() ? 2 : state.range(0);
  auto gen = L::make_generator(11, device());
  auto V = L::near_identity_gauge_field(1, {n, n, n, n}, 3, 0.3, gen, complex_options(dbl));
  const auto wilson = L::GaugeAction::wilson(1.0);
  L::ActionFunctional action = [&](const torch::Tensor& U) { return wilson(U); };
  L::FpMinimiserOptions o;
  o.grad_tol = 0;  // a fixed number of iterations
  o.max_iterations = reduced() ? 5 : 50;
  o.restarts = 0;
  auto w = o;
  w.max_iterations = 2;
  L::fp_minimise(V, action, w);
  double iterations = 0;
  for (auto _ : state) {
    auto r = L::fp_minimise(V, action, o);
    iterations = static_cast<double>(r.iterations[0].item<int64_t>());
  }
  state.counters["iterations/s"] = benchmark::Counter(iterations, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LcnnTrainingStep(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  const int64_t n = reduced() ? 2 : state.range(0);
  auto model = blockspin::bench::fp_paper_model(dbl ? torch::kDouble : torch::kFloat, device());
  auto gen = L::make_generator(3, device());
  auto U = L::near_identity_gauge_field(1, {n, n, n, n}, 3, 0.4, gen, complex_options(dbl));
  auto step = [&] { return blockspin::bench::fp_training_step(model, U); };
  step();
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["configs/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FlowTrainStep(benchmark::State& state) {
  const int64_t levels = reduced() ? 1 : state.range(0);
  torch::manual_seed(1);
  F::RGFlow flow(F::RGFlowOptions(levels, F::CNFOptions(F::VectorFieldOptions(2)).steps(10)));
  F::TrainerOptions o;
  o.coarse_extents = {4, 4};
  o.kappa_fine = o.kappa_coarse = 0.25;
  o.lambda_fine = o.lambda_coarse = 0.01;
  o.batch = reduced() ? 4 : 16;
  o.langevin_therm = reduced() ? 100 : 1000;
  o.bank.size = reduced() ? 100 : 1000;
  o.bank.chains = reduced() ? 10 : 100;
  o.bank.therm_trajectories = reduced() ? 5 : 50;
  o.ode_control.tolerance = 0;  // a fixed 10 RK4 steps
  o.dtype = torch::kDouble;
  o.device = device();
  F::FlowTrainer t(flow, o);
  t.step();
  for (auto _ : state) benchmark::DoNotOptimize(t.step().loss);
  state.counters["steps/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Hmc)
    ->ArgsProduct({{8, 16}, {1, 0}})
    ->ArgNames({"L", "double"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(min_time());
BENCHMARK(BM_Heatbath)
    ->ArgsProduct({{8, 16}, {1, 0}})
    ->ArgNames({"L", "double"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(min_time());
BENCHMARK(BM_FpMinimise)
    ->ArgsProduct({{4}, {1, 0}})
    ->ArgNames({"L", "double"})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK(BM_LcnnTrainingStep)
    ->ArgsProduct({{4, 8}, {1, 0}})
    ->ArgNames({"L", "double"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(min_time());
// Double only: the flows have no float path yet (issue 21).
BENCHMARK(BM_FlowTrainStep)
    ->ArgsProduct({{3, 4}, {1}})
    ->ArgNames({"levels", "double"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(min_time());

BENCHMARK_MAIN();
