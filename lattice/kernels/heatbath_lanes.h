// SIMD lane kernels for the Cabibbo–Marinari heatbath and overrelaxation of the Wilson action (lattice/heatbath.h),
// SU(2)/SU(3): the staple products W = c U A of one colour class, the SU(2)-subgroup updates, and the whole
// overrelaxation pass. Torch-free, compiled with the lane options; links as planes (lane_kernels.h), updated in place
// (the links of one colour class share no plaquette, so in-place updates are the sequential ones).
//
// Subgroup (i, j) of W: quaternion a = (½ Re(w_ii + w_jj), ½ Im(w_ij + w_ji), ½ Re(w_ij − w_ji), ½ Im(w_ii − w_jj)),
// k = |a|, v† = ā/k (1 where k = 0); an update r ∈ SU(2) acts on rows i, j of U and W:
//   row_i ← (r0 + i r3) row_i + (r2 + i r1) row_j,   row_j ← (−r2 + i r1) row_i + (r0 − i r3) row_j,
// with r = (v†)² for overrelaxation and r = x v† (x sampled) for the heatbath, as heatbath.cpp's torch path.
#pragma once

#include <cstdint>

#include "lattice/kernels/lane_kernels.h"

namespace blockspin::lattice::kernels::lanes {

/// The links U_μ(x) of one colour class: x = sites[0 .. n) in every configuration. Tasks: blocks of W list entries,
/// configuration-major (B · ⌈n/W⌉ of them).
struct LinkList {
  const int64_t* sites = nullptr;
  int64_t n = 0;
  int64_t mu = 0;
};

/// Overrelaxation of the listed links for the tasks [begin, end), in place: W = U A, then every subgroup in order.
template <class T, int NC>
void overrelax_range(T* planes, const Geometry& g, const LinkList& l, int64_t begin, int64_t end);

/// W = c U A (A the plaquette staple sum) for the listed links into Wp [B, 2N², n] (planes over list positions).
template <class T, int NC>
void staple_product_range(const T* planes, const Geometry& g, const LinkList& l, T c, T* Wp, int64_t begin,
                          int64_t end);

/// k = |a| of subgroup (i, j) of W for the listed links: k [B·n].
template <class T, int NC>
void subgroup_norm_range(const T* Wp, const LinkList& l, int i, int j, T* k, int64_t begin, int64_t end);

/// The heatbath update of subgroup (i, j): r = x v† with x = (x0, x1, x2, x3)[B·n] (the sampled SU(2) elements),
/// applied to the listed links (planes, in place) and to W.
template <class T, int NC>
void subgroup_heatbath_range(T* planes, const Geometry& g, const LinkList& l, T* Wp, int i, int j, const T* x0,
                             const T* x1, const T* x2, const T* x3, int64_t begin, int64_t end);

}  // namespace blockspin::lattice::kernels::lanes
