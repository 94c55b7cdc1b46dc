// Site loops for the parallel transport of adjoint matrix fields by one link, on the torch layout (interleaved
// complex, site-major matrices), and for its link gradient. Torch-free: compiled with the lane options
// (lattice/CMakeLists.txt); the callers (transport_fused.cpp) split the work with at::parallel_for.
//
// Data: U [B, V, N, N] (one direction's links), W / P / Q / out [B, C, V, N, N], each complex entry as (re, im) of T.
// A range [begin, end) runs over the lane blocks of lanes::block_sites (lane_blocks(B, V, lane_width<T>()) of them:
// lane_width consecutive sites of one configuration each); nbr[x] is the site a pass reads (see below).
#pragma once

#include <cstdint>

namespace blockspin::lattice::kernels::loops {

/// With A = B = U (pass the same pointer) the transport, otherwise the symmetrised two-link form its derivatives need:
/// dir > 0: out(b, c, x) = A(b, x) W(b, c, y) B(b, x)† [+ B(b, x) W(b, c, y) A(b, x)†]      with y = nbr[x] = x + μ̂;
/// dir < 0: out(b, c, x) = A(b, y)† W(b, c, y) B(b, y) [+ B(b, y)† W(b, c, y) A(b, y)]      with y = nbr[x] = x − μ̂;
/// the bracket only when A ≠ B.
template <class T, int NC>
void transport_range(const T* A, const T* B, const T* W, T* out, const int64_t* nbr, int64_t C, int64_t V, int dir,
                     int64_t begin, int64_t end);

/// out(b, x) = Σ_c [P(b, c, x) U(b, x) R_c† + P(b, c, x)† U(b, x) R_c] with R_c = Q(b, c, nbr[x]), nbr[x] = x + μ̂:
/// the gradient of Σ (transport · G) with respect to the link (transport_fused.cpp says which P and Q).
template <class T, int NC>
void transport_link_grad_range(const T* U, const T* P, const T* Q, T* out, const int64_t* nbr, int64_t C, int64_t V,
                               int64_t begin, int64_t end);

}  // namespace blockspin::lattice::kernels::loops
