// Throughput of the super-resolving RG flow (flows/) on CPU, IR matching from 4x4 with the paper's architecture
// (F = 11, D = 10, F' = D' = 20, kernel size 2, 10 RK4 steps): training steps/s (reverse-KL step with 500
// differentiable Langevin steps, bank gradient, Adam) and flow samples/s (no grad), for 4 -> 32 and 4 -> 64.
//   ./build/bin/bench_flows --benchmark_counters_tabular=true
// Arguments: {levels, batch, fused, float, adjoint, threads, kernel} (fused = 1: the vector field as one GEMM on the
// blocked field, 0: the per-offset reference path — before/after in one run; float = 1: float32 training, log p̃ still
// in double; adjoint = 1: adjoint-method gradients, memory independent of the RK4 step count; threads: LibTorch
// intra-op threads; kernel: the vector field's kernel size, 2 = the paper's, 3 = the configs' since issue 21's plateau
// runs; sampling: {levels, batch, fused, threads}). Counters: steps/s (training) or samples/s (= batch / time per
// batch). BM_VectorField {L, fused, kernel}: one evaluation of G and ∇·G on [64, L, L] with the backward of a scalar of
// both (what every RK4 stage of a training step costs), paper field with random weights. BM_OdeRule {rule, steps} (rule
// 0: classic RK4, 1: Kutta's 3/8 rule): the finest CNF (16×16 → 32×32) of the shipped models/flow_phi4_4to32 on 32
// configurations (exact coarse HMC, its drawn noise), integrated without gradients; counters: field evaluations and the
// error of log p̃ against 400 classic RK4 steps (max and mean over the batch) — accuracy per cost of the two rules on a
// trained field, not a random one.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "apps/readers/flow_run.h"
#include "flows/coarse_proposals.h"
#include "flows/ode.h"
#include "flows/rg_flow.h"
#include "flows/upsample.h"
#include "flows/training.h"
#include "lattice/rng.h"
#include "lattice/scalar_action.h"

namespace F = blockspin::flows;
namespace L = blockspin::lattice;

