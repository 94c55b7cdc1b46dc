// SIMD lane kernels for SU(2)/SU(3) link products: W sites at a time, their matrices held as structure-of-arrays
// (re[q][lane], im[q][lane]) so that every complex multiply-add is one vector instruction over W sites.
//
// Torch-free on purpose: this is the only translation unit compiled for the build machine's ISA (-march=native,
// CMake option BLOCKSPIN_NATIVE_KERNELS), and it must not instantiate inline library code that other units share.
// The callers (wilson_kernels.cpp) convert tensors, split the work with at::parallel_for and call the *_range
// functions on their share. Conventions and formulas: wilson_kernels.h.
//
// Link data, "planes": the real field viewed as [B*D, N*N*2, V] (view_as_real of [B, D, x.., N, N], the 2N² reals of
// a link transposed to the slow axis), so plane (b*D + μ)*2N² + 2q + part holds component q (row-major), real
// (part 0) or imaginary (part 1), of U_μ at every site of configuration b.
#pragma once

#include <cstdint>

namespace blockspin::lattice::kernels::lanes {

/// Periodic neighbours: fwd[ν*V + s] = s + ν̂, bwd[ν*V + s] = s − ν̂ (see Neighbours in wilson_kernels.cpp).
struct Geometry {
  int64_t V = 0, D = 0;
  const int64_t* fwd = nullptr;
  const int64_t* bwd = nullptr;
};

/// A nonzero entry of a generator: t^a_{rc} = re + i im.
struct GeneratorEntry {
  int a = 0, r = 0, c = 0;
  double re = 0, im = 0;
};

/// The instruction set this unit was compiled for: "AVX-512", "AVX2+FMA" or "baseline" (no -march=native).
const char* compiled_isa();

/// Sites processed together: one 64-byte vector of T.
template <class T>
constexpr int64_t lane_width() {
  return 64 / static_cast<int64_t>(sizeof(T));
}

/// Number of lane blocks covering B configurations of V sites (blocks do not straddle configurations).
inline int64_t lane_blocks(int64_t B, int64_t V, int64_t W) { return B * ((V + W - 1) / W); }

/// Per-site plaquette deficits Σ_{μ<ν} (N − Re Tr P_μν(x)) for the lane blocks [begin, end) into partial [B, V],
/// each term as ½|a − b|² + ½(2N − |a|² − |b|²) with a = U_μ(x)U_ν(x+μ̂), b = U_ν(x)U_μ(x+ν̂) (no cancellation near 1).
template <class T, int NC>
void plaquette_deficit_range(const T* planes, const Geometry& g, T* partial, int64_t begin, int64_t end);

/// Force components D_{x,μ,a} = k Im Tr(t^a U_μ(x) A_μ(x)) for the lane blocks [begin, end) into out
/// [B, D, V, N²−1] (real). `planes` as above.
template <class T, int NC>
void force_range(const T* planes, const Geometry& g, const GeneratorEntry* gens, int n_gens, T k, T* out, int64_t begin,
                 int64_t end);

/// Staple sums A_μ(x), μ in [mu_lo, mu_hi), for the lane blocks [begin, end) into A [B, mu_hi−mu_lo, V, N, N]
/// (interleaved complex, as a torch complex tensor).
template <class T, int NC>
void staples_range(const T* planes, const Geometry& g, int64_t mu_lo, int64_t mu_hi, T* A, int64_t begin, int64_t end);

/// U' = exp(ε Σ_a p_a i t^a) U for the links [begin, end) (interleaved complex U and out [links, N, N], real p
/// [links, N²−1]): the degree-12 Taylor polynomial after scaling |X/2^s|_F <= 1/4 per link, then s squarings.
template <class T, int NC>
void link_update_range(const T* U, const T* p, const GeneratorEntry* gens, int n_gens, T eps, T* out, int64_t begin,
                       int64_t end);

}  // namespace blockspin::lattice::kernels::lanes
