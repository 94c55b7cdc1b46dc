// Fused Wilson-action kernels (see wilson_kernels.h).
#include "lattice/kernels/wilson_kernels.h"

#include "lattice/kernels/lane_kernels.h"
#include "lattice/kernels/lane_support.h"
#include "lattice/layout.h"
#include "lattice/su_n.h"

#include <ATen/Parallel.h>
#include <c10/util/complex.h>

#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace blockspin::lattice::kernels {

namespace {

// Small dense complex matrices; NC > 0: size fixed at compile time (unrolled), NC == 0: runtime n.
template <class T, int NC>
struct Mat {
  using C = c10::complex<T>;
  int n;
  explicit Mat(int n_) : n(NC > 0 ? NC : n_) {}
  int size() const { return NC > 0 ? NC : n; }
  // out = a b
  void mul(const C* a, const C* b, C* out) const {
    const int m = size();
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        C s(0, 0);
        for (int k = 0; k < m; ++k) s += a[i * m + k] * b[k * m + j];
        out[i * m + j] = s;
      }
  }
  // out (+)= a b†
  template <bool Add>
  void mul_dag(const C* a, const C* b, C* out) const {
    const int m = size();
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        C s(0, 0);
        for (int k = 0; k < m; ++k) s += a[i * m + k] * std::conj(b[j * m + k]);
        out[i * m + j] = Add ? out[i * m + j] + s : s;
      }
  }
  // out (+)= a† b
  template <bool Add>
  void dag_mul(const C* a, const C* b, C* out) const {
    const int m = size();
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        C s(0, 0);
        for (int k = 0; k < m; ++k) s += std::conj(a[k * m + i]) * b[k * m + j];
        out[i * m + j] = Add ? out[i * m + j] + s : s;
      }
  }
  // N − Re Tr(a b†) = ½ |a − b|² + ½ (2N − |a|² − |b|²) (Frobenius norms): for unitary a, b the first term is the
  // whole value and has no cancellation, so near the identity the deficit keeps its relative precision.
  T deficit_mul_dag(const C* a, const C* b) const {
    const int m = size();
    T d = 0, na = 0, nb = 0;
    for (int k = 0; k < m * m; ++k) {
      d += std::norm(a[k] - b[k]);
      na += std::norm(a[k]);
      nb += std::norm(b[k]);
    }
    return T(0.5) * d + T(0.5) * ((T(m) - na) + (T(m) - nb));
  }
};

constexpr int kMaxN = 16;

// out[b] = Σ_x partial[b V + x] in a fixed order: the result does not depend on the thread count.
template <class T>
void sum_partials(const std::vector<T>& partial, int64_t B, int64_t V, T* out) {
  for (int64_t bi = 0; bi < B; ++bi) {
    T s = 0;
    for (int64_t x = 0; x < V; ++x) s += partial[static_cast<size_t>(bi * V + x)];
    out[bi] = s;
  }
}

template <class T, int NC>
void plaquette_deficit_impl(const c10::complex<T>* U, T* out, int64_t B, const Neighbours& nb, int n) {
  using C = c10::complex<T>;
  const Mat<T, NC> M(n);
  const int64_t V = nb.V, D = nb.D, nn = static_cast<int64_t>(n) * n;
  std::vector<T> partial(static_cast<size_t>(B * V));
  at::parallel_for(0, B * V, 256, [&](int64_t begin, int64_t end) {
    C a[kMaxN * kMaxN], b[kMaxN * kMaxN];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t bi = i / V, s = i % V;
      const C* Ub = U + bi * D * V * nn;
      T sum = 0;
      for (int64_t mu = 0; mu < D; ++mu)
        for (int64_t nu = mu + 1; nu < D; ++nu) {
          // N − Re Tr [U_mu(x) U_nu(x+mu)] [U_nu(x) U_mu(x+nu)]†
          M.mul(Ub + (mu * V + s) * nn, Ub + (nu * V + nb.fwd[mu * V + s]) * nn, a);
          M.mul(Ub + (nu * V + s) * nn, Ub + (mu * V + nb.fwd[nu * V + s]) * nn, b);
          sum += M.deficit_mul_dag(a, b);
        }
      partial[static_cast<size_t>(i)] = sum;
    }
  });
  sum_partials(partial, B, V, out);
}

