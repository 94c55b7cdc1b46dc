// SIMD lane kernels for the staple smearing and its backward (see smear_lanes.h).
#include "lattice/kernels/smear_lanes.h"

#include "lattice/kernels/lane_math.h"

namespace blockspin::lattice::kernels::lanes {

namespace {

template <class T, int NC>
constexpr int64_t kPlanes = 2 * NC* NC;

// x + s for the signed step s at every lane.
template <int W>
inline void step_sites(const Geometry& g, int64_t s, const int64_t* x, int64_t* out) {
  const int64_t* table = ((s & 1) == 0 ? g.fwd : g.bwd) + (s >> 1) * g.V;
  for (int l = 0; l < W; ++l) out[l] = table[x[l]];
}

// The step link L_s at the lanes' sites x of configuration b (U as planes [B·D, 2N², V]).
template <class T, int NC>
inline void load_step(LaneMat<T, NC>& m, const T* U, const Geometry& g, int64_t b, int64_t s, const int64_t* x) {
  constexpr int W = LaneMat<T, NC>::W;
  const T* pl = U + (b * g.D + (s >> 1)) * kPlanes<T, NC> * g.V;
  if ((s & 1) == 0) {
    load(m, pl, g.V, x);
    return;
  }
  int64_t back[W];
  step_sites<W>(g, s, x, back);
  LaneMat<T, NC> t;
  load(t, pl, g.V, back);
  dagger(t, m);
}

template <class T, int NC>
inline void scale(LaneMat<T, NC>& m, T c) {
  for (int q = 0; q < m.NN; ++q) {
    m.re[q] *= c;
    m.im[q] *= c;
  }
}

template <class T, int NC>
inline void add(LaneMat<T, NC>& o, const LaneMat<T, NC>& m) {
  for (int q = 0; q < m.NN; ++q) {
    o.re[q] += m.re[q];
    o.im[q] += m.im[q];
  }
}

// plane set p at the lanes' sites += m (read-modify-write of the block's own sites).
template <class T, int NC, class Block>
inline void add_to(T* p, int64_t V, const Block& bs, const LaneMat<T, NC>& m) {
  LaneMat<T, NC> t;
  load(t, p, V, bs.s);
  add(t, m);
  store(t, p, V, bs.s, bs.count);
}

// The lanes of task `task`: configuration b, direction μ and W consecutive entries of μ's site list (the tail
// clamped to the list's last site).
template <int W>
struct ListBlock {
  int64_t b = 0, mu = 0;
  int count = 0;
  int64_t s[W];
};

template <int W>
inline ListBlock<W> list_block(const SiteLists& at, int64_t D, int64_t task) {
  int64_t per_cfg = 0, blocks[kSmearMaxD];
  for (int64_t mu = 0; mu < D; ++mu) per_cfg += blocks[mu] = (at.n[mu] + W - 1) / W;
  ListBlock<W> lb;
  lb.b = task / per_cfg;
  int64_t r = task % per_cfg;
  while (r >= blocks[lb.mu]) r -= blocks[lb.mu++];
  const int64_t first = r * W, n = at.n[lb.mu];
  lb.count = static_cast<int>(first + W <= n ? W : n - first);
  for (int l = 0; l < W; ++l) lb.s[l] = at.sites[lb.mu][first + l < n ? first + l : n - 1];
  return lb;
}

}  // namespace

template <class T, int NC>
void smear_forward_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at, const T* prev,
                         T weight, T* items, T* S, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = kPlanes<T, NC>;
  const int64_t V = g.V, D = g.D, k = lv.k, n_items = D * lv.per_mu;
  const T inv_k = T(1) / static_cast<T>(k);
  LaneMat<T, NC> B, AB, F, sum;
  LaneMat<T, NC> A[2 * kSmearMaxD], C[2 * kSmearMaxD];  // L_s(x), L_s(x + μ̂): shared by the terms of one block
  int64_t xs[W], xm[W];
  for (int64_t task = begin; task < end; ++task) {
    const auto bs = list_block<W>(at, g.D, task);
    const int64_t b = bs.b, mu = bs.mu;
    step_sites<W>(g, 2 * mu, bs.s, xm);
    for (int64_t s = 0; s < 2 * D; ++s)
      if ((s >> 1) != mu) {
        load_step(A[s], U, g, b, s, bs.s);
        load_step(C[s], U, g, b, s, xm);
      }
    set_zero(sum);
    for (int64_t j = 0; j < lv.per_mu; ++j) {
      const int64_t i = mu * lv.per_mu + j;
      set_zero(F);
      for (int64_t t = 0; t < k; ++t) {
        const int64_t s = lv.terms_s[i * k + t], R = lv.terms_prev[i * k + t];
        step_sites<W>(g, s, bs.s, xs);
        load(B, prev + (b * lv.n_prev + R) * P * V, V, xs);
        mul<false, false, false>(A[s], B, AB);
        mul<false, true, true>(AB, C[s], F);
      }
      scale(F, inv_k);
      if (items != nullptr) store(F, items + (b * n_items + i) * P * V, V, bs.s, bs.count);
      add(sum, F);
    }
    scale(sum, weight);
    add_to(S + (b * D + mu) * P * V, V, bs, sum);
  }
}

