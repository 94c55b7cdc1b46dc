// RG blocking of SU(N) gauge fields by a factor 2: blocked links, plain blocking of configurations, blocking kernel.
// "The papers": the FP L-CNN papers of Holland, Ipp, Müller, Wenger (arXiv:2311.17816, arXiv:2401.06481).
//
//   Q_μ(x_B) = S_μ(2x_B) S_μ(2x_B + μ̂)          (S the smeared fine links of smearing.h; not in SU(N))
//   T[U, V]  = -(κ/N) Σ_{x_B, μ} [ Re Tr(V_μ(x_B) Q_μ(x_B)†) - max_{W ∈ SU(N)} Re Tr(W Q_μ(x_B)†) ]
//
// The coarse lattice has extent L_μ/2 in every direction (odd fine extents are rejected). Subtracting the maximum
// (the role of the normalisation N_μ^β of the papers in the classical limit) makes T >= 0 with T = 0 exactly when
// every V_μ(x_B) is the maximiser of its Q_μ(x_B), i.e. V = rg_block(U). T is gauge invariant under fine
// transformations Ω(x) together with coarse ones Ω_B(x_B) = Ω(2x_B).
//
// Normalisation: this is the kernel of the FP equation A_FP[V] = min_U {A[U] + T[U, V]} with the actions A
// normalised without β (the action entering the Boltzmann weight is β A, β = 2N/g²): e.g. A = GaugeAction::wilson(1.0).
#pragma once

#include <torch/torch.h>

#include "lattice/smearing.h"

namespace blockspin::lattice {

/// Parameters of the RG transformation. κ = 8: source — the value as recalled for the Blatter–Niedermayer SU(3) RGT
/// used by the FP L-CNN papers (those in /work/shared/papers give κ only symbolically), NOT verified against
/// Blatter & Niedermayer, Nucl. Phys. B482 (1996) 286, hep-lat/9605017 (see smearing.h).
/// Rationale: any κ > 0 gives a valid RGT with a classically perfect FP action; κ sets how tightly the fine field is
/// tied to the coarse one (κ → 0: U* minimises the fine action alone and A_FP → 0 loses V; κ → ∞: U* is pinned to
/// the blocking constraint and the minimisation becomes stiff). The FP literature tunes κ with the smearing for the
/// shortest-ranged FP action. Measured (README, fp-data section; SU(2) ρ = 1 instanton, 4⁴ → 8⁴): A_FP/continuum
/// 0.906, 1.075, 1.092 for κ = 4, 8, 16 (iterations 29, 62, 77): from κ = 8 on the value changes little.
struct BlockingOptions {
  SmearingOptions smearing{};
  double kappa = 8.0;
};

/// Blocked links Q_μ(x_B) on the coarse lattice: [batch, D, L_0/2, ..., N, N]. Differentiable in U.
/// Throws std::invalid_argument naming the direction and extent if any fine extent is odd.
torch::Tensor block_links(const torch::Tensor& U, const SmearingOptions& smearing = {});

/// Plain RG blocking of fine configurations: V_μ(x_B) = the SU(N) maximiser of Re Tr(W Q_μ(x_B)†). Not
/// differentiated (detached). Checks that U is in SU(N) (check_su_n).
torch::Tensor rg_block(const torch::Tensor& U, const BlockingOptions& options = {});

/// Blocking kernel T[U, V] per configuration: [batch] (real), >= 0. Differentiable in U and V (the maximum term
/// through the envelope theorem: its gradient is that of Re Tr(W* Q†) at the fixed maximiser W*). Checks shapes
/// and that U and V are in SU(N).
torch::Tensor blocking_kernel(const torch::Tensor& U, const torch::Tensor& V, const BlockingOptions& options = {});

/// The same kernel from precomputed blocked links Q (no SU(N) checks): for the FP minimiser and derivative code.
torch::Tensor blocking_kernel_from_blocked(const torch::Tensor& Q, const torch::Tensor& V, double kappa);

/// Throws std::invalid_argument unless `V` has the coarse shape of the fine field `U` (extents halved, same batch,
/// D, N, dtype and device). `what` names the coarse argument.
void check_coarse_shape(const torch::Tensor& U, const torch::Tensor& V, const char* what = "coarse field");

}  // namespace blockspin::lattice