// A_μ(x) at site s of one configuration (links Ub) into `out` (zeroed here); `tmp` is scratch.
template <class T, int NC>
void staple_sum_at(const Mat<T, NC>& M, const c10::complex<T>* Ub, const Neighbours& nb, int64_t nn, int64_t s,
                   int64_t mu, c10::complex<T>* out, c10::complex<T>* tmp) {
  const int64_t V = nb.V;
  auto link = [&](int64_t m, int64_t site) { return Ub + (m * V + site) * nn; };
  for (int64_t k = 0; k < nn; ++k) out[k] = c10::complex<T>(0, 0);
  const int64_t s_mu = nb.fwd[mu * V + s];
  for (int64_t nu = 0; nu < nb.D; ++nu) {
    if (nu == mu) continue;
    // upper: U_nu(x+mu) [U_nu(x) U_mu(x+nu)]†
    M.mul(link(nu, s), link(mu, nb.fwd[nu * V + s]), tmp);
    M.template mul_dag<true>(link(nu, s_mu), tmp, out);
    // lower: [U_mu(x-nu) U_nu(x+mu-nu)]† U_nu(x-nu)
    const int64_t s_m = nb.bwd[nu * V + s];
    M.mul(link(mu, s_m), link(nu, nb.bwd[nu * V + s_mu]), tmp);
    M.template dag_mul<true>(tmp, link(nu, s_m), out);
  }
}

template <class T, int NC>
void staples_impl(const c10::complex<T>* U, c10::complex<T>* A, int64_t B, const Neighbours& nb, int64_t mu_lo,
                  int64_t mu_hi, int n) {
  using C = c10::complex<T>;
  const Mat<T, NC> M(n);
  const int64_t V = nb.V, D = nb.D, nn = static_cast<int64_t>(n) * n, n_mu = mu_hi - mu_lo;
  at::parallel_for(0, B * V, 64, [&](int64_t begin, int64_t end) {
    C t[kMaxN * kMaxN];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t bi = i / V, s = i % V;
      for (int64_t mu = mu_lo; mu < mu_hi; ++mu)
        staple_sum_at(M, U + bi * D * V * nn, nb, nn, s, mu, A + ((bi * n_mu + mu - mu_lo) * V + s) * nn, t);
    }
  });
}

// D_{x,μ,a} = k Im Tr(t^a U_μ(x) A_μ(x)) with the generators t [G, n, n].
template <class T, int NC>
void force_impl(const c10::complex<T>* U, const c10::complex<T>* t, T k, T* out, int64_t B, const Neighbours& nb,
                int n) {
  using C = c10::complex<T>;
  const Mat<T, NC> M(n);
  const int64_t V = nb.V, D = nb.D, nn = static_cast<int64_t>(n) * n, G = nn - 1;
  at::parallel_for(0, B * V, 64, [&](int64_t begin, int64_t end) {
    C tmp[kMaxN * kMaxN], A[kMaxN * kMaxN], UA[kMaxN * kMaxN];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t bi = i / V, s = i % V;
      const C* Ub = U + bi * D * V * nn;
      for (int64_t mu = 0; mu < D; ++mu) {
        staple_sum_at(M, Ub, nb, nn, s, mu, A, tmp);
        M.mul(Ub + (mu * V + s) * nn, A, UA);
        T* o = out + ((bi * D + mu) * V + s) * G;
        for (int64_t a = 0; a < G; ++a) {
          const C* ta = t + a * nn;
          T im = 0;  // Im Tr(t^a UA) = Σ_ij Im(t^a_ij UA_ji)
          for (int64_t r = 0; r < n; ++r)
            for (int64_t c = 0; c < n; ++c) {
              const C x = ta[r * n + c], y = UA[c * n + r];
              im += x.real() * y.imag() + x.imag() * y.real();
            }
          o[a] = k * im;
        }
      }
    }
  });
}

// U' = exp(ε Σ_a p_a i t^a) U per link: scaling and squaring with the degree-12 Taylor polynomial of su_exp, the
// scaling chosen per link (|X/2^s|_F <= 1/4).
template <class T, int NC>
void link_update_impl(const c10::complex<T>* U, const T* p, const c10::complex<T>* t, T eps, c10::complex<T>* out,
                      int64_t links, int n) {
  using C = c10::complex<T>;
  const Mat<T, NC> M(n);
  const int64_t nn = static_cast<int64_t>(n) * n, G = nn - 1;
  at::parallel_for(0, links, 64, [&](int64_t begin, int64_t end) {
    C X[kMaxN * kMaxN], E[kMaxN * kMaxN], tmp[kMaxN * kMaxN];
    for (int64_t l = begin; l < end; ++l) {
      const T* pl = p + l * G;
      for (int64_t q = 0; q < nn; ++q) X[q] = C(0, 0);
      for (int64_t a = 0; a < G; ++a) {
        const C c(0, eps * pl[a]);  // i ε p_a
        const C* ta = t + a * nn;
        for (int64_t q = 0; q < nn; ++q) X[q] += c * ta[q];
      }
      T norm2 = 0;
      for (int64_t q = 0; q < nn; ++q) norm2 += std::norm(X[q]);
      const T norm = std::sqrt(norm2);
      const int sq = norm > T(0.25) ? static_cast<int>(std::ceil(std::log2(norm / T(0.25)))) : 0;
      const T scale = std::ldexp(T(1), -sq);
      for (int64_t q = 0; q < nn; ++q) X[q] *= scale;
      // E = 1 + X/12, then E = 1 + X E / k for k = 11 .. 1
      for (int64_t q = 0; q < nn; ++q) E[q] = X[q] / T(12);
      for (int r = 0; r < n; ++r) E[r * n + r] += T(1);
      for (int k = 11; k >= 1; --k) {
        M.mul(X, E, tmp);
        for (int64_t q = 0; q < nn; ++q) E[q] = tmp[q] / T(k);
        for (int r = 0; r < n; ++r) E[r * n + r] += T(1);
      }
      for (int i = 0; i < sq; ++i) {
        M.mul(E, E, tmp);
        for (int64_t q = 0; q < nn; ++q) E[q] = tmp[q];
      }
      M.mul(E, U + l * nn, out + l * nn);
    }
  });
}

