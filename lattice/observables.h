// Gauge-invariant loop observables: plaquettes, m x n Wilson loops, Polyakov loops (all normalised by 1/N).
#pragma once

#include <torch/torch.h>

namespace blockspin::lattice {

/// Average plaquette (1/N) Re Tr P over all sites and planes: [batch].
torch::Tensor average_plaquette(const torch::Tensor& U);
/// Average plaquette per plane, planes in the order of planes(D): [batch, D(D-1)/2].
torch::Tensor plaquette_per_plane(const torch::Tensor& U);

/// (1/N) Re Tr of the m x n loop (m steps along mu, n along nu) starting at each site: [batch, x..].
torch::Tensor wilson_loop_field(const torch::Tensor& U, int64_t mu, int64_t nu, int64_t m, int64_t n);
/// m x n Wilson loop at each site (the loop's starting corner), averaged over all planes and both orientations:
/// [batch, x..]. The per-site regression target of the L-CNN Wilson-loop benchmark.
torch::Tensor wilson_loop_site_field(const torch::Tensor& U, int64_t m, int64_t n);
/// m x n Wilson loop per plane, averaged over sites and over both orientations (m along mu and m along nu): [batch,
/// planes].
torch::Tensor wilson_loop_per_plane(const torch::Tensor& U, int64_t m, int64_t n);
/// m x n Wilson loop averaged over all planes, sites and both orientations: [batch].
torch::Tensor wilson_loop(const torch::Tensor& U, int64_t m, int64_t n);

/// Polyakov loop (1/N) Tr Π_{t=0}^{L_mu-1} U_mu(x + t mu^) at every site of the slice x_mu = 0:
/// complex [batch, x..] with the mu dimension removed.
torch::Tensor polyakov_loop_field(const torch::Tensor& U, int64_t mu);
/// Polyakov loop along mu averaged over the transverse volume: complex [batch].
torch::Tensor polyakov_loop(const torch::Tensor& U, int64_t mu);

}  // namespace blockspin::lattice
