// Site loops of the parallel transport and its link gradient (see transport_loops.h): blocks of W consecutive sites
// (16 in float, 8 in double) gathered into lanes, so that the complex products are multiply-adds over the lanes.
#include "lattice/kernels/transport_loops.h"

#include <cstring>

#include "lattice/kernels/lane_math.h"

namespace blockspin::lattice::kernels::loops {
namespace {  // NOLINT(google-build-namespaces): built with the lane options, shared with no other unit

// The lanes' matrices at sites idx[l] of a torch-layout field (site s at base + s·2N²): a transposing gather.
template <class T, int NC>
inline void gather(lanes::LaneMat<T, NC>& m, const T* base, const int64_t* idx) {
  constexpr int W = lanes::LaneMat<T, NC>::W, NN = NC * NC;
  alignas(64) T re[NN][W], im[NN][W];
  for (int l = 0; l < W; ++l) {
    const T* p = base + idx[l] * 2 * NN;
    for (int q = 0; q < NN; ++q) {
      re[q][l] = p[2 * q];
      im[q][l] = p[2 * q + 1];
    }
  }
  for (int q = 0; q < NN; ++q) {
    std::memcpy(&m.re[q], re[q], sizeof(m.re[q]));
    std::memcpy(&m.im[q], im[q], sizeof(m.im[q]));
  }
}

// The first n lanes to the sites x0, x0 + 1, ..., x0 + n − 1 (torch layout); a whole block with a fixed trip count.
template <class T, int NC>
inline void scatter(const lanes::LaneMat<T, NC>& m, T* base, int64_t x0, int n) {
  constexpr int W = lanes::LaneMat<T, NC>::W, NN = NC * NC;
  T* p = base + x0 * 2 * NN;
  const auto lanes = [&](int count) {
    for (int l = 0; l < count; ++l)
      for (int q = 0; q < NN; ++q) {
        p[(l * NN + q) * 2] = m.re[q][l];
        p[(l * NN + q) * 2 + 1] = m.im[q][l];
      }
  };
  if (n == W)
    lanes(W);
  else
    lanes(n);
}

// Lane block blk (lanes::block_sites: consecutive sites of one configuration, the spare lanes of its last block
// repeating the last site, computed and never stored), every channel, the products over the lanes.
template <class T, int NC>
void transport_block(const T* A, const T* B, const T* Wf, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t blk) {
  using lanes::mul;
  constexpr int W = lanes::LaneMat<T, NC>::W;
  constexpr int64_t M = 2 * NC * NC;
  const bool two = A != B;
  const auto bs = lanes::block_sites<W>(blk, V);
  const int64_t bi = bs.b, *xs = bs.s;
  int64_t ys[W];
  for (int l = 0; l < W; ++l) ys[l] = nbr[xs[l]];
  lanes::LaneMat<T, NC> a, b, w, t, o;
  const int64_t* links = dir > 0 ? xs : ys;
  gather(a, A + bi * V * M, links);
  if (two) gather(b, B + bi * V * M, links);
  const auto& bb = two ? b : a;
  for (int64_t c = 0; c < C; ++c) {
    gather(w, Wf + (bi * C + c) * V * M, ys);
    if (dir > 0) {
      mul<false, false, false>(a, w, t);  // A W(x + μ̂) B†
      mul<false, true, false>(t, bb, o);
      if (two) {
        mul<false, false, false>(b, w, t);  // + B W(x + μ̂) A†
        mul<false, true, true>(t, a, o);
      }
    } else {
      mul<true, false, false>(a, w, t);  // A(y)† W(y) B(y)
      mul<false, false, false>(t, bb, o);
      if (two) {
        mul<true, false, false>(b, w, t);  // + B(y)† W(y) A(y)
        mul<false, false, true>(t, a, o);
      }
    }
    scatter(o, out + (bi * C + c) * V * M, xs[0], bs.count);
  }
}

}  // namespace

template <class T, int NC>
void transport_range(const T* A, const T* B, const T* W, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t begin, int64_t end) {
  for (int64_t blk = begin; blk < end; ++blk) transport_block<T, NC>(A, B, W, out, nbr, C, V, dir, blk);
}

namespace {

template <class T, int NC>
void link_grad_block(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V,
                     int64_t blk) {
  using lanes::mul;
  constexpr int W = lanes::LaneMat<T, NC>::W;
  constexpr int64_t M = 2 * NC * NC;
  const auto bs = lanes::block_sites<W>(blk, V);
  const int64_t b = bs.b, *xs = bs.s;
  int64_t ys[W];
  for (int l = 0; l < W; ++l) ys[l] = nbr[xs[l]];
  lanes::LaneMat<T, NC> u, p, r, a, acc;
  gather(u, U + b * V * M, xs);
  lanes::set_zero(acc);
  for (int64_t c = 0; c < C; ++c) {
    gather(p, P + (b * C + c) * V * M, xs);
    gather(r, Q + (b * C + c) * V * M, ys);
    mul<false, false, false>(p, u, a);  // P U R†
    mul<false, true, true>(a, r, acc);
    mul<true, false, false>(p, u, a);  // P† U R
    mul<false, false, true>(a, r, acc);
  }
  scatter(acc, out + b * V * M, xs[0], bs.count);
}

}  // namespace

template <class T, int NC>
void transport_link_grad_range(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V,
                               int64_t begin, int64_t end) {
  for (int64_t blk = begin; blk < end; ++blk) link_grad_block<T, NC>(U, P, Q, out, nbr, C, V, blk);
}

#define BLOCKSPIN_TRANSPORT_INSTANTIATE(T, NC)                                                                       \
  template void transport_range<T, NC>(const T*, const T*, const T*, T*, const int64_t*, int64_t, int64_t, int,      \
                                       int64_t, int64_t);                                                            \
  template void transport_link_grad_range<T, NC>(const T*, const T*, const T*, T*, const int64_t*, int64_t, int64_t, \
                                                 int64_t, int64_t);
BLOCKSPIN_TRANSPORT_INSTANTIATE(double, 2)
BLOCKSPIN_TRANSPORT_INSTANTIATE(double, 3)
BLOCKSPIN_TRANSPORT_INSTANTIATE(float, 2)
BLOCKSPIN_TRANSPORT_INSTANTIATE(float, 3)
#undef BLOCKSPIN_TRANSPORT_INSTANTIATE

}  // namespace blockspin::lattice::kernels::loops
