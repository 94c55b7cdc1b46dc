// Exact infinite-volume plaquette of 2D SU(N) Wilson gauge theory, for statistical checks of the samplers.
//
// In 2D the plaquettes of an (open or large periodic) lattice are independent, each distributed with the
// single-link weight exp((β/N) Re Tr P), so ⟨(1/N) Re Tr P⟩ = d ln z/dβ with
//   z(β) = ∫_{SU(N)} dU exp((x/2) Tr(U + U†)) = Σ_{l ∈ Z} det[I_{l+j-i}(x)]_{i,j=1..N},   x = β/N
// (the SU(N) one-link integral as a sum over U(1) charges of the U(N) Bessel determinant). For SU(2) this is
// I_2(β)/I_1(β). Finite periodic L×L lattices differ by terms ~ (z_r/z_0)^{L²}, negligible for L >= 8 here.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace blockspin::lattice::testing {

inline double bessel_i(int64_t n, double x) { return std::cyl_bessel_i(static_cast<double>(std::abs(n)), x); }

inline double determinant(std::vector<std::vector<double>> a) {
  const size_t n = a.size();
  double det = 1;
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    if (a[p][c] == 0) return 0;
    if (p != c) std::swap(a[p], a[c]), det = -det;
    det *= a[c][c];
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
    }
  }
  return det;
}

/// z(β) for SU(N), summing |l| <= 40 (terms decay like I_l(x)^N).
inline double su_n_one_link_integral(int64_t N, double beta) {
  const double x = beta / static_cast<double>(N);
  double z = 0;
  for (int64_t l = -40; l <= 40; ++l) {
    std::vector<std::vector<double>> m(N, std::vector<double>(N));
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) m[i][j] = bessel_i(l + j - i, x);
    z += determinant(m);
  }
  return z;
}

/// ⟨(1/N) Re Tr P⟩ in infinite volume.
inline double exact_plaquette_2d(int64_t N, double beta) {
  const double h = 1e-5 * std::max(1.0, beta);
  return (std::log(su_n_one_link_integral(N, beta + h)) - std::log(su_n_one_link_integral(N, beta - h))) / (2 * h);
}

}  // namespace blockspin::lattice::testing
