// Step-doubling estimate of the fixed-step RK4 error of an RGFlow's log-density, and the control that refines the CNF
// step count (doubling it, or predicting it from the h⁴ law) whenever that estimate exceeds a tolerance.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// Why it exists: the flow's log p̃ is exact only up to the RK4 error O(h⁴). Trained by reverse KL with few fixed
// steps (the paper's 10), the optimiser can exploit that error: the vector field grows stiff, the tracked log p̃
// drifts away from the density of the map actually sampled, the reported loss falls below its bound log Z_L − log Z_F
// and the true ESS collapses to 1/N. Measuring the error on the training batch and refining the steps keeps the
// tracked density honest (what Metropolis needs) at the cost of more steps only where the field needs them.
//
// Estimate (Richardson, RK4 order 4): from the same coarse φ and noise ζ, run the flow with N and 2N steps; then
// err_N ≈ (16/15) |log p̃_N − log p̃_2N| per configuration; the reported value is the maximum over the batch (the
// Metropolis weights are sensitive to the tail). The field error is reported the same way (max over sites).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "flows/common.h"
#include "flows/rg_flow.h"

namespace blockspin::flows {

struct OdeErrorEstimate {
  int64_t steps = 0;          ///< the step count N the estimate is for
  double log_prob_error = 0;  ///< max over the batch of the estimated |error of log p̃| at N steps
  double field_error = 0;     ///< max over the batch and sites of the estimated |error of φ̃| at N steps
  bool at_limit = false;      ///< control only: the tolerance was not reached within max_steps
  int64_t initial_steps = 0;  ///< control only: the step count before the control, and its estimate
  double initial_log_prob_error = 0;
};

struct OdeControlOptions {
  double tolerance = 0.05;   ///< on OdeErrorEstimate::log_prob_error; <= 0 disables the control
  int64_t check_every = 10;  ///< training steps between checks (a check costs one 2N-step pass without gradients)
  int64_t max_steps = 1280;  ///< never refine beyond this many steps per CNF
  /// false: double the count while the estimate exceeds the tolerance (the 2N run of one estimate is the N run of the
  /// next). true: predict the count from the h⁴ law, N' = ⌈1.2 N (err/tol)^{1/4}⌉ (at least N + 1, at most 2N and
  /// max_steps: far from the asymptotic regime the law overshoots; 1.2 aims at ~half the tolerance), and estimate
  /// again there — no 2× overshoot of the count every later training step pays for, at the price of a fresh N' run
  /// per refinement.
  bool predict = false;
  /// > 0: when the estimate at the current count N is below coarsen_below · tolerance (and no refinement was needed),
  /// try the h⁴-law count N' = max(⌈N/2⌉, ⌈1.2 N (err/tol)^{1/4}⌉) < N: keep it if its own estimate meets the
  /// tolerance, else stay at N. A count inherited from a warm start, or refined for a stiff phase of training the
  /// field has left, is not paid for every later step. 0 (default): the count never decreases.
  double coarsen_below = 0;
};

/// The estimate for the flow's current step count (every level's CNF uses the same count), without gradients.
/// `noise` holds one tensor per level as drawn for `coarse` (RGFlowImpl::forward's drawn_noise). `current`, if given,
/// is the flow's output for (coarse, noise) at the current count (e.g. the training forward pass), saving that run.
OdeErrorEstimate estimate_ode_error(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                    const FlowState* current = nullptr);

/// Estimates and, while the estimate exceeds options.tolerance and a larger count is allowed, refines the flow's step
/// count (doubling, or the h⁴ prediction with options.predict) and estimates again; with options.coarsen_below, tries
/// a smaller count when the estimate is far below the tolerance. Returns the estimate for the final count (at_limit
/// set if it still exceeds the tolerance). `current` as for estimate_ode_error.
OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const FlowState& coarse, const std::vector<torch::Tensor>& noise,
                                   const OdeControlOptions& options, const FlowState* current = nullptr);

/// One batch of a control over several: its coarse state, its noise and (optionally) its output at the current count.
struct OdeBatch {
  FlowState coarse;
  std::vector<torch::Tensor> noise;
  const FlowState* current = nullptr;
};

/// The control over several batches (the shards of a data-parallel training step): the estimate is the maximum over
/// the batches and, through `collectives.gather`, over the processes, so every process takes the same decisions.
/// With one batch and one process it is control_ode_steps above.
OdeErrorEstimate control_ode_steps(RGFlowImpl& flow, const std::vector<OdeBatch>& batches,
                                   const OdeControlOptions& options, const ShardCollectives& collectives = {});

}  // namespace blockspin::flows
