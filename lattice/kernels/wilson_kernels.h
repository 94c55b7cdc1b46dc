// Fused, site-parallel CPU kernels for the Wilson plaquette action: Σ Re Tr P and the staple sums A_μ(x) computed
// in one pass over the sites, neighbours by index arithmetic (no shifted copies), threads via at::parallel_for;
// specialised for SU(2) and SU(3), generic N otherwise; complex64 and complex128.
//
// Conventions as in lattice/paths.h and gauge_action.h (layout: lattice/layout.h):
//   plaquette_deficit_sum(U)[b] = Σ_x Σ_{μ<ν} (N − Re Tr P_μν(x)),  P_μν(x) = U_μ(x) U_ν(x+μ̂) U_μ(x+ν̂)† U_ν(x)†
//     (each term as ½|a − b|² + ½(2N − |a|² − |b|²) with a = U_μ(x)U_ν(x+μ̂), b = U_ν(x)U_μ(x+ν̂): no cancellation near
//     the identity, where the Wilson action is a sum of tiny deficits)
//   wilson_staples(U)[b, μ, x] = A_μ(x) = Σ_{ν≠μ} [U_ν(x+μ̂) U_μ(x+ν̂)† U_ν(x)† + U_ν(x+μ̂−ν̂)† U_μ(x−ν̂)† U_ν(x−ν̂)],
// so that U_μ(x) A_μ(x) closes every plaquette through the link (loop_staples of a plaquette). The reference is the
// torch path (GaugeAction with kernels "torch"); tests compare the two to 1e-13.
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice::kernels {

/// Whether the fused kernels can run on U: CPU, complex64/complex128, D >= 2. (Other devices use the torch path.)
bool fused_available(const torch::Tensor& U);

/// Σ_x Σ_{μ<ν} (N − Re Tr P_μν(x)) per configuration: [batch], U's real dtype. No autograd (see wilson_fused.h).
torch::Tensor plaquette_deficit_sum(const torch::Tensor& U);

/// A_μ(x) for every link: [batch, D, x.., N, N], like U; with `mu` >= 0 only that direction, [batch, 1, x.., N, N].
/// No autograd.
torch::Tensor wilson_staples(const torch::Tensor& U, int64_t mu = -1);

/// The Wilson force in algebra components, D_{x,μ,a} = k · Im Tr(t^a U_μ(x) A_μ(x)) (k = β c0 / N gives
/// GaugeAction::derivative): [batch, D, x.., N²-1], U's real dtype; staples, product and projection in one pass.
torch::Tensor wilson_force(const torch::Tensor& U, double k);

/// The HMC drift U_μ(x) <- exp(ε Σ_a p_a i t^a) U_μ(x) for every link, p [batch, D, x.., N²-1] (su_exp's scaled
/// Taylor polynomial, scaled per link): [batch, D, x.., N, N].
torch::Tensor link_update(const torch::Tensor& U, const torch::Tensor& p, double eps);

}  // namespace blockspin::lattice::kernels
