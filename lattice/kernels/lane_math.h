// SIMD lane primitives shared by the native kernel units (lane_kernels.cpp, smear_lanes.cpp): W sites' SU(N)
// matrices as structure of arrays, gathered loads, stores, products. PRIVATE: include only from units compiled with
// the lane options (lattice/CMakeLists.txt); everything is in an unnamed namespace so that no inline function built
// with -march=native can be merged with a copy built for the baseline ISA.
#pragma once

#include <cstdint>
#include <cstring>

#include "lattice/kernels/lane_kernels.h"

namespace blockspin::lattice::kernels::lanes {
namespace {  // NOLINT(google-build-namespaces): see above

// One value per lane: a 64-byte GCC/Clang vector (element-wise arithmetic, scalars broadcast; on a machine without
// 512-bit registers the compiler splits it into the widest it has).
template <class T>
struct LaneVector;
template <>
struct LaneVector<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <>
struct LaneVector<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <class T>
using Lanes = typename LaneVector<T>::type;

// W sites' NC×NC complex matrices, structure of arrays: re[q][l], im[q][l].
template <class T, int NC>
struct LaneMat {
  static constexpr int W = static_cast<int>(lane_width<T>());
  static constexpr int NN = NC * NC;
  Lanes<T> re[NN];
  Lanes<T> im[NN];
};

template <class T, int NC>
inline void set_zero(LaneMat<T, NC>& m) {
  for (int q = 0; q < m.NN; ++q) m.re[q] = m.im[q] = Lanes<T>{};
}

// The lanes' sites idx[l] of one link direction (its 2N² planes start at `pl`).
template <class T, int NC>
inline void load(LaneMat<T, NC>& m, const T* pl, int64_t V, const int64_t* idx) {
  constexpr int W = LaneMat<T, NC>::W;
  bool contiguous = true;
  for (int l = 1; l < W; ++l) contiguous &= idx[l] == idx[0] + l;
  if (contiguous) {
    for (int q = 0; q < m.NN; ++q) {
      std::memcpy(&m.re[q], pl + (2 * q) * V + idx[0], sizeof(Lanes<T>));
      std::memcpy(&m.im[q], pl + (2 * q + 1) * V + idx[0], sizeof(Lanes<T>));
    }
  } else {
    for (int q = 0; q < m.NN; ++q) {
      const T* r = pl + (2 * q) * V;
      const T* i = pl + (2 * q + 1) * V;
      for (int l = 0; l < W; ++l) {
        m.re[q][l] = r[idx[l]];
        m.im[q][l] = i[idx[l]];
      }
    }
  }
}

// o = a b (DagA: a†; DagB: b†); Add: o += instead.
template <bool DagA, bool DagB, bool Add, class T, int NC>
inline void mul(const LaneMat<T, NC>& a, const LaneMat<T, NC>& b, LaneMat<T, NC>& o) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      Lanes<T> sr = Add ? o.re[i * NC + j] : Lanes<T>{}, si = Add ? o.im[i * NC + j] : Lanes<T>{};
      for (int k = 0; k < NC; ++k) {
        const int ia = DagA ? k * NC + i : i * NC + k;
        const int ib = DagB ? j * NC + k : k * NC + j;
        const Lanes<T> ar = a.re[ia], br = b.re[ib];
        const Lanes<T> ai = DagA ? -a.im[ia] : a.im[ia], bi = DagB ? -b.im[ib] : b.im[ib];
        sr += ar * br - ai * bi;
        si += ar * bi + ai * br;
      }
      o.re[i * NC + j] = sr;
      o.im[i * NC + j] = si;
    }
}

// Per-block neighbour indices of the lanes' sites s_l (clamped to the last site of a configuration at its end).
template <int W>
struct BlockSites {
  int64_t b = 0;  // configuration
  int count = 0;  // valid lanes
  int64_t s[W];
};

