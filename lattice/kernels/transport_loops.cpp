// Site loops of the parallel transport and its link gradient (see transport_loops.h). Matrices are loaded into
// split real/imaginary arrays so that the complex products are plain multiply-adds the compiler unrolls.
#include "lattice/kernels/transport_loops.h"

#include "lattice/kernels/lane_math.h"

namespace blockspin::lattice::kernels::loops {
namespace {  // NOLINT(google-build-namespaces): built with the lane options, shared with no other unit

template <class T, int NC>
struct Mat {
  T re[NC][NC];
  T im[NC][NC];
};

template <class T, int NC>
inline void load(Mat<T, NC>& m, const T* p) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      m.re[i][j] = p[2 * (i * NC + j)];
      m.im[i][j] = p[2 * (i * NC + j) + 1];
    }
}

template <class T, int NC>
inline void store(const Mat<T, NC>& m, T* p) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      p[2 * (i * NC + j)] = m.re[i][j];
      p[2 * (i * NC + j) + 1] = m.im[i][j];
    }
}

// c = a b, c = a b†, c = a† b.
template <class T, int NC>
inline void mul(const Mat<T, NC>& a, const Mat<T, NC>& b, Mat<T, NC>& c) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      T r = 0, s = 0;
      for (int k = 0; k < NC; ++k) {
        r += a.re[i][k] * b.re[k][j] - a.im[i][k] * b.im[k][j];
        s += a.re[i][k] * b.im[k][j] + a.im[i][k] * b.re[k][j];
      }
      c.re[i][j] = r;
      c.im[i][j] = s;
    }
}

template <class T, int NC>
inline void mul_dag(const Mat<T, NC>& a, const Mat<T, NC>& b, Mat<T, NC>& c) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      T r = 0, s = 0;
      for (int k = 0; k < NC; ++k) {
        r += a.re[i][k] * b.re[j][k] + a.im[i][k] * b.im[j][k];
        s += a.im[i][k] * b.re[j][k] - a.re[i][k] * b.im[j][k];
      }
      c.re[i][j] = r;
      c.im[i][j] = s;
    }
}

template <class T, int NC>
inline void dag_mul(const Mat<T, NC>& a, const Mat<T, NC>& b, Mat<T, NC>& c) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      T r = 0, s = 0;
      for (int k = 0; k < NC; ++k) {
        r += a.re[k][i] * b.re[k][j] + a.im[k][i] * b.im[k][j];
        s += a.re[k][i] * b.im[k][j] - a.im[k][i] * b.re[k][j];
      }
      c.re[i][j] = r;
      c.im[i][j] = s;
    }
}

// acc += x.
template <class T, int NC>
inline void add(Mat<T, NC>& acc, const Mat<T, NC>& x) {
  for (int i = 0; i < NC; ++i)
    for (int j = 0; j < NC; ++j) {
      acc.re[i][j] += x.re[i][j];
      acc.im[i][j] += x.im[i][j];
    }
}

// One site i = b·V + x, every channel (the scalar path: partial blocks).
template <class T, int NC>
void transport_site(const T* A, const T* B, const T* W, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                    int64_t i) {
  constexpr int64_t M = 2 * NC * NC;  // reals per matrix
  const bool two = A != B;
  Mat<T, NC> a, b, w, t, o, o2;
  const int64_t bi = i / V, x = i % V, y = nbr[x];
  const int64_t at = (bi * V + (dir > 0 ? x : y)) * M;
  load(a, A + at);
  if (two) load(b, B + at);
  const Mat<T, NC>& bb = two ? b : a;
  for (int64_t c = 0; c < C; ++c) {
    load(w, W + ((bi * C + c) * V + y) * M);
    if (dir > 0) {
      mul(a, w, t);  // A W(x + μ̂) B†
      mul_dag(t, bb, o);
      if (two) {
        mul(b, w, t);  // + B W(x + μ̂) A†
        mul_dag(t, a, o2);
        add(o, o2);
      }
    } else {
      dag_mul(a, w, t);  // A(y)† W(y) B(y), y = x − μ̂
      mul(t, bb, o);
      if (two) {
        dag_mul(b, w, t);  // + B(y)† W(y) A(y)
        mul(t, a, o2);
        add(o, o2);
      }
    }
    store(o, out + ((bi * C + c) * V + x) * M);
  }
}

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

