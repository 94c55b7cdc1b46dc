// RK4 error estimate by step doubling and the step-count control (see ode_control.h).
#include "flows/ode_control.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace blockspin::flows {

namespace {

/// Inputs of a replay, detached: the coarse state and the noise.
struct Replay {
  FlowState start;
  std::vector<torch::Tensor> noise;
};

/// In double whatever the training dtype: the estimate compares two runs to ~tolerance, and float32 rounding of the
/// fields would add to it (the parameters are double; the flow evaluates in its input's dtype).
Replay detached(const FlowState& coarse, const std::vector<torch::Tensor>& noise) {
  Replay r{{coarse.phi.detach().to(torch::kDouble), coarse.log_prob.detach().to(torch::kDouble)}, {}};
  for (const auto& z : noise) r.noise.push_back(z.detach().to(torch::kDouble));
  return r;
}

/// The flow's output at its current count: `current` (detached) if the caller has it in double, else a fresh run.
FlowState run_at_current(RGFlowImpl& flow, const Replay& replay, const FlowState* current) {
  if (current != nullptr && current->phi.scalar_type() == torch::kDouble)
    return {current->phi.detach(), current->log_prob.detach()};
  return flow.forward(replay.start, replay.noise);
}

/// The estimate at the flow's current count N from the N-step outputs `at_n` of the replays; `at_2n` receives the
/// 2N-step outputs. The errors are maxima over the replays and then over the processes.
OdeErrorEstimate estimate_from(RGFlowImpl& flow, const std::vector<Replay>& replays, const std::vector<FlowState>& at_n,
                               std::vector<FlowState>& at_2n, const ShardCollectives& collectives) {
  const int64_t n = flow.ode_steps();
  flow.set_ode_steps(2 * n);
  at_2n.clear();
  try {
    for (const auto& r : replays) at_2n.push_back(flow.forward(r.start, r.noise));
  } catch (...) {
    flow.set_ode_steps(n);
    throw;
  }
  flow.set_ode_steps(n);
  constexpr double kRichardson = 16.0 / 15.0;  // RK4: err_N = (lp_N − lp_2N) · 2⁴ / (2⁴ − 1)
  auto nan_max = [](double a, double b) { return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b); };
  double lp = -std::numeric_limits<double>::infinity(), field = lp;
  for (size_t i = 0; i < replays.size(); ++i) {
    lp = nan_max(lp, (at_n[i].log_prob - at_2n[i].log_prob).abs().max().item<double>());
    field = nan_max(field, (at_n[i].phi - at_2n[i].phi).abs().max().item<double>());
  }
  const auto all = std::get<0>(collectives.gather(torch::tensor({{lp, field}}, torch::kDouble)).max(0));
  OdeErrorEstimate e;
  e.steps = n;
  e.log_prob_error = kRichardson * all[0].item<double>();
  e.field_error = kRichardson * all[1].item<double>();
  return e;
}

}  // namespace

OdeErrorEstimate estimate_ode_error(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                    const FlowState* current) {
  torch::NoGradGuard no_grad;
  const std::vector<Replay> replays{detached(coarse, noise)};
  const std::vector<FlowState> at_n{run_at_current(flow, replays[0], current)};
  std::vector<FlowState> at_2n;
  return estimate_from(flow, replays, at_n, at_2n, {});
}

OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                   const OdeControlOptions& options, const FlowState* current) {
  return control_ode_steps(flow, {OdeBatch{coarse, noise, current}}, options);
}

OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const std::vector<OdeBatch>& batches,
                                   const OdeControlOptions& options, const ShardCollectives& collectives) {
  if (options.max_steps < 1) throw std::invalid_argument("control_ode_steps: max_steps must be >= 1");
  torch::NoGradGuard no_grad;
  std::vector<Replay> replays;
  std::vector<FlowState> at_n, at_2n;
  for (const auto& b : batches) {
    replays.push_back(detached(b.coarse, b.noise));
    at_n.push_back(run_at_current(flow, replays.back(), b.current));
  }
  auto e = estimate_from(flow, replays, at_n, at_2n, collectives);
  e.initial_steps = e.steps;
  e.initial_log_prob_error = e.log_prob_error;
  if (!(options.tolerance > 0) || !std::isfinite(e.log_prob_error)) return e;  // a diverged flow is the caller's stop
  auto h4_count = [&](int64_t n) {  // ⌈1.2 N (err/tol)^{1/4}⌉ for the current estimate (1.2: ~half the tolerance)
    const double factor = 1.2 * std::pow(e.log_prob_error / options.tolerance, 0.25);
    return static_cast<int64_t>(std::ceil(double(n) * factor));
  };
  auto run_at = [&](int64_t count) {  // the replays' N runs at a new count
    flow.set_ode_steps(count);
    at_n.clear();
    for (const auto& r : replays) at_n.push_back(flow.forward(r.start, r.noise));
  };
  auto adopt = [&](const OdeErrorEstimate& x) {
    e.steps = x.steps;
    e.log_prob_error = x.log_prob_error;
    e.field_error = x.field_error;
  };
  auto refine = [&]() -> bool {  // sets the next count (and its N runs); false when none is allowed
    const int64_t n = flow.ode_steps();
    if (!options.predict) {
      if (2 * n > options.max_steps) return false;
      flow.set_ode_steps(2 * n);
      at_n = at_2n;  // the previous 2N runs are this count's N runs
      return true;
    }
    if (n >= options.max_steps) return false;
    run_at(std::min({options.max_steps, 2 * n, std::max(n + 1, h4_count(n))}));
    return true;
  };
  while (e.log_prob_error > options.tolerance && refine())
    adopt(estimate_from(flow, replays, at_n, at_2n, collectives));
  e.at_limit = e.log_prob_error > options.tolerance;
  if (e.steps == e.initial_steps && options.coarsen_below > 0 &&
      e.log_prob_error < options.coarsen_below * options.tolerance) {
    const int64_t n = e.steps, next = std::max((n + 1) / 2, h4_count(n));
    if (next < n) {
      run_at(next);
      const auto coarser = estimate_from(flow, replays, at_n, at_2n, collectives);
      if (coarser.log_prob_error <= options.tolerance)
        adopt(coarser);
      else
        flow.set_ode_steps(n);  // the h⁴ law was optimistic here (outside its regime): keep the count that met it
    }
  }
  return e;
}

}  // namespace blockspin::flows
