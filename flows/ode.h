// Fixed-step RK4 integration of the CNF (Eqs. 22, 26–28): dΨ/dt = G(Ψ, t), d log p/dt = −∇·G(Ψ, t).
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// Two four-stage fourth-order rules (Butcher, "Numerical Methods for ODEs", Sec. 322): the classic one (the paper's,
// the reference) and Kutta's 3/8 rule (stages at t, t + h/3, t + 2h/3, t + h; weights 1/8, 3/8, 3/8, 1/8). Same cost
// and order; on trained 4→16 and 4→32 flows the 3/8 rule's error of log p̃ is 2.5–3.5× smaller at 30–60 steps
// (docs/results.md, "ODE solvers"): ~1.5× fewer steps at the training tolerance on the 4→32 field. The step-doubling
// control (ode_control.h) holds for both (order 4).
//
// integrate_rk4 is written in differentiable ops (gradients by backpropagation through the solver);
// integrate_adjoint returns the same values but its backward pass integrates the adjoint ODE backwards in time with
// RK4 (Chen, Rubanova, Bettencourt, Duvenaud, "Neural ordinary differential equations", arXiv:1806.07366; [26] of
// the paper): memory independent of the step count, gradients equal to the backprop ones up to the integration
// error. Both integrate from t_begin to t_end (t_end < t_begin integrates backwards: the reverse
// flow); the interval is split into `steps` equal RK4 steps. log_prob is carried along: the result's log_prob is the
// input's plus −∫ ∇·G dt over the path.
#pragma once

#include <torch/torch.h>

#include "flows/common.h"
#include "flows/vector_field.h"

namespace blockspin::flows {

/// The RK4 rule of every step.
enum class RungeKutta {
  classic,        ///< k2, k3 at t + h/2; weights 1/6, 1/3, 1/3, 1/6
  three_eighths,  ///< Kutta's 3/8 rule: k2 at t + h/3, k3 at t + 2h/3; weights 1/8, 3/8, 3/8, 1/8
};

/// RK4 with backpropagation through every step.
FlowState integrate_rk4(VectorFieldImpl& field, const FlowState& start, double t_begin, double t_end, int64_t steps,
                        RungeKutta rule = RungeKutta::classic);

/// RK4 with adjoint-method gradients for the field's parameters, Ψ and log p (the adjoint system integrated backwards
/// with the same rule). The field must outlive the backward pass and its parameters must not change in between.
FlowState integrate_adjoint(VectorFieldImpl& field, const FlowState& start, double t_begin, double t_end, int64_t steps,
                            RungeKutta rule = RungeKutta::classic);

}  // namespace blockspin::flows