namespace {

F::RGFlow paper_flow(int64_t levels, bool fused, bool adjoint = false, int64_t kernel = 2) {
  torch::manual_seed(1);
  return F::RGFlow(F::RGFlowOptions(
      levels, F::CNFOptions(F::VectorFieldOptions(2).kernel_size(kernel).fused(fused)).steps(10).adjoint(adjoint)));
}

F::TrainerOptions options(int64_t batch, bool single) {
  F::TrainerOptions o;
  o.dtype = single ? torch::kFloat : torch::kDouble;
  o.coarse_extents = {4, 4};
  o.kappa_fine = o.kappa_coarse = 0.25;
  o.lambda_fine = o.lambda_coarse = 0.01;
  o.batch = batch;
  o.langevin_therm = 1000;  // setup only (the paper: 5e4), not timed
  o.bank.size = 1000;
  o.bank.chains = 100;
  o.bank.therm_trajectories = 50;
  o.ode_control.tolerance = 0;  // time a fixed 10 RK4 steps; the cost grows linearly with the controlled step count
  return o;
}

void BM_TrainStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(5)));
  F::FlowTrainer t(paper_flow(state.range(0), state.range(2) != 0, state.range(4) != 0, state.range(6)),
                   options(state.range(1), state.range(3) != 0));
  t.step();  // thermalisation, first bank draw
  for (auto _ : state) benchmark::DoNotOptimize(t.step().loss);
  state.counters["steps/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Sample(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(3)));
  torch::NoGradGuard no_grad;
  auto flow = paper_flow(state.range(0), state.range(2) != 0);
  auto gen = L::make_generator(2);
  auto coarse = torch::randn({state.range(1), 4, 4}, gen, torch::kDouble) * 0.5;
  auto c = L::ScalarCouplings::constant(0.25, 0.01);
  for (auto _ : state) {
    auto out = flow->forward(F::FlowState{coarse, -L::scalar_action(coarse, c)}, gen);
    benchmark::DoNotOptimize(out.log_prob.data_ptr());
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.range(1)), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_VectorField(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::manual_seed(3);
  F::VectorField field(F::VectorFieldOptions(2).kernel_size(state.range(2)).fused(state.range(1) != 0));
  {
    torch::NoGradGuard no_grad;
    field->weight.normal_(0, 0.1);
  }
  auto gen = L::make_generator(4);
  const int64_t L_ = state.range(0);
  auto psi = torch::randn({64, L_, L_}, gen, torch::kDouble).requires_grad_(true);
  auto w = torch::randn({64, L_, L_}, gen, torch::kDouble);
  for (auto _ : state) {
    auto [g, div] = field->forward_and_divergence(psi, 0.37);
    auto grads = torch::autograd::grad({(g * w).sum() + div.sum()}, {psi, field->weight});
    benchmark::DoNotOptimize(grads[0].data_ptr());
  }
}

/// The input of the shipped 4→32 flow's finest CNF for 32 configurations, its field and the reference output.
struct FinestLevel {
  std::unique_ptr<F::FlowTrainer> trainer;
  F::FlowState input, reference;
  F::VectorFieldImpl* field = nullptr;
};

FinestLevel& finest_level() {
  static FinestLevel f = [] {
    namespace A = blockspin::apps;
    const std::string dir = std::string(BLOCKSPIN_SOURCE_DIR) + "/models/flow_phi4_4to32";
    auto cfg = blockspin::support::Config::from_json(A::read_flow_run_config(dir));
    const auto setup = A::read_flow_setup(cfg);
    FinestLevel r;
    r.trainer = A::load_flow_model(dir, setup, setup.trainer);
    auto& flow = *r.trainer->flow;
    flow.to(torch::kDouble);
    auto gen = L::make_generator(11);
    F::CoarseProposalOptions po;
    po.chains = 32;
    po.stride = 4;
    F::CoarseProposals coarse(r.trainer->coarse_couplings(), setup.trainer.coarse_extents, po, gen, torch::kDouble);
    torch::NoGradGuard no_grad;
    F::FlowState s{coarse.next(), torch::zeros({32}, torch::kDouble)};
    const int64_t last = flow.levels() - 1;
    for (int64_t l = 0; l < last; ++l) {
      auto& level = *flow.level_modules[l];
      s = level.forward(s, level.noise->sample(F::upsample(s.phi), gen));
    }
    auto& level = *flow.level_modules[last];
    auto psi = F::upsample(s.phi);
    r.input = {psi + level.noise->sample(psi, gen), torch::zeros({32}, torch::kDouble)};
    r.field = level.cnf->field.get();
    r.reference = F::integrate_rk4(*r.field, r.input, 0, 1, 400);
    return r;
  }();
  return f;
}

void BM_OdeRule(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::NoGradGuard no_grad;
  auto& f = finest_level();
  const auto rule = state.range(0) == 1 ? F::RungeKutta::three_eighths : F::RungeKutta::classic;
  F::FlowState out;
  for (auto _ : state) {
    out = F::integrate_rk4(*f.field, f.input, 0, 1, state.range(1), rule);
    benchmark::DoNotOptimize(out.log_prob.data_ptr());
  }
  auto err = (out.log_prob - f.reference.log_prob).abs();
  state.counters["evals"] = static_cast<double>(4 * state.range(1));
  state.counters["err_max"] = err.max().item<double>();
  state.counters["err_mean"] = err.mean().item<double>();
}

}  // namespace

BENCHMARK(BM_OdeRule)->ArgsProduct({{0, 1}, {20, 30, 40, 60, 80}})->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_VectorField)
    ->ArgsProduct({{16, 32, 64}, {0, 1}, {2}})
    ->Args({32, 1, 3})
    ->Args({64, 1, 3})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK(BM_TrainStep)
    ->Args({3, 16, 0, 0, 0, 1, 2})
    ->Args({3, 16, 1, 0, 0, 1, 2})
    ->Args({3, 16, 1, 1, 0, 1, 2})
    ->Args({3, 16, 0, 0, 1, 1, 2})
    ->Args({3, 16, 1, 0, 1, 1, 2})
    ->Args({3, 16, 1, 1, 1, 1, 2})
    ->Args({3, 16, 1, 1, 1, 2, 2})
    ->Args({3, 64, 1, 1, 1, 1, 2})
    ->Args({3, 64, 1, 1, 1, 2, 2})
    ->Args({4, 16, 1, 0, 1, 1, 2})
    ->Args({4, 16, 1, 1, 1, 1, 2})
    ->Args({4, 16, 1, 1, 1, 2, 2})
    ->Args({3, 64, 1, 1, 1, 1, 3})
    ->Args({4, 16, 1, 1, 1, 1, 3})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_Sample)->ArgsProduct({{3, 4}, {64}, {0, 1}, {1}})->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_Sample)->Args({3, 64, 1, 2})->Args({4, 64, 1, 2})->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
