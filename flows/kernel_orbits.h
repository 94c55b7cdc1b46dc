// Bonds (x, y) of the CNF kernel K and their orbits under the lattice symmetries that respect the 2^D blocking.
// Paper cited below (Eq./Sec./Appendix numbers, "the paper"): Bauer, Kapust, Pawłowski, Temmen, arXiv:2412.12842.
//
// After upsampling, Ψ is symmetric under translations by b = 2 and under the hypercube group (axis permutations and
// reflections) about a block centre. A bond is (p, δ): p ∈ {0,1}^D the position of x in its block (index Σ_μ p_μ 2^μ,
// P = 2^D classes), δ = y − x with |δ_μ| <= K − 1 (T = (2K − 1)^D offsets; K = kernel_size, K = 1 is on-site only).
// A group element (π, s) (permutation π, signs s_μ = ±1) maps p'_{π(μ)} = p_μ if s_μ = +1 else 1 − p_μ and
// δ'_{π(μ)} = s_μ δ_μ. Weights W_{xy} tied per orbit make G equivariant (Eqs. 23, 25 and the text after them).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace blockspin::flows {

struct KernelGeometry {
  int64_t dims = 0;
  int64_t kernel_size = 0;
  /// The T offsets δ (D components each), lexicographic with δ_0 slowest.
  std::vector<std::vector<int64_t>> offsets;
  /// Index of δ = 0 in `offsets`.
  int64_t zero_offset = 0;
  /// Orbit id of every bond (p, δ): [P, T] int64 (CPU), ids 0..n_orbits−1.
  torch::Tensor orbit;
  int64_t n_orbits = 0;
};

/// Geometry for D >= 1, K >= 1. With tie_symmetry = false every bond is its own orbit (no weight tying).
KernelGeometry make_kernel_geometry(int64_t dims, int64_t kernel_size, bool tie_symmetry = true);

/// Block-position class Σ_μ (x_μ mod 2) 2^μ of every fine site: [x_0, .., x_{D−1}] int64 on `device`.
torch::Tensor block_position_index(const std::vector<int64_t>& extents, const torch::Device& device);

}  // namespace blockspin::flows
