// RK4 error estimate by step doubling and the step-count control (see ode_control.h).
#include "flows/ode_control.h"

#include <cmath>
#include <stdexcept>

namespace blockspin::flows {

OdeErrorEstimate estimate_ode_error(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise) {
  torch::NoGradGuard no_grad;
  const int64_t n = flow.ode_steps();
  std::vector<torch::Tensor> zeta;
  for (const auto& z : noise) zeta.push_back(z.detach());
  const FlowState start{coarse.phi.detach(), coarse.log_prob.detach()};
  auto coarse_run = flow.forward(start, zeta);
  flow.set_ode_steps(2 * n);
  FlowState fine_run;
  try {
    fine_run = flow.forward(start, zeta);
  } catch (...) {
    flow.set_ode_steps(n);
    throw;
  }
  flow.set_ode_steps(n);
  constexpr double kRichardson = 16.0 / 15.0;  // RK4: err_N = (lp_N − lp_2N) · 2⁴ / (2⁴ − 1)
  OdeErrorEstimate e;
  e.steps = n;
  e.log_prob_error = kRichardson * (coarse_run.log_prob - fine_run.log_prob).abs().max().item<double>();
  e.field_error = kRichardson * (coarse_run.phi - fine_run.phi).abs().max().item<double>();
  return e;
}

OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                   const OdeControlOptions& options) {
  if (options.max_steps < 1) throw std::invalid_argument("control_ode_steps: max_steps must be >= 1");
  auto e = estimate_ode_error(flow, coarse, noise);
  const int64_t initial_steps = e.steps;
  const double initial_error = e.log_prob_error;
  if (!(options.tolerance > 0) || !std::isfinite(e.log_prob_error)) {  // a diverged flow is the caller's stop
    e.initial_steps = e.steps;
    e.initial_log_prob_error = e.log_prob_error;
    return e;
  }
  while (e.log_prob_error > options.tolerance && 2 * flow.ode_steps() <= options.max_steps) {
    flow.set_ode_steps(2 * flow.ode_steps());
    e = estimate_ode_error(flow, coarse, noise);
  }
  e.at_limit = e.log_prob_error > options.tolerance;
  e.initial_steps = initial_steps;
  e.initial_log_prob_error = initial_error;
  return e;
}

}  // namespace blockspin::flows
