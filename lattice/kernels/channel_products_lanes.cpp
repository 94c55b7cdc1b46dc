// The channel-product lane kernel (see channel_products_lanes.h): per lane block, every result channel accumulated
// in registers over its grid cells, each cell one N × N complex product over W sites.
#include "lattice/kernels/channel_products_lanes.h"

#include "lattice/kernels/lane_math.h"

namespace blockspin::lattice::kernels::lanes {
namespace {  // NOLINT(google-build-namespaces): built with the lane options, shared with no other unit

int64_t channel_of(ChannelIndex c, int64_t o, int64_t k, int64_t K) {
  return c == ChannelIndex::o ? o : c == ChannelIndex::k ? k : o * K + k;
}

// A full block of W consecutive sites starting at s0: one vector load per plane.
template <class T, int NC>
inline void load_block(LaneMat<T, NC>& m, const T* pl, int64_t V, int64_t s0) {
  for (int q = 0; q < m.NN; ++q) {
    std::memcpy(&m.re[q], pl + (2 * q) * V + s0, sizeof(Lanes<T>));
    std::memcpy(&m.im[q], pl + (2 * q + 1) * V + s0, sizeof(Lanes<T>));
  }
}

}  // namespace

template <class T, int NC, bool DagX, bool DagY>
void channel_products_range(const T* X, const T* Y, T* R, const ChannelPattern& p, int64_t V, int64_t begin,
                            int64_t end) {
  constexpr int W = LaneMat<T, NC>::W;
  constexpr int64_t P = 2 * NC * NC;
  const int64_t cx = p.channels(p.x), cy = p.channels(p.y), cr = p.channels(p.r);
  // The result's channels, each a sum over `inner` grid cells: (o, k) = cell(u, v).
  const int64_t inner = p.r == ChannelIndex::o ? p.K : p.r == ChannelIndex::k ? p.O : 1;
  LaneMat<T, NC> a, b, acc;
  for (int64_t blk = begin; blk < end; ++blk) {
    const auto bs = block_sites<W>(blk, V);
    const bool full = bs.count == W;
    const T* xb = X + bs.b * cx * P * V;
    const T* yb = Y + bs.b * cy * P * V;
    T* rb = R + bs.b * cr * P * V;
    for (int64_t u = 0; u < cr; ++u) {
      set_zero(acc);
      for (int64_t v = 0; v < inner; ++v) {
        const int64_t o = p.r == ChannelIndex::o ? u : p.r == ChannelIndex::k ? v : u / p.K;
        const int64_t k = p.r == ChannelIndex::o ? v : p.r == ChannelIndex::k ? u : u % p.K;
        const T* xp = xb + channel_of(p.x, o, k, p.K) * P * V;
        const T* yp = yb + channel_of(p.y, o, k, p.K) * P * V;
        if (full) {
          load_block(a, xp, V, bs.s[0]);
          load_block(b, yp, V, bs.s[0]);
        } else {
          load(a, xp, V, bs.s);
          load(b, yp, V, bs.s);
        }
        mul<DagX, DagY, true>(a, b, acc);
      }
      store(acc, rb + u * P * V, V, bs.s, bs.count);
    }
  }
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