// Calls f(T{}, std::integral_constant<int, NC>{}) for U's real type T (double for complex128, float for complex64)
// and NC = 3, 2 (specialised) or 0 (any N).
template <class F>
void dispatch(const torch::Tensor& U, F&& f) {
  auto by_n = [&](auto real) {
    switch (n_colors(U)) {
      case 3:
        return f(real, std::integral_constant<int, 3>{});
      case 2:
        return f(real, std::integral_constant<int, 2>{});
      default:
        return f(real, std::integral_constant<int, 0>{});
    }
  };
  if (U.scalar_type() == torch::kComplexDouble) return by_n(double{});
  return by_n(float{});
}

void check_input(const torch::Tensor& U, const char* what) {
  if (!fused_available(U))
    throw std::invalid_argument(std::string(what) + ": fused kernels need a CPU complex64/complex128 gauge field");
  check_gauge_field(U, what);
  if (n_colors(U) > kMaxN) throw std::invalid_argument(std::string(what) + ": N > 16");
}

// The nonzero entries of the generators t^a_{rc}.
std::vector<lanes::GeneratorEntry> build_generator_entries(int64_t N) {
  const auto t = generators(N, torch::TensorOptions().dtype(torch::kDouble)).contiguous();
  const auto* d = t.data_ptr<c10::complex<double>>();
  std::vector<lanes::GeneratorEntry> e;
  for (int a = 0; a < N * N - 1; ++a)
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < N; ++c) {
        const auto v = d[(a * N + r) * N + c];
        if (v != c10::complex<double>(0, 0)) e.push_back({a, r, c, v.real(), v.imag()});
      }
  return e;
}

// The generator entries for the lane kernels (N = 2, 3), built once per process, not at every force evaluation.
const std::vector<lanes::GeneratorEntry>& generator_entries(int64_t N) {
  static const auto su2 = build_generator_entries(2), su3 = build_generator_entries(3);
  return N == 2 ? su2 : su3;
}

// fn(planes, geometry, first_block, end_block) over all lane blocks of U, split between the threads.
template <class T, class F>
void for_lane_blocks(const torch::Tensor& U, const Neighbours& nb, F&& fn) {
  const auto planes = lane_planes(U);
  const lanes::Geometry g{nb.V, nb.D, nb.fwd.data(), nb.bwd.data()};
  at::parallel_for(0, lanes::lane_blocks(batch_size(U), nb.V, lanes::lane_width<T>()), kLaneGrain,
                   [&](int64_t b0, int64_t b1) { fn(planes.data_ptr<T>(), g, b0, b1); });
}

}  // namespace

bool fused_available(const torch::Tensor& U) {
  return U.defined() && U.device().is_cpu() && U.dim() >= 6 &&
         (U.scalar_type() == torch::kComplexDouble || U.scalar_type() == torch::kComplexFloat);
}

torch::Tensor plaquette_deficit_sum(const torch::Tensor& U_in) {
  check_input(U_in, "plaquette_deficit_sum");
  const auto U = dense(U_in);
  const Neighbours nb(extents(U));
  const int64_t B = batch_size(U);
  const int n = static_cast<int>(n_colors(U));
  auto out = torch::empty({B}, U.options().dtype(real_dtype(U.scalar_type())));
  dispatch(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    if constexpr (NC > 0) {
      std::vector<T> partial(static_cast<size_t>(B * nb.V));
      for_lane_blocks<T>(U, nb, [&](const T* planes, const lanes::Geometry& g, int64_t b0, int64_t b1) {
        lanes::plaquette_deficit_range<T, NC>(planes, g, partial.data(), b0, b1);
      });
      sum_partials(partial, B, nb.V, out.data_ptr<T>());
    } else {
      plaquette_deficit_impl<T, NC>(U.data_ptr<c10::complex<T>>(), out.data_ptr<T>(), B, nb, n);
    }
  });
  return out;
}

