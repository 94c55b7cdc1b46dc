// Products of gauge links along lattice paths: straight lines, closed loops, and the staples of a loop.
//
// A path is a list of unit steps; a step along -mu uses U_mu(x - mu^)†. path_product(U, p)(x) is the ordered
// product of links met walking p from x, a matrix field [batch, 1, x.., N, N]. Closed loops give gauge-covariant
// W objects at their starting site; staples are what remains of a loop once one link is taken out.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace blockspin::lattice {

/// One unit step of a lattice path: along +mu (sign = +1) or -mu (sign = -1).
struct Step {
  int64_t mu;
  int sign;
};
using Path = std::vector<Step>;

inline Step fwd(int64_t mu) { return {mu, +1}; }
inline Step bwd(int64_t mu) { return {mu, -1}; }

/// The same path walked backwards (inverse product).
Path reversed(const Path& path);
/// m steps along +mu, n along +nu, m along -mu, n along -nu: the m x n rectangular loop in the (mu, nu) plane.
Path rectangle(int64_t mu, int64_t nu, int64_t m, int64_t n);

/// Ordered product of links along `path` starting at every site x: [batch, 1, x.., N, N].
torch::Tensor path_product(const torch::Tensor& U, const Path& path);

/// Straight line U_mu(x) U_mu(x + mu^) ... U_mu(x + (k-1) mu^) for k >= 1 (k <= 0 throws): [batch, 1, x.., N, N].
torch::Tensor line_product(const torch::Tensor& U, int64_t mu, int64_t k);

/// Plaquette U_mu(x) U_nu(x+mu^) U_mu(x+nu^)† U_nu(x)†: [batch, 1, x.., N, N].
torch::Tensor plaquette_field(const torch::Tensor& U, int64_t mu, int64_t nu);

/// Sum of the staples of link (x, mu) in all translates of the closed loop `loop`: A_mu(x) such that
///   d/dε Σ_y Re Tr loop(y)[U_mu(x) -> (1 + ε X) U_mu(x)] = Re Tr(X U_mu(x) A_mu(x))
/// for every matrix X (each occurrence of the link, forward or backward, contributes one staple). Since
/// Re Tr is invariant under reversing a loop, occurrences along -mu are handled through the reversed loop.
torch::Tensor loop_staples(const torch::Tensor& U, int64_t mu, const Path& loop);

}  // namespace blockspin::lattice
