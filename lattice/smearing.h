// Staple smearing of fine links for the RG blocking: original link + planar, diagonal and hyperdiagonal staples.
//
//   S_μ(x) = s0 U_μ(x) + s_pl Σ_pl + s_d Σ_d + s_hd Σ_hd,
//
// where Σ_k sums, over every transverse offset built from k distinct directions ν_1..ν_k ⊥ μ with both signs each
// (2(D-1) planar, 4 C(D-1,2) diagonal, 8 C(D-1,3) hyperdiagonal offsets), the staple that leaves x along the offset,
// steps along μ and comes back along the mirror image of the same path to x+μ̂, averaged over the k! orderings of
// the transverse steps. Each staple transforms as Ω(x) · Ω(x+μ̂)†, so S does; the set of staples is invariant under
// the lattice rotations and reflections that fix the μ axis. s0 = 1 - (n_pl s_pl + n_d s_d + n_hd s_hd) makes S = 1
// on the unit configuration. In D = 2 there are no diagonal staples, in D = 3 no hyperdiagonal ones (their terms
// and counts are zero). S is not in SU(N). Autograd-aware; follows the device and dtype of U.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace blockspin::lattice {

/// Staple weights of the smearing. Defaults: s_pl = 0.07, s_d = 0.016, s_hd = 0.008, the weights of the SU(3)
/// RG transformation of Blatter & Niedermayer, Nucl. Phys. B482 (1996) 286 (hep-lat/9605017), which the FP-action
/// L-CNN papers (Holland, Ipp, Müller, Wenger, arXiv:2401.06481) cite as "the RGT defined in Ref. [3]". The papers in
/// /work/shared/papers quote no numbers: these values are recalled from the FP literature, NOT verified against the
/// paper text; check them before producing data to be compared with published FP actions. In D = 4 they give
/// s0 = 1 - 6·0.07 - 12·0.016 - 8·0.008 = 0.324.
struct SmearingOptions {
  double s_pl = 0.07;
  double s_d = 0.016;
  double s_hd = 0.008;
};

/// Number of staple offsets with k transverse directions in D dimensions: 2^k C(D-1, k) (k = 1, 2, 3).
int64_t n_staple_offsets(int64_t n_dims, int64_t k);
/// The weight of the original link, s0 = 1 - (n_pl s_pl + n_d s_d + n_hd s_hd) in D dimensions.
double smearing_s0(const SmearingOptions& options, int64_t n_dims);

/// Smeared links S_μ(x) for every link: [batch, D, x.., N, N] (complex, same device/dtype as U). Differentiable.
torch::Tensor smear_links(const torch::Tensor& U, const SmearingOptions& options = {});

/// The sum Σ_k of staples with k = 1, 2 or 3 transverse directions (each averaged over orderings), unweighted:
/// [batch, D, x.., N, N]; zero when D - 1 < k. Exposed for tests.
torch::Tensor staple_sum(const torch::Tensor& U, int64_t k);

}  // namespace blockspin::lattice