// The W sites from x0 on, one after the other (torch layout).
template <class T, int NC>
inline void scatter(const lanes::LaneMat<T, NC>& m, T* base, int64_t x0) {
  constexpr int W = lanes::LaneMat<T, NC>::W, NN = NC * NC;
  T* p = base + x0 * 2 * NN;
  for (int l = 0; l < W; ++l)
    for (int q = 0; q < NN; ++q) {
      p[(l * NN + q) * 2] = m.re[q][l];
      p[(l * NN + q) * 2 + 1] = m.im[q][l];
    }
}

// W consecutive sites of one configuration from i = b·V + x0 on, every channel, the products over the lanes.
template <class T, int NC>
void transport_block(const T* A, const T* B, const T* Wf, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t i) {
  using lanes::mul;
  constexpr int W = lanes::LaneMat<T, NC>::W;
  constexpr int64_t M = 2 * NC * NC;
  const bool two = A != B;
  const int64_t bi = i / V, x0 = i % V;
  int64_t xs[W], ys[W];
  for (int l = 0; l < W; ++l) xs[l] = x0 + l, ys[l] = nbr[x0 + l];
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
    scatter(o, out + (bi * C + c) * V * M, x0);
  }
}

// block(i) on each run of L consecutive sites of one configuration in the range [begin, end) of i = b·V + x,
// site(i) on the sites left over.
template <int64_t L, class Block, class Site>
inline void blocks_then_sites(int64_t begin, int64_t end, int64_t V, Block&& block, Site&& site) {
  for (int64_t i = begin; i < end;) {
    if (i + L <= end && i % V + L <= V) {
      block(i);
      i += L;
    } else {
      site(i);
      ++i;
    }
  }
}

}  // namespace

template <class T, int NC>
void transport_range(const T* A, const T* B, const T* W, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t begin, int64_t end) {
  blocks_then_sites<lanes::LaneMat<T, NC>::W>(
      begin, end, V, [&](int64_t i) { transport_block<T, NC>(A, B, W, out, nbr, C, V, dir, i); },
      [&](int64_t i) { transport_site<T, NC>(A, B, W, out, nbr, C, V, dir, i); });
}

namespace {

template <class T, int NC>
void link_grad_site(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V, int64_t i) {
  constexpr int64_t M = 2 * NC * NC;
  Mat<T, NC> u, p, r, a, acc;
  const int64_t b = i / V, x = i % V, y = nbr[x];
  load(u, U + (b * V + x) * M);
  acc = Mat<T, NC>{};
  for (int64_t c = 0; c < C; ++c) {
    load(p, P + ((b * C + c) * V + x) * M);
    load(r, Q + ((b * C + c) * V + y) * M);
    mul(p, u, a);  // P U R†
    Mat<T, NC> term;
    mul_dag(a, r, term);
    add(acc, term);
    dag_mul(p, u, a);  // P† U R
    mul(a, r, term);
    add(acc, term);
  }
  store(acc, out + i * M);
}

template <class T, int NC>
void link_grad_block(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V, int64_t i) {
  using lanes::mul;
  constexpr int W = lanes::LaneMat<T, NC>::W;
  constexpr int64_t M = 2 * NC * NC;
  const int64_t b = i / V, x0 = i % V;
  int64_t xs[W], ys[W];
  for (int l = 0; l < W; ++l) xs[l] = x0 + l, ys[l] = nbr[x0 + l];
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
  scatter(acc, out + b * V * M, x0);
}

}  // namespace

template <class T, int NC>
void transport_link_grad_range(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V,
                               int64_t begin, int64_t end) {
  blocks_then_sites<lanes::LaneMat<T, NC>::W>(
      begin, end, V, [&](int64_t i) { link_grad_block<T, NC>(U, P, Q, out, nbr, C, V, i); },
      [&](int64_t i) { link_grad_site<T, NC>(U, P, Q, out, nbr, C, V, i); });
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
