// SIMD lane kernels for SU(2)/SU(3) (see lane_kernels.h). Every inner loop runs over the W lanes with a trip count
// known at compile time, which the compiler turns into single vector instructions.
#include "lattice/kernels/lane_kernels.h"

#include <cmath>
#include <cstring>

#include "lattice/kernels/lane_math.h"

namespace blockspin::lattice::kernels::lanes {

const char* compiled_isa() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "AVX2+FMA";
#else
  return "baseline";
#endif
}

template <class T, int NC>
void plaquette_deficit_range(const T* planes, const Geometry& g, T* partial, int64_t begin, int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = 2 * NC * NC, NN = NC * NC;
  const int64_t V = g.V;
  LaneMat<T, NC> x, y, a, b;
  int64_t i1[W];
  for (int64_t blk = begin; blk < end; ++blk) {
    const auto bs = block_sites<W>(blk, V);
    auto dir = [&](int64_t m) { return planes + (bs.b * g.D + m) * P * V; };
    Lanes<T> sum{};
    for (int64_t mu = 0; mu < g.D; ++mu)
      for (int64_t nu = mu + 1; nu < g.D; ++nu) {
        load(x, dir(mu), V, bs.s);
        for (int l = 0; l < W; ++l) i1[l] = g.fwd[mu * V + bs.s[l]];
        load(y, dir(nu), V, i1);
        mul<false, false, false>(x, y, a);
        load(x, dir(nu), V, bs.s);
        for (int l = 0; l < W; ++l) i1[l] = g.fwd[nu * V + bs.s[l]];
        load(y, dir(mu), V, i1);
        mul<false, false, false>(x, y, b);
        Lanes<T> d{}, na{}, nb{};
        for (int q = 0; q < NN; ++q) {
          const Lanes<T> dr = a.re[q] - b.re[q], di = a.im[q] - b.im[q];
          d += dr * dr + di * di;
          na += a.re[q] * a.re[q] + a.im[q] * a.im[q];
          nb += b.re[q] * b.re[q] + b.im[q] * b.im[q];
        }
        sum += T(0.5) * d + T(0.5) * ((T(NC) - na) + (T(NC) - nb));
      }
    for (int l = 0; l < bs.count; ++l) partial[bs.b * V + bs.s[l]] = sum[l];
  }
}

template <class T, int NC>
void force_range(const T* planes, const Geometry& g, const GeneratorEntry* gens, int n_gens, T k, T* out, int64_t begin,
                 int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = 2 * NC * NC, G = NC * NC - 1;
  const int64_t V = g.V;
  LaneMat<T, NC> A, U, UA;
  for (int64_t blk = begin; blk < end; ++blk) {
    const auto bs = block_sites<W>(blk, V);
    const int64_t b = bs.b;
    for (int64_t mu = 0; mu < g.D; ++mu) {
      staple_sum(planes, g, b, bs, mu, A);
      load(U, planes + (b * g.D + mu) * P * V, V, bs.s);
      mul<false, false, false>(U, A, UA);
      Lanes<T> f[G] = {};
      // Im Tr(t^a UA) = Σ_rc Im(t^a_rc UA_cr)
      for (int e = 0; e < n_gens; ++e) {
        const auto& ge = gens[e];
        const T tr = static_cast<T>(ge.re), ti = static_cast<T>(ge.im);
        const int q = ge.c * NC + ge.r;
        f[ge.a] += tr * UA.im[q] + ti * UA.re[q];
      }
      T* o = out + ((b * g.D + mu) * V) * G;
      for (int l = 0; l < bs.count; ++l)
        for (int a = 0; a < G; ++a) o[bs.s[l] * G + a] = k * f[a][l];
    }
  }
}

template <class T, int NC>
void staples_range(const T* planes, const Geometry& g, int64_t mu_lo, int64_t mu_hi, T* A_out, int64_t begin,
                   int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t NN = NC * NC;
  const int64_t V = g.V, n_mu = mu_hi - mu_lo;
  LaneMat<T, NC> A;
  for (int64_t blk = begin; blk < end; ++blk) {
    const auto bs = block_sites<W>(blk, V);
    for (int64_t mu = mu_lo; mu < mu_hi; ++mu) {
      staple_sum(planes, g, bs.b, bs, mu, A);
      T* o = A_out + ((bs.b * n_mu + mu - mu_lo) * V) * 2 * NN;
      for (int l = 0; l < bs.count; ++l)
        for (int q = 0; q < NN; ++q) {
          o[(bs.s[l] * NN + q) * 2] = A.re[q][l];
          o[(bs.s[l] * NN + q) * 2 + 1] = A.im[q][l];
        }
    }
  }
}

