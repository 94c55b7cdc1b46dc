// The hypercubic symmetry group of a periodic lattice acting on gauge fields: axis permutations and reflections.
//
// An element g = (π, r) maps a gauge field U [batch, D, x.., N, N] (lattice/layout.h) to U^g: first the axes are
// permuted, (U^π)_ν(y) = U_{π(ν)}(x) with y_k = x_{π(k)}; then every axis μ with r_μ set is reflected about the origin,
// x_μ -> -x_μ (periodic): U'_ν(x) = U_ν(Rx) for ν != μ, U'_μ(x) = U_μ(Rx - μ̂)†. Gauge-invariant actions that respect
// the lattice symmetries (Wilson, Symanzik, the FP action of an isotropic blocking) are invariant: S[U^g] = S[U].
// Every map is differentiable (index operations and daggers), so the link derivative of S[U^g] with respect to U can
// be taken by autograd through it; for an invariant S it equals that of S (data augmentation of learned actions).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace blockspin::lattice {

/// One element of the hypercubic group in D dimensions: the axis permutation and the reflected axes.
struct HypercubicElement {
  std::vector<int64_t> permutation;  // π: output axis ν takes input axis π[ν]
  std::vector<bool> reflected;       // r_μ: axis μ is reflected (after the permutation)
  std::string describe() const;      // e.g. "perm (1 0 2 3), reflect 0 3"
};

/// The order of the group, D! 2^D (384 in four dimensions).
int64_t hypercubic_group_size(int64_t dims);
/// Element `index` in [0, hypercubic_group_size(dims)): permutation index / 2^D in lexicographic order, reflection bits
/// index % 2^D (bit μ reflects axis μ). Index 0 is the identity.
HypercubicElement hypercubic_element(int64_t dims, int64_t index);

/// U with its axes permuted by `permutation` (the permuted axes must have equal extents; std::invalid_argument).
torch::Tensor permute_axes(const torch::Tensor& U, const std::vector<int64_t>& permutation);
/// U reflected along axis `mu`: x_μ -> -x_μ (periodic).
torch::Tensor reflect_axis(const torch::Tensor& U, int64_t mu);
/// U^g: the permutation, then the reflections. A contiguous tensor, differentiable in U.
torch::Tensor hypercubic_transform(const torch::Tensor& U, const HypercubicElement& g);
/// [U_b^{g_b}]_b: every configuration b of the batch by its own element, as one gather of the links plus a dagger of
/// the links along reflected axes (each link is daggered at most once). Equal to hypercubic_transform row by row, bit
/// for bit, with one differentiable op instead of a few dozen per row (cheaper double backprop in training).
torch::Tensor hypercubic_transform_batch(const torch::Tensor& U, const std::vector<HypercubicElement>& elements);

}  // namespace blockspin::lattice
