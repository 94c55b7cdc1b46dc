// Fixed-point action of coarse configurations by minimisation: A_FP[V] = min_U { A[U] + T[U, V] } (Hasenfratz–
// Niedermayer), with the minimiser U*, convergence diagnostics and the derivatives D^FP of A_FP.
//
// Minimiser: batched L-BFGS on the group manifold. Coordinates are the Lie-algebra components ε_{x,μ,a} of left
// updates U_μ(x) -> exp(i Σ_a ε_a t^a) U_μ(x); the gradient is the left derivative (gauge_action.h convention) of
// A + T, computed by autograd, so `fine_action` may be any differentiable action (e.g. a trained model). Each
// configuration has its own history, line search and stopping. Line search: backtracking (halving) from t = 1 with
// the Armijo condition F(t) <= F + c t g·p + 64 ε_mach (|F| + 1) (the last term lets L-BFGS finish once F changes
// below rounding). Gradient norm (the stopping criterion): max over links (x, μ) of the Euclidean norm
// sqrt(Σ_a D_{x,μ,a}²) of the Lie-algebra gradient, per configuration.
// Start ("unblocking" V): the links 2x_B and 2x_B + μ̂ of each block pair carry R = proj_SU(N)(1 + V_μ(x_B)) (the
// square root of V_μ(x_B) when its eigenphases lie in (-π, π)), all other fine links are 1; so the start's
// unsmeared block product equals V, and V = 1 starts (and, being a minimum, stays) at U = 1.
//
// Derivative (envelope theorem; the minimiser's change does not contribute at a minimum):
//   D^FP_{x,μ,a}[V] = d/dε A_FP[V_μ(x) -> exp(iε t^a) V_μ(x)] = -(κ/N) Re Tr(i t^a V_μ(x) Q_μ(x)†),  Q from U*.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "lattice/blocking.h"
#include "lattice/derivatives.h"

namespace blockspin::lattice {

/// State of a running minimisation, passed to FpMinimiserOptions::on_iteration after every L-BFGS iteration.
struct FpProgress {
  int64_t iteration = 0;  ///< iterations done
  int64_t max_iterations = 0;
  int64_t n_active = 0;     ///< configurations still iterating
  int64_t n_converged = 0;  ///< configurations at gradient norm <= grad_tol
  int64_t batch = 0;
  double max_grad_norm = 0;  ///< largest gradient norm among the configurations still iterating (0 if none)
  torch::Tensor objective;   ///< A[U] + T[U, V] at the current U of every configuration, [batch] (double, CPU)
};

/// How configurations that have an alternative fine start (FpMinimiserOptions::alternative_start) are minimised.
/// A_FP is a global minimum, but L-BFGS from the unblocked start can stop in a higher local minimum: for SU(2)
/// instantons of radius ρ = 1.25 on 6⁴, A_FP/continuum 1.358 from the unblocked start, 1.063 from the discretised
/// fine instanton of radius 2ρ.
enum class FpStartPolicy {
  unblocked,    ///< ignore the alternative: every configuration starts from unblock_start(V)
  alternative,  ///< configurations with an alternative start from it, the others from unblock_start(V)
  both,         ///< minimise from both starts and keep the lower minimum that converged (iterations add up)
};

struct FpMinimiserOptions {
  BlockingOptions blocking{};
  /// Stop when the gradient norm (see above) is <= grad_tol. Reachable: ~1e-10 in double; use ~1e-3 in float.
  double grad_tol = 1e-9;
  int64_t max_iterations = 1000;
  /// L-BFGS memory (pairs kept).
  int64_t history = 10;
  /// How often a configuration's L-BFGS memory may be cleared after a failed line search before it is given up.
  int64_t restarts = 3;
  /// A configuration whose gradient norm has not halved in this many iterations is given up (not converged): L-BFGS
  /// halves it every few iterations on a smooth minimum, while at a kink of A + T (the blocked links' SU(N) projection
  /// switching branch) it stalls with ~20 backtracks per iteration until max_iterations. 0: never.
  int64_t stall_iterations = 100;
  /// Armijo constant c.
  double armijo = 1e-4;
  int64_t max_backtracks = 40;
  /// Steepest-descent steps (no usable memory) rotate the link with the largest gradient by this angle.
  double max_step = 0.1;
  /// Optional fine starting configuration (e.g. the minimiser for a nearby V); undefined: unblock V.
  torch::Tensor initial_guess{};
  /// Optional alternative fine starts [batch, D, 2 x_B.., N, N] for the configurations where alternative_mask
  /// ([batch] bool; undefined: all) is true (other rows are ignored), used as start_policy says.
  torch::Tensor alternative_start{};
  torch::Tensor alternative_mask{};
  FpStartPolicy start_policy = FpStartPolicy::both;
  /// Optional progress report after every iteration (e.g. for logging long batches; costs one device sync).
  std::function<void(const FpProgress&)> on_iteration{};
};

struct FpResult {
  torch::Tensor action;       ///< A_FP[V] = A[U*] + T[U*, V], [batch] (real)
  torch::Tensor fine_action;  ///< A[U*], [batch]
  torch::Tensor kernel;       ///< T[U*, V], [batch]
  torch::Tensor U;            ///< the minimiser U* (fine), [batch, D, 2 x_B.., N, N]
  torch::Tensor converged;    ///< [batch] bool: gradient norm <= grad_tol reached
  torch::Tensor grad_norm;    ///< [batch] final gradient norm
  torch::Tensor iterations;   ///< [batch] int64: L-BFGS iterations taken
  torch::Tensor derivative;   ///< D^FP [batch, D, x_B.., N²-1] (real)
  /// With start_policy both: the minimum reached from the first start and from the alternative start ([batch], NaN
  /// where there was no alternative) and whether the alternative's minimum was kept ([batch] bool); undefined
  /// otherwise.
  torch::Tensor first_start_action;
  torch::Tensor alternative_action;
  torch::Tensor used_alternative;
  /// With start_policy both: the mean squared difference per component between D^FP at the two minima ([batch]
  /// double, NaN where there was no alternative): 0 when both starts reach the same minimum.
  torch::Tensor start_derivative_msd;
};

/// The starting fine configuration for V described above: [batch, D, 2 x_B.., N, N].
torch::Tensor unblock_start(const torch::Tensor& V);

/// D^FP = -(κ/N) Re Tr(i t^a V Q[U]†) for a given fine U (the minimiser): [batch, D, x_B.., N²-1].
torch::Tensor fp_derivative(const torch::Tensor& U, const torch::Tensor& V, const BlockingOptions& options = {});

/// Minimises A[U] + T[U, V] over fine U for every configuration of V (which must be in SU(N): check_su_n), from
/// initial_guess or the unblocked start, and from the alternative starts as start_policy says.
/// Never throws for non-convergence: inspect `converged` and `grad_norm`.
FpResult fp_minimise(const torch::Tensor& V, const ActionFunctional& fine_action,
                     const FpMinimiserOptions& options = {});

}  // namespace blockspin::lattice