template <class T, int NC>
void link_update_range(const T* U, const T* p, const GeneratorEntry* gens, int n_gens, T eps, T* out, int64_t begin,
                       int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int NN = NC * NC, G = NN - 1;
  LaneMat<T, NC> X, E, tmp, L;
  for (int64_t l0 = begin; l0 < end; l0 += W) {
    const int count = static_cast<int>(l0 + W <= end ? W : end - l0);
    int64_t link[W];
    for (int l = 0; l < W; ++l) link[l] = l < count ? l0 + l : end - 1;
    // X = i ε Σ_a p_a t^a
    set_zero(X);
    for (int e = 0; e < n_gens; ++e) {
      const auto& ge = gens[e];
      const T tr = static_cast<T>(ge.re), ti = static_cast<T>(ge.im);
      const int q = ge.r * NC + ge.c;
      for (int l = 0; l < W; ++l) {
        const T c = eps * p[link[l] * G + ge.a];
        X.re[q][l] -= c * ti;
        X.im[q][l] += c * tr;
      }
    }
    int sq[W], max_sq = 0;
    for (int l = 0; l < W; ++l) {
      T norm2 = 0;
      for (int q = 0; q < NN; ++q) norm2 += X.re[q][l] * X.re[q][l] + X.im[q][l] * X.im[q][l];
      const T norm = std::sqrt(norm2);
      sq[l] = norm > T(0.25) ? static_cast<int>(std::ceil(std::log2(norm / T(0.25)))) : 0;
      max_sq = sq[l] > max_sq ? sq[l] : max_sq;
      const T scale = std::ldexp(T(1), -sq[l]);
      for (int q = 0; q < NN; ++q) {
        X.re[q][l] *= scale;
        X.im[q][l] *= scale;
      }
    }
    for (int q = 0; q < NN; ++q)
      for (int l = 0; l < W; ++l) {
        L.re[q][l] = U[(link[l] * NN + q) * 2];
        L.im[q][l] = U[(link[l] * NN + q) * 2 + 1];
      }
    // The Taylor degree K: the smallest whose remainder bound |X|^{K+1}/(K+1)! is below the precision for every lane
    // of the block (K <= 12, which |X| <= 1/4 always satisfies).
    T max_norm = 0;
    for (int l = 0; l < W; ++l) {
      T norm2 = 0;
      for (int q = 0; q < NN; ++q) norm2 += X.re[q][l] * X.re[q][l] + X.im[q][l] * X.im[q][l];
      max_norm = std::sqrt(norm2) > max_norm ? std::sqrt(norm2) : max_norm;
    }
    const T tol = sizeof(T) == 8 ? T(1e-17) : T(1e-9);
    int K = 1;
    for (T term = max_norm * max_norm / T(2); K < 12 && term > tol; ++K) term *= max_norm / T(K + 2);
    if (max_sq == 0) {
      // exp(X) U by Horner on U itself: R = U + X R / k for k = K .. 1 (K products, no separate exp(X) U)
      tmp = L;
      for (int kk = K; kk >= 1; --kk) {
        mul<false, false, false>(X, tmp, E);
        for (int q = 0; q < NN; ++q) {
          tmp.re[q] = L.re[q] + E.re[q] / T(kk);
          tmp.im[q] = L.im[q] + E.im[q] / T(kk);
        }
      }
    } else {
      // E = exp(X/2^s) by Horner (E = 1 + X E / k for k = K .. 1), squared s times per lane, then E U
      set_zero(E);
      for (int r = 0; r < NC; ++r) E.re[r * (NC + 1)] += T(1);
      for (int kk = K; kk >= 1; --kk) {
        mul<false, false, false>(X, E, tmp);
        for (int q = 0; q < NN; ++q) {
          E.re[q] = tmp.re[q] / T(kk) + (q % (NC + 1) == 0 ? T(1) : T(0));
          E.im[q] = tmp.im[q] / T(kk);
        }
      }
      for (int i = 0; i < max_sq; ++i) {
        mul<false, false, false>(E, E, tmp);
        for (int q = 0; q < NN; ++q)
          for (int l = 0; l < W; ++l)
            if (i < sq[l]) {
              E.re[q][l] = tmp.re[q][l];
              E.im[q][l] = tmp.im[q][l];
            }
      }
      mul<false, false, false>(E, L, tmp);
    }
    for (int l = 0; l < count; ++l)
      for (int q = 0; q < NN; ++q) {
        out[(link[l] * NN + q) * 2] = tmp.re[q][l];
        out[(link[l] * NN + q) * 2 + 1] = tmp.im[q][l];
      }
  }
}

#define BLOCKSPIN_LANES_INSTANTIATE(T, NC)                                                                          \
  template void plaquette_deficit_range<T, NC>(const T*, const Geometry&, T*, int64_t, int64_t);                    \
  template void force_range<T, NC>(const T*, const Geometry&, const GeneratorEntry*, int, T, T*, int64_t, int64_t); \
  template void staples_range<T, NC>(const T*, const Geometry&, int64_t, int64_t, T*, int64_t, int64_t);            \
  template void link_update_range<T, NC>(const T*, const T*, const GeneratorEntry*, int, T, T*, int64_t, int64_t);
BLOCKSPIN_LANES_INSTANTIATE(double, 3)
BLOCKSPIN_LANES_INSTANTIATE(double, 2)
BLOCKSPIN_LANES_INSTANTIATE(float, 3)
BLOCKSPIN_LANES_INSTANTIATE(float, 2)
#undef BLOCKSPIN_LANES_INSTANTIATE

}  // namespace blockspin::lattice::kernels::lanes