torch::Tensor wilson_staples(const torch::Tensor& U_in, int64_t mu) {
  check_input(U_in, "wilson_staples");
  const auto U = dense(U_in);
  const Neighbours nb(extents(U));
  const int64_t B = batch_size(U), D = n_dims(U);
  if (mu < -1 || mu >= D) throw std::invalid_argument("wilson_staples: direction out of range");
  const int64_t lo = mu < 0 ? 0 : mu, hi = mu < 0 ? D : mu + 1;
  const int n = static_cast<int>(n_colors(U));
  auto shape = U.sizes().vec();
  shape[1] = hi - lo;
  auto A = torch::empty(shape, U.options());
  dispatch(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    if constexpr (NC > 0) {
      T* a_out = reinterpret_cast<T*>(A.data_ptr<c10::complex<T>>());
      for_lane_blocks<T>(U, nb, [&](const T* planes, const lanes::Geometry& g, int64_t b0, int64_t b1) {
        lanes::staples_range<T, NC>(planes, g, lo, hi, a_out, b0, b1);
      });
    } else {
      staples_impl<T, NC>(U.data_ptr<c10::complex<T>>(), A.data_ptr<c10::complex<T>>(), B, nb, lo, hi, n);
    }
  });
  return A;
}

torch::Tensor wilson_force(const torch::Tensor& U_in, double k) {
  check_input(U_in, "wilson_force");
  const auto U = dense(U_in);
  const Neighbours nb(extents(U));
  const int64_t B = batch_size(U), N = n_colors(U);
  const int n = static_cast<int>(N);
  auto shape = U.sizes().vec();
  shape.pop_back();
  shape.back() = N * N - 1;
  auto out = torch::empty(shape, U.options().dtype(real_dtype(U.scalar_type())));
  dispatch(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    if constexpr (NC > 0) {
      const auto& gens = generator_entries(N);
      for_lane_blocks<T>(U, nb, [&](const T* planes, const lanes::Geometry& g, int64_t b0, int64_t b1) {
        lanes::force_range<T, NC>(planes, g, gens.data(), static_cast<int>(gens.size()), static_cast<T>(k),
                                  out.data_ptr<T>(), b0, b1);
      });
    } else {
      const auto t = generators(N, U.options()).contiguous();
      force_impl<T, NC>(U.data_ptr<c10::complex<T>>(), t.data_ptr<c10::complex<T>>(), static_cast<T>(k),
                        out.data_ptr<T>(), B, nb, n);
    }
  });
  return out;
}

torch::Tensor link_update(const torch::Tensor& U_in, const torch::Tensor& p_in, double eps) {
  check_input(U_in, "link_update");
  const auto U = dense(U_in);
  const int64_t N = n_colors(U);
  const int n = static_cast<int>(N);
  auto p_shape = U.sizes().vec();
  p_shape.pop_back();
  p_shape.back() = N * N - 1;
  if (p_in.sizes().vec() != p_shape)
    throw std::invalid_argument("link_update: momenta must have shape [batch, D, x.., N²-1]");
  const auto p = p_in.to(real_dtype(U.scalar_type())).contiguous();
  const int64_t links = U.numel() / (N * N);
  auto out = torch::empty_like(U);
  dispatch(U, [&](auto real, auto nc) {
    using T = decltype(real);
    constexpr int NC = decltype(nc)::value;
    if constexpr (NC > 0) {
      const auto& gens = generator_entries(N);
      const T* u = reinterpret_cast<const T*>(U.data_ptr<c10::complex<T>>());
      T* o = reinterpret_cast<T*>(out.data_ptr<c10::complex<T>>());
      at::parallel_for(0, links, 64, [&](int64_t l0, int64_t l1) {
        lanes::link_update_range<T, NC>(u, p.data_ptr<T>(), gens.data(), static_cast<int>(gens.size()),
                                        static_cast<T>(eps), o, l0, l1);
      });
    } else {
      const auto t = generators(N, U.options()).contiguous();
      link_update_impl<T, NC>(U.data_ptr<c10::complex<T>>(), p.data_ptr<T>(), t.data_ptr<c10::complex<T>>(),
                              static_cast<T>(eps), out.data_ptr<c10::complex<T>>(), links, n);
    }
  });
  return out;
}

}  // namespace blockspin::lattice::kernels
