// Plaq: the L-CNN input layer producing the plaquettes U_{x,μν} (μ < ν, optionally also ν > μ) as W objects.
#pragma once

#include <torch/torch.h>

namespace blockspin::lcnn {

struct PlaqOptions {
  /// Also emit the oppositely oriented plaquettes P_νμ = P_μν† (appended after all P_μν channels).
  TORCH_ARG(bool, both_orientations) = false;
  /// All four clover leaves of each plane at x (the plaquettes starting at x, x − μ̂, x − ν̂, x − μ̂ − ν̂, parallel-
  /// transported to x) instead of the one starting at x: with both orientations a set the lattice reflections map onto
  /// itself.
  TORCH_ARG(bool, clover_leaves) = false;
  /// Instead: the 4 P combinations Q^{ab}_μν = ¼ Σ_{s,t = ±1} s^a t^b L_{sμ,tν} of the four leaves L_{sμ,tν} (the loop
  /// x → x + sμ̂ → x + sμ̂ + tν̂ → x + tν̂ → x), each with one reflection character (lcnn/reflection_characters.h,
  /// plaq_characters): a reflection maps the leaves of a corner onto those of the mirrored corner, so Q^{ab} changes
  /// sign under the reflection of μ if a = 1 and of ν if b = 1. Channel order: c = a + 2b major, plane minor.
  TORCH_ARG(bool, reflection_characters) = false;
};

/// forward(U [B, D, x.., N, N]) -> W [B, P, x.., N, N] with P = D(D-1)/2 channels in lattice::planes(D) order
/// (4 P with clover_leaves: the leaf from x for every plane, then from x − μ̂, x − ν̂, x − μ̂ − ν̂; twice that with
/// both_orientations: first all of these, then their daggers). No parameters.
class PlaqImpl : public torch::nn::Cloneable<PlaqImpl> {
 public:
  explicit PlaqImpl(const PlaqOptions& options = {});
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& U);
  /// Number of output channels for D dimensions.
  int64_t out_channels(int64_t dims) const;
  PlaqOptions options;
};
TORCH_MODULE(Plaq);

}  // namespace blockspin::lcnn
