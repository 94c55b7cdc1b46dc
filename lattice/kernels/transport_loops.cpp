// Site loops of the parallel transport and its link gradient (see transport_loops.h). Matrices are loaded into
// split real/imaginary arrays so that the complex products are plain multiply-adds the compiler unrolls.
#include "lattice/kernels/transport_loops.h"

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

}  // namespace

template <class T, int NC>
void transport_range(const T* A, const T* B, const T* W, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t begin, int64_t end) {
  constexpr int64_t M = 2 * NC * NC;  // reals per matrix
  const bool two = A != B;
  Mat<T, NC> a, b, w, t, o, o2;
  for (int64_t i = begin; i < end; ++i) {
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
}

template <class T, int NC>
void transport_link_grad_range(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V,
                               int64_t begin, int64_t end) {
  constexpr int64_t M = 2 * NC * NC;
  Mat<T, NC> u, p, r, a, acc;
  for (int64_t i = begin; i < end; ++i) {
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
