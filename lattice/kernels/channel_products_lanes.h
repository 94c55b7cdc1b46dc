// SIMD lane kernel of the per-site channel products of matrix fields, R_r(x) = Σ op(X_i(x)) op(Y_j(x)) over a grid of
// channel pairs (o, k) — the bilinear layer's Σ_k A_k C_ok and its derivatives. Torch-free, compiled with the lane
// options like lane_kernels.h. Layout, "blocked planes": [B, C, n_blocks, 2N², W] real, W = lane_width<T>() sites per
// block (the sites padded to a multiple of W), so that one channel's 2N² lane vectors of a block are contiguous.
#pragma once

#include <cstdint>

namespace blockspin::lattice::kernels::lanes {

/// How the operands and the result are indexed by the channel grid (o, k), o < O, k < K: by o (C = O channels), by k
/// (C = K) or by the pair (C = O·K, channel o·K + k). The result sums over the grid index it is not indexed by (none
/// for a pair-indexed result): R_r = Σ_{(o,k) → r} op_X(X_{x(o,k)}) op_Y(Y_{y(o,k)}).
enum class ChannelIndex : int { o = 0, k = 1, ok = 2 };

struct ChannelPattern {
  int64_t O = 1, K = 1;
  ChannelIndex x = ChannelIndex::k, y = ChannelIndex::ok, r = ChannelIndex::o;
  int64_t channels(ChannelIndex c) const { return c == ChannelIndex::o ? O : c == ChannelIndex::k ? K : O * K; }
};

/// R for the blocks [begin, end) of B · n_blocks (configuration b's block j is b · n_blocks + j); X, Y, R blocked
/// planes with the channel counts of the pattern; op_X = † if DagX (op_Y likewise). R is overwritten.
template <class T, int NC, bool DagX, bool DagY>
void channel_products_range(const T* X, const T* Y, T* R, const ChannelPattern& p, int64_t n_blocks, int64_t begin,
                            int64_t end);

}  // namespace blockspin::lattice::kernels::lanes
