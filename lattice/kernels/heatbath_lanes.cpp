// SIMD lane kernels for heatbath and overrelaxation (see heatbath_lanes.h).
#include "lattice/kernels/heatbath_lanes.h"

#include "lattice/kernels/lane_math.h"

#include <cmath>

namespace blockspin::lattice::kernels::lanes {

namespace {

// The lanes of a task: configuration b, list positions pos[l] and their sites s[l] (tail clamped).
template <int W>
struct LinkBlock {
  int64_t b = 0;
  int count = 0;
  int64_t pos[W];
  int64_t s[W];
};

template <int W>
inline LinkBlock<W> link_block(const LinkList& l, int64_t task) {
  const int64_t per_cfg = (l.n + W - 1) / W, first = (task % per_cfg) * W;
  LinkBlock<W> lb;
  lb.b = task / per_cfg;
  lb.count = static_cast<int>(first + W <= l.n ? W : l.n - first);
  for (int i = 0; i < W; ++i) {
    lb.pos[i] = first + i < l.n ? first + i : l.n - 1;
    lb.s[i] = l.sites[lb.pos[i]];
  }
  return lb;
}

template <class T>
struct Quat {
  Lanes<T> q0, q1, q2, q3;
};

// v† = ā/k of subgroup (i, j) of W (1 where k = 0).
template <class T, int NC>
inline Quat<T> unit_conjugate(const LaneMat<T, NC>& w, int i, int j) {
  const int ii = i * NC + i, jj = j * NC + j, ij = i * NC + j, ji = j * NC + i;
  const Lanes<T> a0 = T(0.5) * (w.re[ii] + w.re[jj]), a1 = T(0.5) * (w.im[ij] + w.im[ji]);
  const Lanes<T> a2 = T(0.5) * (w.re[ij] - w.re[ji]), a3 = T(0.5) * (w.im[ii] - w.im[jj]);
  Quat<T> v;
  constexpr int W = LaneMat<T, NC>::W;
  for (int l = 0; l < W; ++l) {
    const T k = std::sqrt(a0[l] * a0[l] + a1[l] * a1[l] + a2[l] * a2[l] + a3[l] * a3[l]);
    const bool ok = k > T(1e-300);
    const T inv = ok ? T(1) / k : T(0);
    v.q0[l] = ok ? a0[l] * inv : T(1);
    v.q1[l] = -a1[l] * inv;
    v.q2[l] = -a2[l] * inv;
    v.q3[l] = -a3[l] * inv;
  }
  return v;
}

// p q (heatbath.cpp's multiply, same operation order).
template <class T>
inline Quat<T> multiply(const Quat<T>& p, const Quat<T>& q) {
  return {
      p.q0 * q.q0 - p.q1 * q.q1 - p.q2 * q.q2 - p.q3 * q.q3, p.q0 * q.q1 + q.q0 * p.q1 - (p.q2 * q.q3 - p.q3 * q.q2),
      p.q0 * q.q2 + q.q0 * p.q2 - (p.q3 * q.q1 - p.q1 * q.q3), p.q0 * q.q3 + q.q0 * p.q3 - (p.q1 * q.q2 - p.q2 * q.q1)};
}

// Rows i, j of M <- r acting on them.
template <class T, int NC>
inline void apply(const Quat<T>& r, int i, int j, LaneMat<T, NC>& M) {
  for (int c = 0; c < NC; ++c) {
    const int qi = i * NC + c, qj = j * NC + c;
    const Lanes<T> ir = M.re[qi], ii = M.im[qi], jr = M.re[qj], ji = M.im[qj];
    // (r0 + i r3) Mi + (r2 + i r1) Mj
    M.re[qi] = (r.q0 * ir - r.q3 * ii) + (r.q2 * jr - r.q1 * ji);
    M.im[qi] = (r.q0 * ii + r.q3 * ir) + (r.q2 * ji + r.q1 * jr);
    // (−r2 + i r1) Mi + (r0 − i r3) Mj
    M.re[qj] = (-r.q2 * ir - r.q1 * ii) + (r.q0 * jr + r.q3 * ji);
    M.im[qj] = (-r.q2 * ii + r.q1 * ir) + (r.q0 * ji - r.q3 * jr);
  }
}

template <class T, int NC>
constexpr int64_t kP = 2 * NC* NC;

}  // namespace

template <class T, int NC>
void overrelax_range(T* planes, const Geometry& g, const LinkList& l, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  LaneMat<T, NC> A, U, Wm;
  for (int64_t task = begin; task < end; ++task) {
    const auto lb = link_block<W>(l, task);
    T* pl = planes + (lb.b * g.D + l.mu) * kP<T, NC> * g.V;
    staple_sum(planes, g, lb.b, lb, l.mu, A);
    load(U, pl, g.V, lb.s);
    mul<false, false, false>(U, A, Wm);
    for (int i = 0; i < NC; ++i)
      for (int j = i + 1; j < NC; ++j) {
        const auto v = unit_conjugate(Wm, i, j);
        const auto r = multiply(v, v);
        apply(r, i, j, U);
        apply(r, i, j, Wm);
      }
    store(U, pl, g.V, lb.s, lb.count);
  }
}

template <class T, int NC>
void staple_product_range(const T* planes, const Geometry& g, const LinkList& l, T c, T* Wp, int64_t begin,
                          int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  LaneMat<T, NC> A, U, Wm;
  for (int64_t task = begin; task < end; ++task) {
    const auto lb = link_block<W>(l, task);
    staple_sum(planes, g, lb.b, lb, l.mu, A);
    load(U, planes + (lb.b * g.D + l.mu) * kP<T, NC> * g.V, g.V, lb.s);
    mul<false, false, false>(U, A, Wm);
    for (int q = 0; q < Wm.NN; ++q) {
      Wm.re[q] *= c;
      Wm.im[q] *= c;
    }
    store(Wm, Wp + lb.b * kP<T, NC> * l.n, l.n, lb.pos, lb.count);
  }
}

template <class T, int NC>
void subgroup_norm_range(const T* Wp, const LinkList& l, int i, int j, T* k, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  const int ii = i * NC + i, jj = j * NC + j, ij = i * NC + j, ji = j * NC + i;
  LaneMat<T, NC> Wm;
  for (int64_t task = begin; task < end; ++task) {
    const auto lb = link_block<W>(l, task);
    load(Wm, Wp + lb.b * kP<T, NC> * l.n, l.n, lb.pos);
    const Lanes<T> a0 = T(0.5) * (Wm.re[ii] + Wm.re[jj]), a1 = T(0.5) * (Wm.im[ij] + Wm.im[ji]);
    const Lanes<T> a2 = T(0.5) * (Wm.re[ij] - Wm.re[ji]), a3 = T(0.5) * (Wm.im[ii] - Wm.im[jj]);
    for (int x = 0; x < lb.count; ++x)
      k[lb.b * l.n + lb.pos[x]] = std::sqrt(a0[x] * a0[x] + a1[x] * a1[x] + a2[x] * a2[x] + a3[x] * a3[x]);
  }
}

template <class T, int NC>
void subgroup_heatbath_range(T* planes, const Geometry& g, const LinkList& l, T* Wp, int i, int j, const T* x0,
                             const T* x1, const T* x2, const T* x3, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  LaneMat<T, NC> U, Wm;
  for (int64_t task = begin; task < end; ++task) {
    const auto lb = link_block<W>(l, task);
    T* pl = planes + (lb.b * g.D + l.mu) * kP<T, NC> * g.V;
    T* wp = Wp + lb.b * kP<T, NC> * l.n;
    load(U, pl, g.V, lb.s);
    load(Wm, wp, l.n, lb.pos);
    const auto v = unit_conjugate(Wm, i, j);
    Quat<T> x{};  // every lane is set below; value-initialised for -Wmaybe-uninitialized
    for (int e = 0; e < W; ++e) {
      const int64_t at = lb.b * l.n + lb.pos[e];
      x.q0[e] = x0[at];
      x.q1[e] = x1[at];
      x.q2[e] = x2[at];
      x.q3[e] = x3[at];
    }
    const auto r = multiply(x, v);
    apply(r, i, j, U);
    apply(r, i, j, Wm);
    store(U, pl, g.V, lb.s, lb.count);
    store(Wm, wp, l.n, lb.pos, lb.count);
  }
}

#define BLOCKSPIN_HEATBATH_INSTANTIATE(T, NC)                                                                          \
  template void overrelax_range<T, NC>(T*, const Geometry&, const LinkList&, int64_t, int64_t);                        \
  template void staple_product_range<T, NC>(const T*, const Geometry&, const LinkList&, T, T*, int64_t, int64_t);      \
  template void subgroup_norm_range<T, NC>(const T*, const LinkList&, int, int, T*, int64_t, int64_t);                 \
  template void subgroup_heatbath_range<T, NC>(T*, const Geometry&, const LinkList&, T*, int, int, const T*, const T*, \
                                               const T*, const T*, int64_t, int64_t);
BLOCKSPIN_HEATBATH_INSTANTIATE(double, 3)
BLOCKSPIN_HEATBATH_INSTANTIATE(double, 2)
BLOCKSPIN_HEATBATH_INSTANTIATE(float, 3)
BLOCKSPIN_HEATBATH_INSTANTIATE(float, 2)
#undef BLOCKSPIN_HEATBATH_INSTANTIATE

}  // namespace blockspin::lattice::kernels::lanes
