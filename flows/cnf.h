// CNF F_θ: the continuous normalising flow on the fine lattice (Eqs. 22, 26–28), forward t: 0 → 1, reverse t: 1 → 0.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// forward(Ψ, log p_N(Ψ)) = (φ̃, log p_F(φ̃)) with log p_F = log p_N − ∫_0^1 ∇·G dt (Eq. 28); reverse inverts it by
// integrating the same ODE backwards (exact up to the RK4 error, O(h⁴)). Gradients: backprop through RK4, or the
// adjoint method (options.adjoint), agreeing to integration accuracy.
#pragma once

#include <torch/torch.h>

#include "flows/common.h"
#include "flows/ode.h"
#include "flows/vector_field.h"

namespace blockspin::flows {

struct CNFOptions {
  explicit CNFOptions(const VectorFieldOptions& field) : field_(field) {}
  TORCH_ARG(VectorFieldOptions, field);
  /// Number of fixed RK4 steps on [0, 1].
  TORCH_ARG(int64_t, steps) = 10;
  /// Adjoint-method gradients instead of backprop through the solver.
  TORCH_ARG(bool, adjoint) = false;
  /// The RK4 rule (ode.h): classic (the paper's) or Kutta's 3/8 rule.
  TORCH_ARG(RungeKutta, rule) = RungeKutta::classic;
};

class CNFImpl : public torch::nn::Cloneable<CNFImpl> {
 public:
  explicit CNFImpl(const CNFOptions& options);
  void reset() override;
  /// (Ψ, log p_N(Ψ)) -> (φ̃, log p_F(φ̃)), t: 0 → 1.
  FlowState forward(const FlowState& state);
  /// (φ̃, log p_F(φ̃)) -> (Ψ, log p_N(Ψ)), t: 1 → 0.
  FlowState reverse(const FlowState& state);

  CNFOptions options;
  VectorField field{nullptr};
};
TORCH_MODULE(CNF);

}  // namespace blockspin::flows
