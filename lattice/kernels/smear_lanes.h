// SIMD lane kernels for the staple smearing of lattice/smearing.h (SU(2)/SU(3)) and its analytic backward.
//
// Torch-free and compiled with the lane options, like lane_kernels.h (whose link "planes" layout and Geometry it
// uses). The smearing is built level by level: the paths with k transverse steps ("items", one per direction μ
// and signed transverse set S, μ-major) obey
//   F_S(x) = (1/k) Σ_{s ∈ S} L_s(x) F_{S∖s}(x + s) L_s(x + μ̂)†,   F_∅ = U_μ,
// with the step links L_{2ν}(x) = U_ν(x), L_{2ν+1}(x) = U_ν(x − ν̂)† (signed step s: 2ν forward, 2ν + 1 backward),
// and S_μ(x) = s0 U_μ(x) + Σ_k w_k Σ_{S at level k} F_S(x).
//
// Backward (torch's convention for complex gradients: for P = A B, ∂P → A: G B†, → B: A† G). With G_S the gradient
// reaching F_S (w_k ∂S_μ plus what level k+1 sends back), every term of F_S sends
//   to L_s(x):       (G_S/k) C B†      (A = L_s(x), B = F_{S∖s}(x+s), C = L_s(x+μ̂))
//   to L_s(x+μ̂):     (G_S/k)† A B
//   to F_{S∖s}(x+s): A† (G_S/k) C.
// The first two are accumulated at x (race free: a block owns its sites) and gathered by `assemble`; the third is
// gathered by the receiving site (the "target" pass). Level planes [B·items, 2N², V], accumulators gL
// and gLC [B·D·2D, 2N², V] (per μ and step s, at x; gLC's link is at x + μ̂).
#pragma once

#include <cstdint>

#include "lattice/kernels/lane_kernels.h"

namespace blockspin::lattice::kernels::lanes {

/// Largest D the smearing lane kernels take (their per-block accumulators are fixed arrays).
constexpr int64_t kSmearMaxD = 6;

/// One level of the smearing recursion: items i = μ·per_mu + j, item i's k terms terms_s/terms_prev[i·k + t]
/// (the step s and the item of level k − 1 it multiplies; level 0 items are the D links), and the reverse table:
/// for item R of level k − 1, entries [rev_start[R], rev_start[R+1]) of (rev_item, rev_s) are its uses.
struct SmearLevel {
  int64_t k = 0;
  int64_t per_mu = 0;
  int64_t n_prev = 0;  ///< items of level k − 1 (all μ)
  const int32_t* terms_s = nullptr;
  const int32_t* terms_prev = nullptr;
  const int32_t* rev_start = nullptr;
  const int32_t* rev_item = nullptr;
  const int32_t* rev_s = nullptr;
};

/// The sites a pass visits, per direction μ: sites[μ][0 .. n[μ]) (sorted site indices of one configuration). Every
/// site for smear_links; for blocking only those whose result reaches a blocked link (smear_fused.cpp). Tasks: the
/// blocks of W consecutive list entries, configuration-major, then μ.
struct SiteLists {
  const int64_t* sites[kSmearMaxD] = {};
  int64_t n[kSmearMaxD] = {};
};

/// Number of tasks (lane blocks) of B configurations for the site lists.
inline int64_t list_tasks(const SiteLists& at, int64_t D, int64_t B, int64_t W) {
  int64_t per_cfg = 0;
  for (int64_t mu = 0; mu < D; ++mu) per_cfg += (at.n[mu] + W - 1) / W;
  return B * per_cfg;
}

/// Level k for the tasks [begin, end) over the sites `at`: F_S from `prev` (level k − 1 planes; the links for
/// k = 1), stored in `items` if non-null, and S_μ += weight Σ_S F_S on the S planes [B·D, 2N², V].
template <class T, int NC>
void smear_forward_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at, const T* prev,
                         T weight, T* items, T* S, int64_t begin, int64_t end);

/// Backward "source" pass of level k over the sites `at`: G_S = weight ∂S_μ + from_next[S] (from_next null: none),
/// stored divided by k in G (level planes), and the step-link gradients added to
/// gL and gLC (both per μ and s: [B·D·2D, 2N², V]).
template <class T, int NC>
void smear_backward_source_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at,
                                 const T* prev, const T* gS, T weight, const T* from_next, T* G, T* gL, T* gLC,
                                 int64_t begin, int64_t end);

/// Backward "target" pass of level k over the sites `at` (those of level k − 1): to_prev[R](y) = Σ over the uses
/// (i, s) of item R of A† G_i C at x = y − s (G from the source pass). If `odd` is non-null, G is taken as zero at
/// the sites x the source pass did not visit: those with more than max_odd odd coordinates transverse to μ (odd[x]:
/// bit ν set if x_ν is odd), so G needs no zero fill.
template <class T, int NC>
void smear_backward_target_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at, const T* G,
                                 const uint8_t* odd, int64_t max_odd, T* to_prev, int64_t begin, int64_t end);

/// The link gradient for the lane blocks [begin, end) of all sites: ∂U_ν(y) = s0 ∂S_ν(y) + from_level1[ν](y)
/// + Σ_μ [gL[μ][2ν](y) + gLC[μ][2ν](y − μ̂) + gL[μ][2ν+1](y + ν̂)† + gLC[μ][2ν+1](y + ν̂ − μ̂)†], into out [B·D, 2N², V].
template <class T, int NC>
void smear_assemble_range(const Geometry& g, const T* gS, T s0, const T* from_level1, const T* gL, const T* gLC, T* out,
                          int64_t begin, int64_t end);

}  // namespace blockspin::lattice::kernels::lanes
