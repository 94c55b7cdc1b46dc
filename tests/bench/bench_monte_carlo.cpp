// Throughput of the gauge Monte Carlo on 8^4 SU(3) (Wilson, β = 6): HMC trajectories/s (Omelyan, 10 steps,
// τ = 1) and heatbath sweeps/s (1 heatbath + 3 overrelaxation sweeps per update), batch 1 and 8, double and float.
//   ./build/bin/bench_monte_carlo --benchmark_counters_tabular=true
// Counters: updates/s = batch * updates per second (independent chains); site-updates/s = updates/s * volume.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "lattice/gauge_action.h"
#include "lattice/gauge_field.h"
#include "lattice/heatbath.h"
#include "lattice/hmc.h"
#include "lattice/kernels/mode.h"
#include "lattice/layout.h"
#include "lattice/rng.h"
#include "lcnn/fp_action_model.h"

#include <fstream>
#include <sstream>

namespace L = blockspin::lattice;

namespace {

torch::Tensor field(int64_t batch, bool dbl, at::Generator& gen) {
  auto dtype = dbl ? torch::kComplexDouble : torch::kComplexFloat;
  return L::near_identity_gauge_field(batch, {8, 8, 8, 8}, 3, 0.4, gen, torch::TensorOptions().dtype(dtype));
}

void counters(benchmark::State& state, const torch::Tensor& U) {
  const double b = static_cast<double>(L::batch_size(U));
  state.counters["updates/s"] = benchmark::Counter(b, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["site-updates/s"] =
      benchmark::Counter(b * L::volume(U), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_HmcTrajectory(benchmark::State& state) {
  auto gen = L::make_generator(1);
  auto U = field(state.range(0), state.range(1) != 0, gen);
  auto action = L::md_action(L::GaugeAction::wilson(6.0));
  L::HmcOptions o;
  o.steps = 10;
  for (auto _ : state) U = L::hmc_trajectory(U, action, o, gen).U;
  counters(state, U);
}

// The issue-16 reference trajectory (benchmarks/hmc_plain_pytorch.py does the same in plain PyTorch): batch 1,
// double, leapfrog, 20 steps, τ = 1.
void BM_HmcLeapfrog20(benchmark::State& state) {
  L::kernels::ModeGuard mode(state.range(0) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(1);
  auto U = field(1, true, gen);
  auto action = L::md_action(L::GaugeAction::wilson(6.0));
  L::HmcOptions o;
  o.steps = 20;
  o.integrator = L::Integrator::Leapfrog;
  U = L::hmc_trajectory(U, action, o, gen).U;  // warm-up, as the Python side
  for (auto _ : state) U = L::hmc_trajectory(U, action, o, gen).U;
  counters(state, U);
}

// HMC with a learned FP action (issue 18) against Wilson HMC on the same lattice: 4^4 SU(3), Omelyan, 10 steps,
// τ = 1, batch 1; the shipped architecture (models/architectures/fp_action_shipped.json) with its initial weights
// (the cost does not depend on the values), forces by autograd. Arguments: learned (0: Wilson), double.
void BM_HmcLearnedAction(benchmark::State& state) {
  const bool dbl = state.range(1) != 0;
  auto gen = L::make_generator(1);
  auto U = L::near_identity_gauge_field(
      1, {4, 4, 4, 4}, 3, 0.4, gen, torch::TensorOptions().dtype(dbl ? torch::kComplexDouble : torch::kComplexFloat));
  L::MdAction action = L::md_action(L::GaugeAction::wilson(6.0));
  if (state.range(0) != 0) {
    std::ifstream in(std::string(BLOCKSPIN_SOURCE_DIR) + "/models/architectures/fp_action_shipped.json");
    std::stringstream text;
    text << in.rdbuf();
    torch::manual_seed(1);
    auto model = blockspin::lcnn::make_fp_action_model(nlohmann::json::parse(text.str(), nullptr, true, true));
    model->to(dbl ? torch::kDouble : torch::kFloat);
    for (auto& p : model->parameters()) p.set_requires_grad(false);
    action = L::md_action([model](const torch::Tensor& V) mutable { return 6.0 * model->forward(V); });
  }
  L::HmcOptions o;
  o.steps = 10;
  U = L::hmc_trajectory(U, action, o, gen).U;  // warm-up
  for (auto _ : state) U = L::hmc_trajectory(U, action, o, gen).U;
  counters(state, U);
}

void BM_HeatbathUpdate(benchmark::State& state) {
  L::kernels::ModeGuard mode(state.range(2) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(2);
  auto U = field(state.range(0), state.range(1) != 0, gen);
  auto action = L::GaugeAction::wilson(6.0);
  for (auto _ : state) U = L::heatbath_update(U, action, L::HeatbathOptions{3}, gen);
  counters(state, U);
}

// One sweep of one kind (range(0): 0 heatbath, 1 overrelaxation), 8^4 SU(3) double, batch 1.
void BM_Sweep(benchmark::State& state) {
  L::kernels::ModeGuard mode(state.range(1) != 0 ? L::kernels::Mode::fused : L::kernels::Mode::torch);
  auto gen = L::make_generator(3);
  auto U = field(1, true, gen);
  auto action = L::GaugeAction::wilson(6.0);
  for (auto _ : state) U = state.range(0) == 0 ? L::heatbath_sweep(U, action, gen) : L::overrelaxation_sweep(U, action);
  counters(state, U);
}

const std::vector<std::vector<int64_t>> kArgs{{1, 8}, {1, 0}};

}  // namespace

BENCHMARK(BM_HmcTrajectory)->ArgsProduct(kArgs)->ArgNames({"batch", "double"})->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_HmcLeapfrog20)->Arg(1)->Arg(0)->ArgName("fused")->Unit(benchmark::kSecond)->Iterations(3);
BENCHMARK(BM_HmcLearnedAction)
    ->ArgsProduct({{0, 1}, {1, 0}})
    ->ArgNames({"learned", "double"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_HeatbathUpdate)
    ->ArgsProduct({{1, 8}, {1, 0}, {1, 0}})
    ->ArgNames({"batch", "double", "fused"})
    ->Unit(benchmark::kSecond)
    ->Iterations(2);
BENCHMARK(BM_Sweep)->ArgsProduct({{0, 1}, {1, 0}})->ArgNames({"or", "fused"})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