template <class T, int NC>
void smear_backward_source_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at,
                                 const T* prev, const T* gS, T weight, const T* from_next, T* G, T* gL, T* gLC,
                                 int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = kPlanes<T, NC>;
  const int64_t V = g.V, D = g.D, k = lv.k, n_items = D * lv.per_mu, n_steps = 2 * D;
  const T inv_k = T(1) / static_cast<T>(k);
  LaneMat<T, NC> B, AB, GC, Gm, gmu;
  LaneMat<T, NC> A[2 * kSmearMaxD], C[2 * kSmearMaxD], accL[2 * kSmearMaxD], accLC[2 * kSmearMaxD];
  int64_t xs[W], xm[W];
  for (int64_t task = begin; task < end; ++task) {
    const auto bs = list_block<W>(at, g.D, task);
    const int64_t b = bs.b, mu = bs.mu;
    step_sites<W>(g, 2 * mu, bs.s, xm);
    for (int64_t s = 0; s < n_steps; ++s) {
      set_zero(accL[s]);
      set_zero(accLC[s]);
      if ((s >> 1) != mu) {
        load_step(A[s], U, g, b, s, bs.s);
        load_step(C[s], U, g, b, s, xm);
      }
    }
    load_scaled<false>(gmu, gS + (b * D + mu) * P * V, V, bs.s, weight);
    for (int64_t j = 0; j < lv.per_mu; ++j) {
      const int64_t i = mu * lv.per_mu + j;
      Gm = gmu;
      if (from_next != nullptr) load_scaled<true>(Gm, from_next + (b * n_items + i) * P * V, V, bs.s, T(1));
      scale(Gm, inv_k);
      store(Gm, G + (b * n_items + i) * P * V, V, bs.s, bs.count);
      for (int64_t t = 0; t < k; ++t) {
        const int64_t s = lv.terms_s[i * k + t], R = lv.terms_prev[i * k + t];
        step_sites<W>(g, s, bs.s, xs);
        load(B, prev + (b * lv.n_prev + R) * P * V, V, xs);
        mul<false, false, false>(A[s], B, AB);
        mul<true, false, true>(Gm, AB, accLC[s]);  // → L_s(x + μ̂): G† A B
        mul<false, false, false>(Gm, C[s], GC);
        mul<false, true, true>(GC, B, accL[s]);  // → L_s(x): G C B†
      }
    }
    for (int64_t s = 0; s < n_steps; ++s)
      if ((s >> 1) != mu) {
        add_to(gL + ((b * D + mu) * n_steps + s) * P * V, V, bs, accL[s]);
        add_to(gLC + ((b * D + mu) * n_steps + s) * P * V, V, bs, accLC[s]);
      }
  }
}