template <int W>
inline BlockSites<W> block_sites(int64_t block, int64_t V) {
  const int64_t per_cfg = (V + W - 1) / W, b = block / per_cfg, s0 = (block % per_cfg) * W;
  BlockSites<W> bs;
  bs.b = b;
  bs.count = static_cast<int>(s0 + W <= V ? W : V - s0);
  for (int l = 0; l < W; ++l) bs.s[l] = s0 + l < V ? s0 + l : V - 1;
  return bs;
}

// o = m† (o must not alias m).
template <class T, int NC>
inline void dagger(const LaneMat<T, NC>& m, LaneMat<T, NC>& o) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      o.re[i * NC + j] = m.re[j * NC + i];
      o.im[i * NC + j] = -m.im[j * NC + i];
    }
}

// The lanes' matrices at sites idx[l] of a plane set, scaled: o = c m (Add: o += c m).
template <bool Add, class T, int NC>
inline void load_scaled(LaneMat<T, NC>& o, const T* pl, int64_t V, const int64_t* idx, T c) {
  LaneMat<T, NC> m;
  load(m, pl, V, idx);
  for (int q = 0; q < m.NN; ++q) {
    o.re[q] = Add ? o.re[q] + c * m.re[q] : c * m.re[q];
    o.im[q] = Add ? o.im[q] + c * m.im[q] : c * m.im[q];
  }
}

// Writes the first `count` lanes of m to sites idx[l] of a plane set.
template <class T, int NC>
inline void store(const LaneMat<T, NC>& m, T* pl, int64_t V, const int64_t* idx, int count) {
  constexpr int W = LaneMat<T, NC>::W;
  if (count == W && idx[W - 1] == idx[0] + W - 1) {
    for (int q = 0; q < m.NN; ++q) {
      std::memcpy(pl + (2 * q) * V + idx[0], &m.re[q], sizeof(Lanes<T>));
      std::memcpy(pl + (2 * q + 1) * V + idx[0], &m.im[q], sizeof(Lanes<T>));
    }
    return;
  }
  for (int q = 0; q < m.NN; ++q)
    for (int l = 0; l < count; ++l) {
      pl[(2 * q) * V + idx[l]] = m.re[q][l];
      pl[(2 * q + 1) * V + idx[l]] = m.im[q][l];
    }
}

// A_μ at the lanes' sites of configuration b: Σ_ν [U_ν(x+μ)(U_ν(x)U_μ(x+ν))† + (U_μ(x−ν)U_ν(x+μ−ν))† U_ν(x−ν)], the
// products in the order of staple_sum_at (wilson_kernels.cpp).
template <class T, int NC, class Block>
inline void staple_sum(const T* planes, const Geometry& g, int64_t b, const Block& bs, int64_t mu, LaneMat<T, NC>& A) {
  constexpr int64_t P = 2 * NC * NC;
  const int64_t V = g.V;
  auto dir = [&](int64_t m) { return planes + (b * g.D + m) * P * V; };
  constexpr int W = LaneMat<T, NC>::W;
  LaneMat<T, NC> x, y, z, tmp;
  int64_t s_mu[W], i1[W], i2[W];
  for (int l = 0; l < W; ++l) s_mu[l] = g.fwd[mu * V + bs.s[l]];
  set_zero(A);
  for (int64_t nu = 0; nu < g.D; ++nu) {
    if (nu == mu) continue;
    for (int l = 0; l < W; ++l) i1[l] = g.fwd[nu * V + bs.s[l]];
    load(x, dir(nu), V, bs.s);
    load(y, dir(mu), V, i1);
    load(z, dir(nu), V, s_mu);
    mul<false, false, false>(x, y, tmp);
    mul<false, true, true>(z, tmp, A);
    for (int l = 0; l < W; ++l) {
      i1[l] = g.bwd[nu * V + bs.s[l]];
      i2[l] = g.bwd[nu * V + s_mu[l]];
    }
    load(x, dir(mu), V, i1);
    load(y, dir(nu), V, i2);
    load(z, dir(nu), V, i1);
    mul<false, false, false>(x, y, tmp);
    mul<true, false, true>(tmp, z, A);
  }
}

}  // namespace
}  // namespace blockspin::lattice::kernels::lanes
