// Gradient (Wilson) flow with Lüscher's 3rd-order Runge–Kutta integrator; t²⟨E⟩, the scales t0 and w0, flowed charge.
//
// Flow equation (Lüscher, JHEP 08 (2010) 071, arXiv:1006.4518): V̇_t = Z(V_t) V_t with Z = -Σ_a D_a[S_1] (i t^a),
// S_1 = g0² S_w = Σ_{oriented p} Re Tr(1 - P) = 2 Σ_{μ<ν} Re Tr(1 - P) (Lüscher's sum runs over both orientations: the
// Wilson action at β = 2N) and D the left derivative of gauge_action.h. Normalisation check (test): a weak transverse
// plane wave decays as exp(−p̂² t), the lattice heat kernel of ∂_t B_μ = D_ν G_νμ. E(t) is the clover energy density. w0
// (Borsanyi et al., JHEP 09 (2012) 010, arXiv:1203.4469): W(t) = t d/dt [t² E(t)] = 0.3 at t = w0².
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// One RK3 step of size eps (Lüscher's scheme, error O(eps⁴) per step).
torch::Tensor wilson_flow_step(const torch::Tensor& V, double eps);

/// Measurements along the flow for every configuration of a batch.
struct FlowHistory {
  std::vector<double> t;              ///< flow times t_0 = 0, eps, 2 eps, ...
  std::vector<torch::Tensor> t2E;     ///< t² ⟨E(t)⟩_volume per configuration, each [batch] (double)
  std::vector<torch::Tensor> charge;  ///< topological charge Q(t) per configuration (D = 4 only, else empty)
};

/// Flows U up to t_max in steps eps, recording t²E (and Q in D = 4) after every step. `t_max` is rounded to a whole
/// number of steps. Returns the history and, via `flowed` (if non-null), the configuration at t_max.
FlowHistory wilson_flow(const torch::Tensor& U, double eps, double t_max, torch::Tensor* flowed = nullptr);

/// The flow time where the (monotone increasing, linearly interpolated) curve y(t) first reaches `target`
/// (t0 for target 0.3); NaN if it never does.
double flow_time_at(const std::vector<double>& t, const std::vector<double>& y, double target = 0.3);

/// w0² of a t²E curve y(t): W = t dy/dt at the midpoints of the grid (difference quotients, exact for quadratic y at
/// the midpoints), then the first crossing of `target` by linear interpolation of W; NaN if W never reaches it.
double w0_squared_at(const std::vector<double>& t, const std::vector<double>& y, double target = 0.3);

}  // namespace blockspin::lattice