template <class T, int NC>
void smear_backward_target_range(const T* U, const Geometry& g, const SmearLevel& lv, const SiteLists& at, const T* G,
                                 const uint8_t* odd, int64_t max_odd, T* to_prev, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = kPlanes<T, NC>;
  const int64_t V = g.V, D = g.D, n_items = D * lv.per_mu, prev_per_mu = lv.n_prev / D;
  LaneMat<T, NC> Gm, GC, acc;
  LaneMat<T, NC> A[2 * kSmearMaxD], C[2 * kSmearMaxD];  // L_s(y − s), L_s(y − s + μ̂)
  Lanes<T> keep[2 * kSmearMaxD];                        // 1 where the source pass visited y − s
  int64_t xs[2 * kSmearMaxD][W], xm[W];
  for (int64_t task = begin; task < end; ++task) {
    const auto bs = list_block<W>(at, g.D, task);
    const int64_t b = bs.b, mu = bs.mu;
    for (int64_t s = 0; s < 2 * D; ++s) {
      if ((s >> 1) == mu) continue;
      step_sites<W>(g, s ^ 1, bs.s, xs[s]);  // x = y − s
      step_sites<W>(g, 2 * mu, xs[s], xm);   // x + μ̂
      load_step(A[s], U, g, b, s, xs[s]);
      load_step(C[s], U, g, b, s, xm);
      if (odd != nullptr) {  // G is zero where the source pass did not go (and unwritten there)
        const unsigned transverse = ~(1u << mu);
        for (int l = 0; l < W; ++l)
          keep[s][l] = __builtin_popcount(odd[xs[s][l]] & transverse) <= max_odd ? T(1) : T(0);
      }
    }
    for (int64_t R = mu * prev_per_mu; R < (mu + 1) * prev_per_mu; ++R) {
      set_zero(acc);
      for (int32_t e = lv.rev_start[R]; e < lv.rev_start[R + 1]; ++e) {
        const int64_t i = lv.rev_item[e], s = lv.rev_s[e];
        load(Gm, G + (b * n_items + i) * P * V, V, xs[s]);
        if (odd != nullptr)
          for (int q = 0; q < Gm.NN; ++q) {  // a select, not a product: unwritten memory may hold NaN
            Gm.re[q] = keep[s] > T(0.5) ? Gm.re[q] : Lanes<T>{};
            Gm.im[q] = keep[s] > T(0.5) ? Gm.im[q] : Lanes<T>{};
          }
        mul<false, false, false>(Gm, C[s], GC);
        mul<true, false, true>(A[s], GC, acc);
      }
      store(acc, to_prev + (b * lv.n_prev + R) * P * V, V, bs.s, bs.count);
    }
  }
}

template <class T, int NC>
void smear_assemble_range(const Geometry& g, const T* gS, T s0, const T* from_level1, const T* gL, const T* gLC, T* out,
                          int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = kPlanes<T, NC>;
  const int64_t V = g.V, D = g.D, n_steps = 2 * D;
  LaneMat<T, NC> acc, dg, t;
  int64_t xs[W], xn[W];
  for (int64_t blk = begin; blk < end; ++blk) {
    const auto bs = block_sites<W>(blk, V);
    const int64_t b = bs.b;
    for (int64_t nu = 0; nu < D; ++nu) {
      load_scaled<false>(acc, gS + (b * D + nu) * P * V, V, bs.s, s0);
      load_scaled<true>(acc, from_level1 + (b * D + nu) * P * V, V, bs.s, T(1));
      step_sites<W>(g, 2 * nu, bs.s, xn);  // y + ν̂
      set_zero(dg);
      for (int64_t mu = 0; mu < D; ++mu) {
        if (mu == nu) continue;
        load_scaled<true>(acc, gL + ((b * D + mu) * n_steps + 2 * nu) * P * V, V, bs.s, T(1));
        load_scaled<true>(dg, gL + ((b * D + mu) * n_steps + 2 * nu + 1) * P * V, V, xn, T(1));
        step_sites<W>(g, 2 * mu + 1, bs.s, xs);  // y − μ̂
        load_scaled<true>(acc, gLC + ((b * D + mu) * n_steps + 2 * nu) * P * V, V, xs, T(1));
        step_sites<W>(g, 2 * mu + 1, xn, xs);  // y + ν̂ − μ̂
        load_scaled<true>(dg, gLC + ((b * D + mu) * n_steps + 2 * nu + 1) * P * V, V, xs, T(1));
      }
      dagger(dg, t);
      add(acc, t);
      store(acc, out + (b * D + nu) * P * V, V, bs.s, bs.count);
    }
  }
}

#define BLOCKSPIN_SMEAR_INSTANTIATE(T, NC)                                                                           \
  template void smear_forward_range<T, NC>(const T*, const Geometry&, const SmearLevel&, const SiteLists&, const T*, \
                                           T, T*, T*, int64_t, int64_t);                                             \
  template void smear_backward_source_range<T, NC>(const T*, const Geometry&, const SmearLevel&, const SiteLists&,   \
                                                   const T*, const T*, T, const T*, T*, T*, T*, int64_t, int64_t);   \
  template void smear_backward_target_range<T, NC>(const T*, const Geometry&, const SmearLevel&, const SiteLists&,   \
                                                   const T*, const uint8_t*, int64_t, T*, int64_t, int64_t);         \
  template void smear_assemble_range<T, NC>(const Geometry&, const T*, T, const T*, const T*, const T*, T*, int64_t, \
                                            int64_t);
BLOCKSPIN_SMEAR_INSTANTIATE(double, 3)
BLOCKSPIN_SMEAR_INSTANTIATE(double, 2)
BLOCKSPIN_SMEAR_INSTANTIATE(float, 3)
BLOCKSPIN_SMEAR_INSTANTIATE(float, 2)
#undef BLOCKSPIN_SMEAR_INSTANTIATE

}  // namespace blockspin::lattice::kernels::lanes
