// RK4 error estimate by step doubling and the step-count control (see ode_control.h).
#include "flows/ode_control.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::flows {

namespace {

/// Inputs of a replay, detached: the coarse state and the noise.
struct Replay {
  FlowState start;
  std::vector<torch::Tensor> noise;
};

Replay detached(const FlowState& coarse, const std::vector<torch::Tensor>& noise) {
  Replay r{{coarse.phi.detach(), coarse.log_prob.detach()}, {}};
  for (const auto& z : noise) r.noise.push_back(z.detach());
  return r;
}

/// The flow's output at its current count: `current` (detached) if the caller has it, else a fresh run.
FlowState run_at_current(RGFlowImpl& flow, const Replay& replay, const FlowState* current) {
  if (current != nullptr) return {current->phi.detach(), current->log_prob.detach()};
  return flow.forward(replay.start, replay.noise);
}

/// The estimate at the flow's current count N from its N-step output `at_n`; `at_2n` receives the 2N-step output.
OdeErrorEstimate estimate_from(RGFlowImpl& flow, const Replay& replay, const FlowState& at_n, FlowState& at_2n) {
  const int64_t n = flow.ode_steps();
  flow.set_ode_steps(2 * n);
  try {
    at_2n = flow.forward(replay.start, replay.noise);
  } catch (...) {
    flow.set_ode_steps(n);
    throw;
  }
  flow.set_ode_steps(n);
  constexpr double kRichardson = 16.0 / 15.0;  // RK4: err_N = (lp_N − lp_2N) · 2⁴ / (2⁴ − 1)
  OdeErrorEstimate e;
  e.steps = n;
  e.log_prob_error = kRichardson * (at_n.log_prob - at_2n.log_prob).abs().max().item<double>();
  e.field_error = kRichardson * (at_n.phi - at_2n.phi).abs().max().item<double>();
  return e;
}

}  // namespace

OdeErrorEstimate estimate_ode_error(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                    const FlowState* current) {
  torch::NoGradGuard no_grad;
  const auto replay = detached(coarse, noise);
  const FlowState at_n = run_at_current(flow, replay, current);
  FlowState at_2n;
  return estimate_from(flow, replay, at_n, at_2n);
}

OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                   const OdeControlOptions& options, const FlowState* current) {
  if (options.max_steps < 1) throw std::invalid_argument("control_ode_steps: max_steps must be >= 1");
  torch::NoGradGuard no_grad;
  const auto replay = detached(coarse, noise);
  FlowState at_n = run_at_current(flow, replay, current), at_2n;
  auto e = estimate_from(flow, replay, at_n, at_2n);
  e.initial_steps = e.steps;
  e.initial_log_prob_error = e.log_prob_error;
  if (!(options.tolerance > 0) || !std::isfinite(e.log_prob_error)) return e;  // a diverged flow is the caller's stop
  while (e.log_prob_error > options.tolerance && 2 * flow.ode_steps() <= options.max_steps) {
    flow.set_ode_steps(2 * flow.ode_steps());
    at_n = at_2n;  // the previous 2N run is this count's N run
    const auto refined = estimate_from(flow, replay, at_n, at_2n);
    e.steps = refined.steps;
    e.log_prob_error = refined.log_prob_error;
    e.field_error = refined.field_error;
  }
  e.at_limit = e.log_prob_error > options.tolerance;
  return e;
}

}  // namespace blockspin::flows
