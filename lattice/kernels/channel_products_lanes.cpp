// The channel-product lane kernel (see channel_products_lanes.h): per lane block, every result channel accumulated
// in registers over its grid cells, each cell one N × N complex product over W sites.
#include "lattice/kernels/channel_products_lanes.h"

#include "lattice/kernels/lane_math.h"

#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace blockspin::lattice::kernels::lanes {
namespace {  // NOLINT(google-build-namespaces): built with the lane options, shared with no other unit

constexpr int64_t kPrefetch = 3;  // cells ahead

int64_t channel_of(ChannelIndex c, int64_t o, int64_t k, int64_t K) {
  return c == ChannelIndex::o ? o : c == ChannelIndex::k ? k : o * K + k;
}

// One channel's block: 2N² lane vectors one after the other.
template <class T, int NC>
inline void load_block(LaneMat<T, NC>& m, const T* pl) {
  constexpr int W = LaneMat<T, NC>::W;
  for (int q = 0; q < m.NN; ++q) {
    std::memcpy(&m.re[q], pl + (2 * q) * W, sizeof(Lanes<T>));
    std::memcpy(&m.im[q], pl + (2 * q + 1) * W, sizeof(Lanes<T>));
  }
}

// One lane vector to 64-byte aligned memory; Stream: bypassing the caches (a result nobody reads soon, written
// without fetching its lines first).
template <bool Stream, class T>
inline void put(T* dst, const Lanes<T>& v) {
#if defined(__AVX512F__)
  if constexpr (Stream) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(dst, reinterpret_cast<__m512>(v));
    else
      _mm512_stream_pd(dst, reinterpret_cast<__m512d>(v));
    return;
  }
#endif
  std::memcpy(dst, &v, sizeof(Lanes<T>));
}

template <bool Stream, class T, int NC>
inline void store_block(const LaneMat<T, NC>& m, T* pl) {
  constexpr int W = LaneMat<T, NC>::W;
  for (int q = 0; q < m.NN; ++q) {
    put<Stream>(pl + (2 * q) * W, m.re[q]);
    put<Stream>(pl + (2 * q + 1) * W, m.im[q]);
  }
}

}  // namespace

template <class T, int NC, bool DagX, bool DagY>
void channel_products_range(const T* X, const T* Y, T* R, const ChannelPattern& p, int64_t n_blocks, int64_t begin,
                            int64_t end) {
  constexpr int64_t S = 2 * NC * NC * LaneMat<T, NC>::W;  // one channel's block
  const int64_t cx = p.channels(p.x), cy = p.channels(p.y), cr = p.channels(p.r);
  // The result's channels, each a sum over `inner` grid cells: (o, k) = cell(u, v).
  const int64_t inner = p.r == ChannelIndex::o ? p.K : p.r == ChannelIndex::k ? p.O : 1;
  LaneMat<T, NC> a, b, acc;
  for (int64_t blk = begin; blk < end; ++blk) {
    const int64_t cfg = blk / n_blocks, j = blk % n_blocks;
    auto at = [&](auto* base, int64_t channels, int64_t c) { return base + ((cfg * channels + c) * n_blocks + j) * S; };
    auto cell = [&](int64_t u, int64_t v, const T*& xp, const T*& yp) {
      const int64_t o = p.r == ChannelIndex::o ? u : p.r == ChannelIndex::k ? v : u / p.K;
      const int64_t k = p.r == ChannelIndex::o ? v : p.r == ChannelIndex::k ? u : u % p.K;
      xp = at(X, cx, channel_of(p.x, o, k, p.K));
      yp = at(Y, cy, channel_of(p.y, o, k, p.K));
    };
    for (int64_t u = 0; u < cr; ++u) {
      set_zero(acc);
      for (int64_t v = 0; v < inner; ++v) {
        const T *xp, *yp;
        cell(u, v, xp, yp);
        // The blocks of consecutive cells lie a channel apart (another page): the hardware prefetchers do not follow,
        // so the cell kPrefetch ahead is requested now (one request per cache line).
        const int64_t ahead = u * inner + v + kPrefetch;
        if (ahead < cr * inner) {
          const T *xn, *yn;
          cell(ahead / inner, ahead % inner, xn, yn);
          for (int64_t line = 0; line < S; line += 64 / static_cast<int64_t>(sizeof(T))) {
            __builtin_prefetch(xn + line);
            __builtin_prefetch(yn + line);
          }
        }
        load_block(a, xp);
        load_block(b, yp);
        mul<DagX, DagY, true>(a, b, acc);
      }
      if (inner == 1)
        store_block<true>(acc, at(R, cr, u));  // the (o, k)-indexed result: as large as Y
      else
        store_block<false>(acc, at(R, cr, u));
    }
  }
#if defined(__AVX512F__)
  _mm_sfence();  // the streamed stores are visible before the caller reads R
#endif
}

#define BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE(T, NC)                                                               \
  template void channel_products_range<T, NC, false, false>(const T*, const T*, T*, const ChannelPattern&, int64_t, \
                                                            int64_t, int64_t);                                      \
  template void channel_products_range<T, NC, false, true>(const T*, const T*, T*, const ChannelPattern&, int64_t,  \
                                                           int64_t, int64_t);                                       \
  template void channel_products_range<T, NC, true, false>(const T*, const T*, T*, const ChannelPattern&, int64_t,  \
                                                           int64_t, int64_t);                                       \
  template void channel_products_range<T, NC, true, true>(const T*, const T*, T*, const ChannelPattern&, int64_t,   \
                                                          int64_t, int64_t);
BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE(double, 3)
BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE(double, 2)
BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE(float, 3)
BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE(float, 2)
#undef BLOCKSPIN_CHANNEL_PRODUCTS_INSTANTIATE

}  // namespace blockspin::lattice::kernels::lanes
